"""The Run page's pipeline worker: one long-lived process that keeps the models loaded.

The app starts it lazily (:func:`xlner.explorer.jobs.ensure_worker`) as
``python -m xlner.explorer.worker JOBS_ROOT`` and writes one JSON request per line to its stdin:

  ``{"job_dir": ..., "data": ..., "lang": ..., "profile": ..., "method": ..., "out": ..., "format": ...}``
      run ``xlner.pipeline.translate_test`` into ``out``, writing ``log.txt`` (progress bars,
      warnings, the ``error[E###]`` of a failure) and then ``rc`` (exit status) into ``job_dir``:
      the same files a detached ``xlner pipeline`` job writes, so the page reads both alike;
  ``{"warm": {"lang": ..., "profile": ...}}``
      load that profile's translator, English NER and aligner now, before the first job asks (by
      running the pipeline once on a throw-away sentence, so each model's first call is done too).

Models are built once per configuration and kept (the translator, tagger and aligner factories
are memoised in this process only), so a typed sentence after the first costs only the pipeline's
own work. ``JOBS_ROOT/worker.json`` says what is loaded and how long loading took, for the page.
The worker ends when its stdin closes, i.e. when the Streamlit server that started it stops.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import threading
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

STATE = "worker.json"
_loaded: dict[str, float] = {}  # "tagger spacy {...}" -> seconds its first build took
_state_lock = threading.Lock()


def _describe(kind: str, args: tuple, kwargs: dict) -> str:
    return f"{kind} " + " ".join([*map(str, args), *(f"{k}={v}" for k, v in sorted(kwargs.items()))])


def _memoised(kind: str, factory: Callable[..., Any]) -> Callable[..., Any]:
    """``factory`` building each configuration once; later calls return the same loaded model."""
    built: dict[str, Any] = {}

    @functools.wraps(factory)
    def get(*args: Any, **kwargs: Any) -> Any:
        key = _describe(kind, args, kwargs)
        if key not in built:
            start = time.perf_counter()
            built[key] = factory(*args, **kwargs)
            _loaded[key] = round(time.perf_counter() - start, 2)
        return built[key]

    get.keeps_models = True  # type: ignore[attr-defined]
    return get


def keep_models_loaded() -> None:
    """Memoise the component factories the pipeline calls (it imports them when it builds a component)."""
    import xlner.align
    import xlner.ner
    import xlner.translate

    for module, name, kind in ((xlner.translate, "get_translator", "translator"), (xlner.ner, "get_tagger", "tagger"),
                               (xlner.align, "get_aligner", "aligner")):
        factory = getattr(module, name)
        if not getattr(factory, "keeps_models", False):
            setattr(module, name, _memoised(kind, factory))


class _CurrentStderr(logging.Handler):
    """Log lines go to whatever stderr is now (the running job's log)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr, flush=True)


def write_state(root: Path, busy: str | None = None) -> None:
    state = {"pid": os.getpid(), "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "busy": busy, "loaded": dict(_loaded), "load_seconds": round(sum(_loaded.values()), 2)}
    with _state_lock:
        tmp = root / f".{STATE}.tmp"
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(root / STATE)


def warm(lang: str, profile_name: str) -> None:
    """Run the profile's whole pipeline once on a throw-away sentence: loads the translator, English
    NER and aligner, and lets each do its lazy first-call set-up (spaCy's took 12 s under load)."""
    import tempfile

    from xlner.pipeline import Options, translate_test

    with tempfile.TemporaryDirectory(prefix="xlner-warm-") as tmp:
        data = Path(tmp) / "warm.txt"
        data.write_text("1 2 3 .\n", encoding="utf-8")
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            translate_test(Options(data=str(data), lang=lang, out=str(Path(tmp) / "run"), profile=profile_name,
                                   data_format="text", shared_cache=False, progress=False))


def run_job(request: dict[str, Any]) -> int:
    """translate-test for one request; returns the exit status it also writes to ``job_dir/rc``."""
    from xlner.errors import XlnerError
    from xlner.pipeline import Options, translate_test

    job_dir = Path(request["job_dir"])
    rc = 1
    with open(job_dir / "log.txt", "w", encoding="utf-8", buffering=1) as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            start = time.perf_counter()
            run = translate_test(Options(data=request["data"], lang=request["lang"], out=request["out"],
                                         profile=request.get("profile") or "offline", method=request.get("method"),
                                         data_format=request.get("format") or "auto", progress=True))
            print(f"run written to {run.path} in {time.perf_counter() - start:.1f} s", flush=True)
            rc = 0
        except XlnerError as exc:
            print(exc.render(), flush=True)
            rc = 2
        except Exception:  # a bug: the traceback goes to the job's log, the worker keeps serving
            traceback.print_exc()
    (job_dir / "rc").write_text(f"{rc}\n", encoding="utf-8")
    return rc


def serve(root: Path, lines: Any) -> None:
    """Answer requests (JSON lines) until ``lines`` ends."""
    from xlner.errors import format_warning

    warnings.formatwarning = format_warning
    logger = logging.getLogger("xlner")
    logger.addHandler(_CurrentStderr())
    logger.setLevel(logging.WARNING)
    keep_models_loaded()
    write_state(root)
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            print(f"worker: not a JSON request: {line[:200]!r}", flush=True)
            continue
        if "warm" in request:
            write_state(root, busy="loading models")
            try:
                warm(request["warm"]["lang"], request["warm"].get("profile") or "offline")
            except Exception as exc:  # a missing model is reported by the job that needs it
                print(f"worker: could not load the models: {type(exc).__name__}: {exc}", flush=True)
        else:
            write_state(root, busy=Path(request["job_dir"]).name)
            run_job(request)
        write_state(root)


def _exit_with_parent() -> None:
    """End at once when the process that started the worker is gone, even while loading a model
    (stdin only reports it between requests)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main() -> None:
    root = Path(sys.argv[1])
    root.mkdir(parents=True, exist_ok=True)
    _exit_with_parent()
    serve(root, sys.stdin)


if __name__ == "__main__":
    main()
