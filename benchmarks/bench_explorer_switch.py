"""Sentence switch and idle CPU of the explorer, as users start it: this checkout against a baseline.

    .venv/bin/python benchmarks/bench_explorer_switch.py                           # baseline: see --base
    .venv/bin/python benchmarks/bench_explorer_switch.py --base main --base-cache /tmp/xlner-bases
    .venv/bin/python benchmarks/bench_explorer_switch.py --base none --switches 10 --json /tmp/switch.json

Both apps are started exactly as users start them: ``./dev explore --server.port N`` from a checkout
with its own ``.venv`` and its own ``.streamlit/config.toml``. "current" is this checkout (it must be
set up: ``./dev setup``; the benchmark never installs into it). The baseline is a ``git clone`` of
``--base`` into a temporary folder, set up by its own ``./dev setup`` (pip reuses the wheel cache; the
time it takes is reported). ``--base-cache DIR`` keeps that clone in ``DIR/<commit>`` and reuses it
on the next run. ``--base`` defaults to HEAD when the working tree has uncommitted changes, else to
HEAD~1 (the previous commit). Nothing is switched off in the harness: no watcher flag, no
``PYTHONPATH``; only the run folders are pinned (the embedded demo of each checkout, empty
``XLNER_RUNS``, user runs and corrections in a temporary folder).

Two measurements, each app in turn (baseline first) so that both see the same machine load:

idle   server CPU seconds (user + system, the Streamlit server and all its child processes, read
       from /proc) over ``--idle-seconds`` (20) with one tab open on the Sentences page, untouched.
switch for each run in ``--runs``: open the run's first sentence, let the page settle, press N
       (next sentence) ``--switches`` times, letting the page settle between presses. Each press is
       timed from the key press until
         shown  the new sentence's heading is on screen;
         done   the script run has finished, nothing is still loading, and the alignment of the new
                sentence is drawn: the HTML matrix labelled with the new sentence's words (this page),
                or on an older checkout the plotly heatmap with them as x-axis ticks and its image
                drawn; checked on every animation frame.
       ``script`` is the server's own time for the page, read from the page's "page built in N ms"
       caption (when the page shows one).

Every sentence is visited for the first time in that server process (each run is used once), so
nothing is served from the page's figure cache. Prints median and p90 per app and writes them as
JSON with ``--json``. Debian's chromium through Playwright (``xlner.explorer.browser``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from xlner.explorer.browser import (CHROMIUM, CHROMIUM_ARGS, cpu_seconds, free_port, settle,  # noqa: E402
                                    setup_problem, start_app, stop_app)
from xlner.runs import read_records  # noqa: E402

SHOWN = "sid => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))"
# The alignment is drawn when the page shows the new sentence's: either the HTML matrix of this page
# (its data-sentence is the new id and its column labels are the sentence's words, or the first
# window of them) or, on an older checkout, the plotly heatmap (x-axis ticks = the new words).
DRAWN = """([sid, labels]) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stSkeleton]')) return false;
  if (![...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))) return false;
  const table = document.querySelector('table.xl-heat');
  if (table) {
    if (table.dataset.sentence !== sid) return false;
    const cols = [...table.querySelectorAll('thead th.col')].map(t => t.textContent);
    return cols.length > 0 && cols.every((t, i) => t === labels[i + +table.dataset.cols.split('-')[0]]);
  }
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


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout.strip()


def default_base() -> str:
    """HEAD when the working tree has uncommitted changes to tracked files, else the previous commit."""
    return "HEAD" if git("status", "--porcelain", "--untracked-files=no") else "HEAD~1"


