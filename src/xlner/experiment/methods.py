"""The transfer methods, one class each, behind one small interface (:class:`TransferMethod`).

``train(seed, language)`` makes the model that predicts ``language`` for ``seed`` (reusing a
finished one); ``predict(seed, language, gold)`` labels a test set with it. What every method
shares (the config, the data, the English teachers, the timer) is one :class:`Context`.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from xlner.datamodel import Sentence
from xlner.experiment.cells import CellPrediction
from xlner.experiment.config import DataSpec, ExperimentConfig
from xlner.experiment.pipeline_runs import Silver


class Timer:
    """Seconds per part of the experiment, summed over resumed invocations (``timings.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}

    def add(self, key: str, seconds: float) -> None:
        from xlner.cache import atomic_write_text

        self.data[key] = round(self.data.get(key, 0.0) + seconds, 2)
        atomic_write_text(self.path, json.dumps(self.data, indent=1))


# Settings that change how a teacher is trained but not what it learns; left out of its cache key.
_TEACHER_RUNTIME_KEYS = ("progress", "num_threads", "device")


def teacher_dir(cfg: ExperimentConfig, exp: Path, encoder: str, train: Sequence[Sentence],
                dev: Sequence[Sentence] | None, labels: list[str], seed: int) -> Path:
    """Where the English teacher of ``seed`` lives.

    Teachers depend only on the encoder, the English data and the teacher settings, so experiments
    that share them (the Basque study and the Spanish/MasakhaNER2 one) share one trained model in
    the xlner cache, keyed by all of those. A tiny encoder is built inside the experiment folder, so
    its teachers stay there too.
    """
    if cfg.encoder == "tiny":
        return exp / "models" / f"teacher-s{seed}"
    from xlner.cache import default_cache_dir, fingerprint

    def data_key(sents: Sequence[Sentence] | None) -> list:
        return [[s.tokens, [(sp.start, sp.end, sp.label) for sp in s.spans]] for s in sents or ()]

    key = fingerprint("teacher", encoder, data_key(train), data_key(dev), labels,
                      {k: v for k, v in cfg.teacher.items() if k not in _TEACHER_RUNTIME_KEYS}, seed)
    return default_cache_dir() / "teachers" / f"{key}-s{seed}"


def translate_train_student(exp: Path, cfg: ExperimentConfig, language: str, seed: int) -> Path:
    """The translate-train student of ``language`` and ``seed`` (named after the language's own
    pipeline settings too, so that changing them trains a new one)."""
    return exp / "models" / f"translate-train-{language}{cfg.run_suffix(language)}-s{seed}"


@dataclass
class Context:
    """What the methods share: configuration, data, encoder, plan, timer and log."""

    cfg: ExperimentConfig
    exp: Path
    root: Path
    languages: dict[str, list[str]]  # method -> test languages (the plan)
    labels: list[str]
    train: list[Sentence]
    dev: list[Sentence] | None
    tests: dict[str, tuple[DataSpec, list[Sentence]]]
    unlabeled: dict[str, list[Sentence]]
    silver: dict[str, Silver]
    encoder: str
    timer: Timer
    log: Callable[[str], None]
    progress: bool = True
    _teachers: dict[int, Path] = field(default_factory=dict)

    def train_config(self, options: dict[str, Any], seed: int, **more: Any) -> Any:
        from xlner.train import TrainConfig

        return TrainConfig.from_dict({**options, "seed": seed, "progress": self.progress, **more})

    def teacher(self, seed: int) -> Path:
        """The English teacher of ``seed`` (trained on first use; a finished one is reused)."""
        if seed not in self._teachers:
            from xlner.train import train_ner

            t0 = time.time()
            res = train_ner(self.train, teacher_dir(self.cfg, self.exp, self.encoder, self.train, self.dev,
                                                    self.labels, seed),
                            model=self.encoder, dev=self.dev, labels=self.labels,
                            config=self.train_config(self.cfg.teacher, seed))
            if not res.skipped:
                self.timer.add("train/teacher", time.time() - t0)
            dev_f1 = "n/a" if res.best_dev_f1 is None else f"{100 * res.best_dev_f1:.1f}"
            self.log(f"teacher seed {seed}: best source dev F1 {dev_f1}"
                     + (" (reused)" if res.skipped else f" ({res.seconds:.0f} s)"))
            self._teachers[seed] = res.model_dir
        return self._teachers[seed]


