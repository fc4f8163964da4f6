"""Sentence switch on the explorer's Sentences page, in a real browser: this checkout against a baseline.

    .venv/bin/python benchmarks/bench_explorer_switch.py                 # baseline: git HEAD
    .venv/bin/python benchmarks/bench_explorer_switch.py --base none     # this checkout only
    .venv/bin/python benchmarks/bench_explorer_switch.py --runs es-match-greedy --json /tmp/switch.json

Starts ``streamlit run app.py`` twice, once from this checkout and once from a temporary ``git worktree``
of ``--base`` (removed afterwards), both on the embedded demo runs, and drives Debian's chromium
through Playwright (``xlner.explorer.browser``). For each run in ``--runs`` and each app in turn
(baseline first, then this checkout, so that both see the same machine load) it opens the run's first
sentence, lets the page settle, then presses N (next sentence) ``--switches`` times, letting the page
settle between presses. Each press is timed from the key press until:

  shown  the new sentence's heading is on screen;
  done   the script run has finished, nothing is still loading, and the alignment heatmap of the new
         sentence is drawn (its x-axis tick labels are the new sentence's words, its heatmap image exists);
         checked on every animation frame.

Every sentence is visited for the first time in that server process (each run is used once), so
nothing is served from the page's figure cache. ``script`` is the server's own time for the page,
read from the page's "page built in N ms" caption. Prints median and p90 per app and writes them as
JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS, free_port, settle, start_app, stop_app  # noqa: E402
from xlner.runs import read_records  # noqa: E402

DEMO_RUNS = ROOT / "assets" / "demo" / "runs"

SHOWN = "sid => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))"
# The heatmap is drawn when its x-axis shows the new sentence's words and the heatmap image exists.
DRAWN = """([sid, labels]) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stSkeleton]')) return false;
  if (![...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))) return false;
  const gd = document.querySelector('.st-key-alignment-scroll .js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd.querySelector('.hm image')) return false;
  const ticks = [...gd.querySelectorAll('.xaxislayer-above .xtick text')].map(t => t.textContent);
  return ticks.length === labels.length && ticks.every((t, i) => t === labels[i]);
}"""
BUILT = """() => { const m = document.body.innerText.match(/page built in (\\d+) ms/); return m ? +m[1] : null; }"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "p90": quantile(xs, 0.9), "min": min(xs), "max": max(xs),
            "n": len(xs)}


class App:
    """One explorer server: a checkout (``root``) whose own ``src`` is imported."""

    def __init__(self, name: str, root: Path, tmp: Path) -> None:
        self.name, self.root = name, root
        env = {**os.environ, "PYTHONPATH": str(root / "src"), "XLNER_DEMO_RUNS": str(DEMO_RUNS),
               "XLNER_RUNS": "", "XLNER_USER_RUNS": str(tmp / f"{name}-user-runs"),
               "XLNER_CORRECTIONS_DB": str(tmp / f"{name}-corrections.sqlite")}
        # The editable install puts this checkout's src on sys.path too; PYTHONPATH must win.
        where = subprocess.run([sys.executable, "-c", "import xlner; print(xlner.__file__)"], env=env,
                               cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        if not Path(where).resolve().is_relative_to(root.resolve()):
            raise SystemExit(f"{name}: xlner is imported from {where}, not from {root}")
        self.port = free_port()
        self.proc = start_app(env, self.port, root=root)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_app(self.proc)


def measure(app: App, browser, run: str, switches: int) -> dict[str, list[float]]:
    recs = read_records(DEMO_RUNS / run / "records.jsonl")
    n = min(switches, len(recs) - 1)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    out: dict[str, list[float]] = {"shown": [], "done": [], "script": []}
    try:
        page.goto(f"{app.url}/Sentences?run={run}&sentence={urllib.parse.quote(recs[0]['id'])}")
        settle(page)
        page.wait_for_function(DRAWN, arg=[recs[0]["id"], [f"{j}·{w}" for j, w in enumerate(recs[0]["tgt_tokens"])]],
                               timeout=30000)
        page.locator("h1").click()  # focus the page, not an input, so that N reaches the shortcut
        for k in range(1, n + 1):
            sid = recs[k]["id"]
            labels = [f"{j}·{w}" for j, w in enumerate(recs[k]["tgt_tokens"])]
            t = time.perf_counter()
            page.keyboard.press("n")
            page.wait_for_function(SHOWN, arg=sid, timeout=30000, polling="raf")
            out["shown"].append((time.perf_counter() - t) * 1000)
            page.wait_for_function(DRAWN, arg=[sid, labels], timeout=30000, polling="raf")
            out["done"].append((time.perf_counter() - t) * 1000)
            built = page.evaluate(BUILT)
            if built is not None:
                out["script"].append(float(built))
            settle(page, quiet=0.3)
    finally:
        context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="HEAD", help="git revision to compare against, or 'none' (default HEAD)")
    ap.add_argument("--runs", default="es-match-greedy,eu-match-greedy,es-heuristic",
                    help="demo runs to step through, comma-separated (each gives --switches presses)")
    ap.add_argument("--switches", type=int, default=25, help="N presses per run (at most sentences - 1)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is absent (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    runs = [r for r in args.runs.split(",") if r]
    started = datetime.now(timezone.utc)
    info = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "load_before": load(), "runs": runs,
            "cpus": os.cpu_count(), "machine": platform.node(), "base": args.base}
    tmp = Path(tempfile.mkdtemp(prefix="xlner-bench-switch-"))
    worktree = None
    apps: list[App] = []
    try:
        if args.base != "none":
            worktree = tmp / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(worktree),
                            args.base], check=True)
            info["base_commit"] = subprocess.run(["git", "-C", str(worktree), "rev-parse", "--short", "HEAD"],
                                                 capture_output=True, text=True, check=True).stdout.strip()
            apps.append(App("baseline", worktree, tmp))
        apps.append(App("current", ROOT, tmp))
        results = {a.name: {"shown": [], "done": [], "script": []} for a in apps}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            info["chromium"] = browser.version
            for run in runs:
                for app in apps:  # the same run on each app in turn, so both see the same load
                    got = measure(app, browser, run, args.switches)
                    for k, v in got.items():
                        results[app.name][k] += v
                    print(f"{app.name:<9} {run:<16} shown median {statistics.median(got['shown']):4.0f} ms   "
                          f"done median {statistics.median(got['done']):4.0f} ms   ({len(got['done'])} switches)",
                          flush=True)
            browser.close()
    finally:
        for a in apps:
            a.stop()
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = load()
    report = {**info, "results": {name: {k: summary(v) for k, v in r.items() if v} for name, r in results.items()}}
    print(f"\n{info['date']} · load before {info['load_before']}, after {info['load_after']} · "
          f"{info['cpus']} CPUs · chromium {info.get('chromium')}")
    print(f"{'':<10}{'':<8}{'median':>8}{'p90':>8}{'min':>8}{'max':>8}   ms, n")
    for name, r in report["results"].items():
        label = f"{name} ({info.get('base_commit', args.base)})" if name == "baseline" else name
        print(label)
        for k in ("shown", "done", "script"):
            if k in r:
                s = r[k]
                print(f"{'':<10}{k:<8}{s['median']:>8.0f}{s['p90']:>8.0f}{s['min']:>8.0f}{s['max']:>8.0f}   {s['n']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
