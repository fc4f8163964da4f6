"""Driving the explorer in a real browser: start ``streamlit run app.py`` and wait for a page to settle.

Shared by the end-to-end tests and ``scripts/screenshots.py``. Uses Debian's chromium through
Playwright (never ``playwright install``); ``page`` arguments are Playwright pages.
"""

from __future__ import annotations

import socket
import subprocess
import sys
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
        return s.getsockname()[1]


def start_app(env: dict[str, str], port: int, timeout: float = 90, *, root: Path = ROOT) -> subprocess.Popen:
    """Start the explorer on ``port`` and return once its health check answers (RuntimeError with
    the server's output otherwise). ``root`` is the checkout whose ``app.py`` runs (a benchmark's
    baseline worktree, say; put its ``src`` first on ``PYTHONPATH`` in ``env`` as well)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(Path(root) / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("streamlit did not start: "
                                   + proc.stdout.read().decode(errors="replace")[-2000:]) from None
            time.sleep(0.3)


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


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
