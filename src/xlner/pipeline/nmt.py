"""The NMT score in the pipeline: the fused methods' ``lambda_nmt * NMT`` (method.md §4, issue 11).

A profile's ``nmt_scorer`` section names a seq2seq model (:class:`xlner.pipeline.profiles.NMTScorerSection`).
When the projection is fused (``match-fused``, ``match-fused+ensemble``) and its ``weights.nmt`` is
above 0, a cached step ``nmt_score`` runs before the projection: for each sentence it lists the same
candidates the fused matching will score (:func:`xlner.project.fusion.fusion_candidates`, n-grams
and/or the target tagger's spans) and scores every (English entity, candidate) pair with
:class:`xlner.nmtscore.NMTScorer` (NMTScore "direct", thresholded), one batched call per shard with
each distinct pair once. The step's key holds the model's identity (name, revision, a local folder's
files) and its inputs, so changing a weight reprojects without rescoring, and a rerun loads no model.

Entity and candidate texts are their words joined by spaces (the tokens as the run holds them).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import pyarrow as pa

from xlner.errors import XlnerError
from xlner.pipeline.framework import Step

__all__ = ["ENGLISH", "NMT_COLUMN", "nmt_weight", "check_nmt_scorer", "nmt_scorer_component", "nmt_step",
           "score_candidates"]

ENGLISH = "en"
#: The run column holding each sentence's ``(n_entities, n_candidates)`` NMT score matrix.
NMT_COLUMN = "nmt_scores"
_MATRIX = pa.list_(pa.list_(pa.float32()))


def nmt_weight(profile: Mapping[str, Any]) -> float:
    """The fused projection's ``nmt`` weight (0 for other methods or without one)."""
    from xlner.project.params import FUSED_METHODS

    projection = profile.get("projection") or {}
    if projection.get("method") not in FUSED_METHODS:
        return 0.0
    weights = (projection.get("options") or {}).get("weights") or {}
    return float(weights.get("nmt") or 0.0)


def _section(profile: Mapping[str, Any]) -> dict[str, Any]:
    return dict(profile.get("nmt_scorer") or {})


def check_nmt_scorer(profile: Mapping[str, Any]) -> None:
    """Before any work: an ``nmt`` weight without ``nmt_scorer.model`` (E686), and a local scorer
    folder that is not a seq2seq model (E690) or does not exist (E691)."""
    from xlner.nmtscore import check_seq2seq

    model = _section(profile).get("model")
    weight = nmt_weight(profile)
    if weight > 0 and not model:
        where = profile.get("path") or profile.get("name") or "profile"
        raise XlnerError("E686", where=where, weight=weight)
    if model:
        check_seq2seq(str(model))


def nmt_scorer_component(profile: Mapping[str, Any]) -> dict[str, tuple[dict, Callable[[], Any]]]:
    """``{"nmt_scorer": (config, build)}`` when the profile names a scorer model, else ``{}``
    (:func:`xlner.pipeline.components.build_components` guards ``build``). The
    config (what the step's key sees) is the section plus the model's identity
    (:meth:`xlner.nmtscore.NMTScorer.fingerprint`: a local folder's files' sizes and times)."""
    from xlner.nmtscore import NMTScorer

    section = _section(profile)
    if not section.get("model"):
        return {}
    params = dict(section)

    def build() -> Any:
        return NMTScorer(**params)

    return {"nmt_scorer": ({**section, "identity": NMTScorer(**params).fingerprint()}, build)}


def nmt_step(profile: Mapping[str, Any], lang: str) -> Step | None:
    """The ``nmt_score`` step of a fused projection with ``weights.nmt > 0`` (None otherwise).

    Its parameters are the candidate settings the projection uses and the target language, so
    that the scores line up with the candidates the matching scores."""
    if nmt_weight(profile) <= 0:
        return None
    from xlner.project.params import resolve_params

    projection = profile["projection"]
    p = resolve_params(projection["method"], projection.get("options") or {})
    inputs = {"src_tokens": "src_tokens", "entities": "src_entities", "tokens": "tgt_tokens"}
    if p["candidates"] != "ngram":  # the target tagger's spans are candidates too
        inputs["ner_entities"] = "tgt_ner_entities"
    return Step("nmt_score", score_candidates, inputs, {"scores": NMT_COLUMN}, "nmt_scorer",
                {"candidates": p["candidates"], "max_candidate_length": int(p["max_candidate_length"]),
                 "entity_lang": ENGLISH, "candidate_lang": lang})


def score_candidates(table: pa.Table, scorer: Any, params: dict) -> pa.Table:
    """(English tokens and entities, target tokens [, target tagger spans]) -> per sentence the
    ``(n_entities, n_candidates)`` NMT scores over the fused candidates, in their order."""
    from xlner.pipeline.steps import spans_of
    from xlner.project.fusion import fusion_candidates

    has_ner = "ner_entities" in table.column_names
    texts: list[tuple[list[str], list[str]]] = []
    for r in table.to_pylist():
        tokens, entities = list(r["tokens"] or []), spans_of(r["entities"])
        if not tokens or not entities:
            texts.append(([], []))
            continue
        ner = spans_of(r["ner_entities"]) if has_ner else []
        cands, _ = fusion_candidates(tokens, ner, params["candidates"],
                                     max_length=int(params["max_candidate_length"]))
        src = list(r["src_tokens"] or [])
        texts.append(([" ".join(src[e.start:e.end]) for e in entities],
                      [" ".join(tokens[int(s):int(e)]) for s, e in cands]))
    flat_e = [e for ents, cand_texts in texts for e in ents for _ in cand_texts]
    flat_c = [c for ents, cand_texts in texts for _ in ents for c in cand_texts]
    values = (scorer.pair_scores(flat_e, flat_c, params.get("entity_lang"), params.get("candidate_lang"))
              if flat_e else np.zeros(0))
    matrices, k = [], 0
    for ents, cand_texts in texts:
        n = len(ents) * len(cand_texts)
        matrices.append(np.asarray(values[k:k + n], dtype=np.float32).reshape(len(ents), len(cand_texts)).tolist())
        k += n
    return pa.table({"scores": matrices}, schema=pa.schema([("scores", _MATRIX)]))
