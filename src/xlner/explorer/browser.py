"""Driving the explorer in a real browser: start it as ``./dev explore`` does and wait for a page to settle.

Shared by the end-to-end tests, the benchmarks and ``scripts/screenshots.py``. The app is always
started by the checkout's own ``./dev explore`` (its ``.venv``, its ``.streamlit/config.toml``), so
what is tested and measured is what users get; nothing is switched off here that the project does
not switch off itself. Uses Debian's chromium through Playwright (never ``playwright install``);
``page`` arguments are Playwright pages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup_problem(root: Path = ROOT) -> str | None:
    """Why ``root/dev explore`` would have to install something first (``None`` when it would not).

    Asked before starting the app so that a test or benchmark never reinstalls a virtual
    environment itself: ``./dev test`` and ``./dev setup`` do that.
    """
    dev = Path(root) / "dev"
    if not dev.is_file():
        return f"{dev} does not exist"
    done = subprocess.run([str(dev), "check"], cwd=root, capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stdout + done.stderr).strip() or f"{dev} check failed"


def start_app(env: dict[str, str], port: int, timeout: float = 90, *, root: Path = ROOT,
              check: bool = True) -> subprocess.Popen:
    """Start ``root/dev explore --server.port PORT`` and return once its health check answers.

    ``root`` is the checkout to run (a benchmark's baseline clone, say): its own ``./dev``, ``.venv``
    and ``.streamlit/config.toml``. With ``check`` (default) a checkout whose set-up is not done is
    refused with RuntimeError (see :func:`setup_problem`); RuntimeError with the server's output
    when it does not answer in ``timeout`` seconds. The server runs in its own process group, so
    :func:`stop_app` also ends whatever it started (the Run page's worker).
    """
    root = Path(root)
    if check and (problem := setup_problem(root)):
        raise RuntimeError(f"{root} is not set up: {problem}")
    cmd = [str(root / "dev"), "explore", "--server.port", str(port)]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                stop_app(proc)
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise RuntimeError(f"{' '.join(cmd)} did not start: " + out[-2000:]) from None
            time.sleep(0.3)


def stop_app(proc: subprocess.Popen) -> None:
    """Stop the server and everything in its process group (started by :func:`start_app`)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    try:  # the worker may outlive the server by a moment: it ends when its pipe closes
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _proc_stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its descendants, reaped ones included."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        fields = _proc_stat(p)
        if fields is not None:  # utime, stime, cutime, cstime: fields 14-17 of stat(5)
            total += sum(int(x) for x in fields[11:15])
    return total / tick


def settle(page: Any, timeout: float = 60, quiet: float = 0.4) -> None:
    """Wait until the script run has finished and nothing (plotly charts included) is still drawing
    for ``quiet`` seconds; AssertionError after ``timeout``."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        busy = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').count() == 0 or \
            page.locator('[data-testid="stSkeleton"]').count() > 0
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > quiet:
            return
        time.sleep(0.05)
    raise AssertionError("the app did not settle in time")
