"""``xlner evaluate GOLD PRED``: seqeval scores, projection ratio and error categories for two files."""

from __future__ import annotations

import json
from typing import Optional

import typer


def _split_labels(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def evaluate_files(gold_path: str, pred_path: str, *, mode: str = "default", ignore_labels: list[str] = (),
                   format: str = "auto", label_map: Optional[str] = None):
    """Read and score two files; in strict mode the prediction's own B/I tags are scored."""
    from xlner.data import check_mojibake, load_label_map, read_dataset, read_records, to_sentences
    from xlner.evaluate import E_MODE, MODES, check_same_tokens, evaluate_tags
    from xlner.errors import XlnerError
    from xlner.tagging import parse_tag

    if mode not in MODES:
        raise XlnerError(E_MODE, f"unknown evaluation mode {mode!r}", hint="use 'default' or 'strict'")
    lmap = load_label_map(label_map)
    gold = read_dataset(gold_path, format=format, label_map=lmap).sentences
    records, _ = read_records(pred_path, format=format)
    check_mojibake(records, pred_path)
    pred, scheme = to_sentences(records, label_map=lmap)
    check_same_tokens(gold, pred)
    if mode == "strict" and scheme != "bioes":
        # Strict IOB2 must see the raw tags: normalising would repair the I- starts it penalises.
        def mapped(tag: str) -> str:
            prefix, typ = parse_tag(tag)
            new = typ if lmap is None or prefix == "O" else lmap.label(typ)
            return "O" if prefix == "O" or new is None else f"{prefix}-{new}"

        pred_tags = [[mapped(t) for t in r.tags] for r in records]
    else:
        pred_tags = [s.tags() for s in pred]
    return gold, pred, evaluate_tags([s.id for s in gold], [s.tags() for s in gold], pred_tags,
                                     mode=mode, ignore_labels=ignore_labels)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        gold: str = typer.Argument(..., help="gold file (CoNLL, JSON lines, PAN-X) or hf:<dataset>[:<config>]:<split>"),
        pred: str = typer.Argument(..., help="prediction file with the same sentences and tokens"),
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
        """Score PRED against GOLD: seqeval P/R/F1 overall and per type, proj_ratio, SemEval categories."""
        from xlner.evaluate import bootstrap_f1_ci, mismatch_blocks

        labels = _split_labels(ignore_labels)
        gold_s, pred_s, report = evaluate_files(str(gold), str(pred), mode=mode, ignore_labels=labels,
                                                format=format, label_map=label_map)
        out = report.to_dict()
        if bootstrap:
            low, high = bootstrap_f1_ci(gold_s, pred_s, n_boot=bootstrap, seed=seed, mode=mode,
                                        ignore_labels=labels)
            out["overall"]["f1_ci95"] = [low, high]
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
            return
        if show_errors:
            typer.echo(mismatch_blocks(gold_s, pred_s, limit=show_errors, ignore_labels=labels) + "\n")
        typer.echo(f"gold: {gold}\npred: {pred}\n")
        typer.echo(report.table())
        if bootstrap:
            typer.echo(f"\nF1 95% CI (percentile bootstrap over sentences, n={bootstrap}, seed={seed}): "
                       f"[{low:.4f}, {high:.4f}]")
