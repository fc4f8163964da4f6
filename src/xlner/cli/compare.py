"""``xlner compare``: paired comparison of two runs on the same gold sentences."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _sentences(run, field: str):
    from xlner.datamodel import Sentence, Span

    return [Sentence(str(r["id"]), list(r["tgt_tokens"]), [Span.from_dict(s) for s in r.get(field) or []])
            for r in run.records]


def compare_runs(run_a: Path, run_b: Path, n_boot: int = 1000, seed: int = 0) -> dict:
    """F1 of two translate-test runs and the paired-bootstrap interval of their difference (A - B).

    Both runs must hold the same sentences with the same gold entities (E302/E301 otherwise)."""
    from xlner.errors import XlnerError
    from xlner.evaluate import evaluate, paired_bootstrap_diff
    from xlner.runs import load_run

    a, b = load_run(run_a), load_run(run_b)
    gold_a, gold_b = _sentences(a, "gold_entities"), _sentences(b, "gold_entities")
    if [(s.id, s.spans) for s in gold_a] != [(s.id, s.spans) for s in gold_b]:
        raise XlnerError("E714", f"runs {run_a} and {run_b} do not hold the same sentences and gold entities",
                         hint="compare runs made on the same data file with the same --labels")
    pred_a, pred_b = _sentences(a, "tgt_entities"), _sentences(b, "tgt_entities")
    diff = paired_bootstrap_diff(gold_a, pred_a, pred_b, n_boot=n_boot, seed=seed)
    return {"a": str(run_a), "b": str(run_b), "n_sentences": len(gold_a),
            "f1_a": evaluate(gold_a, pred_a).to_dict()["overall"]["f1"],
            "f1_b": evaluate(gold_b, pred_b).to_dict()["overall"]["f1"],
            "diff": diff.diff, "ci_low": diff.low, "ci_high": diff.high, "n_boot": n_boot}


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(run_a: Path = typer.Argument(..., help="first run directory"),
                run_b: Path = typer.Argument(..., help="second run directory (the baseline)"),
                n_boot: int = typer.Option(1000, help="bootstrap resamples"),
                seed: int = typer.Option(0),
                as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """Paired bootstrap of F1(A) - F1(B) for two runs on the same gold sentences."""
        res = compare_runs(run_a, run_b, n_boot, seed)
        if as_json:
            typer.echo(json.dumps(res, indent=1))
            return
        verdict = "significant" if res["ci_low"] > 0 or res["ci_high"] < 0 else "not significant"
        typer.echo(f"{res['n_sentences']} sentences  F1 A {100 * res['f1_a']:.1f}  B {100 * res['f1_b']:.1f}  "
                   f"A-B {100 * res['diff']:+.1f} [95% CI {100 * res['ci_low']:+.1f}, {100 * res['ci_high']:+.1f}] "
                   f"({verdict})")
