"""``xlner compare``: paired comparison of two runs on the same gold sentences."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(run_a: Path = typer.Argument(..., help="first run directory"),
                run_b: Path = typer.Argument(..., help="second run directory (the baseline)"),
                n_boot: int = typer.Option(1000, help="bootstrap resamples"),
                seed: int = typer.Option(0),
                as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """Paired bootstrap of F1(A) - F1(B) for two runs on the same gold sentences."""
        from xlner.compare import compare_runs

        res = compare_runs(run_a, run_b, n_boot, seed)
        if as_json:
            typer.echo(json.dumps(res, indent=1))
            return
        verdict = "significant" if res["ci_low"] > 0 or res["ci_high"] < 0 else "not significant"
        typer.echo(f"{res['n_sentences']} sentences  F1 A {100 * res['f1_a']:.1f}  B {100 * res['f1_b']:.1f}  "
                   f"A-B {100 * res['diff']:+.1f} [95% CI {100 * res['ci_low']:+.1f}, {100 * res['ci_high']:+.1f}] "
                   f"({verdict})")
