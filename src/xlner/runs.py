"""The run directory: what the pipeline writes and what the explorer and experiments read.

Format: docs/run-format.md. ``config.json``, ``metrics.json`` and ``records.jsonl`` are the contract;
``steps/`` holds the cached step outputs (an implementation detail of the pipeline).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from xlner.cache import atomic_write_text
from xlner.errors import XlnerError, where

__all__ = ["Run", "load_run", "list_runs", "write_run", "read_records", "iter_records", "CONFIG", "METRICS",
           "RECORDS"]

CONFIG, METRICS, RECORDS = "config.json", "metrics.json", "records.jsonl"


@dataclass
class Run:
    """A finished run: its resolved configuration, its metrics and one record per sentence."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def frame(self):  # pandas is imported only by callers that want a DataFrame
        """The records as a pandas DataFrame (one row per sentence, columns as in records.jsonl)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)

    def record(self, sentence_id: str) -> dict[str, Any]:
        for r in self.records:
            if r["id"] == sentence_id:
                return r
        raise KeyError(sentence_id)


def read_json_object(path: Path, *, code: str = "E712", required: bool = True,
                     hint: str = "rerun the pipeline command to rewrite it") -> dict[str, Any]:
    """A run's JSON file (config, metrics) as a dict; errors carry ``code`` (the explorer uses its
    own). A missing file is an error when ``required``, else ``{}``."""
    if not path.is_file():
        if not required:
            return {}
        raise XlnerError(code, f"{path} is missing: {path.parent} is not a finished run directory",
                         hint="run `xlner pipeline translate-test ... --out DIR` (or rerun it: "
                              "finished steps are reused)")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XlnerError(code, f"{where(path, getattr(exc, 'lineno', None))} is not valid JSON: {exc}",
                         hint=hint) from exc
    if not isinstance(value, dict):
        raise XlnerError(code, f"{path} must hold a JSON object, found {type(value).__name__}")
    return value


def iter_records(path: str | os.PathLike, *, code: str = "E712") -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for every non-blank line of a ``records.jsonl``.

    The one parser of the format: a missing file, bytes that are not UTF-8, a line that is not
    JSON or not a JSON object raise ``XlnerError(code)`` naming file and line. ``code`` lets a
    reader report these under its own catalogue (the explorer uses E902 and adds its field and
    span checks on top, as E903; see :func:`xlner.explorer.loading.read_records`).
    """
    path = Path(path)
    if not path.is_file():
        raise XlnerError(code, f"{path} is missing", hint="rerun the pipeline command")
    data = path.read_bytes()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise XlnerError(code, f"{where(path, line)} is not UTF-8 ({exc.reason} at byte {exc.start})",
                         hint="rerun the pipeline command to rewrite records.jsonl") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise XlnerError(code, f"{where(path, n)} is not valid JSON: {exc.msg}",
                             hint="a half-written line means the run was interrupted; rerun the "
                                  "pipeline command to rewrite records.jsonl") from exc
        if not isinstance(record, dict):
            raise XlnerError(code, f"{where(path, n)} is not a JSON object")
        yield n, record


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every record of a ``records.jsonl``; each must have an ``id`` (E712 names file and line)."""
    records = []
    for n, record in iter_records(path):
        if "id" not in record:
            raise XlnerError("E712", f"{where(path, n)}: a record must be an object with an 'id'")
        records.append(record)
    return records


def load_run(run_dir: str | os.PathLike) -> Run:
    """Read a run directory (config, metrics and records); raises E712 naming what is wrong."""
    path = Path(run_dir)
    if not path.is_dir():
        raise XlnerError("E712", f"run directory {path} does not exist")
    return Run(path, read_json_object(path / CONFIG), read_json_object(path / METRICS),
               read_records(path / RECORDS))


def list_runs(root: str | os.PathLike) -> list[Path]:
    """Every finished run directory under ``root`` (itself included), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = {p.parent for p in root.rglob(RECORDS) if (p.parent / CONFIG).is_file()
             and (p.parent / METRICS).is_file()}
    return sorted(found)


def write_run(run_dir: str | os.PathLike, config: dict, metrics: dict,
              records: Iterable[dict]) -> Path:
    """Write the three files of a run, each atomically (records first, metrics last: a run whose
    metrics.json exists is complete)."""
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    atomic_write_text(path / RECORDS, lines)
    atomic_write_text(path / CONFIG, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(path / METRICS, json.dumps(metrics, ensure_ascii=False, indent=2) + "\n")
    return path
