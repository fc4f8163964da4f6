"""Screenshots of the inspection pages (Overview, Errors, Compare) into docs/screenshots/.

    .venv/bin/python scripts/inspect_screenshots.py [--runs DIR] [--out docs/screenshots]

Starts the app as ``./dev explore`` does (on the embedded demo runs, plus ``--runs``), on a free port,
in Debian's chromium at 1400 x 2000 px, and stops it after. scripts/screenshots.py takes the other pages.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS, free_port, settle, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]


def _in_sentences(page) -> None:
    page.get_by_role("tab", name="In their sentences").click()


# (file name, page path, an action before the shot)
SHOTS = [
    ("1_overview", "Overview", None),
    ("3_errors", "Errors?run=eu-match-greedy", None),
    ("3b_errors_in_sentences", "Errors?run=eu-match-greedy&stage=english_ner", _in_sentences),
    ("7_compare", "Compare?a=eu-match-greedy&b=eu-heuristic&sentence=demo-eu:21", None),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", help="extra run folder (XLNER_RUNS)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "XLNER_USER_RUNS": tempfile.mkdtemp(prefix="xlner-shots-")}
    if args.runs:
        env["XLNER_RUNS"] = args.runs
    port = free_port()
    proc = start_app(env, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            for name, path, action in SHOTS:
                page.goto(f"http://127.0.0.1:{port}/{path}")
                settle(page, quiet=0.5)
                if action is not None:
                    action(page)
                    settle(page, quiet=0.5)
                time.sleep(0.5)
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                print(out / f"{name}.png")
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()