class TransferMethod(ABC):
    """A way to label target-language test sets: trained per seed and language, then predicting."""

    name: ClassVar[str]
    seeded: ClassVar[bool] = True  # False: deterministic, one cell per test set (seed None)
    # For the Ray engine's schedule (xlner.experiment.ray_cells): whether a seed's cells need that
    # seed's English teacher, and whether the seeds of one language share work (a pipeline run on
    # the same sentences) that the first seed's task should do before the others start.
    needs_teacher: ClassVar[bool] = False
    shares_language_work: ClassVar[bool] = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def languages(self) -> list[str]:
        return self.ctx.languages.get(self.name, [])

    @property
    def timing_key(self) -> str:
        return f"predict/{self.name}"

    def cell_settings(self, language: str) -> dict[str, Any]:
        """What a finished cell of ``language`` must have been made with to be reused (its config.json
        holds these keys): the pipeline methods' ``projection.languages.LANG``."""
        return {}

    @abstractmethod
    def train(self, seed: int | None, language: str) -> None:
        """Make the model for ``seed`` and ``language`` (reuse a finished one)."""

    @abstractmethod
    def predict(self, seed: int | None, test: DataSpec, gold: Sequence[Sentence]) -> CellPrediction:
        """Label the test set ``gold`` (its entities are not looked at) with the model of ``seed``."""


