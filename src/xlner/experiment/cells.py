"""One experiment cell (method x test set x seed) as a standard run directory.

A cell is written with :func:`xlner.runs.write_run` (atomic; ``metrics.json`` last marks it
finished) so the explorer opens it like any pipeline run, and read back with
:func:`xlner.runs.load_run`. Its records are typed (:class:`~xlner.record.RunRecord`), built in
:func:`_record`; a cell's config is touched only in :func:`write_cell` and :func:`cell_info`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from xlner.datamodel import ProjectedEntity, ProjectionResult, Sentence
from xlner.experiment.config import DataSpec
from xlner.record import RunRecord


def cell_name(method: str, test: str, seed: int | None) -> str:
    return f"{method}__{test}" + ("" if seed is None else f"__s{seed}")


@dataclass
class CellPrediction:
    """A method's output on one test set: predicted sentences (the gold's, in order), a score per
    predicted entity, what the cell's config.json should add, and per sentence the translate-test
    record it came from, where the method has one (the cell keeps its English side, alignment,
    unprojected entities and candidates, so the explorer can show how it was made)."""

    sentences: list[Sentence]
    scores: list[list[float]]
    config: dict[str, Any] = field(default_factory=dict)
    pipeline_records: list[RunRecord] | None = None


def _record(gold: Sentence, pred: Sentence, scores: Sequence[float], language: str, method: str,
            made_by: RunRecord | None) -> RunRecord:
    """A cell's record: the gold sentence, the prediction (``source`` -1: no English entity is
    named, the prediction's spans are typed by the experiment) and ``made_by``'s layers."""
    projected = [ProjectedEntity(s, -1, round(float(x), 4)) for s, x in zip(pred.spans, scores)]
    record = RunRecord(id=gold.id, tgt_tokens=list(gold.tokens), gold=list(gold.spans), lang=language,
                       source=gold.source, method=method, projection=ProjectionResult(projected))
    if made_by is not None:
        record.translation, record.src_tokens = made_by.translation, list(made_by.src_tokens)
        record.src_entities, record.alignment = list(made_by.src_entities), made_by.alignment
        record.projection.unprojected = list(made_by.projection.unprojected)
        record.projection.candidates = list(made_by.projection.candidates)
    return record


def cell_metrics(gold: Sequence[Sentence], pred: Sequence[Sentence], types: Sequence[str]) -> dict[str, Any]:
    """metrics.json of a cell: xlner.evaluate's report, with a row for every type of the experiment."""
    from xlner.evaluate import evaluate

    metrics = evaluate(list(gold), list(pred)).to_dict()
    empty = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    metrics["per_type"] = {t: metrics["per_type"].get(t, empty) for t in types}
    metrics["labels"] = list(types)
    return metrics


def write_cell(run_dir: Path, gold: Sequence[Sentence], prediction: CellPrediction, *, method: str,
               test: DataSpec, seed: int | None, types: Sequence[str]) -> dict[str, Any]:
    """Write one cell's run directory; returns its metrics."""
    from xlner.runs import write_run

    metrics = cell_metrics(gold, prediction.sentences, types)
    config = {"task": method, "lang": test.language, "dataset": test.name, "domain": test.domain,
              "seed": seed, "method": method, "labels": list(types),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **prediction.config}
    made_by: list[RunRecord | None] = ([*prediction.pipeline_records] if prediction.pipeline_records
                                       else [None] * len(gold))
    records = [_record(g, p, sc, test.language, method, m)
               for g, p, sc, m in zip(gold, prediction.sentences, prediction.scores, made_by)]
    write_run(run_dir, config, metrics, records)
    return metrics


def finished(run_dir: Path, made_with: Mapping[str, Any] | None = None) -> bool:
    """Whether the cell ``run_dir`` is written, and (``made_with``) its config.json holds those values;
    a key the cell lacks counts as empty (a cell from before the key existed was made without it)."""
    import json

    from xlner.runs import CONFIG, METRICS

    if not (run_dir / METRICS).is_file():
        return False
    if not made_with:
        return True
    try:
        config = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # unreadable: write it again
    return all(config.get(k, {}) == v for k, v in made_with.items())


@dataclass
class CellInfo:
    method: str
    language: str
    test_set: str
    domain: str
    seed: int | None


def cell_info(config: dict[str, Any]) -> CellInfo:
    seed = config.get("seed")
    return CellInfo(str(config["method"]), str(config["lang"]), str(config["dataset"]),
                    str(config.get("domain", "")), None if seed is None else int(seed))
