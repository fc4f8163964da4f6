"""Fused matching: alignment, target-side NER and translation scores in one matching (method.md §4).

The thesis behind xlner scores every (source entity, target candidate) pair with

    lambda_align * Dice + lambda_ner * NER + lambda_nmt * NMT

and solves the same matching as ``match-greedy`` / ``match-exact``. This module holds the pieces
that need a target-side NER model's output, all pure functions on numpy arrays:

- :func:`ner_span_scores`: the thesis NER score of every candidate for every entity type,
  ``alpha ** (len - 1) * mean(p(B-l | first word), p(I-l | next words) ...)``, ``alpha = 1.15``,
  scores ``<= 0.05`` set to 0 (the length bonus offsets the mean, which never rewards length);
- :func:`ner_score_matrix`: that score per (entity, candidate): ``ner_spans`` takes the maximum
  over types (the thesis' best variant), ``ner`` the score of the source entity's own type;
- :func:`fusion_candidates`: n-grams, the spans the target NER model predicts (the paper's
  NER-candidate method), or both; each candidate keeps its origin;
- :func:`fused_project`: one sentence, scored and solved, every listed candidate with its score
  components (``{"align", "ner", "nmt", ...}``).

The NMT score (:mod:`xlner.nmtscore`) needs a seq2seq model, so it is computed by the caller (the
pipeline's ``nmt_score`` step, :mod:`xlner.pipeline.nmt`) and passed in as a matrix over the
candidates :func:`fusion_candidates` lists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

from xlner.datamodel import Alignment, ProjectionResult, Reason, Span, Unprojected
from xlner.errors import XlnerError
from xlner.project.matching import STOP_TOKENS, match_project, ngram_candidates

__all__ = ["NER_VARIANTS", "CANDIDATE_SOURCES", "ALPHA", "NER_THRESHOLD", "ner_span_scores",
           "ner_score_matrix", "fusion_candidates", "aligned_gate", "fused_project"]

ALPHA = 1.15          # thesis: length bonus per extra word
NER_THRESHOLD = 0.05  # thesis: NER scores at or below this count as 0
NER_VARIANTS = ("ner_spans", "ner")
CANDIDATE_SOURCES = ("ngram", "ner", "ngram+ner")


def _type_columns(columns: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Entity types of IOB2 columns and the column index of each type's B- and I- tag."""
    types, b_cols, i_cols = _type_columns_of(tuple(columns))
    return list(types), b_cols, i_cols  # a list of its own: callers get the cached parse, not to change


@lru_cache(maxsize=64)  # a run has one tagger, hence one column list: parsed once, not per sentence
def _type_columns_of(columns: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray]:
    index = {c: k for k, c in enumerate(columns)}
    types = [c[2:] for c in columns if c.startswith("B-") and f"I-{c[2:]}" in index]
    if not types:
        raise XlnerError("E292", columns=", ".join(map(str, columns)))
    return (types, np.array([index[f"B-{t}"] for t in types]),
            np.array([index[f"I-{t}"] for t in types]))


@lru_cache(maxsize=64)
def _length_bonus(alpha: float, max_length: int) -> np.ndarray:
    """``alpha ** (length - 1)`` for lengths 1..``max_length`` (the same values the power gives
    per candidate): looked up, not recomputed for every candidate of every sentence."""
    bonus = alpha ** np.arange(max_length, dtype=np.int64)
    bonus.flags.writeable = False  # shared by every caller
    return bonus


def ner_span_scores(probs: np.ndarray, columns: Sequence[str], starts: np.ndarray, ends: np.ndarray,
                    *, alpha: float = ALPHA, threshold: float = NER_THRESHOLD) -> tuple[np.ndarray, list[str]]:
    """The thesis NER score of each candidate ``[starts, ends)`` for each type: ``(n_cand, n_types)``.

    ``probs`` is ``(n_words, len(columns))`` per-word probabilities over IOB2 ``columns``
    (``["O", "B-PER", "I-PER", ...]``, as :class:`xlner.ner.NerOutput` holds them). The mean of
    ``p(B-l)`` at the first word and ``p(I-l)`` at every following word comes from one prefix sum,
    so all candidates are scored at once. Returns the scores and the type of each column.
    """
    types, b_cols, i_cols = _type_columns(columns)
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if len(starts) == 0:
        return np.zeros((0, len(types))), types
    if probs.ndim != 2 or probs.shape[1] != len(columns) or int(ends.max()) > probs.shape[0]:
        raise XlnerError("E293", shape=tuple(probs.shape), n_columns=len(columns), n_words=int(ends.max()))
    cum_i = np.zeros((probs.shape[0] + 1, len(types)))
    np.cumsum(probs[:, i_cols], axis=0, out=cum_i[1:])
    lengths = (ends - starts)[:, None]
    total = probs[starts[:, None], b_cols] + cum_i[ends] - cum_i[starts + 1]
    scores = _length_bonus(alpha, probs.shape[0])[lengths - 1] * total / lengths
    scores[scores <= threshold] = 0.0
    return scores, types


