"""The ``xlner project`` file format: JSON lines of run records in, the same lines plus projections out.

Input line (a subset of a run's record, docs/run-format.md)::

    {"id": ..., "src_tokens": [...], "tgt_tokens": [...],
     "src_entities": [{"start": i, "end": j, "label": "PER"}], "alignment": [[src_i, tgt_j], ...]}

optionally with ``"tgt_candidates"`` (spans, matching methods only) and ``"extra_scores"``
(``{name: [[...] per source entity]}``, matching only). Each line is validated by
:meth:`xlner.record.RunRecord.from_json`. Output line: the input as given plus ``"tgt_entities"``
(``start, end, label, source, score``) and ``"unprojected"`` (``source, reason``), and
``"candidates"`` when asked for.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from xlner.cachefs import FILE_MODE
from xlner.errors import XlnerError, where
from xlner.record import PROJECT_FIELDS, RunRecord, iter_json_lines, open_json_lines, parse_spans

__all__ = ["project_file", "read_projection_input", "CHUNK"]

CHUNK = 4096  # records projected per call to project_batch


def _projection_item(obj: dict[str, Any], record: RunRecord, path: str, line: int) -> dict[str, Any]:
    """The :func:`xlner.project.project_batch` input of one line (with its optional extras)."""
    item: dict[str, Any] = {"id": record.id, "src_tokens": record.src_tokens, "tgt_tokens": record.tgt_tokens,
                            "src_entities": record.src_spans, "alignment": record.alignment}
    if "tgt_candidates" in obj:
        item["tgt_candidates"] = parse_spans(obj["tgt_candidates"], len(record.tgt_tokens), path=path, line=line,
                                             sentence=obj.get("id"), field="tgt_candidates",
                                             tokens="tgt_tokens", need_label=False)
    if "extra_scores" in obj:
        extra = obj["extra_scores"]
        loc = where(path, line, obj.get("id"))
        if not isinstance(extra, dict):
            raise XlnerError("E214", where=loc, detail=f"got {type(extra).__name__}")
        scores = {}
        for name, value in extra.items():
            try:
                arr = np.asarray(value, dtype=float)
                scores[str(name)] = arr.reshape(len(record.src_entities), -1)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise XlnerError("E214", where=loc, detail=f"{name}: {exc}") from None
        item["extra_scores"] = scores
    return item


def read_projection_input(path: str) -> Iterator[tuple[dict[str, Any], RunRecord, dict[str, Any]]]:
    """``(line as given, its record, its project_batch input)`` for every line of ``path`` (``-``:
    standard input); every problem is an XlnerError naming the file, line and sentence."""
    stream = open_json_lines(path)
    try:
        for line, obj in iter_json_lines(stream, path):
            record = RunRecord.from_json(obj, path=path, line=line, required=PROJECT_FIELDS)
            yield obj, record, _projection_item(obj, record, path, line)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _check_paths(input_path: str, output_path: str) -> None:
    if input_path != "-" and not Path(input_path).is_file():
        raise XlnerError("E216", path=input_path)
    if output_path != "-":
        out = Path(output_path)
        if out.is_dir():
            raise XlnerError("E222", path=out)
        if not out.resolve().parent.is_dir():
            raise XlnerError("E219", path=out.resolve().parent)


def project_file(input_path: str, output_path: str, method: str, params: dict[str, Any], *,
                 with_candidates: bool = False, progress: bool = True) -> dict[str, int]:
    """Project every line of ``input_path`` into ``output_path`` (``-``: standard output); returns
    simple counts.

    The output is written to a temporary file beside it and moved into place only when every line
    has been projected: a bad line or an interruption never leaves a half-written output, and the
    temporary file is removed whatever happens.
    """
    from tqdm import tqdm

    from xlner.project import project_batch, resolve_params

    resolve_params(method, params)  # fail on bad options before reading anything
    _check_paths(input_path, output_path)
    counts = {"sentences": 0, "source_entities": 0, "projected": 0, "unprojected": 0}
    tmp = None
    if output_path == "-":
        out = sys.stdout
    else:
        fd, tmp = tempfile.mkstemp(prefix=".xlner-project-", suffix=".jsonl",
                                   dir=Path(output_path).resolve().parent)
        os.fchmod(fd, FILE_MODE)  # not mkstemp's owner-only 0600 (xlner.cachefs.FILE_MODE says why)
        out = os.fdopen(fd, "w", encoding="utf-8")
    bar = tqdm(unit=" sent", desc=f"project ({method})", disable=not progress, file=sys.stderr)
    try:
        chunk: list[tuple[dict[str, Any], RunRecord, dict[str, Any]]] = []

        def flush() -> None:
            results = project_batch(method, [item for _, _, item in chunk], **params)
            for (obj, record, _), res in zip(chunk, results):
                row = dict(obj)
                row["tgt_entities"] = [p.to_dict() for p in res.projected]
                row["unprojected"] = [u.to_dict() for u in res.unprojected]
                if with_candidates:
                    row["candidates"] = [x.to_dict() for x in res.candidates]
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                counts["projected"] += len({p.source for p in res.projected})
                counts["unprojected"] += len(res.unprojected)
                counts["source_entities"] += len(record.src_entities)
            counts["sentences"] += len(chunk)
            bar.update(len(chunk))
            chunk.clear()

        for entry in read_projection_input(input_path):
            chunk.append(entry)
            if len(chunk) >= CHUNK:
                flush()
        if chunk:
            flush()
        bar.close()  # before an error message too (finally), so that it does not share the bar's line
        if tmp:
            out.close()
            os.replace(tmp, output_path)
            tmp = None
    finally:
        bar.close()
        if tmp:
            out.close()
            os.unlink(tmp)
    return counts
