"""Thread limits for torch and the BLAS / OpenMP libraries: one function, used by training
(:mod:`xlner.train`) and the pipeline (:mod:`xlner.pipeline.tasks`).

On a busy shared CPU, unpinned BLAS threads make the encoder and training many times slower
(the profiles say 8x), so every entry point that starts heavy work pins first.
"""

from __future__ import annotations

import os

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(n: int = 1) -> None:
    """Limit torch and BLAS to ``n`` threads; call it before heavy work starts.

    Three layers, because no single one reaches every library:
    - the environment variables, for libraries that are not loaded yet (and child processes);
    - threadpoolctl, for BLAS / OpenMP libraries already loaded (numpy's OpenBLAS, say);
    - torch's intra-op threads, and its inter-op threads where still allowed (torch refuses to
      change them once inter-op work has run in this process: that RuntimeError is ignored).
    threadpoolctl and torch are optional: without them the environment variables still apply.
    """
    n = int(n)
    # Override, not setdefault: ``n`` is the caller's explicit setting (the profile's ``threads``,
    # ``TrainConfig.num_threads``) and torch.set_num_threads(n) below applies it whatever the
    # environment says. setdefault would leave an inherited OMP_NUM_THREADS=8 in force for the
    # libraries loaded later and for child processes, so that torch ran on n threads and BLAS on 8.
    for var in ENV_VARS:
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # already set once, or inter-op work has started, in this process
        pass
