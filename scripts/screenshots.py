"""Take a screenshot of every explorer page into docs/screenshots/ (Debian chromium via Playwright).

    .venv/bin/python scripts/screenshots.py [--runs DIR] [--out docs/screenshots]

Without ``--runs`` the app shows what it finds by itself (the embedded demo under assets/demo/runs,
plus ``$XLNER_RUNS``). Starts the app as ``./dev explore`` does, on a free port, and stops it after
(the checkout must be set up: ``./dev setup``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from xlner.explorer import browser as app_browser
from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]


def settle(page, timeout: float = 30) -> None:
    app_browser.settle(page, timeout=timeout, quiet=0.5)


def _lines_view(page) -> None:
    page.get_by_text("Lines", exact=True).click()


def _typed_sentence(page) -> None:
    """A typed Basque sentence projected by the app's worker (the first run loads its models)."""
    page.get_by_role("textbox", name="Sentences in the target language").fill(
        "Miren Etxeberria Eusko Jaurlaritzako bozeramaileak Gasteizen hitz egin du.")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_selector(".xl-typed-projection", timeout=300000)


# (file name, page path, an action before the shot)
SHOTS = [
    ("0_home", "", None),
    ("1_overview", "Overview", None),
    ("2_sentences", "Sentences?{deep}", None),
    ("2b_sentences_lines", "Sentences?{deep}", _lines_view),
    ("3_errors", "Errors", None),
    ("4_run", "Run", _typed_sentence),
    ("5_corrections", "Corrections?{deep}", None),
    # the back-translation refinement needs an English->target translator: the Spanish demo has one
    ("2c_sentences_back_translation", "Sentences?dataset=demo/es&sentence=demo-es:3&method=back-translation", None),
    ("6_experiments", "Experiments", None),  # the shipped study in docs/results
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", help="extra run folder (XLNER_RUNS)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--deep", default="lang=eu&dataset=demo/eu&sentence=demo-eu:0&method=match-greedy",
                    help="query string for the sentence pages")
    ap.add_argument("--only", help="take only these shots, comma-separated names (e.g. 4_run)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="xlner-shots-")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "XLNER_USER_RUNS": os.environ.get("XLNER_USER_RUNS", scratch)}
    if args.runs:
        env["XLNER_RUNS"] = args.runs
    port = free_port()
    proc = start_app(env, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 2200})
            wanted = set(args.only.split(",")) if args.only else None
            for name, path, action in SHOTS:
                if wanted is not None and name not in wanted:
                    continue
                page.goto(f"http://127.0.0.1:{port}/{path.format(deep=args.deep)}")
                settle(page)
                if action is not None:
                    action(page)
                    settle(page)
                time.sleep(0.5)
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                print(out / f"{name}.png")
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()
