"""Decisions per minute on the Corrections page: a scripted annotator, before (baseline commits' pages)
and after (this checkout), on the same 50 projected entities with the same decisions.

    .venv/bin/python benchmarks/bench_annotation.py                      # baselines: a24df43, 1fa1b50
    .venv/bin/python benchmarks/bench_annotation.py --base 1fa1b50       # one baseline
    .venv/bin/python benchmarks/bench_annotation.py --base none          # this checkout only
    .venv/bin/python benchmarks/bench_annotation.py --entities 20 --json /tmp/annotation.json

Baselines: ``a24df43`` is the page of issue 10's first half (keys and pointing, but every key cost two
page runs), ``1fa1b50`` the page before issue 10 (a button per entity, number fields for a fix).

The decisions come from the gold standard (tests/annotation_helpers.gold_decisions): for the first
``--entities`` projected entities of the Spanish demo run ``es-match-greedy``, accept an exact match,
fix one that overlaps a free gold entity (new boundaries and type), reject the rest. Both pages get
exactly these decisions, made the fastest way each page offers:

  before  click the entity's Accept / Reject button; for a fix open "Fix span / label", type start
          and end, choose the type, Save fix; press N for the next sentence when one is done;
  after   press A / X on the current entity (the queue advances by itself); for a fix press F,
          click the first and the last token, press the type's digit.

Each action waits until the page has settled (script finished, nothing loading) before the next, as
an annotator waits to see the page; on the pages with keys each decision also waits until its row is
committed to the store. The clock runs from the first action to the last settled save.
The app is started with ``xlner.explorer.browser.start_app`` (``./dev explore``) from this checkout and
from a ``git archive`` of each ``--base`` commit in a temporary folder (its own ``src`` first on
PYTHONPATH; this checkout's ``.venv``, ``pyproject.toml``, ``dev`` and ``.streamlit/config.toml``, so that
``./dev check`` passes, nothing is installed, and both sides run on the same packages and settings), one after the other on the same
machine, each with an empty corrections database. The stored decisions are checked
against the script afterwards (a run whose store differs exits with status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, str(ROOT / "tests"))

from annotation_helpers import DEMO_RUNS, gold_decisions  # noqa: E402
from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS, free_port, settle, start_app, stop_app  # noqa: E402
from xlner.explorer.loading import load_run_records  # noqa: E402
from xlner.record import RunRecord  # noqa: E402

RUN = "es-match-greedy"
QUIET = 0.15  # seconds without activity that count as "the page has settled"


def script(n: int) -> list[tuple[RunRecord, list[dict]]]:
    """``[(record, decisions)]`` covering the first ``n`` projected entities, in run order."""
    out, left = [], n
    for rec in load_run_records(DEMO_RUNS / RUN):
        if left <= 0:
            break
        ds = [d for d in gold_decisions(rec) if d["action"] != "add"][:left]
        if ds:
            out.append((rec, ds))
            left -= len(ds)
    return out


def drive_before(page, plan, db: Path) -> None:
    """The page before issue 10: a button per entity, numbers for a fix, N for the next sentence."""
    page.get_by_label("Your name (stored with each decision)").fill("bench")
    page.get_by_label("Your name (stored with each decision)").press("Enter")
    settle(page, quiet=QUIET)
    for n_sentence, (rec, decisions) in enumerate(plan):
        keys = [f"{p.span.start}-{p.span.end}-{p.span.label}" for p in rec.projection.projected]
        for d in decisions:
            k = keys.index(d["entity"])
            if d["action"] == "accept":
                page.get_by_role("button", name="Accept", exact=True).nth(k).click()
            elif d["action"] == "reject":
                page.get_by_role("button", name="Reject", exact=True).nth(k).click()
            else:
                page.get_by_role("button", name="Fix span / label").nth(k).click()
                pop = page.locator('[data-testid="stPopoverBody"]')
                pop.get_by_label("start").fill(str(d["span"]["start"]))
                pop.get_by_label("end (exclusive)").fill(str(d["span"]["end"]))
                pop.locator('[data-testid="stSelectbox"]').click()
                page.get_by_role("option", name=d["span"]["label"], exact=True).click()
                pop.get_by_role("button", name="Save fix").click()
            settle(page, quiet=QUIET)
        if n_sentence + 1 < len(plan):
            nxt = plan[n_sentence + 1][0].id
            for _ in range(60):  # a page that lost the script's place must not hang the benchmark
                if f"sentence={nxt}" in page.url.replace("%3A", ":"):
                    break
                page.locator("h1").first.click()
                page.keyboard.press("n")
                settle(page, quiet=QUIET)
            else:
                raise AssertionError(f"N never reached sentence {nxt}")


def _rows(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM decisions").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        con.close()


def _wait_saved(db: Path, before: int, timeout: float = 60) -> None:
    """Until the decision is committed (one more row in the store). A page that runs twice per key can
    look settled between its two runs, and a key pressed then goes to the wrong item; an annotator
    waits to see the decision taken, so the script waits for the commit before it settles."""
    deadline = time.time() + timeout
    while _rows(db) <= before:
        if time.time() > deadline:
            raise AssertionError("the decision was not saved")
        time.sleep(0.02)


def drive_after(page, plan, db: Path) -> None:
    """The pages with keys: one key per decision, the queue advances by itself."""
    settle(page, quiet=QUIET)
    for rec, decisions in plan:
        for d in decisions:
            before = _rows(db)
            if d["action"] in ("accept", "reject"):
                page.keyboard.press("a" if d["action"] == "accept" else "x")
            else:
                page.keyboard.press("f")
                settle(page, quiet=QUIET)
                # as an annotator does: point only once the picker says which entity it fixes
                page.locator('[data-testid="span-picker-bar"]', has_text="Fixing").wait_for(timeout=30000)
                toks = page.locator(".xsp-tok")
                toks.nth(d["span"]["start"]).click()
                toks.nth(d["span"]["end"] - 1).click()
                chips = [c.split(" ", 1)[1] for c in page.locator(".xsp-chip").all_inner_texts() if c[0].isdigit()]
                page.keyboard.press(str(chips.index(d["span"]["label"]) + 1))
            _wait_saved(db, before)
            settle(page, quiet=QUIET)


def measure(root: Path, plan, name: str) -> dict:
    from playwright.sync_api import sync_playwright

    from xlner.corrections.store import CorrectionStore

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "corrections.sqlite"
        env = {**os.environ, "PYTHONPATH": str(root / "src"), "XLNER_DEMO_RUNS": str(DEMO_RUNS),
               "XLNER_RUNS": str(Path(tmp) / "none"), "XLNER_USER_RUNS": str(Path(tmp) / "user"),
               "XLNER_CORRECTIONS_DB": str(db)}
        port = free_port()
        proc = start_app(env, port, root=root)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                query = f"run={RUN}&sentence={plan[0][0].id}&annotator=bench"
                page.goto(f"http://127.0.0.1:{port}/Corrections?{query}")
                settle(page)
                new_page = page.locator(".xsp-tok").count() > 0
                start = time.perf_counter()
                (drive_after if new_page else drive_before)(page, plan, db)
                elapsed = time.perf_counter() - start
                browser.close()
        finally:
            stop_app(proc)
        stored = [(d["sentence"], d["entity"], d["action"], d["start"], d["end"], d["label"])
                  for d in CorrectionStore(db).history(RUN)]
    wanted = [(rec.id, d["entity"], d["action"], *((d["span"]["start"], d["span"]["end"], d["span"]["label"])
                                                      if d["span"] else (None, None, None)))
              for rec, ds in plan for d in ds]
    n = len(wanted)
    for got, want in zip(stored, wanted):  # say where a page and the script part ways
        if got != want:
            print(f"{name}: stored {got} where the script decided {want}")
            break
    if len(stored) != n:
        print(f"{name}: {len(stored)} decisions stored, the script made {n}")
    return {"app": name, "page": "one-key queue" if new_page else "buttons + number fields", "decisions": n,
            "seconds": round(elapsed, 1), "per_minute": round(n / elapsed * 60, 1),
            "store_matches_script": stored == wanted}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="a24df43,1fa1b50", help="baseline commits, comma-separated ('none' to skip)")
    ap.add_argument("--entities", type=int, default=50)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    plan = script(args.entities)
    counts = {a: sum(d["action"] == a for _, ds in plan for d in ds) for a in ("accept", "reject", "fix")}
    print(f"{sum(counts.values())} entities in {len(plan)} sentences of {RUN}: {counts}; load {os.getloadavg()}")
    results = []
    for base in ([] if args.base == "none" else args.base.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", base], check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            # this checkout's environment and start-up (./dev, .streamlit/config.toml): ./dev check passes,
            # ./dev explore installs nothing, and only the page's code differs between the sides
            (Path(tmp) / ".venv").symlink_to((ROOT / ".venv").resolve())
            for name in ("pyproject.toml", "dev", ".streamlit/config.toml"):
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, Path(tmp) / name)
            try:
                results.append(measure(Path(tmp), plan, base))
            except AssertionError as exc:  # a baseline that lost the script's place: say so, measure the rest
                print(f"{base}: no result: {exc}")
                results.append({"app": base, "failed": str(exc), "store_matches_script": False})
    results.append(measure(ROOT, plan, "after"))
    print(f"load {os.getloadavg()}")
    for r in results:
        if "failed" in r:
            print(f"{r['app']:<8} no result: {r['failed']}")
            continue
        print(f"{r['app']:<8} {r['page']:<26} {r['decisions']} decisions in {r['seconds']:>6.1f} s = "
              f"{r['per_minute']:>5.1f} per minute; store matches the script: {r['store_matches_script']}")
    if args.json:
        args.json.write_text(json.dumps({"base": args.base, "counts": counts, "results": results}, indent=1))
    return 0 if all(r["store_matches_script"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
