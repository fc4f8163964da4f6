"""Projection of run records: the pipeline's projection step and the explorer's method switch.

Both go through :func:`project_records` (and :func:`project_back_translations` for back-translation)
with the run's projection settings (``config["components"]["projection"]``: ``options`` for the
method and ``target_scores``), so that re-projecting a stored record with the method the run used
gives exactly what the run stored.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xlner.datamodel import Candidate, ProjectedEntity, ProjectionResult, Unprojected
from xlner.errors import XlnerError
from xlner.project import project_batch
from xlner.project.params import FUSED_METHODS
from xlner.record import RunRecord

__all__ = ["BACK_TRANSLATION", "TARGET_SCORES", "capitalization_score", "projection_setup", "project_records",
           "project_record", "project_back_translations", "project_back_translation"]

#: The name under which back-translation appears among projection methods (run config, method switch).
BACK_TRANSLATION = "back-translation"
#: The default projection from the back-translation onto the sentence.
BACK_TRANSLATION_METHOD = "match-greedy"


def capitalization_score(pairs: np.ndarray) -> Callable[..., np.ndarray]:
    """A target-side candidate score: the share of capitalised words in the candidate, for
    candidates that overlap a word aligned to the entity (0 elsewhere, so that it can only choose
    between aligned candidates, never project an unaligned entity). Basque and Spanish names are
    capitalised where the words around them are not, which fixes boundaries such as
    ``Jon Agirre alkateak`` -> ``Jon Agirre``."""
    def score(src_tokens: Sequence[str], tgt_tokens: Sequence[str], src_entities: Sequence[Any],
              candidates: np.ndarray) -> np.ndarray:
        n_tgt = len(tgt_tokens)
        cap = np.array([w[:1].isupper() for w in tgt_tokens], dtype=np.float64)
        cum = np.concatenate([[0.0], np.cumsum(cap)])
        starts, ends = candidates[:, 0], candidates[:, 1]
        share = (cum[ends] - cum[starts]) / np.maximum(ends - starts, 1)
        out = np.zeros((len(src_entities), len(candidates)))
        for i, e in enumerate(src_entities):
            linked = np.zeros(n_tgt + 1)
            sel = (pairs[:, 0] >= e.start) & (pairs[:, 0] < e.end)
            linked[pairs[sel, 1] + 1] = 1.0
            lcum = np.cumsum(linked)
            out[i] = share * ((lcum[ends] - lcum[starts]) > 0)
        return out
    return score


#: Target-side candidate scores a profile can add to the alignment score (``target_scores``).
TARGET_SCORES: dict[str, Callable[[np.ndarray], Callable[..., np.ndarray]]] = {
    "capitalization": capitalization_score}


def projection_setup(method: str, settings: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, float]]:
    """(parameters for :func:`xlner.project.project_batch`, target scores ``{name: weight}``) of a
    run's projection settings; target scores apply to the matching methods only."""
    settings = settings or {}
    options = dict(settings.get("options") or {})
    target_scores = dict(settings.get("target_scores") or {}) if method.startswith("match") else {}
    unknown = sorted(set(target_scores) - set(TARGET_SCORES))
    if unknown:
        raise XlnerError("E723", names=", ".join(unknown), known=", ".join(TARGET_SCORES))
    if target_scores:
        options["weights"] = {**(options.get("weights") or {}), **target_scores}
    return options, target_scores


def _batch_input(sid: str, src_tokens: list[str], tgt_tokens: list[str], src_entities: list[Any],
                 alignment: Any, target_scores: Mapping[str, float]) -> dict[str, Any]:
    item = {"id": sid, "src_tokens": src_tokens, "tgt_tokens": tgt_tokens, "src_entities": src_entities,
            "alignment": alignment}
    if target_scores:
        item["extra_scores"] = {name: TARGET_SCORES[name](alignment.pairs) for name in target_scores}
    return item


