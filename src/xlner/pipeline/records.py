"""What the pipeline makes of its final table: run records, their metrics and the training set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from xlner.record import RunRecord, evaluation_sentences


def build_records(table: pa.Table, lang: str, method: str, labels: list[str],
                  bt_method: str | None = None) -> list[RunRecord]:
    """One :class:`RunRecord` per row of the pipeline's final table (docs/run-format.md); gold
    restricted to the evaluated types, None for a sentence without gold.

    Each row is checked by the records' own validation, so the pipeline never writes a record that
    its readers would refuse.
    """
    keep = set(labels)
    records = []
    with_bt = "bt_alignment" in table.column_names
    for row in table.to_pylist():
        gold = row.get("gold_entities")
        obj: dict[str, Any] = {
            "id": row["id"], "lang": lang, "source": row["source"], "tgt_tokens": row["tgt_tokens"],
            "gold_entities": None if gold is None else [
                {"start": e["start"], "end": e["end"], "label": e["label"]} for e in gold if e["label"] in keep],
            "translation": row["translation"],
            "src_tokens": row["src_tokens"], "src_unknown": row.get("src_unknown"),
            "src_entities": row["src_entities"],
            "alignment": row["alignment"], "alignment_scores": row["alignment_scores"],
            "similarity": row["similarity"],
            "method": method,
            "tgt_entities": row["tgt_entities"], "unprojected": row["unprojected"],
            "candidates": [_candidate(c) for c in row["candidates"] or []],
        }
        if with_bt:
            obj["back_translation"] = {
                "text": row["bt_text"], "entity_texts": row["bt_entity_texts"],
                "tokens": row["bt_tokens"], "entities": row["bt_entities"], "lost": row["bt_lost"],
                "alignment": row["bt_alignment"], "alignment_scores": row["bt_alignment_scores"],
                "method": bt_method}
        records.append(RunRecord.from_json(obj, path="the pipeline's output"))
    return records


def _candidate(row: dict[str, Any]) -> dict[str, Any]:
    """A candidate row of the table as the record's JSON form: fused candidates' score components
    come out of Arrow as a map (a list of pairs); absent components and origin are left out."""
    out = {k: row[k] for k in ("source", "start", "end", "score")}
    if row.get("components") is not None:
        out["components"] = dict(row["components"])
    if row.get("origin") is not None:
        out["origin"] = row["origin"]
    return out


def evaluate_records(records: Sequence[RunRecord], labels: list[str]) -> dict[str, Any]:
    """metrics.json content (without timings) for translate-test records.

    A run whose sentences have no gold gets no precision, recall or F1 (``"gold": false``) but
    its projection counts; a run where only some sentences lack gold is refused (E724).
    """
    from xlner.evaluate import bootstrap_f1_ci, evaluate

    common = {"labels": labels, "n_sentences": len(records), "unprojected_reasons": reason_counts(records)}
    if records and all(r.gold is None for r in records):
        return {"gold": False, **projection_counts(records), **common}
    gold, pred = evaluation_sentences(records, "the run")
    metrics = evaluate(gold, pred, mode="default").to_dict()
    metrics["overall_strict"] = evaluate(gold, pred, mode="strict").to_dict()["overall"]
    low, high = bootstrap_f1_ci(gold, pred, n_boot=1000, seed=0)
    metrics["overall"]["f1_ci95"] = [low, high]
    metrics.update(common)
    return metrics


def reason_counts(records: Sequence[RunRecord]) -> dict[str, int]:
    """How many entities were not projected, per reason."""
    counts: dict[str, int] = {}
    for r in records:
        for u in r.projection.unprojected:
            counts[u.reason.value] = counts.get(u.reason.value, 0) + 1
    return dict(sorted(counts.items()))


def projection_counts(records: Sequence[RunRecord]) -> dict[str, Any]:
    """Source entities, projected entities and the mean per-sentence projection ratio."""
    from xlner.evaluate import sentence_proj_ratios

    n_src = np.array([len(r.src_entities) for r in records])
    n_proj = np.array([len(r.projection.projected) for r in records])
    ratios = sentence_proj_ratios(n_src, n_proj)
    return {"proj_ratio": float(ratios.mean()) if len(ratios) else 0.0,
            "n_source_entities": int(n_src.sum()), "n_projected_entities": int(n_proj.sum())}


def write_training_set(records: Sequence[RunRecord], out: Path, drop_incomplete: bool) -> dict[str, Any]:
    """Write ``train.conll``/``train.jsonl`` (target tokens + projected labels)."""
    from xlner.data import write_conll, write_jsonl
    from xlner.datamodel import Sentence

    kept = [r for r in records if r.tgt_tokens and not (drop_incomplete and r.projection.unprojected)]
    sentences = [Sentence(r.id, list(r.tgt_tokens), r.projected_spans(), r.source) for r in kept]
    out.mkdir(parents=True, exist_ok=True)
    write_conll(sentences, out / "train.conll")
    write_jsonl(sentences, out / "train.jsonl")
    return {**projection_counts(records), "n_training_sentences": len(sentences),
            "training_files": ["train.conll", "train.jsonl"]}
