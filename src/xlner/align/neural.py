"""Embedding-based aligners: SimAlign's matching algorithms and AWESoME-style softmax extraction,
both on top of the batched :class:`~xlner.align.embeddings.SubwordEncoder`."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from xlner.align.base import Aligner
from xlner.align.embeddings import EncodedSentence, model_key, resolve_model, shared_encoder
from xlner.datamodel import Alignment
from xlner.errors import XlnerError

UNITS = ("word", "bpe")
#: SimAlign's matching methods (its one-letter codes: a = inter, m = mwmf, i = itermax).
SIMALIGN_METHODS = ("mwmf", "inter", "itermax", "fwd", "rev")
METHOD_ALIASES = {"argmax": "inter", "a": "inter", "m": "mwmf", "i": "itermax", "f": "fwd", "r": "rev",
                  "match": "mwmf"}


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise XlnerError("E511", f"unknown {what} {value!r}", hint=f"choose one of: {', '.join(allowed)}")
    return value


def _block_max(matrix: np.ndarray, rows: EncodedSentence, cols: EncodedSentence) -> np.ndarray:
    """Word-level matrix: the maximum over each (source word, target word) block of subwords."""
    out = np.maximum.reduceat(matrix, rows.word_starts, axis=0)
    return np.maximum.reduceat(out, cols.word_starts, axis=1)


def _links_from_matrix(links: np.ndarray, word_scores: np.ndarray, rows: EncodedSentence | None,
                       cols: EncodedSentence | None, similarity: np.ndarray) -> Alignment:
    """Turn a 0/1 link matrix (word or subword level) into a word Alignment scored from
    ``word_scores`` (a word-level matrix)."""
    i, j = np.nonzero(links)
    if rows is not None:  # subword links -> word links
        i, j = rows.subword_to_word()[i], cols.subword_to_word()[j]
        pairs = np.unique(np.stack([i, j], axis=1), axis=0) if len(i) else np.zeros((0, 2), np.int64)
    else:
        pairs = np.stack([i, j], axis=1)
    scores = word_scores[pairs[:, 0], pairs[:, 1]] if len(pairs) else np.zeros(0, np.float32)
    return Alignment(pairs, scores, similarity.astype(np.float32))


class _EmbeddingAligner(Aligner):
    def __init__(self, model: str | os.PathLike | None = None, layer: int = 8, unit: str = "word", *,
                 device: str = "auto", batch_tokens: int = 8192, max_length: int | None = None,
                 threads: int | None = None, dtype: str = "auto", **params: Any) -> None:
        _check_choice("unit", unit, UNITS)
        self.unit = unit
        self.encoder = shared_encoder(resolve_model(model), layer, device, batch_tokens, max_length,
                                      threads, dtype)
        # The resolved dtype goes into the config: it (slightly) changes the vectors.
        super().__init__(model=model_key(model), layer=layer, unit=unit, dtype=self.encoder.dtype,
                         max_length=max_length, **params)

    def _align(self, src: list[list[str]], tgt: list[list[str]]) -> list[Alignment]:
        # One encoder pass for both sides: more sentences per batch, less padding.
        encoded = self.encoder.encode(src + tgt)
        return [self._align_pair(s, t) for s, t in zip(encoded[:len(src)], encoded[len(src):])]

    def _align_pair(self, s: EncodedSentence, t: EncodedSentence) -> Alignment:
        if s.n_words == 0 or t.n_words == 0:
            return Alignment(np.zeros((0, 2), np.int64), np.zeros(0, np.float32),
                             np.zeros((s.n_words, t.n_words), np.float32))
        if self.unit == "word":
            matrix = self._score_matrix(s.word_vectors(), t.word_vectors())
            return _links_from_matrix(self._extract(matrix), matrix, None, None, matrix)
        matrix = self._score_matrix(s.vectors, t.vectors)
        words = _block_max(matrix, s, t)
        return _links_from_matrix(self._extract(matrix), words, s, t, words)

    def _score_matrix(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _extract(self, matrix: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SimAlignAligner(_EmbeddingAligner):
    """SimAlign (Jalili Sabet et al., 2020) with batched encoding.

    The similarity, distortion, argmax (``inter``) and ``itermax`` steps are the ``simalign``
    package's own static methods. ``mwmf`` (maximum-weight maximal matching) is solved with
    scipy's linear assignment: on SimAlign's strictly positive similarities a maximum-cardinality
    maximum-weight matching is exactly the rectangular assignment problem, which scipy solves in
    milliseconds where simalign's networkx blossom takes minutes on long sentences (the tests
    check both agree). Per-link scores are the similarities, in [0, 1].
    """

    name = "simalign"

    def __init__(self, model: str | os.PathLike | None = None, layer: int = 8, unit: str = "word",
                 method: str = "inter", distortion: float = 0.0, **kwargs: Any) -> None:
        method = METHOD_ALIASES.get(method, method)
        _check_choice("SimAlign method", method, SIMALIGN_METHODS)
        if not 0.0 <= float(distortion) <= 1.0:
            raise XlnerError("E511", f"distortion must be in [0, 1], got {distortion}")
        super().__init__(model, layer, unit, method=method, distortion=float(distortion), **kwargs)
        self.method, self.distortion = method, float(distortion)
        from simalign import SentenceAligner

        self._sa = SentenceAligner  # only its static methods are used; no model is loaded

    def _score_matrix(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        sim = self._sa.get_similarity(x, y)
        return self._sa.apply_distortion(sim, self.distortion).astype(np.float32)

    def _extract(self, sim: np.ndarray) -> np.ndarray:
        if self.method == "mwmf":
            return max_weight_matching(sim)
        if self.method == "itermax":
            return self._sa.iter_max(sim)
        fwd, rev = self._sa.get_alignment_matrix(sim)
        return {"inter": fwd * rev, "fwd": fwd, "rev": rev}[self.method]


def max_weight_matching(sim: np.ndarray) -> np.ndarray:
    """0/1 matrix of the maximum-weight matching that covers the shorter side (SimAlign's mwmf)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(sim, maximize=True)
    out = np.zeros_like(sim)
    out[rows, cols] = 1
    return out


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class AwesomeAligner(_EmbeddingAligner):
    """AWESoME-style extraction (Dou & Neubig, 2021) on any encoder: dot products of subword
    vectors, softmax over rows and over columns, keep pairs whose probability exceeds
    ``threshold`` in both directions. Scores (and the exposed matrix) are
    ``min(p(tgt|src), p(src|tgt))``, the quantity compared with the threshold."""

    name = "awesome"

    def __init__(self, model: str | os.PathLike | None = None, layer: int = 8, unit: str = "bpe",
                 threshold: float = 1e-3, **kwargs: Any) -> None:
        if not 0.0 <= float(threshold) < 1.0:
            raise XlnerError("E511", f"threshold must be in [0, 1), got {threshold}")
        super().__init__(model, layer, unit, threshold=float(threshold), **kwargs)
        self.threshold = float(threshold)

    def _score_matrix(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dots = x.astype(np.float64) @ y.astype(np.float64).T
        return np.minimum(_softmax(dots, 1), _softmax(dots, 0)).astype(np.float32)

    def _extract(self, probs: np.ndarray) -> np.ndarray:
        return probs > self.threshold
