"""``xlner evaluate GOLD PRED``: seqeval scores, projection ratio and error categories for two files;
``xlner evaluate RUN_DIR``: the same for a run folder, with the per-stage error attribution."""

from __future__ import annotations

import json
from typing import Optional

import typer


def _split_labels(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        gold: str = typer.Argument(..., help="gold file (CoNLL, JSON lines, PAN-X) or hf:<dataset>[:<config>]:<split>; "
                                   "or a run folder (records.jsonl), alone"),
        pred: Optional[str] = typer.Argument(None, help="prediction file with the same sentences and tokens "
                                                        "(left out for a run folder)"),
        mode: str = typer.Option("default", "--mode", help="default (seqeval/conlleval) or strict (IOB2)"),
        ignore_labels: str = typer.Option("", "--ignore-labels", help="types set to O in both, e.g. DATE,MISC"),
        label_map: Optional[str] = typer.Option(None, "--label-map",
                                                help="label map applied to both (name or YAML path)"),
        format: str = typer.Option("auto", "--format", help="auto, conll, jsonl or panx"),
        as_json: bool = typer.Option(False, "--json", help="print the full report as JSON"),
        bootstrap: int = typer.Option(0, "--bootstrap", help="add a 95% bootstrap CI of F1 with N resamples"),
        seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
        show_errors: int = typer.Option(0, "--show-errors", help="print the first N sentences with errors"),
    ) -> None:
        """Score PRED against GOLD: seqeval P/R/F1 overall and per type, proj_ratio, SemEval categories.

        With no gold entity P/R/F1 are undefined: printed as such (null in --json), never as 0.
        With a run folder alone (``xlner evaluate RUN_DIR``): its gold against its projection, and
        every error attributed to translation, English NER, alignment or projection
        (docs/attribution.md).
        """
        from xlner.evaluate import bootstrap_f1_ci, evaluate_files, mismatch_blocks

        attribution = None
        if pred is None:
            from xlner.attribution import evaluate_run_dir

            gold_s, pred_s, report, attribution = evaluate_run_dir(
                gold, mode=mode, ignore_labels=_split_labels(ignore_labels))
            pred = f"{gold} (projection)"
        else:
            gold_s, pred_s, report = evaluate_files(str(gold), str(pred), mode=mode,
                                                    ignore_labels=_split_labels(ignore_labels),
                                                    format=format, label_map=label_map)
        labels = report.ignore_labels
        out = report.to_dict(undefined_as_none=True)
        ci: tuple[float, float] | None = None
        if bootstrap and report.defined:
            ci = bootstrap_f1_ci(gold_s, pred_s, n_boot=bootstrap, seed=seed, mode=mode,
                                 ignore_labels=labels)
            out["overall"]["f1_ci95"] = list(ci)
        if attribution is not None:
            out["attribution"] = attribution.to_dict()
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
            return
        if show_errors:
            typer.echo(mismatch_blocks(gold_s, pred_s, limit=show_errors, ignore_labels=labels) + "\n")
        typer.echo(f"gold: {gold}\npred: {pred}\n")
        typer.echo(report.table())
        if ci is not None:
            typer.echo(f"\nF1 95% CI (percentile bootstrap over sentences, n={bootstrap}, seed={seed}): "
                       f"[{ci[0]:.4f}, {ci[1]:.4f}]")
        if attribution is not None:
            from xlner.attribution import breakdown_text

            typer.echo("\n" + breakdown_text(attribution))


def __getattr__(name: str) -> object:
    # ``evaluate_files`` moved to xlner.evaluate; old imports from here keep working (lazily, so that
    # registering the command does not import numpy).
    if name == "evaluate_files":
        from xlner.evaluate import evaluate_files

        return evaluate_files
    raise AttributeError(name)