def prepare_base(rev: str, cache: Path | None, tmp: Path) -> tuple[Path, dict[str, object]]:
    """A clone of ``rev`` with its own .venv set up by its own ./dev setup (reused from ``cache``)."""
    sha = git("rev-parse", rev)
    where = (cache or tmp) / sha
    facts: dict[str, object] = {"base_commit": sha[:10], "base_clone": str(where)}
    if not (where / "dev").exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(where)], check=True)
        subprocess.run(["git", "-C", str(where), "checkout", "-q", "--detach", sha], check=True)
    t = time.perf_counter()
    print(f"baseline {sha[:10]}: ./dev setup in {where} ...", flush=True)
    done = subprocess.run(["nice", "-n", "10", str(where / "dev"), "setup"], cwd=where, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"./dev setup of the baseline failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    facts["base_setup_seconds"] = round(time.perf_counter() - t, 1)
    print(f"baseline set up in {facts['base_setup_seconds']} s", flush=True)
    return where, facts


class App:
    """One explorer server, started by a checkout's own ./dev explore."""

    def __init__(self, name: str, root: Path, tmp: Path) -> None:
        self.name, self.root = name, root
        self.demo = root / "assets" / "demo" / "runs"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLNER_DEMO_RUNS", "VIRTUAL_ENV")}
        env.update({"XLNER_RUNS": "", "XLNER_USER_RUNS": str(tmp / f"{name}-user-runs"),
                    "XLNER_CORRECTIONS_DB": str(tmp / f"{name}-corrections.sqlite")})
        self.port = free_port()
        # The baseline was just set up by its own ./dev setup; an older ./dev has no `check`.
        self.proc = start_app(env, self.port, root=root, check=False)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_app(self.proc)


def idle_cpu(app: App, browser, seconds: float) -> float:
    """Server CPU seconds over ``seconds`` with one untouched tab on the Sentences page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{app.url}/Sentences")
        settle(page)
        time.sleep(2)  # let the first render's work finish
        before = cpu_seconds(app.proc.pid)
        time.sleep(seconds)
        return cpu_seconds(app.proc.pid) - before
    finally:
        context.close()


def measure(app: App, browser, run: str, switches: int) -> dict[str, list[float]]:
    recs = read_records(app.demo / run / "records.jsonl")
    n = min(switches, len(recs) - 1)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    out: dict[str, list[float]] = {"shown": [], "done": [], "script": []}
    try:
        page.goto(f"{app.url}/Sentences?run={run}&sentence={urllib.parse.quote(recs[0].id)}")
        settle(page)
        page.wait_for_function(DRAWN, arg=[recs[0].id, [f"{j}·{w}" for j, w in enumerate(recs[0].tgt_tokens)]],
                               timeout=30000)
        page.locator("h1").click()  # focus the page, not an input, so that N reaches the shortcut
        for k in range(1, n + 1):
            sid = recs[k].id
            labels = [f"{j}·{w}" for j, w in enumerate(recs[k].tgt_tokens)]
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
    ap.add_argument("--base", default=None, help="git revision to compare against, or 'none' "
                    "(default: HEAD with uncommitted changes, else HEAD~1)")
    ap.add_argument("--base-cache", type=Path, help="keep the baseline's set-up clone in DIR/<commit> and reuse it")
    ap.add_argument("--runs", default="es-match-greedy,eu-match-greedy",
                    help="demo runs to step through, comma-separated (each gives --switches presses)")
    ap.add_argument("--switches", type=int, default=20, help="N presses per run (at most sentences - 1)")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="idle-tab CPU window (0: skip)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is absent (apt-get install chromium)")
    if problem := setup_problem(ROOT):
        raise SystemExit(f"this checkout is not set up ({problem}); the benchmark starts it with its own ./dev")
    from playwright.sync_api import sync_playwright

    base = args.base or default_base()
    runs = [r for r in args.runs.split(",") if r]
    started = datetime.now(timezone.utc)
    info: dict[str, object] = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "load_before": load(), "runs": runs,
                               "cpus": os.cpu_count(), "machine": platform.node(), "base": base,
                               "current_commit": git("rev-parse", "--short=10", "HEAD"),
                               "current_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    tmp = Path(tempfile.mkdtemp(prefix="xlner-bench-switch-"))
    apps: list[App] = []
    results: dict[str, dict[str, list[float]]] = {}
    idle: dict[str, float] = {}
    try:
        if base != "none":
            where, facts = prepare_base(base, args.base_cache, tmp)
            info.update(facts)
            apps.append(App("baseline", where, tmp))
        apps.append(App("current", ROOT, tmp))
        results = {a.name: {"shown": [], "done": [], "script": []} for a in apps}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            info["chromium"] = browser.version
            if args.idle_seconds > 0:
                for app in apps:
                    idle[app.name] = idle_cpu(app, browser, args.idle_seconds)
                    print(f"{app.name:<9} idle tab: {idle[app.name]:.2f} s server CPU in {args.idle_seconds:.0f} s",
                          flush=True)
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
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = load()
    report = {**info, "idle_seconds": args.idle_seconds, "idle_cpu_seconds": idle,
              "results": {name: {k: summary(v) for k, v in r.items() if v} for name, r in results.items()}}
    print(f"\n{info['date']} · load before {info['load_before']}, after {info['load_after']} · "
          f"{info['cpus']} CPUs · chromium {info.get('chromium')}")
    print(f"{'':<10}{'':<8}{'median':>8}{'p90':>8}{'min':>8}{'max':>8}   ms, n")
    for name, r in report["results"].items():
        label = f"{name} ({info.get('base_commit', base)})" if name == "baseline" else \
            f"{name} ({info['current_commit']}{' + changes' if info['current_dirty'] else ''})"
        print(label + (f"   idle tab: {idle[name]:.2f} s CPU / {args.idle_seconds:.0f} s" if name in idle else ""))
        for k in ("shown", "done", "script"):
            if k in r:
                s = r[k]
                print(f"{'':<10}{k:<8}{s['median']:>8.0f}{s['p90']:>8.0f}{s['min']:>8.0f}{s['max']:>8.0f}   {s['n']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
