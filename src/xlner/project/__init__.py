"""Entity projection: carry source-side entity spans onto the target sentence (method.md §3-4).

One entry point for every method::

    from xlner.project import project
    result = project("match-greedy", src_tokens, tgt_tokens, src_entities, alignment)

``METHODS``:

- ``heuristic``: the paper's alignment heuristic (merge distance 1, length ratio > 0.8); with
  ``order="shortest", collision="skip"`` plus ``merge_distance``/``only_i``/``min_length_ratio``/
  ``top_k`` it is the thesis generalisation (see :mod:`xlner.project.heuristic`).
- ``largest-group``: García-Ferrero et al. 2022 (largest contiguous group after gap filling,
  punctuation dropped, same-type collisions merged, different types: the longer wins).
- ``match-greedy``: candidate matching solved with the paper's greedy (Dice score, n-grams).
- ``match-exact``: the same matching solved to optimality.
- ``match-fused`` / ``match-fused+ensemble``: fused alignment + target-NER scores over n-gram and
  target-NER candidates, then (optionally) the ensemble with the target tagger. They need the target
  tagger's output on each sentence: :func:`xlner.project.fused.project_fused_records` (what the
  pipeline's projection step calls), or :func:`project_records` with ``target_ner``.

Every source entity ends in ``result.projected`` (one or more spans) or ``result.unprojected``
(with a :class:`~xlner.datamodel.Reason`). ``project_batch`` runs one method over many sentences.
Run records (:class:`xlner.record.RunRecord`) are projected with ``project_record`` /
``project_records`` and ``project_back_translation`` (:mod:`xlner.project.records`), the
``xlner project`` file format is read and written by :mod:`xlner.project.io`.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from xlner.datamodel import Alignment, ProjectionResult, Reason, Span, Unprojected
from xlner.errors import XlnerError
from xlner.project.batch import MAX_BATCH_ENTITIES, MAX_BATCH_TGT, match_items
from xlner.project.heuristic import heuristic_project
from xlner.project.matching import match_project, ngram_candidates
from xlner.project.params import DEFAULTS, FUSED_METHODS, METHODS, resolve_params
from xlner.record import short_repr, check_pairs, check_span_range

__all__ = ["METHODS", "DEFAULTS", "FUSED_METHODS", "project", "project_batch", "ngram_candidates", "resolve_params",
           "BACK_TRANSLATION", "project_record", "project_records", "project_back_translation",
           "project_back_translations"]

# The methods and their parameters are registered in xlner.registry by xlner.project.params.


def _where(sid: object) -> str:
    return "input" if sid is None else f"sentence {sid}"


def _links(alignment: Alignment | Sequence[Sequence[int]], n_src: int, n_tgt: int, sid: object) -> np.ndarray:
    pairs = alignment.pairs if isinstance(alignment, Alignment) else np.asarray(alignment, dtype=np.int64)
    pairs = pairs.reshape(-1, 2)
    links = np.zeros((n_src, n_tgt), dtype=bool)
    if len(pairs):
        check_pairs(pairs, n_src, n_tgt, where=_where(sid), field="alignment")
        links[pairs[:, 0], pairs[:, 1]] = True
    return links


def _check_spans(spans: Sequence[Span], n: int, what: str, sid: object, tokens: str) -> None:
    for k, s in enumerate(spans):
        if not isinstance(s, Span):
            raise XlnerError("E218", where=_where(sid), field=f"{what} {k}", expected="a Span",
                             value=short_repr(s))
        check_span_range(s.start, s.end, n, where=_where(sid), field=f"{what} {k}", tokens=tokens)


def project(
    method: str,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    src_entities: Sequence[Span],
    alignment: Alignment | Sequence[Sequence[int]],
    *,
    tgt_candidates: Sequence[Span] | None = None,
    extra_scores: Mapping[str, Any] | None = None,
    sentence_id: object = None,
    **params: Any,
) -> ProjectionResult:
    """Project ``src_entities`` onto ``tgt_tokens`` with ``method`` (one of :data:`METHODS`).

    ``alignment`` pairs are ``(src_index, tgt_index)``. ``tgt_candidates`` (matching methods only)
    replaces the n-gram candidates by the given spans (their labels are ignored).
    ``extra_scores`` (matching only) maps a name to an ``(len(src_entities), n_candidates)`` array
    or to a callable ``f(src_tokens, tgt_tokens, src_entities, candidates) -> array`` where
    ``candidates`` is the ``(n, 2)`` start/end array actually scored; each is added to the Dice
    score with ``weights[name]`` (default 1; ``weights["align"]`` scales Dice).
    ``target_labels`` (any method) marks entities whose label is outside it as
    ``label_not_in_target``. ``sentence_id`` only serves error messages.
    """
    if method in FUSED_METHODS:
        raise XlnerError("E685", method=method)
    p = resolve_params(method, params)
    return _project(method, p, list(src_tokens), list(tgt_tokens), list(src_entities), alignment,
                    tgt_candidates, extra_scores, params.get("target_labels"), sentence_id)


def _project(method, p, src_tokens, tgt_tokens, src_entities, alignment, tgt_candidates,
             extra_scores, target_labels, sid) -> ProjectionResult:
    n_src, n_tgt = len(src_tokens), len(tgt_tokens)
    _check_spans(src_entities, n_src, "source entity", sid, "source tokens")
    links = _links(alignment, n_src, n_tgt, sid)
    active = list(range(len(src_entities)))
    dropped: list[Unprojected] = []
    if target_labels is not None:
        allowed = set(target_labels)
        dropped = [Unprojected(i, Reason.LABEL_NOT_IN_TARGET) for i in active
                   if src_entities[i].label not in allowed]
        active = [i for i in active if src_entities[i].label in allowed]

    if method in ("heuristic", "largest-group"):
        if tgt_candidates is not None or extra_scores:
            raise XlnerError("E203", method=method)
        res = heuristic_project(tgt_tokens, [(i, src_entities[i]) for i in active], links,
                                merge_distance=int(p["merge_distance"]),
                                min_length_ratio=float(p["min_length_ratio"]), top_k=int(p["top_k"]),
                                only_i=bool(p["only_i"]), order=p["order"], collision=p["collision"],
                                drop_punctuation=bool(p["drop_punctuation"]))
        if dropped:
            res.unprojected = sorted(res.unprojected + dropped, key=lambda u: u.source)
        return res

    if tgt_candidates is not None:
        tgt_candidates = list(tgt_candidates)
        _check_spans(tgt_candidates, n_tgt, "target candidate", sid, "target tokens")
    if not active:
        return ProjectionResult(unprojected=dropped)
    projected, reasons, candidates = match_project(
        src_tokens, tgt_tokens, src_entities, active, links,
        solver="greedy" if method == "match-greedy" else "exact",
        tgt_candidates=tgt_candidates, extra_scores=extra_scores, weights=p["weights"],
        max_candidate_length=int(p["max_candidate_length"]), min_score=float(p["min_score"]),
        restrict_to_aligned=bool(p["restrict_to_aligned"]), n_candidates=int(p["n_candidates"]),
        stop_tokens=p["stop_tokens"], exact_solver=p["exact_solver"])
    unprojected = [Unprojected(s, r) for s, r in reasons.items()] + dropped
    return ProjectionResult(
        projected=sorted(projected, key=lambda e: (e.span.start, e.span.end)),
        unprojected=sorted(unprojected, key=lambda u: u.source),
        candidates=candidates,
    )


def _as_span(x: Any) -> Span:
    return x if isinstance(x, Span) else Span.from_dict(x)


def project_batch(method: str, records: Iterable[Mapping[str, Any]], **params: Any) -> list[ProjectionResult]:
    """Project many sentences with one method and one parameter set.

    Each record is a mapping with ``src_tokens``, ``tgt_tokens``, ``src_entities`` (Spans or
    ``{"start","end","label"}`` dicts), ``alignment`` (an :class:`Alignment` or a list of pairs) and
    optionally ``id``, ``tgt_candidates`` and ``extra_scores``. Parameters are resolved once.
    For the matching methods, n-gram records without extra scores are solved in padded batches
    (:mod:`xlner.project.batch`) with results identical to calling :func:`project` on each.
    """
    if method in FUSED_METHODS:
        raise XlnerError("E685", method=method)
    p = resolve_params(method, params)
    target_labels = params.get("target_labels")
    allowed = None if target_labels is None else set(target_labels)
    records = list(records)
    out: list[ProjectionResult | None] = [None] * len(records)
    batched: list[dict] = []
    batchable = method.startswith("match-")
    for n, rec in enumerate(records):
        try:
            sid = rec.get("id", n)
            src_tokens, tgt_tokens = rec["src_tokens"], rec["tgt_tokens"]
            entities = [e if type(e) is Span else _as_span(e) for e in rec["src_entities"]]
            alignment = rec["alignment"]
            cands = rec.get("tgt_candidates")
            extra = rec.get("extra_scores")
            n_src, n_tgt = len(src_tokens), len(tgt_tokens)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise XlnerError("E206", n=n, detail=f"{type(exc).__name__}: {exc}") from exc
        if not (batchable and cands is None and not extra and 0 < n_tgt <= MAX_BATCH_TGT
                and len(entities) <= MAX_BATCH_ENTITIES):
            out[n] = _project(method, p, list(src_tokens), list(tgt_tokens), entities, alignment,
                              None if cands is None else [_as_span(c) for c in cands], extra,
                              target_labels, sid)
            continue
        _check_spans(entities, n_src, "source entity", sid, "source tokens")
        pairs = alignment.pairs if isinstance(alignment, Alignment) else \
            np.asarray(alignment, dtype=np.int64).reshape(-1, 2)
        active: Sequence[int]
        dropped: Sequence[int]
        if allowed is None:
            active, dropped = range(len(entities)), ()
        else:
            active = [i for i, e in enumerate(entities) if e.label in allowed]
            dropped = [i for i, e in enumerate(entities) if e.label not in allowed]
        batched.append({"n": n, "id": sid, "tgt_tokens": tgt_tokens, "n_src": n_src,
                        "entities": entities, "active": active, "dropped": dropped, "pairs": pairs})
    if batched:
        w_align = float((p["weights"] or {}).get("align", 1.0))
        options = dict(solver="greedy" if method == "match-greedy" else "exact",
                       max_candidate_length=int(p["max_candidate_length"]), min_score=float(p["min_score"]),
                       w_align=w_align,
                       restrict=bool(p["restrict_to_aligned"]) and float(p["min_score"]) >= 0 and w_align > 0,
                       n_candidates=int(p["n_candidates"]), stop_tokens=p["stop_tokens"],
                       exact_solver=p["exact_solver"])
        for it, result in zip(batched, match_items(batched, **options)):
            out[it["n"]] = result
    return out  # type: ignore[return-value]


# Projection of run records (imported last: it builds on project_batch above).
from xlner.project.records import (BACK_TRANSLATION, project_back_translation,  # noqa: E402
                                   project_back_translations, project_record, project_records)
