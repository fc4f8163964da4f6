"""``xlner pipeline``: run translate-test / translate-train end to end into a run directory."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer

pipeline_app = typer.Typer(no_args_is_help=True, add_completion=False,
                           help="Run the projection pipeline end to end (cached, resumable).")


class _TqdmHandler(logging.Handler):
    """Warnings printed above the progress bars instead of through them."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def _setup_logging() -> None:
    logger = logging.getLogger("xlner")
    if not any(isinstance(h, _TqdmHandler) for h in logger.handlers):
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


def _labels(value: Optional[str]) -> Optional[list[str]]:
    if not value:
        return None
    return [x.strip().upper() for x in value.split(",") if x.strip()]


def _summary(run) -> None:
    from xlner.evaluate import UNDEFINED

    m = run.metrics
    secs = m.get("seconds", {})
    typer.echo(f"run written to {run.path}  ({m.get('n_sentences')} sentences)")
    if m.get("gold") is False:
        typer.echo(f"no gold: F1 not computed; {m.get('n_projected_entities')} entities projected from "
                   f"{m.get('n_source_entities')} English ones")
    elif "overall" in m and not m["overall"].get("support"):
        typer.echo(f"P/R/F1 {UNDEFINED}  proj_ratio {m.get('proj_ratio', 0):.2f}")
    elif "overall" in m:
        o = m["overall"]
        ci = o.get("f1_ci95") or [None, None]
        ci_text = f" [95% CI {ci[0]*100:.1f}, {ci[1]*100:.1f}]" if ci[0] is not None else ""
        typer.echo(f"F1 {o['f1']*100:.1f}{ci_text}  P {o['precision']*100:.1f}  "
                   f"R {o['recall']*100:.1f}  proj_ratio {m.get('proj_ratio', 0):.2f}")
    if "n_training_sentences" in m:
        typer.echo(f"training set: {m['n_training_sentences']} sentences, "
                   f"{m['n_projected_entities']}/{m['n_source_entities']} entities projected -> "
                   + ", ".join(str(run.path / f) for f in m["training_files"]))
    cached = set(m.get("cached_steps", []))
    typer.echo("seconds: " + ", ".join(f"{k} {v:.2f}{' (cached)' if k in cached else ''}"
                                       for k, v in secs.items()))
    if m.get("sentences_per_second"):
        loads = m.get("model_load_seconds") or {}
        load_text = (" (model loading apart: " + ", ".join(f"{k} {v:.1f} s" for k, v in loads.items() if v >= 0.05)
                     + ")") if loads else ""
        typer.echo(f"{m['sentences_per_second']} sentences/s{load_text}; "
                   f"slowest step: {m.get('slowest_step')}")


def _run(task: str, data: Path, lang: str, out: Path, profile: str, method: Optional[str],
         labels: Optional[str], limit: Optional[int], data_format: str, overrides: list[str],
         shared_cache: bool, quiet: bool, drop_incomplete: bool = False,
         engine: object = "local", ray_address: Optional[str] = None,
         cache_dir: Optional[str] = None) -> None:
    from xlner.paths import output_dir
    from xlner.pipeline import Options, parse_settings, translate_test, translate_train

    output_dir(out, option="--out")  # a file there, or a path that cannot be made: E700/E717
    _setup_logging()
    opts = Options(data=str(data), lang=lang, out=str(out), profile=profile, method=method,
                   labels=_labels(labels), limit=limit, data_format=data_format,
                   settings=parse_settings(overrides or ()), shared_cache=shared_cache,
                   progress=not quiet, drop_incomplete=drop_incomplete,
                   engine=engine, ray_address=ray_address, cache_dir=cache_dir)
    run = (translate_test if task == "translate-test" else translate_train)(opts)
    _summary(run)


def _run_engine(task: str, engine_name: str, ray_address: Optional[str], datasets: Optional[Path],
                data: Optional[Path], lang: Optional[str], out: Optional[Path], **kw: Any) -> None:
    """One run, or every dataset of ``--datasets`` (xlner.engine.datasets), on one engine (with
    ``--engine ray``: one cluster, started once and stopped at the end if xlner started it)."""
    from xlner.engine import get_engine
    from xlner.engine.datasets import read_datasets
    from xlner.errors import XlnerError

    if (datasets is None) == (data is None) or (data is not None and (lang is None or out is None)):
        raise XlnerError("E797", task=task)
    entries = read_datasets(datasets) if datasets is not None else None  # all checked before work
    with get_engine(engine_name, ray_address) as engine:
        if entries is None:
            assert data is not None and lang is not None and out is not None  # checked above
            _run(task, data, lang, out, engine=engine, ray_address=ray_address, **kw)
            return
        for i, entry in enumerate(entries, 1):
            typer.echo(f"[{i}/{len(entries)}] {entry.data} ({entry.lang}) -> {entry.out}")
            one = {**kw, "profile": entry.profile or kw["profile"], "method": entry.method or kw["method"],
                   "labels": ",".join(entry.labels) if entry.labels else kw["labels"],
                   "limit": entry.limit or kw["limit"], "data_format": entry.format}
            _run(task, Path(entry.data), entry.lang, Path(entry.out), engine=engine,
                 ray_address=ray_address, **one)


