"""The run directory: what the pipeline writes and what the explorer and experiments read.

Format: docs/run-format.md. ``config.json``, ``metrics.json`` and ``records.jsonl`` are the contract;
``steps/`` holds the cached step outputs (an implementation detail of the pipeline). Records are
:class:`~xlner.record.RunRecord` objects; :func:`iter_records` / :func:`read_records` are the one
reader and :func:`write_run` the one writer of ``records.jsonl``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from xlner.cache import atomic_write_text
from xlner.errors import XlnerError, where
from xlner.record import BackTranslation, RunRecord, evaluation_sentences, iter_json_lines

__all__ = ["Run", "RunRecord", "BackTranslation", "load_run", "list_runs", "write_run", "read_records",
           "iter_records", "read_json_object", "evaluation_sentences", "CONFIG", "METRICS", "RECORDS"]

CONFIG, METRICS, RECORDS = "config.json", "metrics.json", "records.jsonl"


@dataclass
class Run:
    """A finished run: its resolved configuration, its metrics and one record per sentence."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    records: list[RunRecord] = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def frame(self) -> Any:  # pandas is imported only by callers that want a DataFrame
        """The records as a pandas DataFrame (one row per sentence, columns as in records.jsonl)."""
        import pandas as pd

        return pd.DataFrame.from_records([r.to_json() for r in self.records])

    def record(self, sentence_id: str) -> RunRecord:
        for r in self.records:
            if r.id == sentence_id:
                return r
        raise KeyError(sentence_id)


def read_json_object(path: Path, *, required: bool = True) -> dict[str, Any]:
    """A run's JSON file (config, metrics) as a dict. A missing file is an error when
    ``required`` (E720), else ``{}``; a file that is not JSON (E721) or not an object (E722) is an
    error either way."""
    if not path.is_file():
        if not required:
            return {}
        raise XlnerError("E720", path=path, folder=path.parent)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XlnerError("E721", where=where(path, getattr(exc, "lineno", None)), detail=str(exc)) from None
    if not isinstance(value, dict):
        raise XlnerError("E722", path=path, kind=type(value).__name__)
    return value


def iter_records(path: str | os.PathLike) -> Iterator[RunRecord]:
    """Every record of a ``records.jsonl``, validated by :meth:`RunRecord.from_json`.

    A missing file (E720), bytes that are not UTF-8 (E215), a line that is not JSON (E210) or not a
    valid record (E211, E217, E218, E201, E202, E220) raise an XlnerError naming file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise XlnerError("E720", path=path, folder=path.parent)
    with open(path, "rb") as stream:
        for n, obj in iter_json_lines(stream, path):
            yield RunRecord.from_json(obj, path=path, line=n)


def read_records(path: str | os.PathLike) -> list[RunRecord]:
    """Every record of a ``records.jsonl`` (see :func:`iter_records`); a sentence id that repeats
    is an error (E221): ids name sentences in the explorer, in comparisons and in corrections."""
    records: list[RunRecord] = []
    first_line: dict[str, int] = {}
    for n, record in enumerate(iter_records(path)):
        if record.id in first_line:
            raise XlnerError("E221", where=where(path, None, record.id), first=first_line[record.id] + 1,
                             n=n + 1)
        first_line[record.id] = n
        records.append(record)
    return records


def load_run(run_dir: str | os.PathLike) -> Run:
    """Read a run directory (config, metrics and records); errors name what is wrong."""
    path = Path(run_dir)
    if not path.is_dir():
        raise XlnerError("E712", path=path)
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
              records: Iterable[RunRecord | Mapping[str, Any]]) -> Path:
    """Write the three files of a run, each atomically (records first, metrics last: a run whose
    metrics.json exists is complete).

    ``records`` are RunRecords; a mapping (the JSON form) is validated as one first, so that no
    run is written that its readers would refuse.
    """
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    lines = []
    for n, r in enumerate(records, 1):
        if not isinstance(r, RunRecord):
            r = RunRecord.from_json(dict(r), path=f"record to write to {path / RECORDS}", line=n)
        lines.append(json.dumps(r.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
    atomic_write_text(path / RECORDS, "".join(lines))
    atomic_write_text(path / CONFIG, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(path / METRICS, json.dumps(metrics, ensure_ascii=False, indent=2) + "\n")
    return path
