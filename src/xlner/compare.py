"""Paired comparison of two runs on the same gold sentences (``xlner compare``, the Compare page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from xlner.errors import XlnerError
from xlner.record import RunRecord, evaluation_sentences
from xlner.runs import load_run

__all__ = ["compare_runs", "compare_records", "differing_sentences"]


def compare_records(records_a: Sequence[RunRecord], records_b: Sequence[RunRecord], *, name_a: str, name_b: str,
                    n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """F1 of two runs' records and the paired-bootstrap interval of their difference (A - B).

    Both must hold the same sentences with the same gold entities (E714 names the first sentence
    that differs) and have gold (E724); ``name_a`` / ``name_b`` name the runs in errors."""
    from xlner.evaluate import evaluate, paired_bootstrap_diff

    gold_a, pred_a = evaluation_sentences(records_a, f"run {name_a}")
    gold_b, pred_b = evaluation_sentences(records_b, f"run {name_b}")
    for k in range(max(len(gold_a), len(gold_b))):
        ga = gold_a[k] if k < len(gold_a) else None
        gb = gold_b[k] if k < len(gold_b) else None
        if ga is None or gb is None or (ga.id, ga.spans) != (gb.id, gb.spans):
            first = (f"sentence {ga.id if ga else gb.id if gb else '?'} (number {k + 1}) "
                     + ("is missing from one run" if ga is None or gb is None or ga.id != gb.id
                        else "has other gold entities"))
            raise XlnerError("E714", a=name_a, b=name_b, first=first)
    diff = paired_bootstrap_diff(gold_a, pred_a, pred_b, n_boot=n_boot, seed=seed)
    return {"a": name_a, "b": name_b, "n_sentences": len(gold_a),
            "f1_a": evaluate(gold_a, pred_a).to_dict()["overall"]["f1"],
            "f1_b": evaluate(gold_b, pred_b).to_dict()["overall"]["f1"],
            "diff": diff.diff, "ci_low": diff.low, "ci_high": diff.high, "n_boot": n_boot}


def compare_runs(run_a: Path, run_b: Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """:func:`compare_records` of two run directories."""
    a, b = load_run(run_a), load_run(run_b)
    return compare_records(a.records, b.records, name_a=str(run_a), name_b=str(run_b), n_boot=n_boot, seed=seed)


def differing_sentences(records_a: Sequence[RunRecord], records_b: Sequence[RunRecord]) -> list[str]:
    """Ids of the sentences (present in both, in A's order) whose projected entities differ."""
    by_id = {r.id: r for r in records_b}
    return [r.id for r in records_a if r.id in by_id and r.projected_spans() != by_id[r.id].projected_spans()]