def project_records(records: Sequence[RunRecord], method: str,
                    settings: Mapping[str, Any] | None = None,
                    target_ner: Sequence[Any] | None = None,
                    nmt_scores: Sequence[np.ndarray | None] | None = None) -> list[ProjectionResult]:
    """Project each record's English entities onto its target tokens through its alignment with
    ``method`` and the run's projection ``settings`` (one batched call).

    ``target_ner`` (the fused methods only, where it is required, E685): one
    :class:`xlner.project.fused.TargetNer` per record, the target tagger's output; ``nmt_scores``
    (fused methods with an ``nmt`` weight, where it is required, E686): one NMT score matrix per
    record (:func:`xlner.project.fused.project_fused_records`)."""
    options, target_scores = projection_setup(method, settings)
    if method in FUSED_METHODS:
        from xlner.project.fused import project_fused_records

        extra = [{name: TARGET_SCORES[name](r.alignment.pairs) for name in target_scores} for r in records]
        return project_fused_records(records, method, options, target_ner, extra, nmt_scores)
    return project_batch(method, [_batch_input(r.id, r.src_tokens, r.tgt_tokens, r.src_spans, r.alignment,
                                               target_scores) for r in records], **options)


def project_record(record: RunRecord, method: str, settings: Mapping[str, Any] | None = None,
                   target_ner: Any = None) -> ProjectionResult:
    """One record projected with ``method``: exactly what the pipeline stores for it when
    ``method`` and ``settings`` are the run's (``config["components"]["projection"]``);
    ``target_ner``: the target tagger's output on it (fused methods only)."""
    return project_records([record], method, settings, None if target_ner is None else [target_ner])[0]


def _to_english(record: RunRecord, result: ProjectionResult | None) -> ProjectionResult:
    """A projection of back-translation spans, renumbered to the English entities they came
    from, plus the English entities whose markers did not come back."""
    bt = record.back_translation
    assert bt is not None
    source = [e.source for e in bt.entities]
    res = result or ProjectionResult()
    unprojected = [Unprojected(source[u.source], u.reason) for u in res.unprojected] + list(bt.lost)
    return ProjectionResult(
        projected=[ProjectedEntity(p.span, source[p.source], p.score) for p in res.projected],
        unprojected=sorted(unprojected, key=lambda u: u.source),
        candidates=[Candidate(source[c.source], c.start, c.end, c.score, c.components, c.origin)
                    for c in res.candidates])


def project_back_translations(records: Sequence[RunRecord], method: str,
                              settings: Mapping[str, Any] | None = None) -> list[ProjectionResult]:
    """Project each record's back-translation spans onto its target tokens through the
    back-translation -> target alignment with ``method`` and the run's projection settings;
    outcomes name the English entities (``source`` indexes ``src_entities``). Every record must
    store a back-translation (E715)."""
    for r in records:
        if r.back_translation is None:
            raise XlnerError("E715", sentence=r.id)
    options, target_scores = projection_setup(method, settings)
    todo = [i for i, r in enumerate(records) if r.back_translation and r.back_translation.entities]
    inputs = []
    for i in todo:
        r, bt = records[i], records[i].back_translation
        assert bt is not None
        inputs.append(_batch_input(r.id, bt.tokens, r.tgt_tokens, [e.span for e in bt.entities], bt.alignment,
                                   target_scores))
    done = dict(zip(todo, project_batch(method, inputs, **options) if todo else []))
    return [_to_english(r, done.get(i)) for i, r in enumerate(records)]


def project_back_translation(record: RunRecord, settings: Mapping[str, Any] | None = None,
                             method: str | None = None) -> ProjectionResult:
    """One record's stored back-translation projected onto its sentence (``method``: default the one
    the run stored): what the pipeline stores for a back-translation run. No translator is called."""
    if record.back_translation is None:
        raise XlnerError("E715", sentence=record.id)
    method = method or record.back_translation.method or BACK_TRANSLATION_METHOD
    return project_back_translations([record], method, settings)[0]
