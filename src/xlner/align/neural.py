"""Embedding-based aligners: SimAlign's matching algorithms and AWESoME-style softmax extraction,
both on top of the batched :class:`~xlner.align.embeddings.SubwordEncoder`."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from annotated_types import Ge, Interval

from xlner.align.base import Aligner
from xlner.align.embeddings import EncodedSentence, model_key, resolve_model, shared_encoder
from xlner.datamodel import Alignment
from xlner.devices import DTYPES
from xlner.registry import Int, PathText, fields_of

Unit = Literal["word", "bpe"]
UNITS = typing.get_args(Unit)
#: SimAlign's matching methods and their aliases (its one-letter codes: a = inter, m = mwmf, i = itermax).
SimAlignMethod = Literal["mwmf", "inter", "itermax", "fwd", "rev",
                         "argmax", "a", "m", "i", "f", "r", "match"]
SIMALIGN_METHODS = ("mwmf", "inter", "itermax", "fwd", "rev")
METHOD_ALIASES = {"argmax": "inter", "a": "inter", "m": "mwmf", "i": "itermax", "f": "fwd", "r": "rev",
                  "match": "mwmf"}
assert set(typing.get_args(SimAlignMethod)) == set(SIMALIGN_METHODS) | set(METHOD_ALIASES)
EncoderDtype = Literal["auto", "float32", "bfloat16", "float16"]
assert typing.get_args(EncoderDtype) == DTYPES


@dataclass(kw_only=True)
class EncoderParams:
    """The encoder both embedding aligners run: ``model`` (folder or hub name; None or ``e5-small``:
    the offline e5-small), ``layer`` (0 = embeddings ... depth, negative from the end; checked against
    the model), ``unit`` (``word``: mean of a word's subwords; ``bpe``: subword links),
    ``device``, ``batch_tokens`` (tokens per forward pass), ``max_length`` (window; default the
    model's), ``threads`` (torch threads; default ``$XLNER_THREADS``/``$OMP_NUM_THREADS``/1),
    ``dtype`` (``auto``: bfloat16 where the CPU or GPU has it natively)."""

    model: PathText | None = None
    layer: Int = 8
    unit: Unit = "word"
    device: str = "auto"
    batch_tokens: Annotated[Int, Ge(1)] = 8192
    max_length: Annotated[Int, Ge(3)] | None = None
    threads: Annotated[Int, Ge(1)] | None = None
    dtype: EncoderDtype = "auto"


@dataclass(kw_only=True)
class SimAlignParams(EncoderParams):
    """:class:`EncoderParams` plus ``method`` (``inter``/``argmax``, ``mwmf``, ``itermax``, ``fwd``,
    ``rev``, or SimAlign's one-letter codes) and ``distortion`` (SimAlign's position penalty)."""

    method: SimAlignMethod = "inter"
    distortion: Annotated[float, Interval(ge=0, le=1)] = 0.0


@dataclass(kw_only=True)
class AwesomeParams(EncoderParams):
    """:class:`EncoderParams` (subword links by default) plus ``threshold``, the probability a link
    needs in both directions."""

    unit: Unit = "bpe"
    threshold: Annotated[float, Interval(ge=0, lt=1)] = 1e-3


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
        assert cols is not None  # both sides are subword-level, or neither
        i, j = rows.subword_to_word()[i], cols.subword_to_word()[j]
        pairs = np.unique(np.stack([i, j], axis=1), axis=0) if len(i) else np.zeros((0, 2), np.int64)
    else:
        pairs = np.stack([i, j], axis=1)
    scores = word_scores[pairs[:, 0], pairs[:, 1]] if len(pairs) else np.zeros(0, np.float32)
    return Alignment(pairs, scores, similarity.astype(np.float32))


class _EmbeddingAligner(Aligner):
    """Parameters come from :attr:`Params` (checked by :mod:`xlner.registry` in ``get_aligner``)."""

    Params: ClassVar[type[EncoderParams]] = EncoderParams

    def __init__(self, **params: Any) -> None:
        p = self.Params(**params)
        self.unit = p.unit
        self.encoder = shared_encoder(resolve_model(p.model), p.layer, p.device, p.batch_tokens,
                                      p.max_length, p.threads, p.dtype)
        own = {k: v for k, v in fields_of(p).items() if k not in fields_of(EncoderParams())}
        # The resolved dtype goes into the config: it (slightly) changes the vectors.
        super().__init__(model=model_key(p.model), layer=p.layer, unit=p.unit, dtype=self.encoder.dtype,
                         max_length=p.max_length, **self._own(own))

    def _own(self, own: dict[str, Any]) -> dict[str, Any]:
        """The subclass's own parameters, as its config records them."""
        return own

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
    Params = SimAlignParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.method, self.distortion = self.params["method"], self.params["distortion"]
        from simalign import SentenceAligner

        self._sa = SentenceAligner  # only its static methods are used; no model is loaded

    def _own(self, own: dict[str, Any]) -> dict[str, Any]:
        return {"method": METHOD_ALIASES.get(own["method"], own["method"]),
                "distortion": float(own["distortion"])}

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
    Params = AwesomeParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.threshold = float(self.params["threshold"])

    def _score_matrix(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dots = x.astype(np.float64) @ y.astype(np.float64).T
        return np.minimum(_softmax(dots, 1), _softmax(dots, 0)).astype(np.float32)

    def _extract(self, probs: np.ndarray) -> np.ndarray:
        return probs > self.threshold
