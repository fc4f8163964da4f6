"""Prediction with a trained model: per-word probabilities, decoded spans, soft labels."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from xlner.datamodel import Sentence, tags_to_spans
from xlner.threads import pin_threads
from xlner.train.config import SoftSentence, WordPrediction
from xlner.train.model import (_device, _load_model, _logits_per_sentence, load_tokenizer, model_labels,
                               resolve_model_dir)


def _softmax(x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def decode(tokens: list[str], probs: np.ndarray, labels: list[str]) -> WordPrediction:
    """Arg-max tags per word, read as IOB2 (a stray ``I-`` starts an entity, as conlleval does)."""
    if len(tokens) == 0:
        return WordPrediction(list(tokens), [], [], probs, labels)
    best = probs.argmax(axis=1)
    spans = tags_to_spans([labels[j] for j in best])
    top = probs[np.arange(len(best)), best]
    scores = [float(top[s.start:s.end].mean()) for s in spans]
    return WordPrediction(list(tokens), spans, scores, probs, labels)


class Predictor:
    """A loaded model for repeated prediction (keeps model and tokenizer in memory)."""

    def __init__(self, model_dir: str | Path, *, max_length: int = 128, batch_size: int = 64,
                 device: str | None = None, num_threads: int = 1) -> None:
        pin_threads(num_threads)
        self.model_dir = resolve_model_dir(model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)
        self.model = _load_model(self.model_dir, None)
        self.labels = model_labels(self.model_dir)
        self.device = _device(device)
        self.model.to(self.device)
        self.max_length, self.batch_size = max_length, batch_size

    def logits(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
        return _logits_per_sentence(self.model, self.tokenizer, sentences, max_length=self.max_length,
                                    batch_size=self.batch_size, device=self.device, progress=progress)

    def predict(self, sentences: Sequence[Sequence[str]], *, temperature: float = 1.0,
                progress: bool = False) -> list[WordPrediction]:
        return [decode(list(toks), _softmax(lg, temperature), self.labels)
                for toks, lg in zip(sentences, self.logits(sentences, progress))]


def predict(model_dir: str | Path, sentences: Sequence[Sequence[str]], *, temperature: float = 1.0,
            max_length: int = 128, batch_size: int = 64, device: str | None = None,
            progress: bool = False) -> list[WordPrediction]:
    """Per-word label probabilities (softmax of logits / temperature) and decoded spans."""
    return Predictor(model_dir, max_length=max_length, batch_size=batch_size,
                     device=device).predict(sentences, temperature=temperature, progress=progress)


def soft_labels(model_dir: str | Path, sentences: Sequence[Sentence], *, temperature: float = 1.0,
                **kwargs) -> list[SoftSentence]:
    """The teacher's per-word distributions on (unlabelled) sentences — the student's targets."""
    preds = predict(model_dir, [s.tokens for s in sentences], temperature=temperature, **kwargs)
    return [SoftSentence(s.id, list(s.tokens), p.probs) for s, p in zip(sentences, preds)]


def predictions_to_sentences(sentences: Sequence[Sentence], preds: Sequence[WordPrediction]) -> list[Sentence]:
    """Predicted spans on copies of the input sentences (same ids and sources)."""
    return [Sentence(s.id, list(s.tokens), list(p.spans), s.source) for s, p in zip(sentences, preds)]
