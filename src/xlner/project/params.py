"""The projection methods' parameters, declared as dataclasses and registered in :mod:`xlner.registry`
like every other component, so that ``project(..., merge_distance="one")``, a profile's
``projection.options`` and ``xlner project --merge-distance`` are all checked by the same code (E760
unknown method, E761 bad parameter)."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Mapping, Sequence

from annotated_types import Ge, Le

from xlner import registry
from xlner.project.heuristic import COLLISIONS, ORDERS
from xlner.project.matching import EXACT_SOLVERS, STOP_TOKENS
from xlner.registry import Int

__all__ = ["METHODS", "DEFAULTS", "FUSED_METHODS", "ENSEMBLE_METHOD", "resolve_params", "HeuristicParams",
           "LargestGroupParams", "MatchingParams", "FusedParams"]

Order = Literal["input", "shortest"]
Collision = Literal["overwrite", "skip", "merge"]
ExactSolver = Literal["auto", "dp", "milp"]
assert typing.get_args(Order) == ORDERS and typing.get_args(Collision) == COLLISIONS
assert typing.get_args(ExactSolver) == EXACT_SOLVERS

#: Entity labels the target side has; entities of other labels are ``label_not_in_target``.
TargetLabels = Sequence[str] | set[str] | frozenset[str] | None


@dataclass(kw_only=True)
class HeuristicParams:
    """The paper's alignment heuristic and the thesis generalisation (:mod:`xlner.project.heuristic`)."""

    merge_distance: Annotated[Int, Ge(0)] = 1
    min_length_ratio: float = 0.8
    top_k: Annotated[Int, Ge(0)] = 0
    only_i: bool = False
    order: Order = "input"
    collision: Collision = "overwrite"
    drop_punctuation: bool = False
    target_labels: TargetLabels = None


@dataclass(kw_only=True)
class LargestGroupParams(HeuristicParams):
    """García-Ferrero et al. 2022: the heuristic keeping the largest group, merging collisions."""

    min_length_ratio: float = 0.0
    top_k: Annotated[Int, Ge(0)] = 1
    collision: Collision = "merge"
    drop_punctuation: bool = True


@dataclass(kw_only=True)
class MatchingParams:
    """Candidate matching (:mod:`xlner.project.matching`); ``max_candidate_length`` 0 = unlimited,
    ``weights`` scale Dice (``align``) and extra scores by name."""

    max_candidate_length: Annotated[Int, Ge(0)] = 0
    min_score: float = 0.0
    weights: Mapping[str, float] | None = None
    restrict_to_aligned: bool = True
    n_candidates: Annotated[Int, Ge(0)] = 3
    stop_tokens: Sequence[str] | set[str] | frozenset[str] | None = field(default_factory=lambda: tuple(sorted(STOP_TOKENS)))
    exact_solver: ExactSolver = "auto"
    target_labels: TargetLabels = None


Probability = Annotated[float, Ge(0), Le(1)]


@dataclass(kw_only=True)
class FusedParams:
    """Fused matching (:mod:`xlner.project.fusion`, method.md §4): ``lambda_align * Dice + lambda_ner *
    NER [+ lambda_nmt * NMT] [+ target scores]`` over n-gram and/or target-NER candidates, with the
    target tagger's output (the pipeline's ``target_tagger``). ``weights`` name ``align``, ``ner``
    (and ``nmt`` only where NMT scores are given); ``ner_variant``: ``ner`` (the entity's own type)
    or ``ner_spans`` (best type); ``ner_gate``: NER score only on candidates aligned to the entity.

    ``drop_if_o``, ``add_if``, ``retype_if``: the ensemble's thresholds
    (:func:`xlner.project.ensemble.ensemble`, null: off), used by ``match-fused+ensemble`` only, so
    that one profile serves both methods (``--method match-fused`` ignores them).

    ``drop_lowercase``: a matched span whose first word starts with a lower-case letter is dropped
    before the ensemble (reason ``lowercase_start``): names are capitalised in cased scripts, and
    such spans are mostly common words the English NER's entity was aligned to; words without case
    (most non-Latin scripts) are never lower case, so they are unaffected.

    ``merge_adjacent``: after the ensemble, projected spans of one type with no word between them
    become one span (the first's English entity; the others' are ``merged``): the English NER
    often splits a name whose words the translator treated differently (*Hong* / *Kongeko*)."""

    candidates: Literal["ngram", "ner", "ngram+ner"] = "ngram+ner"
    weights: Mapping[str, float] | None = None
    ner_variant: Literal["ner_spans", "ner"] = "ner_spans"
    ner_gate: bool = False
    alpha: float = 1.15
    ner_threshold: float = 0.05
    solver: Literal["greedy", "exact"] = "greedy"
    max_candidate_length: Annotated[Int, Ge(0)] = 10
    min_score: float = 0.0
    n_candidates: Annotated[Int, Ge(0)] = 3
    drop_if_o: Probability | None = None
    add_if: Probability | None = None
    retype_if: Probability | None = 0.7
    drop_lowercase: bool = False
    merge_adjacent: bool = False
    target_labels: TargetLabels = None


#: Methods that need the target tagger's output on the target sentence.
FUSED_METHODS = ("match-fused", "match-fused+ensemble")
ENSEMBLE_METHOD = "match-fused+ensemble"

_PARAMS = {"heuristic": HeuristicParams, "largest-group": LargestGroupParams,
           "match-greedy": MatchingParams, "match-exact": MatchingParams,
           "match-fused": FusedParams, "match-fused+ensemble": FusedParams}
for _method, _params in _PARAMS.items():
    registry.register("projection", _method, _params, "xlner.project:project")

METHODS = tuple(_PARAMS)

#: Default parameters of each method (``target_labels`` is accepted by all of them).
DEFAULTS: dict[str, dict[str, Any]] = {
    method: {k: v for k, v in registry.fields_of(params()).items() if k != "target_labels"}
    for method, params in _PARAMS.items()}


def resolve_params(method: str, params: Mapping[str, Any],
                   origin: registry.Origin | None = None) -> dict[str, Any]:
    """The method's defaults overridden by ``params`` (``target_labels`` left out: the caller reads
    it from ``params``); an unknown method (E760) or a bad parameter (E761) is refused."""
    resolved = registry.resolve("projection", method, params, origin)
    resolved.pop("target_labels")
    if "stop_tokens" in resolved:
        resolved["stop_tokens"] = frozenset(resolved["stop_tokens"] or ())
    return resolved
