"""``xlner corrections``: agreement, conflicts, assignments and training exports of the annotation store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

corrections_app = typer.Typer(no_args_is_help=True, add_completion=False,
                              help="The explorer's annotation store: agreement, conflicts, assignments, export.")


def open_store(path: Path) -> Any:
    """An existing store (never create one from a mistyped path)."""
    from xlner.corrections.store import CorrectionStore
    from xlner.errors import XlnerError

    if not path.is_file():
        raise XlnerError("E966", path=path)
    return CorrectionStore(path)


def resolve_run_key(store: Any, run_dir: Path | None, run_key: str | None) -> str:
    """The store's key for a run: ``run_key`` as given, else the one run key naming ``run_dir``'s
    folder (the explorer keys runs by their folder path under a run root), else the only run."""
    from xlner.errors import XlnerError

    keys = store.runs()
    if run_key is not None:
        if run_key in keys:
            return run_key
    else:
        name = run_dir.resolve().name if run_dir is not None else None
        named = [k for k in keys if name is not None and (k == name or k.endswith("/" + name))]
        if len(named) == 1:
            return named[0]
        if run_dir is None and len(keys) == 1:
            return keys[0]
    wanted = run_key or (run_dir.name if run_dir is not None else "?")
    raise XlnerError("E964", path=store.path, run=wanted, runs=", ".join(keys) or "none")


def _pct(x: float | None) -> str:
    return "undefined" if x is None else f"{100 * x:.1f}"


def agreement(store_path: Path = typer.Argument(..., help="the corrections database (corrections.sqlite)"),
              run_key: str | None = typer.Option(None, "--run-key", help="only this run (default: every run)"),
              as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Inter-annotator agreement per pair: span F1 and Cohen's kappa on accept/reject."""
    from xlner.corrections.agreement import agreement as pairs

    store = open_store(store_path)
    key = resolve_run_key(store, None, run_key) if run_key is not None else None
    result = pairs(store.history(key))
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in result], indent=1))
        return
    if not result:
        typer.echo("fewer than two annotators: no agreement to report")
        return
    typer.echo(f"{'annotators':<24} {'sentences':>9} {'spans':>11} {'span F1':>8} {'entities':>8} "
               f"{'agree %':>8} {'kappa':>7}")
    for p in result:
        kappa = "undef." if p.kappa is None else f"{p.kappa:.3f}"
        typer.echo(f"{p.a + ' / ' + p.b:<24} {p.sentences:>9} {f'{p.spans_a}/{p.spans_b}':>11} "
                   f"{_pct(p.span_f1):>8} {p.entities:>8} {_pct(p.observed):>8} {kappa:>7}")


def conflicts(store_path: Path = typer.Argument(..., help="the corrections database"),
              run_key: str | None = typer.Option(None, "--run-key", help="only this run"),
              open_only: bool = typer.Option(False, "--open", help="only conflicts nobody adjudicated yet"),
              as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Entities on which annotators disagree, with every annotator's decision and any adjudication."""
    from xlner.corrections.resolve import conflicts as find

    store = open_store(store_path)
    runs = [resolve_run_key(store, None, run_key)] if run_key is not None else store.runs()
    out: list[dict[str, Any]] = []
    for run in runs:
        for c in find(store.history(run), include_resolved=not open_only):
            out.append({"run": run, "sentence": c.sentence, "entity": c.entity,
                        "decisions": {who: _brief(d) for who, d in c.decisions.items()},
                        "adjudication": _brief(c.adjudication) if c.adjudication else None})
    if as_json:
        typer.echo(json.dumps(out, indent=1, ensure_ascii=False))
        return
    for row in out:
        said = "; ".join(f"{who}: {d}" for who, d in row["decisions"].items())
        final = f" -> adjudicated: {row['adjudication']}" if row["adjudication"] else " (open)"
        typer.echo(f"{row['run']}  {row['sentence']}  {row['entity']}  {said}{final}")
    typer.echo(f"{len(out)} conflicts")


def _brief(d: dict[str, Any]) -> str:
    span = "" if d["action"] == "reject" else f" {d['label']} [{d['start']}, {d['end']})"
    return f"{d['action']}{span} by {d['annotator']} at {d['created']}"


def export(store_path: Path = typer.Argument(..., help="the corrections database"),
           run: Path = typer.Option(..., "--run", help="the run directory the decisions were made on"),
           out: Path = typer.Option(..., "-o", "--out", help="output file (conll, jsonl, spacy) or folder (hf); "
                                    "with --every-annotator a folder that receives one file per annotator"),
           fmt: str = typer.Option("conll", "--format", help="conll | jsonl | hf | spacy"),
           run_key: str | None = typer.Option(None, "--run-key", help="the run's key in the store "
                                              "(default: the one named like the run folder)"),
           annotator: str | None = typer.Option(None, "--annotator", help="export this annotator's own "
                                                "decisions instead of the final ones"),
           every_annotator: bool = typer.Option(False, "--every-annotator", help="one export per annotator"),
           all_sentences: bool = typer.Option(False, "--all-sentences", help="also sentences not fully "
                                              "reviewed (undecided entities kept as projected)")) -> None:
    """Corrected sentences for training: final decisions (agreed or adjudicated) or each annotator's."""
    from xlner.corrections.export import FORMATS, corrected, file_name, write
    from xlner.errors import XlnerError
    from xlner.explorer.loading import load_run_records

    if fmt not in FORMATS:
        raise XlnerError("E962", fmt=fmt, formats=", ".join(FORMATS))
    store = open_store(store_path)
    key = resolve_run_key(store, run, run_key)
    records = load_run_records(run)
    rows = store.history(key)
    names = store.annotators(key)
    if annotator is not None and annotator not in names:
        raise XlnerError("E965", annotator=annotator, path=store.path, annotators=", ".join(names) or "none")
    jobs: list[tuple[str | None, Path]]
    if every_annotator:
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(who, out / (file_name(who) + FORMATS[fmt])) for who in names]
    else:
        jobs = [(annotator, out)]
    for who, path in jobs:
        sentences = corrected(records, rows, annotator=who, reviewed_only=not all_sentences)
        write(sentences, path, fmt)
        typer.echo(f"{len(sentences)} sentences ({'final decisions' if who is None else who}) -> {path}")


def assign(store_path: Path = typer.Argument(..., help="the corrections database"),
           run_key: str = typer.Option(..., "--run-key", help="the run's key (as the explorer shows it)"),
           annotator: str = typer.Option(..., "--annotator"),
           first: int = typer.Option(..., "--first", help="first sentence position (0-based, run order)"),
           last: int = typer.Option(..., "--last", help="one past the last position"),
           by: str = typer.Option("", "--by", help="who assigns")) -> None:
    """Assign a range of a run's sentences to an annotator (their queue shows only those)."""
    from xlner.corrections.store import CorrectionStore

    CorrectionStore(store_path).assign(run=run_key, annotator=annotator, first=first, last=last, assigned_by=by)
    typer.echo(f"{run_key}: sentences [{first}, {last}) assigned to {annotator}")


def register(app: typer.Typer) -> None:
    corrections_app.command("agreement")(agreement)
    corrections_app.command("conflicts")(conflicts)
    corrections_app.command("export")(export)
    corrections_app.command("assign")(assign)
    app.add_typer(corrections_app, name="corrections")
