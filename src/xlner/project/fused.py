"""Fused projection of run records: the methods ``match-fused`` and ``match-fused+ensemble``.

Both need, besides what every projection needs (English tokens and entities, target tokens, the
alignment), the output of a token classifier on the target sentence (:class:`TargetNer`: its spans
with confidences and its per-word IOB2 probabilities). The pipeline gets it from its
``target_tagger`` step; here it is an argument, so that this stays a pure function.

- ``match-fused``: :func:`xlner.project.fusion.fused_project` on each record, with the profile's
  target-side scores (``capitalization``) added like in ``match-greedy``. Every listed candidate keeps
  its score components (``align``, ``ner``, ``capitalization``...) and its origin (``ngram``/``ner``).
- ``match-fused+ensemble``: the same, then :func:`xlner.project.ensemble.ensemble` with the
  tagger. The rule, in order: a projected span whose words the tagger calls ``O`` with mean
  probability >= ``drop_if_o`` is dropped (reason ``rejected_by_target_model``); a kept span takes
  the tagger's type when the tagger's score for another type on exactly that span is >=
  ``retype_if``; a tagger span with confidence >= ``add_if`` that overlaps no kept span is added
  with ``source`` -1 (no English entity behind it). The tuned setting (retype 0.7, nothing
  dropped or added) only corrects types: English NER on machine translation mistypes more often
  than a tagger that reads the original sentence.

With ``drop_lowercase`` both methods drop, before the ensemble, the matched spans that start with a
lower-case word (reason ``lowercase_start``); with ``merge_adjacent`` they join, last, touching
spans of one type (reason ``merged`` for the English entities joined into the span before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from xlner.datamodel import ProjectedEntity, ProjectionResult, Reason, Span, Unprojected
from xlner.errors import XlnerError
from xlner.project.ensemble import EnsembleRule, ensemble
from xlner.project.fusion import fused_project
from xlner.project.params import ENSEMBLE_METHOD, FUSED_METHODS, resolve_params
from xlner.record import RunRecord

__all__ = ["TargetNer", "project_fused_records", "drop_lowercase_spans", "merge_adjacent_spans", "FUSED_METHODS", "ENSEMBLE_METHOD"]


@dataclass(frozen=True)
class TargetNer:
    """A target tagger's output on one sentence: spans with one confidence each, and ``probs``
    ``(n_words, len(columns))`` over IOB2 ``columns`` (``["O", "B-PER", "I-PER", ...]``)."""

    spans: list[Span]
    scores: list[float]
    probs: np.ndarray
    columns: list[str]


def _weights(p: Mapping[str, Any], has_nmt: bool) -> dict[str, float]:
    """The fused weights: ``align`` 1 and ``ner`` 1 unless the options say otherwise; an ``nmt``
    weight above 0 needs NMT scores (E686)."""
    weights = {"align": 1.0, "ner": 1.0, **{k: float(v) for k, v in (p.get("weights") or {}).items()}}
    if weights.get("nmt") and not has_nmt:
        raise XlnerError("E686", where="projection options", weight=weights["nmt"])
    if not weights.get("nmt"):
        weights.pop("nmt", None)
    return weights


def _ensemble(result: ProjectionResult, ner: TargetNer, rule: EnsembleRule) -> ProjectionResult:
    """``result`` corrected and completed by the target tagger (the module docstring's rule)."""
    if not result.projected and (rule.add_if is None or not ner.spans):
        return result  # nothing to correct and nothing to add (most sentences): the rule is a no-op
    spans = [p.span for p in result.projected]
    kept = ensemble(spans, ner.spans, ner.scores, ner.probs, ner.columns, rule)
    by_range = {(p.span.start, p.span.end): p for p in result.projected}
    confidence = {(s.start, s.end): c for s, c in zip(ner.spans, ner.scores)}
    projected, used = [], set()
    for s in kept:
        origin = by_range.get((s.start, s.end))
        if origin is not None:
            projected.append(ProjectedEntity(s, origin.source, origin.score))
            used.add(origin.source)
        else:
            projected.append(ProjectedEntity(s, -1, float(confidence.get((s.start, s.end), 1.0))))
    rejected = [Unprojected(p.source, Reason.REJECTED_BY_TARGET_MODEL) for p in result.projected
                if p.source not in used]
    return ProjectionResult(projected=projected,
                            unprojected=sorted(result.unprojected + rejected, key=lambda u: u.source),
                            candidates=result.candidates)


def drop_lowercase_spans(result: ProjectionResult, tgt_tokens: Sequence[str]) -> ProjectionResult:
    """``result`` without the spans whose first word starts with a lower-case letter; an English
    entity left with no span is unprojected with reason ``lowercase_start``."""
    kept = [p for p in result.projected if not tgt_tokens[p.span.start][:1].islower()]
    if len(kept) == len(result.projected):
        return result
    return _with_projected(result, kept, Reason.LOWERCASE_START)


def merge_adjacent_spans(result: ProjectionResult) -> ProjectionResult:
    """``result`` with each run of touching projected spans of one type joined into one span,
    which keeps the first one's English entity and the highest score; the other entities are
    unprojected with reason ``merged``."""
    ordered = sorted(result.projected, key=lambda p: (p.span.start, p.span.end))
    joined: list[ProjectedEntity] = []
    for p in ordered:
        last = joined[-1] if joined else None
        if last is not None and last.span.end == p.span.start and last.span.label == p.span.label:
            joined[-1] = ProjectedEntity(Span(last.span.start, p.span.end, last.span.label), last.source,
                                         max(last.score, p.score))
        else:
            joined.append(p)
    if len(joined) == len(result.projected):
        return result
    return _with_projected(result, joined, Reason.MERGED)


def _with_projected(result: ProjectionResult, projected: list[ProjectedEntity], reason: Reason) -> ProjectionResult:
    """``result`` with ``projected`` instead of its spans; an English entity that had a span and has
    none left is unprojected with ``reason``."""
    still = {p.source for p in projected}
    lost = sorted({p.source for p in result.projected if p.source >= 0 and p.source not in still})
    return ProjectionResult(projected=projected,
                            unprojected=sorted(result.unprojected + [Unprojected(s, reason) for s in lost],
                                               key=lambda u: u.source),
                            candidates=result.candidates)


def project_fused_records(records: Sequence[RunRecord], method: str, options: Mapping[str, Any],
                          target_ner: Sequence[TargetNer | None] | None,
                          extra_scores: Sequence[Mapping[str, Any]] | None = None,
                          nmt_scores: Sequence[np.ndarray | None] | None = None) -> list[ProjectionResult]:
    """Project each record with fused matching (and the ensemble for ``match-fused+ensemble``).

    ``options``: the method's parameters (:class:`xlner.project.params.FusedParams`); ``target_ner``:
    one :class:`TargetNer` per record (None for an empty sentence); ``extra_scores``: per record,
    target-side scores by name (their weights are in ``options["weights"]``); ``nmt_scores``: per
    record the ``(n_entities, n_candidates)`` NMT scores over the fused candidates (the pipeline's
    ``nmt_score`` step, :mod:`xlner.pipeline.nmt`), required when ``weights.nmt`` is above 0.
    """
    if method not in FUSED_METHODS:
        raise XlnerError("E688", method=method, methods=", ".join(FUSED_METHODS))
    if target_ner is None:
        raise XlnerError("E685", method=method)
    if len(target_ner) != len(records):
        raise XlnerError("E687", n_ner=len(target_ner), n=len(records))
    p = resolve_params(method, options)
    target_labels = options.get("target_labels")
    weights = _weights(p, nmt_scores is not None)
    if nmt_scores is not None and len(nmt_scores) != len(records):
        raise XlnerError("E693", n_scores=len(nmt_scores), n=len(records))
    rule = (EnsembleRule(drop_if_o=p["drop_if_o"], add_if=p["add_if"], retype_if=p["retype_if"])
            if method == ENSEMBLE_METHOD else None)
    # the settings every sentence shares, converted once (this loop runs per sentence)
    ner_gate, alpha, ner_threshold = bool(p["ner_gate"]), float(p["alpha"]), float(p["ner_threshold"])
    max_length, min_score, n_candidates = int(p["max_candidate_length"]), float(p["min_score"]), int(p["n_candidates"])
    drop_lowercase, merge_adjacent = bool(p["drop_lowercase"]), bool(p["merge_adjacent"])
    out = []
    for k, (rec, ner) in enumerate(zip(records, target_ner)):
        n_tgt = len(rec.tgt_tokens)
        if ner is None:
            ner = TargetNer([], [], np.zeros((n_tgt, 1)), ["O"])
        extra = dict(extra_scores[k]) if extra_scores else {}
        if not rec.src_entities:
            result = ProjectionResult()
        else:
            has_probs = ner.probs is not None and len(ner.columns) > 1
            result = fused_project(
                rec.src_tokens, rec.tgt_tokens, rec.src_spans, rec.alignment,
                tgt_probs=ner.probs if has_probs else None, tgt_columns=ner.columns, tgt_spans=ner.spans,
                candidates=p["candidates"], weights={k_: v for k_, v in weights.items()
                                                     if k_ in ("align", "ner", "nmt") or k_ in extra},
                ner_variant=p["ner_variant"], ner_gate=ner_gate, alpha=alpha, ner_threshold=ner_threshold,
                extra_scores=extra, solver=p["solver"], nmt_scores=None if nmt_scores is None else nmt_scores[k],
                max_candidate_length=max_length, min_score=min_score, n_candidates=n_candidates,
                target_labels=target_labels, sentence_id=rec.id)
        if drop_lowercase:
            result = drop_lowercase_spans(result, rec.tgt_tokens)
        if rule is not None and len(ner.columns) > 1:
            result = _ensemble(result, ner, rule)
        if merge_adjacent:
            result = merge_adjacent_spans(result)
        out.append(result)
    return out
