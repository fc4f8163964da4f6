"""Training settings, label lists and the data types of training and prediction."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

import numpy as np

from xlner.datamodel import Span
from xlner.errors import XlnerError

DEFAULT_TYPES = ("PER", "ORG", "LOC")
MODEL_SUBDIR = "model"  # best (or final) model: a standard Hugging Face folder
CHECKPOINT_SUBDIR = "checkpoint"  # optimiser, scheduler and position for resuming
STATE_FILE = "xlner_train.json"  # training configuration, label set and history


def iob2_labels(types: Iterable[str]) -> list[str]:
    """The IOB2 label list ``O, B-T1, I-T1, ...`` for bare entity types, in a fixed order."""
    labels = ["O"]
    for t in types:
        labels += [f"B-{t}", f"I-{t}"]
    return labels


@dataclass
class TrainConfig:
    """Hyper-parameters. Defaults are the calibrated CPU settings (calibration.md)."""

    epochs: int = 2
    batch_size: int = 32
    lr: float = 2e-4  # 5e-5 under-trains multilingual-e5-small
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128  # sub-tokens per window, special tokens included
    max_sentences: int | None = None  # random subsample of the training data (seeded)
    freeze_embeddings: bool = True  # the 250k-piece embedding matrix dominates CPU time and memory
    seed: int = 0
    patience: int = 2  # dev evaluations without improvement before stopping
    eval_every: int | None = None  # steps between dev evaluations; None = once per epoch
    max_dev_sentences: int | None = 1000
    checkpoint_every: int = 200  # steps between resumable checkpoints
    stop_at_step: int | None = None  # time-boxing: checkpoint and return at this step; rerun to continue
    temperature: float = 1.0  # distillation temperature applied to the student's logits
    grad_clip: float = 1.0
    num_threads: int = 1
    device: str | None = None  # None: "cuda" when available, else "cpu"
    predict_batch_size: int = 64
    progress: bool = True

    @classmethod
    def from_dict(cls, d: dict | None) -> "TrainConfig":
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise XlnerError("E801", options=", ".join(unknown), known=", ".join(sorted(known)))
        return cls(**d)


@dataclass
class SoftSentence:
    """A sentence with a target distribution per word (``probs`` has shape ``(len(tokens), n_labels)``)."""

    id: str
    tokens: list[str]
    probs: np.ndarray


@dataclass
class WordPrediction:
    """Prediction for one sentence; same fields as ``xlner.ner.NerOutput`` plus the tokens."""

    tokens: list[str]
    spans: list[Span]
    scores: list[float]  # mean probability of the predicted tags over each span
    probs: np.ndarray  # (n_words, n_labels)
    labels: list[str]  # the IOB2 label names, columns of ``probs``


@dataclass
class TrainResult:
    model_dir: Path
    best_dev_f1: float | None
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    resumed: bool = False
    skipped: bool = False  # a finished model was found and reused
    finished: bool = True  # False when stopped at ``stop_at_step`` (a checkpoint waits to be resumed)
