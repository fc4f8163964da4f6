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

from xlner.errors import XlnerError, where
from xlner.runs import RECORDS, iter_records, read_json_object

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEMO_RUNS = PROJECT_ROOT / "assets" / "demo" / "runs"
MAX_DEPTH = 3
# Fields without which a line cannot be shown at all; everything else is optional.
REQUIRED_FIELDS = ("id", "tgt_tokens")


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


def _read_json(path: Path) -> dict[str, Any]:
    # Optional here (a run's config may be absent), with the explorer's own error code.
    return read_json_object(path, code="E901", required=False,
                            hint="the run may have been interrupted; re-run the pipeline for it")


def read_run_info(run_dir: Path, key: str | None = None) -> RunInfo:
    """Config and metrics of one run directory (records are read separately, on demand)."""
    run_dir = Path(run_dir)
    if not (run_dir / "records.jsonl").is_file():
        raise XlnerError("E901", f"{run_dir} has no records.jsonl",
                         hint="point the explorer at a folder written by `xlner pipeline ... --out DIR`")
    config = _read_json(run_dir / "config.json")
    metrics = _read_json(run_dir / "metrics.json")
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


def _normalise_record(rec: dict[str, Any], path: Path, line: int) -> dict[str, Any]:
    for name in REQUIRED_FIELDS:
        if name not in rec:
            raise XlnerError("E903", f"{where(path, line, rec.get('id'))}: record has no {name!r}",
                             hint="records.jsonl lines follow docs/run-format.md")
    rec["id"] = str(rec["id"])
    for key, value in (("tgt_tokens", rec["tgt_tokens"]), ("src_tokens", rec.get("src_tokens") or [])):
        if not isinstance(value, list):
            raise XlnerError("E903", f"{where(path, line, rec['id'])}: {key} must be a list of words, "
                             f"found {type(value).__name__}", hint="records.jsonl lines follow docs/run-format.md")
    n_tgt = len(rec["tgt_tokens"])
    for key, n in (("gold_entities", n_tgt), ("tgt_entities", n_tgt),
                   ("src_entities", len(rec.get("src_tokens") or []))):
        spans = rec.setdefault(key, []) or []
        for s in spans:
            try:
                start, end, label = int(s["start"]), int(s["end"]), s["label"]
            except (KeyError, TypeError, ValueError):
                label = None
            if not isinstance(label, str):
                raise XlnerError("E903", f"{where(path, line, rec['id'])}: {key} holds {s!r}, not a span "
                                 "with integer start, end and a label",
                                 hint="records.jsonl lines follow docs/run-format.md")
            if not 0 <= start < end <= n:
                raise XlnerError("E903", f"{where(path, line, rec['id'])}: {key} span "
                                 f"[{start}, {end}) is outside the {n} tokens")
        rec[key] = spans
    rec.setdefault("src_tokens", [])
    rec.setdefault("alignment", [])
    rec.setdefault("unprojected", [])
    rec.setdefault("candidates", [])
    return rec


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a ``records.jsonl``, checked for what the explorer draws.

    Parsing is :func:`xlner.runs.iter_records` (the one reader of the format); its errors keep
    the explorer's codes: E901 when the file cannot be read, E902 for a line that is not a JSON
    object or bytes that are not UTF-8, E903 for a record without ``id``/``tgt_tokens`` or with a
    span outside its tokens. Each names the file, the line and, where known, the sentence.
    """
    path = Path(path)
    if not path.is_file():
        raise XlnerError("E901", f"cannot read {where(path)}: no such file",
                         hint="point the explorer at a folder written by `xlner pipeline ... --out DIR`")
    return [_normalise_record(rec, path, n) for n, rec in iter_records(path, code="E902")]


def load_run_records(run_dir: Path) -> list[dict[str, Any]]:
    """The records of one run directory (``records.jsonl``), checked by :func:`read_records`."""
    return read_records(Path(run_dir) / RECORDS)


def records_fingerprint(run_dir: Path) -> tuple[str, float, int]:
    """A cheap cache key that changes when a run is rewritten."""
    p = Path(run_dir) / "records.jsonl"
    st = p.stat()
    return (str(p), st.st_mtime, st.st_size)
