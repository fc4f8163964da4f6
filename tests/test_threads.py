"""xlner.threads.pin_threads: one function for training and the pipeline, checked in a fresh process
(thread settings are process-wide and torch allows the inter-op count to be set only once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
import numpy  # a BLAS library loaded *before* pinning: threadpoolctl must reach it
from xlner.threads import pin_threads
pin_threads(int(sys.argv[1]))
import torch
from threadpoolctl import threadpool_info
print(json.dumps({"env": {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
                  "torch": torch.get_num_threads(), "interop": torch.get_num_interop_threads(),
                  "pools": sorted({p["num_threads"] for p in threadpool_info()})}))
"""


def probe(n: int, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(n)], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pin_threads_overrides_the_environment_and_reaches_torch_and_loaded_blas():
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    # numpy's BLAS is loaded with 2 threads (the inherited variables), then pinned to 1
    got = probe(1, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    # the explicit setting wins over inherited variables (see the comment in threads.py)
    assert got["env"] == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert got["torch"] == 1 and got["interop"] == 1
    assert got["pools"] == [1]  # every loaded BLAS / OpenMP pool, numpy's included

def test_train_and_pipeline_use_the_same_function():
    from xlner import threads, train
    from xlner.pipeline import pin_threads as pipeline_pin
    from xlner.pipeline import tasks

    assert train.pin_threads is threads.pin_threads
    assert tasks.pin_threads is threads.pin_threads is pipeline_pin