class _ModelMethod(TransferMethod):
    """A method whose product is a token-classification model per (seed, language)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._models: dict[tuple[int | None, str], Path] = {}
        self._predictors: dict[Path, Any] = {}

    def cell_config(self, seed: int | None, language: str) -> dict[str, Any]:
        return {}

    def predict(self, seed: int | None, test: DataSpec, gold: Sequence[Sentence]) -> CellPrediction:
        from xlner.train import Predictor, predictions_to_sentences

        language = test.language
        model_dir = self._models[(seed, language)]
        if model_dir not in self._predictors:
            self._predictors = {model_dir: Predictor(
                model_dir, max_length=int(self.ctx.cfg.teacher.get("max_length", 128)),
                num_threads=int(self.ctx.cfg.teacher.get("num_threads", 1)))}  # one model in memory
        preds = self._predictors[model_dir].predict([s.tokens for s in gold], progress=self.ctx.progress)
        return CellPrediction(predictions_to_sentences(gold, preds), [list(p.scores) for p in preds],
                              {"model": str(model_dir), **self.cell_config(seed, language)})

    def _student(self, seed: int, language: str, kind: str, targets: Callable[[], list[Any]],
                 options: dict[str, Any], timer_key: str, suffix: str = "") -> Path:
        """Train (or reuse) ``EXP/models/<kind>-<language><suffix>-s<seed>`` on ``targets()``
        (``suffix``: the language's pipeline settings, for students trained on pipeline output)."""
        from xlner.train import train_ner

        ctx = self.ctx
        student_dir = ctx.exp / "models" / f"{kind}-{language}{suffix}-s{seed}"
        if not (student_dir / "xlner_train.json").exists():
            data = targets()
            t0 = time.time()
            train_ner(data, student_dir, model=ctx.encoder, dev=None, labels=ctx.labels,
                      config=ctx.train_config({"batch_size": 16, **options}, seed))
            ctx.timer.add(timer_key, time.time() - t0)
        return student_dir / "model"


class ModelTransfer(_ModelMethod):
    """The English teacher applied to every test set as it is (zero-shot model transfer)."""

    name = "model-transfer"
    needs_teacher = True

    def train(self, seed: int | None, language: str) -> None:
        assert seed is not None
        self._models[(seed, language)] = self.ctx.teacher(seed)

    def cell_config(self, seed: int | None, language: str) -> dict[str, Any]:
        return {"teacher_train": self.ctx.cfg.source_train.path}


class TeacherStudent(_ModelMethod):
    """A student distilled from the English teacher's soft labels on unlabelled target text."""

    name = "teacher-student"
    needs_teacher = True

    def _soft_labels(self, seed: int, language: str) -> list[Any]:
        from xlner.train import SoftSentence, soft_labels

        ctx = self.ctx
        text = ctx.unlabeled[language]
        soft_path = ctx.exp / "cache" / f"soft-s{seed}-{language}.npz"
        t0 = time.time()
        if soft_path.exists():
            with np.load(soft_path) as z:
                soft = [SoftSentence(s.id, s.tokens, z[f"s{i}"]) for i, s in enumerate(text)]
        else:
            soft = soft_labels(ctx.teacher(seed), text, temperature=ctx.cfg.temperature, progress=ctx.progress)
            soft_path.parent.mkdir(parents=True, exist_ok=True)
            arrays: dict[str, Any] = {f"s{i}": s.probs for i, s in enumerate(soft)}
            np.savez_compressed(soft_path, **arrays)
        ctx.timer.add("soft_labels", time.time() - t0)
        return soft

    def train(self, seed: int | None, language: str) -> None:
        assert seed is not None
        options = {**self.ctx.cfg.student, "temperature": self.ctx.cfg.temperature}
        self._models[(seed, language)] = self._student(
            seed, language, "student", lambda: self._soft_labels(seed, language), options, "train/student")

    def cell_config(self, seed: int | None, language: str) -> dict[str, Any]:
        assert seed is not None
        return {"teacher": str(self.ctx.teacher(seed)), "unlabeled": self.ctx.cfg.unlabeled[language].path}


class PipelineSettings:
    """Mixin of the methods that run the projection pipeline: their cells record the language's own
    settings, so that a cell made with other ones is redone rather than reused."""

    ctx: Context

    def cell_settings(self, language: str) -> dict[str, Any]:
        return {"language_settings": self.ctx.cfg.language_settings(language)}


class ProjectionTeacher(PipelineSettings, _ModelMethod):
    """A student trained on translate-test projections of unlabelled target text (hard labels)."""

    name = "projection-teacher"
    shares_language_work = True  # the translate-test run on the unlabelled text, for every seed

    def _silver(self, language: str) -> list[Sentence]:
        from xlner.experiment.pipeline_runs import silver_labels

        t0 = time.time()
        silver = silver_labels(language, self.ctx.unlabeled[language], self.ctx.exp, self.ctx.cfg,
                               progress=self.ctx.progress)
        self.ctx.timer.add("projection-teacher/silver", time.time() - t0)
        return silver

    def train(self, seed: int | None, language: str) -> None:
        assert seed is not None
        self._models[(seed, language)] = self._student(
            seed, language, "projection-student", lambda: self._silver(language), self.ctx.cfg.student,
            "train/projection-student", suffix=self.ctx.cfg.run_suffix(language))

    def cell_config(self, seed: int | None, language: str) -> dict[str, Any]:
        return {"teacher": "translate-test projection", "unlabeled": self.ctx.cfg.unlabeled[language].path,
                "min_score": self.ctx.cfg.projection.get("min_score"), **self.cell_settings(language)}


class TranslateTrain(PipelineSettings, _ModelMethod):
    """A student trained on English gold translated into the target, labels projected (silver)."""

    name = "translate-train"

    def train(self, seed: int | None, language: str) -> None:
        from xlner.train import train_ner

        assert seed is not None
        ctx = self.ctx
        options = {"batch_size": 16, **ctx.cfg.student, **(ctx.cfg.translate_train.get("student") or {})}
        silver = ctx.silver.get(language)
        t0 = time.time()
        res = train_ner(silver.sentences if silver else [], translate_train_student(ctx.exp, ctx.cfg, language, seed),
                        model=ctx.encoder, dev=None, labels=ctx.labels, config=ctx.train_config(options, seed))
        if not res.skipped:
            ctx.timer.add("translate-train/train-student", time.time() - t0)
            ctx.log(f"translate-train student {language} seed {seed}: {res.seconds:.0f} s")
        self._models[(seed, language)] = res.model_dir

    def cell_config(self, seed: int | None, language: str) -> dict[str, Any]:
        silver = self.ctx.silver.get(language)
        return {"translate_train": str(self.ctx.exp / "pipeline"
                                       / f"translate-train__{language}{self.ctx.cfg.run_suffix(language)}"),
                "profile": self.ctx.cfg.profile, **self.cell_settings(language),
                **{k: v for k, v in (silver.info if silver else {}).items() if k.startswith("n_")}}


class Projection(PipelineSettings, TransferMethod):
    """Translate-test: translate the test sentence into English, tag it, project the entities back."""

    name = "projection"
    seeded = False

    @property
    def timing_key(self) -> str:
        return "projection/translate-test"

    def train(self, seed: int | None, language: str) -> None:
        """Nothing to train: the pipeline's components are used as they are."""

    def predict(self, seed: int | None, test: DataSpec, gold: Sequence[Sentence]) -> CellPrediction:
        from xlner.experiment.config import original_file
        from xlner.experiment.pipeline_runs import projected_sentences, translate_test_records

        ctx = self.ctx
        key = f"test-{test.name}"
        records = translate_test_records(key, test.language, gold, ctx.exp, ctx.cfg,
                                         original=original_file(test, ctx.root), progress=ctx.progress)
        pred, scores = projected_sentences(gold, records, ctx.cfg.types)
        run_dir = ctx.exp / "pipeline" / f"translate-test__{key}{ctx.cfg.run_suffix(test.language)}"
        return CellPrediction(pred, scores, {"pipeline": str(run_dir), "profile": ctx.cfg.profile,
                                             **self.cell_settings(test.language)},
                              records)


# In the order the runner visits them (per seed; then the seedless ones).
METHODS: dict[str, type[TransferMethod]] = {m.name: m for m in (
    ModelTransfer, TeacherStudent, ProjectionTeacher, TranslateTrain, Projection)}
# fused translate-test (issue 11), in a module of its own that builds on the classes above
from xlner.experiment.fused_projection import FusedProjection  # noqa: E402
METHODS[FusedProjection.name] = FusedProjection
