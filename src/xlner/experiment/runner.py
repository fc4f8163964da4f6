"""Run (or resume) a whole experiment: plan, read data, build silver data and the encoder, then
visit every method x seed x test set cell, and summarise.

Every step is resumable: finished cells are skipped, trained models, teacher soft labels and
pipeline runs (translate-test, translate-train) are reused, interrupted training continues from its
checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from xlner.datamodel import Sentence
from xlner.experiment.cells import cell_name, finished, write_cell
from xlner.experiment.config import DataSpec, ExperimentConfig, load_config, load_spec, resolve_data_root
from xlner.experiment.methods import METHODS, Context, Timer, TransferMethod, translate_train_student
from xlner.experiment.pipeline_runs import Silver, translate_train_silver
from xlner.experiment.planning import MethodPlan, plan_methods

if TYPE_CHECKING:
    from xlner.engine import Engine
    from xlner.engine.ray_engine import RayEngine


def _quiet(msg: str) -> None:
    pass


def _check_training_options(cfg: ExperimentConfig) -> None:
    """E801 on a misspelt training option, before hours of work."""
    from xlner.train import TrainConfig

    tt_student = {"batch_size": 16, **cfg.student, **(cfg.translate_train.get("student") or {})}
    for options in (cfg.teacher, cfg.student, tt_student):
        TrainConfig.from_dict(options)


def _write_info(exp: Path, cfg: ExperimentConfig, root: Path, plan: MethodPlan) -> None:
    from xlner.cache import atomic_write_text

    info = {"name": cfg.name, "config": cfg.path, "data_root": str(root), "encoder": cfg.encoder,
            "types": cfg.types, "seeds": cfg.seeds, "methods": cfg.methods, "n_boot": cfg.n_boot,
            "in_domain": cfg.in_domain, "test_sets": [vars(t) for t in cfg.test_sets],
            "unlabeled": {k: vars(v) for k, v in cfg.unlabeled.items()},
            "source_train": vars(cfg.source_train), "teacher": cfg.teacher, "student": cfg.student,
            "temperature": cfg.temperature, "projection": cfg.projection,
            "translate_train": cfg.translate_train, "method_languages": plan.languages}
    atomic_write_text(exp / "experiment.json", json.dumps(info, indent=1, default=str))


def _record_sizes(exp: Path, train: Sequence[Sentence], dev: Sequence[Sentence] | None,
                  tests: Mapping[str, Sequence[Sentence]], unlabeled: Mapping[str, Sequence[Sentence]]) -> None:
    """Add the number of sentences actually read to experiment.json (the summary reports them)."""
    from xlner.cache import atomic_write_text

    path = exp / "experiment.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    info["sizes"] = {"source_train": len(train), "source_dev": len(dev or ()),
                     "test_sets": {k: len(v) for k, v in tests.items()},
                     "unlabeled": {k: len(v) for k, v in unlabeled.items()}}
    atomic_write_text(path, json.dumps(info, indent=1, default=str))


def _trained(out_dir: Path) -> bool:
    """Whether ``train_ner`` finished in ``out_dir`` (it reuses such a run without its data)."""
    state = out_dir / "xlner_train.json"
    try:
        return bool(json.loads(state.read_text()).get("finished")) and (out_dir / "model" / "config.json").exists()
    except (OSError, json.JSONDecodeError):
        return False


def _silver(cfg: ExperimentConfig, exp: Path, plan: MethodPlan, train: list[Sentence], timer: Timer,
            log: Callable[[str], None], progress: bool, cluster: RayEngine | None = None) -> dict[str, Silver]:
    """Translate-train silver data: once per language, before any training (not per seed); with a
    Ray engine (``cluster``) every language's as one Ray task, all at once."""
    from xlner.train import subsample

    silver: dict[str, Silver] = {}
    english = subsample(train, cfg.translate_train.get("max_sentences"), 0)
    todo = [lang for lang in plan.languages.get("translate-train", [])
            if not all(_trained(translate_train_student(exp, cfg, lang, seed)) for seed in cfg.seeds)]
    made: dict[str, tuple[Silver, float]] = {}
    if cluster is not None and todo:
        from xlner.experiment.ray_cells import silver_on_ray

        made = silver_on_ray(todo, english, exp, cfg, log)
    for lang in todo:
        t0 = time.time()
        if lang in made:
            silver[lang], seconds = made[lang]
        else:
            silver[lang] = translate_train_silver(lang, english, exp, cfg, progress=progress)
            seconds = time.time() - t0
        timer.add("translate-train/silver", seconds)
        i = silver[lang].info
        log(f"translate-train {lang}: {i['n_silver']} silver sentences from {i['n_english']} English ones, "
            f"{i['n_silver_entities']} of {i['n_source_entities']} entities projected"
            + (f" (min_score {i['min_score']})" if i["min_score"] is not None else "")
            + f" ({seconds:.0f} s)")
    return silver


def _encoder_path(cfg: ExperimentConfig, exp: Path, train: list[Sentence], extra_text: list[list[str]]) -> str:
    if cfg.encoder == "e5-small":
        from xlner.encoder import ensure_e5_small

        return str(ensure_e5_small())
    if cfg.encoder == "tiny":  # random small BERT for tests and smoke runs
        from xlner.train import build_tiny_encoder

        return str(build_tiny_encoder([s.tokens for s in train] + extra_text, exp / "models" / "tiny-encoder"))
    return cfg.encoder


