"""Ensembles of projection and model transfer on the same target sentence (pure functions).

Projection and a target-side NER model (model transfer) make different mistakes: projection loses
entities the translation, the English NER or the alignment lost, and gets types from English NER
on rough machine translation; model transfer misses or mistypes what the English training data
did not teach it. Two documented rules combine them:

- :func:`naive_union`: every model-transfer span, plus each projected span that overlaps none of
  them (the baseline the issue measured).
- :func:`ensemble`: projection first. A projected span is kept unless the target model
  *contradicts* it with high confidence: the mean ``p(O)`` over its words is at least
  ``drop_if_o``. Optionally (``retype_if``) a kept span takes the target model's type when the
  model's score for another type on exactly that span is at least ``retype_if``. Then every
  target-model span whose confidence (mean probability of its words' chosen tags) is at least
  ``add_if`` and that overlaps no kept projected span is added.

Spans are ``Span`` objects on the target tokens; probabilities are ``(n_words, len(columns))``
over IOB2 columns (``["O", "B-PER", "I-PER", ...]``), as :class:`xlner.ner.NerOutput` holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from xlner.datamodel import Span
from xlner.errors import XlnerError

__all__ = ["EnsembleRule", "naive_union", "ensemble", "span_type_scores"]


def _overlaps_any(span: Span, others: Sequence[Span]) -> bool:
    return any(span.overlaps(o) for o in others)


def naive_union(model_spans: Sequence[Span], projected: Sequence[Span]) -> list[Span]:
    """All model-transfer spans plus the projected spans that overlap none of them."""
    model = list(model_spans)
    return sorted(model + [p for p in projected if not _overlaps_any(p, model)])


@dataclass(frozen=True)
class EnsembleRule:
    """Thresholds of :func:`ensemble` (``None`` switches a part of the rule off)."""

    drop_if_o: float | None = 0.9
    add_if: float | None = 0.9
    retype_if: float | None = None

    def __post_init__(self) -> None:
        for name in ("drop_if_o", "add_if", "retype_if"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise XlnerError("E298", name=name, value=value)


def _type_columns(columns: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
    return _type_columns_of(tuple(columns))


@lru_cache(maxsize=64)  # a run has one tagger, hence one column list: parsed once, not per sentence
def _type_columns_of(columns: tuple[str, ...]) -> tuple[list[str], list[int], list[int]]:
    index = {c: k for k, c in enumerate(columns)}
    types = [c[2:] for c in columns if c.startswith("B-") and f"I-{c[2:]}" in index]
    return types, [index[f"B-{t}"] for t in types], [index[f"I-{t}"] for t in types]


def span_type_scores(probs: np.ndarray, columns: Sequence[str], span: Span) -> dict[str, float]:
    """Mean IOB2-consistent probability of each type over ``span``: ``p(B-l)`` at the first word,
    ``p(I-l)`` at the others (the thesis NER score without its length bonus)."""
    types, b_cols, i_cols = _type_columns(columns)
    if not types:
        return {}
    return dict(zip(types, _mean_type_scores(np.asarray(probs), b_cols, i_cols, span).tolist()))


def _mean_type_scores(probs: np.ndarray, b_cols: list[int], i_cols: list[int], span: Span) -> np.ndarray:
    # one vectorised mean per type (this runs for every projected span of a run)
    total = probs[span.start, b_cols] + probs[span.start + 1:span.end][:, i_cols].sum(axis=0)
    return total / (span.end - span.start)


def ensemble(projected: Sequence[Span], model_spans: Sequence[Span], model_scores: Sequence[float],
             probs: np.ndarray, columns: Sequence[str], rule: EnsembleRule = EnsembleRule()) -> list[Span]:
    """Projection corrected and completed by a confident target model (see the module docstring).

    ``model_spans``/``model_scores``/``probs``/``columns`` are one sentence's target NER output.
    """
    if len(model_spans) != len(model_scores):
        raise XlnerError("E299", n_spans=len(model_spans), n_scores=len(model_scores))
    probs = np.asarray(probs, dtype=np.float64)
    o = columns.index("O") if "O" in columns else None
    types, b_cols, i_cols = _type_columns(columns)  # cached: one parse per tagger, not per sentence
    retype_if = rule.retype_if if types and projected else None
    if retype_if is not None:  # the B- and I- columns gathered once per sentence, not once per span
        p_b, p_i = probs[:, b_cols], probs[:, i_cols]
    kept = []
    for p in projected:
        if rule.drop_if_o is not None and o is not None and probs[p.start:p.end, o].mean() >= rule.drop_if_o:
            continue
        if retype_if is not None:
            # the same sums as _mean_type_scores, on the gathered columns
            scores = (p_b[p.start] + p_i[p.start + 1:p.end].sum(axis=0)) / (p.end - p.start)
            best = int(np.argmax(scores))  # the first of equal maxima, as max() over the types did
            if types[best] != p.label and scores[best] >= retype_if:
                p = Span(p.start, p.end, types[best])
        kept.append(p)
    if rule.add_if is not None:
        for m, conf in zip(model_spans, model_scores):
            if conf >= rule.add_if and not _overlaps_any(m, kept):
                kept.append(m)
    return sorted(kept)