_DATA = typer.Option(..., "--data", help="gold data: CoNLL, JSON lines or panx file")
_LANG = typer.Option(..., "--lang", help="target language code (ISO 639), e.g. eu, es")
_OUT = typer.Option(..., "--out", help="run directory to write (reused: finished steps are kept)")
_PROFILE = typer.Option("offline", "--profile", help="offline | paper | path of a YAML profile")
_METHOD = typer.Option(None, "--method", help="projection method, or back-translation (translate-test; "
                       "method.md §5) (default: the profile's)")
_LABELS = typer.Option(None, "--labels", help="entity types to keep, e.g. PER,ORG,LOC "
                       "(default: those of the gold data)")
_LIMIT = typer.Option(None, "--limit", min=1, help="use only the first N sentences")
_FORMAT = typer.Option("auto", "--format", help="data format: auto, conll, jsonl, panx, or text "
                       "(translate-test: one sentence per line, no gold, so no F1)")
_SET = typer.Option(None, "--set", help="override a profile key, e.g. --set aligner.layer=6 "
                    "(repeatable)")
_SHARED = typer.Option(True, "--shared-cache/--no-shared-cache",
                       help="reuse step outputs of other runs from the shared step cache (--cache-dir)")
_CACHE_DIR = typer.Option(None, "--cache-dir", help="the shared step cache: a folder or a pyarrow.fs URI "
                          "such as s3://bucket/prefix (default: the profile's cache_dir, else "
                          "$XLNER_CACHE/steps; docs/ray.md)")
_QUIET = typer.Option(False, "--quiet", help="no progress bars")
_ENGINE = typer.Option("local", "--engine", help="where steps run: local (this process) or ray "
                      "(model steps as actor pools on a Ray cluster; the extra xlner[ray]; docs/ray.md)")
_RAY_ADDRESS = typer.Option(None, "--ray-address", envvar="RAY_ADDRESS",
                            help="--engine ray: an existing cluster (host:port or ray://host:10001); "
                            "default: a local cluster started and stopped by xlner")
_DATASETS = typer.Option(None, "--datasets", help="a YAML list of {data, lang, out} entries run as one "
                         "job instead of --data/--lang/--out (docs/ray.md)")


@pipeline_app.command("translate-test")
def translate_test_cmd(data: Optional[Path] = typer.Option(None, "--data", help=_DATA.help),
                       lang: Optional[str] = typer.Option(None, "--lang", help=_LANG.help),
                       out: Optional[Path] = typer.Option(None, "--out", help=_OUT.help),
                       profile: str = _PROFILE, method: Optional[str] = _METHOD,
                       labels: Optional[str] = _LABELS, limit: Optional[int] = _LIMIT,
                       data_format: str = _FORMAT, overrides: Optional[list[str]] = _SET,
                       shared_cache: bool = _SHARED, quiet: bool = _QUIET,
                       engine: str = _ENGINE, ray_address: Optional[str] = _RAY_ADDRESS,
                       datasets: Optional[Path] = _DATASETS,
                       cache_dir: Optional[str] = _CACHE_DIR) -> None:
    """Target sentences -> English -> English NER -> align -> project back -> evaluate."""
    _run_engine("translate-test", engine, ray_address, datasets, data, lang, out, profile=profile,
                method=method, labels=labels, limit=limit, data_format=data_format,
                overrides=overrides or [], shared_cache=shared_cache, quiet=quiet, cache_dir=cache_dir)


@pipeline_app.command("translate-train")
def translate_train_cmd(data: Path = _DATA, lang: str = _LANG, out: Path = _OUT,
                        profile: str = _PROFILE, method: Optional[str] = _METHOD,
                        labels: Optional[str] = _LABELS, limit: Optional[int] = _LIMIT,
                        data_format: str = _FORMAT, overrides: Optional[list[str]] = _SET,
                        shared_cache: bool = _SHARED, quiet: bool = _QUIET,
                        engine: str = _ENGINE, ray_address: Optional[str] = _RAY_ADDRESS,
                        cache_dir: Optional[str] = _CACHE_DIR,
                        drop_incomplete: bool = typer.Option(
                            False, "--drop-incomplete",
                            help="leave out sentences with an entity that could not be projected"),
                        ) -> None:
    """English gold -> target translation with projected labels (train.conll + train.jsonl)."""
    if data_format == "text":
        from xlner.errors import XlnerError

        raise XlnerError("E780", path=str(data))
    _run_engine("translate-train", engine, ray_address, None, data, lang, out, profile=profile,
                method=method, labels=labels, limit=limit, data_format=data_format,
                overrides=overrides or [], shared_cache=shared_cache, quiet=quiet,
                drop_incomplete=drop_incomplete, cache_dir=cache_dir)


@pipeline_app.command("profiles")
def profiles_cmd(show: Optional[str] = typer.Option(None, "--show",
                                                    help="print this profile's YAML (to copy)")
                 ) -> None:
    """List the built-in profiles, or print one to copy and edit."""
    from xlner.pipeline.profiles import builtin_profiles, load_profile, profile_path

    if show:
        typer.echo(profile_path(show).read_text(encoding="utf-8"), nl=False)
        return
    for name, path in sorted(builtin_profiles().items()):
        typer.echo(f"{name:10s} {load_profile(name).get('description', '')}  ({path})")


@pipeline_app.command("show")
def show_cmd(run_dir: Path = typer.Argument(..., help="a run directory")) -> None:
    """Print a run's configuration and metrics (without the per-sentence records)."""
    from xlner.runs import load_run

    run = load_run(run_dir)
    typer.echo(json.dumps({"config": run.config, "metrics": {
        k: v for k, v in run.metrics.items() if k != "categories"}}, indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")
