"""Small helpers of the explorer's browser tests (the page fixture is in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from xlner.explorer.browser import free_port, start_app

# The Sentences page shows the sentence ``sid`` (its heading starts with the id).
SHOWN = "sid => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))"


def query(page) -> dict[str, str]:
    """The page's URL query parameters."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(page.url).query))


def heading(page) -> str:
    """The first sentence heading on the page."""
    return page.locator("h3").first.inner_text()


def start_explorer(tmp: Path, *, demo: Path | str, runs: Path | str) -> tuple[subprocess.Popen, str]:
    """The explorer started as ``./dev explore`` starts it, on ``demo`` and ``runs`` (``XLNER_RUNS``:
    folders joined by os.pathsep), with user runs and corrections under ``tmp`` and one thread per
    library; returns the server and its URL. The test fails (not errors) when it does not start."""
    env = {**os.environ, "XLNER_DEMO_RUNS": str(demo), "XLNER_RUNS": str(runs),
           "XLNER_USER_RUNS": str(tmp / "user-runs"), "XLNER_CORRECTIONS_DB": str(tmp / "corrections.sqlite"),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    port = free_port()
    try:
        return start_app(env, port), f"http://127.0.0.1:{port}"
    except RuntimeError as exc:
        pytest.fail(str(exc))
