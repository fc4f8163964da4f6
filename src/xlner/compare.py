"""Paired comparison of two runs on the same gold sentences (``xlner compare``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlner.errors import XlnerError
from xlner.record import evaluation_sentences
from xlner.runs import load_run

__all__ = ["compare_runs"]


def compare_runs(run_a: Path, run_b: Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """F1 of two translate-test runs and the paired-bootstrap interval of their difference (A - B).

    Both runs must hold the same sentences with the same gold entities (E714 names the first
    sentence that differs) and have gold (E724)."""
    from xlner.evaluate import evaluate, paired_bootstrap_diff

    a, b = load_run(run_a), load_run(run_b)
    gold_a, pred_a = evaluation_sentences(a.records, f"run {run_a}")
    gold_b, pred_b = evaluation_sentences(b.records, f"run {run_b}")
    for k in range(max(len(gold_a), len(gold_b))):
        ga = gold_a[k] if k < len(gold_a) else None
        gb = gold_b[k] if k < len(gold_b) else None
        if ga is None or gb is None or (ga.id, ga.spans) != (gb.id, gb.spans):
            first = (f"sentence {ga.id if ga else gb.id if gb else '?'} (number {k + 1}) "
                     + ("is missing from one run" if ga is None or gb is None or ga.id != gb.id
                        else "has other gold entities"))
            raise XlnerError("E714", a=run_a, b=run_b, first=first)
    diff = paired_bootstrap_diff(gold_a, pred_a, pred_b, n_boot=n_boot, seed=seed)
    return {"a": str(run_a), "b": str(run_b), "n_sentences": len(gold_a),
            "f1_a": evaluate(gold_a, pred_a).to_dict()["overall"]["f1"],
            "f1_b": evaluate(gold_b, pred_b).to_dict()["overall"]["f1"],
            "diff": diff.diff, "ci_low": diff.low, "ci_high": diff.high, "n_boot": n_boot}