def aligned_gate(links: np.ndarray, entities: Sequence[Span], starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(n_entities, n_cand)`` 1 where the candidate holds a target word aligned to the entity.

    Multiplying the NER score by it lets the NER score choose between aligned candidates but never
    move an entity to words it is not aligned to (our option, not the thesis').
    """
    out = np.zeros((len(entities), len(starts)))
    if links.size == 0 or len(starts) == 0 or not len(entities):
        return out
    # target words linked to each entity, then a prefix sum over the words: every candidate at once
    by_source = np.zeros((links.shape[0] + 1, links.shape[1]), dtype=np.int64)
    np.cumsum(links, axis=0, out=by_source[1:])
    e_starts = np.fromiter((e.start for e in entities), dtype=np.int64, count=len(entities))
    e_ends = np.fromiter((e.end for e in entities), dtype=np.int64, count=len(entities))
    linked = (by_source[e_ends] - by_source[e_starts]) > 0
    cum = np.zeros((len(entities), links.shape[1] + 1), dtype=np.int64)
    np.cumsum(linked, axis=1, out=cum[:, 1:])
    out[:] = (cum[:, ends] - cum[:, starts]) > 0
    return out


def ner_score_matrix(entities: Sequence[Span], probs: np.ndarray, columns: Sequence[str],
                     starts: np.ndarray, ends: np.ndarray, *, variant: str = "ner_spans",
                     alpha: float = ALPHA, threshold: float = NER_THRESHOLD) -> np.ndarray:
    """NER score of every (entity, candidate) pair, ``(n_entities, n_cand)``.

    ``ner_spans``: the best type's score (the same for every entity); ``ner``: the score of the
    entity's own type (0 for a type the target model does not know).
    """
    if variant not in NER_VARIANTS:
        raise XlnerError("E294", variant=variant, variants=", ".join(NER_VARIANTS))
    scores, types = ner_span_scores(probs, columns, starts, ends, alpha=alpha, threshold=threshold)
    if variant == "ner_spans":
        best = scores.max(axis=1) if scores.size else np.zeros(len(starts))
        return np.tile(best, (len(entities), 1))
    column = {t: j for j, t in enumerate(types)}
    picks = [column.get(e.label, -1) for e in entities]
    if min(picks, default=0) >= 0:  # every entity type known to the tagger: one gather, no row loop
        return np.ascontiguousarray(scores[:, picks].T)
    out = np.zeros((len(entities), len(starts)))
    for k, j in enumerate(picks):
        if j >= 0:
            out[k] = scores[:, j]
    return out


def fusion_candidates(tgt_tokens: Sequence[str], ner_spans: Sequence[Span], source: str = "ngram+ner", *,
                      max_length: int = 10, stop_tokens: frozenset[str] = STOP_TOKENS
                      ) -> tuple[np.ndarray, list[str]]:
    """Candidate ``[start, end)`` pairs as an ``(n, 2)`` array ordered by start then end, and the
    origin of each.

    ``ngram``: every n-gram up to ``max_length`` words without a stop token; ``ner``: the target
    NER model's spans (no sub-ranges, method.md §4b); ``ngram+ner``: both. A span that is both an
    n-gram and an NER span has origin ``ner``. Arrays, not Span objects: this runs per sentence.
    """
    if source not in CANDIDATE_SOURCES:
        raise XlnerError("E295", source=source, sources=", ".join(CANDIDATE_SOURCES))
    width = len(tgt_tokens) + 1
    ner = np.array([(sp.start, sp.end) for sp in ner_spans], dtype=np.int64).reshape(-1, 2)
    # a candidate as one integer key ``start * width + end``: key order is (start, end) order, so
    # merging and de-duplicating are sorted-integer operations (this runs per sentence)
    ner_keys = ner[:, 0] * width + ner[:, 1]
    if source == "ner":
        keys = np.unique(ner_keys)
        return np.stack([keys // width, keys % width], axis=1), ["ner"] * len(keys)
    ngrams = ngram_candidates(list(tgt_tokens), max_length, stop_tokens)
    if source == "ngram" or not len(ner):
        return ngrams, ["ngram"] * len(ngrams)
    keys = ngrams[:, 0] * width + ngrams[:, 1]  # ascending: n-grams come ordered by start, then end
    at = np.searchsorted(keys, ner_keys)
    cands = ngrams
    if (at >= len(keys)).any() or (keys[np.minimum(at, len(keys) - 1)] != ner_keys).any():
        # some NER span is no n-gram (too long, across a stop token): merge the two key lists
        keys = np.union1d(keys, ner_keys)
        at = np.searchsorted(keys, ner_keys)
        cands = np.stack([keys // width, keys % width], axis=1)
    origins = ["ngram"] * len(cands)
    for j in at.tolist():
        origins[j] = "ner"
    return cands, origins


def fused_project(
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    src_entities: Sequence[Span],
    alignment: Alignment | Sequence[Sequence[int]],
    *,
    tgt_probs: np.ndarray | None = None,
    tgt_columns: Sequence[str] = (),
    tgt_spans: Sequence[Span] = (),
    candidates: str = "ngram+ner",
    weights: Mapping[str, float] | None = None,
    ner_variant: str = "ner_spans",
    ner_gate: bool = False,
    alpha: float = ALPHA,
    ner_threshold: float = NER_THRESHOLD,
    nmt_scores: np.ndarray | Any | None = None,
    extra_scores: Mapping[str, Any] | None = None,
    solver: str = "greedy",
    max_candidate_length: int = 10,
    min_score: float = 0.0,
    n_candidates: int = 3,
    target_labels: Sequence[str] | None = None,
    sentence_id: object = None,
) -> ProjectionResult:
    """Project one sentence with fused scores (``weights``: ``align``, ``ner``, ``nmt`` and any
    ``extra_scores`` name; default ``{"align": 1, "ner": 1}``).

    ``tgt_probs``/``tgt_columns`` are the target NER model's per-word IOB2 probabilities on
    ``tgt_tokens`` and ``tgt_spans`` its predicted spans (the NER candidates). ``nmt_scores``
    (required by an ``nmt`` weight, E692) is an ``(n_entities, n_candidates)`` array over the candidates
    :func:`fusion_candidates` returns, or a callable like any extra score. ``ner_gate`` keeps the
    NER score only on candidates aligned to the entity (:func:`aligned_gate`; applied by
    :func:`xlner.project.matching.match_project`, which has the counts it needs). ``solver``:
    ``greedy`` or ``exact``. ``sentence_id`` only serves error messages.
    """
    if solver not in ("greedy", "exact"):
        raise XlnerError("E296", solver=solver)
    weights = dict({"align": 1.0, "ner": 1.0} if weights is None else weights)
    src_tokens, tgt_tokens, src_entities = list(src_tokens), list(tgt_tokens), list(src_entities)
    n_src, n_tgt = len(src_tokens), len(tgt_tokens)
    pairs = alignment.pairs if isinstance(alignment, Alignment) else \
        np.asarray(alignment, dtype=np.int64).reshape(-1, 2)
    bad = [e for e in src_entities if e.end > n_src] + [e for e in tgt_spans if e.end > n_tgt]
    outside = (pairs < 0).any(axis=1) | (pairs[:, 0] >= n_src) | (pairs[:, 1] >= n_tgt)
    if bad or outside.any() or (tgt_probs is not None and len(tgt_probs) != n_tgt):
        raise XlnerError("E297", sentence=sentence_id, n_src=n_src, n_tgt=n_tgt)
    links = np.zeros((n_src, n_tgt), dtype=bool)
    if len(pairs):
        links[pairs[:, 0], pairs[:, 1]] = True
    keep = [target_labels is None or e.label in target_labels for e in src_entities]
    active = [i for i, k in enumerate(keep) if k]
    dropped = [Unprojected(i, Reason.LABEL_NOT_IN_TARGET) for i, k in enumerate(keep) if not k]
    cands, origins = fusion_candidates(tgt_tokens, tgt_spans, candidates, max_length=max_candidate_length)
    if not active or not len(cands):
        return ProjectionResult(unprojected=sorted(
            [Unprojected(i, Reason.NO_CANDIDATE) for i in active] + dropped, key=lambda u: u.source))
    starts, ends = cands[:, 0], cands[:, 1]
    extra: dict[str, Any] = dict(extra_scores or {})
    if weights.get("ner", 0.0) and tgt_probs is not None:
        ner = ner_score_matrix(src_entities, tgt_probs, tgt_columns, starts, ends, variant=ner_variant,
                               alpha=alpha, threshold=ner_threshold)
        extra["ner"] = ner
    if weights.get("nmt", 0.0):
        if nmt_scores is None or (isinstance(nmt_scores, np.ndarray)
                                  and nmt_scores.shape != (len(src_entities), len(cands))):
            got = "none" if nmt_scores is None else "x".join(map(str, nmt_scores.shape))
            raise XlnerError("E692", sentence=sentence_id, got=got, n_entities=len(src_entities),
                             n_candidates=len(cands))
        extra["nmt"] = nmt_scores
    weights = {k: v for k, v in weights.items() if k == "align" or k in extra}
    projected, reasons, listed = match_project(
        src_tokens, tgt_tokens, src_entities, active, links, solver=solver, tgt_candidates=cands,
        extra_scores=extra, weights=weights, min_score=min_score, restrict_to_aligned=False,
        n_candidates=n_candidates, candidate_origins=origins,
        # the gate (aligned_gate) applied where the Dice score is computed: a candidate holds a word
        # aligned to the entity exactly when its Dice score is above 0, so no second pass over the links
        aligned_only=("ner",) if ner_gate and "ner" in extra else ())
    unprojected = [Unprojected(s, r) for s, r in reasons.items()] + dropped
    return ProjectionResult(projected=sorted(projected, key=lambda e: (e.span.start, e.span.end)),
                            unprojected=sorted(unprojected, key=lambda u: u.source), candidates=listed)
