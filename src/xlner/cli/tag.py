"""``xlner tag --model MODEL DATA -o PRED``: model transfer as a command (a token classifier on a dataset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("tag")
    def tag_cmd(
        data: str = typer.Argument(..., help="data to tag: CoNLL, JSON lines or PAN-X (gold tags are scored)"),
        model: str = typer.Option(..., "--model", help="a folder written by `xlner train` (OUT or OUT/model), "
                                  "a Hugging Face token-classification folder, or a hub name"),
        out: Path = typer.Option(..., "-o", "--out", help="prediction file to write (.jsonl: JSON lines, else CoNLL)"),
        output_format: str = typer.Option("auto", "--output-format", help="auto (by extension), conll or jsonl"),
        probs: bool = typer.Option(False, "--probs", help="JSON lines only: add per-word label probabilities"),
        labels: Optional[str] = typer.Option(None, "--labels", help="entity types to keep, e.g. PER,ORG,LOC "
                                             "(default: all the model predicts)"),
        data_format: str = typer.Option("auto", "--format", help="data format: auto, conll, jsonl, panx"),
        label_map: Optional[str] = typer.Option(None, "--label-map", help="label map for the gold (name or YAML)"),
        batch_size: int = typer.Option(32, "--batch-size", min=1),
        max_length: int = typer.Option(512, "--max-length", min=8, help="sub-tokens per window"),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda"),
        threads: int = typer.Option(1, "--threads", min=1, help="CPU threads (pinned)"),
        score: bool = typer.Option(True, "--score/--no-score", help="score against the data's gold tags"),
        cache: bool = typer.Option(True, "--cache/--no-cache", help="reuse predictions cached in $XLNER_CACHE/tag"),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    ) -> None:
        """Tag DATA with a token-classification model, write PRED and score it like `xlner evaluate`."""
        from xlner.tag import tag_dataset, write_predictions
        from xlner.threads import pin_threads

        pin_threads(threads)
        keep = [x.strip().upper() for x in labels.split(",") if x.strip()] if labels else None
        result = tag_dataset(model, data, labels=keep, data_format=data_format, label_map=label_map,
                             batch_size=batch_size, max_length=max_length, device=device, score=score,
                             use_cache=cache, progress=not quiet)
        fmt = write_predictions(result, out, output_format=output_format, with_probs=probs)
        speed = (f"{len(result.predicted)} sentences, read from the cache" if result.cached else
                 f"{len(result.predicted)} sentences, {result.sentences_per_second:.1f} sentences/s "
                 f"(model loading included)")
        if as_json:
            typer.echo(json.dumps({"model": result.model, "pred": str(out), "format": fmt,
                                   "cached": result.cached, "seconds": result.seconds,
                                   "report": None if result.report is None else result.report.to_dict()},
                                  ensure_ascii=False, indent=1))
            return
        typer.echo(f"model: {result.model}\ndata: {data}\npred: {out} ({fmt}); {speed}\n")
        if result.report is not None:
            typer.echo(result.report.table())
