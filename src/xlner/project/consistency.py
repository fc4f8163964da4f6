"""One type per surface form over a whole run: the projection's run-level type vote.

Projection decides each sentence alone, so the same name can come out as a place in one sentence
and an organisation in the next (the English NER typed two machine translations differently). The
vote gives every projected span whose words occur at least ``min_count`` times among the run's
projected spans the type most of those occurrences have, when that type has a strict majority;
other spans keep theirs. Boundaries are never changed and nothing is added or dropped.

Measured on the fusion study's tuning sets (Basque news, Spanish CoNLL-02 train, Basque news from
the out-of-domain config's train split; docs/results/fusion): +0.3 to +1.0 F1 after fused
projection with the ensemble, ``min_count`` 2 best.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from xlner.datamodel import Span

__all__ = ["vote_types"]


def _surface(tokens: Sequence[str], span: Span) -> str:
    return " ".join(tokens[span.start:span.end])


def vote_types(tokens: Sequence[Sequence[str]], spans: Sequence[Sequence[Span]],
               min_count: int = 2) -> list[list[Span]]:
    """``spans`` (one list per sentence over the words ``tokens``) with the run-level majority type
    of each surface form (the module docstring's rule); ``min_count`` >= 2."""
    if len(tokens) != len(spans):
        raise ValueError(f"{len(tokens)} token lists for {len(spans)} span lists")
    votes: dict[str, Counter] = defaultdict(Counter)
    for words, sentence in zip(tokens, spans):
        for span in sentence:
            votes[_surface(words, span)][span.label] += 1
    winner: dict[str, str] = {}
    for surface, counts in votes.items():
        total = sum(counts.values())
        label, n = counts.most_common(1)[0]
        if total >= min_count and 2 * n > total:
            winner[surface] = label
    return [[Span(s.start, s.end, winner.get(_surface(words, s), s.label)) for s in sentence]
            for words, sentence in zip(tokens, spans)]
