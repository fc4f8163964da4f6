"""One experiment cell (method x test set x seed) as a standard run directory.

A cell is written with :func:`xlner.runs.write_run` (atomic; ``metrics.json`` last marks it
finished) so the explorer opens it like any pipeline run, and read back with
:func:`xlner.runs.load_run`. The run record's fields are touched only in :func:`_record` and
:func:`cell_sentences`; a cell's config only in :func:`write_cell` and :func:`cell_info`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from xlner.datamodel import Sentence, Span
from xlner.experiment.config import DataSpec


def cell_name(method: str, test: str, seed: int | None) -> str:
    return f"{method}__{test}" + ("" if seed is None else f"__s{seed}")


@dataclass
class CellPrediction:
    """A method's output on one test set: predicted sentences (the gold's, in order), a score per
    predicted entity, what the cell's config.json should add, and per-sentence record fields
    (translate-test's translation, alignment, ...) where the method has them."""

    sentences: list[Sentence]
    scores: list[list[float]]
    config: dict[str, Any] = field(default_factory=dict)
    record_fields: list[dict[str, Any]] | None = None


def _record(gold: Sentence, pred: Sentence, scores: Sequence[float], language: str, method: str,
            extra: dict[str, Any] | None) -> dict[str, Any]:
    record = {"id": gold.id, "lang": language, "source": gold.source, "tgt_tokens": gold.tokens,
              "gold_entities": [s.to_dict() for s in gold.spans],
              "translation": "", "src_tokens": [], "src_entities": [], "alignment": [],
              "method": method,
              "tgt_entities": [{**s.to_dict(), "source": -1, "score": round(float(x), 4)}
                               for s, x in zip(pred.spans, scores)],
              "unprojected": [], "candidates": []}
    record.update(extra or {})
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
    fields = prediction.record_fields or [None] * len(gold)
    records = [_record(g, p, sc, test.language, method, extra)
               for g, p, sc, extra in zip(gold, prediction.sentences, prediction.scores, fields)]
    write_run(run_dir, config, metrics, records)
    return metrics


def finished(run_dir: Path) -> bool:
    from xlner.runs import METRICS

    return (run_dir / METRICS).is_file()


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


def cell_sentences(records: Sequence[Any]) -> tuple[list[Sentence], list[Sentence]]:
    """Gold and predicted sentences of a cell's records."""
    gold, pred = [], []
    for r in records:
        gold.append(Sentence(str(r["id"]), list(r["tgt_tokens"]), sorted(Span.from_dict(e) for e in r["gold_entities"])))
        pred.append(Sentence(str(r["id"]), list(r["tgt_tokens"]), sorted(Span.from_dict(e) for e in r["tgt_entities"])))
    return gold, pred
