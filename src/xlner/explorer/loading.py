"""Find run directories and read them (the format is docs/run-format.md).

Run roots, in order: the embedded demo (``assets/demo/runs``, or ``$XLNER_DEMO_RUNS``), the runs the explorer starts itself
(``runs/`` under the project, or ``$XLNER_USER_RUNS``), then every folder in ``$XLNER_RUNS``
(``os.pathsep``-separated) and any folder added in the sidebar. A run directory is any folder under
a root (at most three levels deep) that holds a ``records.jsonl``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlner import runs
from xlner.errors import XlnerError
from xlner.runs import RECORDS, RunRecord, read_json_object

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEMO_RUNS = PROJECT_ROOT / "assets" / "demo" / "runs"
MAX_DEPTH = 3


def user_runs_root() -> Path:
    """Where runs started from the explorer are written."""
    return Path(os.environ.get("XLNER_USER_RUNS") or PROJECT_ROOT / "runs").expanduser()


def run_roots(extra: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """All configured run roots that exist, without duplicates, in priority order."""
    # XLNER_DEMO_RUNS replaces the embedded demo folder (tests point it elsewhere to isolate).
    demo = Path(os.environ.get("XLNER_DEMO_RUNS") or DEMO_RUNS).expanduser()
    candidates: list[Path] = [demo, user_runs_root()]
    for chunk in [os.environ.get("XLNER_RUNS", ""), *extra]:
        candidates += [Path(p).expanduser() for p in str(chunk).split(os.pathsep) if p.strip()]
    seen: set[Path] = set()
    roots = []
    for c in candidates:
        r = c.resolve()
        if r not in seen and r.is_dir():
            seen.add(r)
            roots.append(r)
    return roots


@dataclass(frozen=True)
class RunInfo:
    """One run directory as the explorer lists it."""

    key: str  # unique across roots, used in URLs (?run=KEY)
    path: Path
    dataset: str  # ?dataset=NAME selects among runs by this
    lang: str
    method: str
    task: str
    profile: str
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    metrics: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return f"{self.dataset} · {self.lang} · {self.method}"

    @property
    def records_path(self) -> Path:
        return self.path / "records.jsonl"


def read_run_info(run_dir: Path, key: str | None = None) -> RunInfo:
    """Config and metrics of one run directory (records are read separately, on demand)."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORDS).is_file():
        raise XlnerError("E720", path=run_dir / RECORDS, folder=run_dir)
    # A run's config may be absent here (runs written by other tools): shown with defaults.
    config = read_json_object(run_dir / "config.json", required=False)
    metrics = read_json_object(run_dir / "metrics.json", required=False)
    name = run_dir.name
    dataset = str(config.get("dataset") or config.get("name") or name)
    return RunInfo(key=key or name, path=run_dir, dataset=dataset, lang=str(config.get("lang", "?")),
                   method=str(config.get("method", "?")), task=str(config.get("task", "translate-test")),
                   profile=str(config.get("profile", "?")), config=config, metrics=metrics)


def discover_runs(roots: list[Path]) -> list[RunInfo]:
    """Every run directory under ``roots``; keys are the folder path relative to its root."""
    runs: list[RunInfo] = []
    used: set[str] = set()
    for root in roots:
        for rec in sorted(root.glob("**/records.jsonl")):
            rel = rec.parent.relative_to(root)
            if len(rel.parts) > MAX_DEPTH:
                continue
            if not (rec.parent / "metrics.json").is_file():
                continue  # unfinished: the pipeline writes metrics.json last (see unfinished_runs)
            key = rel.as_posix() if rel.parts else root.name
            if key in used:  # two roots both hold e.g. "eu-heuristic": qualify the later one
                key = f"{root.name}/{key}"
            n = 2
            while key in used:
                key, n = f"{key}~{n}", n + 1
            try:
                info = read_run_info(rec.parent, key)
            except XlnerError:
                continue  # shown by broken_runs(); one bad folder must not hide the others
            used.add(key)
            runs.append(info)
    return runs


def unfinished_runs(roots: list[Path]) -> list[Path]:
    """Run folders with records but no metrics.json yet (still running, or interrupted)."""
    return sorted(rec.parent for root in roots for rec in root.glob("**/records.jsonl")
                  if not (rec.parent / "metrics.json").is_file())


def component_text(value: Any) -> str:
    """A component entry of config.json as one readable line: ``simalign (layer=8, model=e5-small)``."""
    if isinstance(value, dict):
        name = value.get("name", "")
        rest = ", ".join(f"{k}={v}" for k, v in value.items() if k != "name" and v not in (None, {}, []))
        return f"{name} ({rest})" if rest else str(name)
    return str(value)


def broken_runs(roots: list[Path]) -> list[tuple[Path, str]]:
    """Run folders whose config/metrics cannot be read, with the message to show."""
    bad = []
    for root in roots:
        for rec in root.glob("**/records.jsonl"):
            if not (rec.parent / "metrics.json").is_file():
                continue
            try:
                read_run_info(rec.parent)
            except XlnerError as exc:
                bad.append((rec.parent, f"error[{exc.code}]: {exc.message}"))
    return bad


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a ``records.jsonl``, read and checked by :func:`xlner.runs.read_records`."""
    return runs.read_records(path)


def load_run_records(run_dir: Path) -> list[RunRecord]:
    """The records of one run directory (``records.jsonl``), checked by :func:`read_records`."""
    return read_records(Path(run_dir) / RECORDS)


def records_fingerprint(run_dir: Path) -> tuple[str, float, int]:
    """A cheap cache key that changes when a run is rewritten."""
    p = Path(run_dir) / "records.jsonl"
    st = p.stat()
    return (str(p), st.st_mtime, st.st_size)