def prepare(cfg: ExperimentConfig, exp: Path, root: Path, plan: MethodPlan, *,
            log: Callable[[str], None], progress: bool, cluster: RayEngine | None = None) -> Context:
    """Read the data, build the translate-train silver data (with ``cluster``: as Ray tasks) and the
    encoder: the methods' context."""
    from xlner.data import strip_labels
    from xlner.train import iob2_labels

    timer = Timer(exp / "timings.json")
    t = time.time()
    train = load_spec(cfg.source_train, root, cfg.types)
    dev = load_spec(cfg.source_dev, root, cfg.types) if cfg.source_dev else None
    tests = {s.name: (s, load_spec(s, root, cfg.types)) for s in cfg.test_sets}
    needs_text = set(plan.languages.get("teacher-student", [])) | set(plan.languages.get("projection-teacher", []))
    unlabeled = {lang: strip_labels(load_spec(s, root, cfg.types)) for lang, s in cfg.unlabeled.items()
                 if lang in needs_text}
    timer.add("load_data", time.time() - t)
    _record_sizes(exp, train, dev, {k: v[1] for k, v in tests.items()}, unlabeled)
    log(f"data: {len(train)} source training sentences, "
        + ", ".join(f"{k}: {len(v[1])}" for k, v in tests.items())
        + "".join(f", unlabelled {k}: {len(v)}" for k, v in unlabeled.items()))
    silver = _silver(cfg, exp, plan, train, timer, log, progress, cluster)
    # a tiny encoder's vocabulary covers every text it will see
    encoder = _encoder_path(cfg, exp, train, [s.tokens for u in unlabeled.values() for s in u]
                            + [s.tokens for v in silver.values() for s in v.sentences])
    return Context(cfg, exp, root, plan.languages, iob2_labels(cfg.types), train, dev, tests, unlabeled,
                   silver, encoder, timer, log, progress)


def pending_cells(ctx: Context, method: TransferMethod, seed: int | None,
                  language: str) -> list[tuple[DataSpec, list[Sentence]]]:
    """The test sets of ``language`` whose cell of ``method`` and ``seed`` is not finished yet, or was
    made with other settings than the method's now (:meth:`TransferMethod.cell_settings`)."""
    made_with = method.cell_settings(language)
    return [(spec, gold) for spec, gold in ctx.tests.values() if spec.language == language
            and not finished(ctx.exp / "runs" / cell_name(method.name, spec.name, seed), made_with)]


def run_cells(ctx: Context, method: TransferMethod, seed: int | None, language: str) -> None:
    """Every unfinished cell of ``method`` for ``seed`` on the test sets of ``language`` (the unit
    the Ray engine runs as one task)."""
    todo = pending_cells(ctx, method, seed, language)
    method.train(seed, language)
    for spec, gold in todo:
        t0 = time.time()
        prediction = method.predict(seed, spec, gold)
        metrics = write_cell(ctx.exp / "runs" / cell_name(method.name, spec.name, seed), gold, prediction,
                             method=method.name, test=spec, seed=seed, types=ctx.cfg.types)
        ctx.timer.add(method.timing_key, time.time() - t0)
        ctx.log(f"  {method.name}" + ("" if seed is None else f" seed {seed}")
                + f" on {spec.name}: F1 {100 * metrics['overall']['f1']:.1f}")


def run_method(ctx: Context, method: TransferMethod, seed: int | None) -> None:
    """Every unfinished cell of ``method`` for ``seed``, one target language at a time."""
    for language in method.languages:
        run_cells(ctx, method, seed, language)


def run_domain_shift(config: str | Path | ExperimentConfig, out_dir: str | Path, *,
                     data_root: str | Path | None = None, log: Callable[[str], None] | None = print,
                     progress: bool = True, engine: str | Engine = "local",
                     ray_address: str | None = None) -> Path:
    """Run (or resume) the whole experiment and write its outputs; returns ``out_dir``.

    Before anything is trained or translated, :func:`plan_methods` decides which test languages
    each method applies to (E811 for a method that applies to none) and training options are
    checked (E801). ``engine="ray"`` (or a :class:`~xlner.engine.RayEngine`) runs the teachers, the
    translate-train silver data and the cells as Ray tasks (:mod:`xlner.experiment.ray_cells`; ``ray_address``: an existing
    cluster, else ``$RAY_ADDRESS``, else a local one); its cluster is reached, and the config's
    ``engine.tasks`` checked against it, before any work. The outputs are the local engine's.
    """
    from xlner.experiment.summary import summarize

    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    say = log or _quiet
    exp = Path(out_dir)
    root = resolve_data_root(cfg, data_root)
    plan = plan_methods(cfg)
    _check_training_options(cfg)
    cluster = None
    if not (engine == "local" or getattr(engine, "name", None) == "local"):
        from xlner.experiment.ray_cells import cells_engine

        cluster = cells_engine(engine, ray_address, cfg)  # E790/E791/E793/E799 now, not after hours
        # absolute for the workers, whatever their working folder; not resolved, so that a data root
        # behind a symlink names its files as the local engine does (records are compared byte for byte)
        exp, root = Path(os.path.abspath(exp)), Path(os.path.abspath(root))
    exp.mkdir(parents=True, exist_ok=True)
    _write_info(exp, cfg, root, plan)
    for line in plan.lines():
        say(line)
    ctx = prepare(cfg, exp, root, plan, log=say, progress=progress, cluster=cluster)
    methods = [cls(ctx) for name, cls in METHODS.items() if name in cfg.methods]
    if cluster is not None:
        from xlner.experiment.ray_cells import run_on_ray

        run_on_ray(ctx, methods, cluster)
        return summarize(exp, cfg, log=log)
    for seed in cfg.seeds:
        if {"model-transfer", "teacher-student"} & set(cfg.methods):
            ctx.teacher(seed)
        for method in methods:
            if method.seeded:
                run_method(ctx, method, seed)
    for method in methods:
        if not method.seeded:
            run_method(ctx, method, None)
    return summarize(exp, cfg, log=log)
