"""``xlner data info PATH`` and ``xlner data convert IN OUT``: inspect and convert dataset files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

import typer

data_app = typer.Typer(no_args_is_help=True, help="Inspect, validate and convert NER datasets.")


def dataset_info(path: str, *, format: str = "auto", label_map: Optional[str] = None,
                 scheme: str = "auto") -> dict:
    """Counts that tell whether a file was read as expected."""
    from xlner.data import read_dataset

    ds = read_dataset(path, format=format, label_map=label_map, scheme=scheme)
    per_type = Counter(s.label for sent in ds.sentences for s in sent.spans)
    lengths = [len(s.tokens) for s in ds.sentences]
    return {
        "path": str(path), "name": ds.name, "lang": ds.lang, "scheme": getattr(ds, "scheme", None),
        "sentences": len(ds), "tokens": sum(lengths), "entities": sum(per_type.values()),
        "per_type": dict(sorted(per_type.items())), "max_sentence_length": max(lengths, default=0),
        "sentences_over_512_tokens": sum(n > 512 for n in lengths),
        "first_id": ds.sentences[0].id if ds.sentences else None,
    }


def register(app: typer.Typer) -> None:
    @data_app.command("info")
    def info_cmd(
        path: str = typer.Argument(..., help="a data file, or hf:<dataset>[:<config>]:<split>"),
        format: str = typer.Option("auto", "--format", help="auto, conll, jsonl or panx"),
        label_map: Optional[str] = typer.Option(None, "--label-map", help="label map name or YAML path"),
        scheme: str = typer.Option("auto", "--scheme", help="auto, iob1, iob2 or bioes"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Read PATH (validating every line) and print sentence, token and entity counts."""
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
        """Convert between CoNLL and JSON lines, normalising the tags (and applying a label map)."""
        from xlner.data import E_FORMAT, read_dataset, write_conll, write_jsonl
        from xlner.errors import XlnerError

        target = to or ("jsonl" if dst.suffix in (".jsonl", ".json") else "conll")
        if target not in ("conll", "jsonl"):
            raise XlnerError(E_FORMAT, f"cannot write format {target!r}", hint="use --to conll or --to jsonl")
        ds = read_dataset(src, format=format, label_map=label_map, scheme=scheme)
        (write_jsonl if target == "jsonl" else write_conll)(ds, dst, scheme=out_scheme)
        typer.echo(f"wrote {len(ds)} sentences to {dst} ({target}, {out_scheme})")

    app.add_typer(data_app, name="data")
