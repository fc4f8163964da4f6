"""``xlner data info PATH`` and ``xlner data convert IN OUT``: inspect and convert dataset files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

data_app = typer.Typer(no_args_is_help=True, help="Inspect, validate and convert NER datasets.")


@data_app.command("info")
def info_cmd(
    path: str = typer.Argument(..., help="a data file, or hf:<dataset>[:<config>]:<split>"),
    format: str = typer.Option("auto", "--format", help="auto, conll, jsonl or panx"),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="label map name or YAML path"),
    scheme: str = typer.Option("auto", "--scheme", help="auto, iob1, iob2 or bioes"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Read PATH (validating every line) and print sentence, token and entity counts."""
    from xlner.datatools import dataset_info

    info = dataset_info(path, format=format, label_map=label_map, scheme=scheme)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    for key, value in info.items():
        if key == "per_type":
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        typer.echo(f"{key:<26}{value}")


@data_app.command("convert")
def convert_cmd(
    src: str = typer.Argument(..., help="input file (or hf:...)"),
    dst: Path = typer.Argument(..., help="output file; .jsonl writes JSON lines, else CoNLL"),
    format: str = typer.Option("auto", "--format", help="input format"),
    to: Optional[str] = typer.Option(None, "--to", help="conll or jsonl (default: from DST's suffix)"),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="label map name or YAML path"),
    scheme: str = typer.Option("auto", "--scheme", help="input scheme: auto, iob1, iob2 or bioes"),
    out_scheme: str = typer.Option("iob2", "--out-scheme", help="output scheme: iob1, iob2 or bioes"),
) -> None:
    """Convert between CoNLL and JSON lines, normalising the tags (and applying a label map).

    Says how many tags it wrote differently from the input (and the first one), so that a
    repaired tag (``B-PER I-ORG`` -> ``B-PER B-ORG``) or a changed scheme never goes unsaid.
    """
    from xlner.datatools import convert_dataset

    done = convert_dataset(src, dst, format=format, to=to, label_map=label_map, scheme=scheme,
                           out_scheme=out_scheme)
    typer.echo(f"wrote {done.n_sentences} sentences to {dst} ({done.target}, {done.scheme})")
    if done.changed:
        typer.echo(f"rewrote {done.changed} tag(s) of the input ({done.in_scheme} -> {done.scheme}); "
                   f"first: {done.first_change}")
    else:
        typer.echo("every tag written as in the input")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
