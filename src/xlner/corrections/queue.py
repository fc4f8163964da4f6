"""The review queue: which projected entities to look at, in which order, and what comes next.

An *item* is one projected entity, ``(sentence id, entity key)``. Sentences are ordered by the
chosen key and their entities follow in reading order, so an annotator keeps a sentence's context
while the queue advances. Pure functions over typed run records (:class:`~xlner.record.RunRecord`: the
id, the projected entities and, for error categories, the gold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from xlner.record import RunRecord

from xlner.corrections.store import entity_key

Item = tuple[str, str]
ORDERS = {"run": "run order", "score": "lowest projection score first",
          "category": "error category (worst first)", "custom": "custom key (e.g. per-stage attribution)"}
# The SemEval categories from worst to best for review: a spurious or mistyped entity is a sure
# fix, a partial one a boundary fix, a missing one needs an add.
CATEGORY_RANK = {"spurious": 0, "incorrect": 1, "partial": 2, "missing": 3, "correct": 4}


def sentence_categories(record: RunRecord) -> list[str]:
    """The SemEval categories of a record's projected vs gold entities (nervaluate's, via xlner.evaluate)."""
    from xlner.datamodel import Span
    from xlner.evaluate import sentence_categories as categories

    def ents(spans: Iterable[Span]) -> list[tuple[str, int, int]]:
        return sorted(((s.label, s.start, s.end - 1) for s in spans), key=lambda x: (x[1], x[2], x[0]))

    return [c for c, _, _ in categories(ents(record.gold or []), ents(record.projected_spans()))]


def _score(record: RunRecord) -> float:
    scores = [float(p.score) for p in record.projection.projected]
    return min(scores) if scores else float("inf")


def _category(record: RunRecord) -> tuple[int, int]:
    cats = sentence_categories(record)
    worst = min((CATEGORY_RANK.get(c, 4) for c in cats), default=4)
    return worst, -sum(c != "correct" for c in cats)


def order_sentences(records: Sequence[RunRecord], order: str = "run", *,
                    key: Callable[[RunRecord], Any] | None = None) -> list[str]:
    """Sentence ids to review: those with projected entities (and, ordered by error category, those
    whose gold entities were all missed), in the chosen order; ties keep the run's order.

    ``order='custom'`` sorts by ``key(record)`` ascending — the hook for per-stage attribution."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(ORDERS)}")
    chosen = [r for r in records if r.projection.projected or (order == "category" and r.gold)]
    if order == "score":
        chosen = sorted(chosen, key=_score)
    elif order == "category":
        chosen = sorted(chosen, key=_category)
    elif order == "custom":
        if key is None:
            raise ValueError("order='custom' needs a key function")
        chosen = sorted(chosen, key=key)
    return [r.id for r in chosen]


def assigned_positions(assignments: Iterable[dict[str, Any]], annotator: str) -> set[int] | None:
    """Positions (in the run's sentence order) assigned to ``annotator``; None when nothing is."""
    mine = [a for a in assignments if a["annotator"] == annotator]
    if not mine:
        return None
    return {i for a in mine for i in range(int(a["first"]), int(a["last"]))}


def queue_items(records: Sequence[RunRecord], sentence_ids: Sequence[str]) -> list[Item]:
    """The projected entities of the ordered sentences, each sentence's in reading order."""
    by_id = {r.id: r for r in records}
    out: list[Item] = []
    for sid in sentence_ids:
        ents = sorted(by_id[sid].projection.projected, key=lambda p: (p.span.start, p.span.end))
        out += [(sid, entity_key(p.span.to_dict())) for p in ents]
    return out


def next_undecided(items: Sequence[Item], decided: Iterable[Item], after: Item | None = None) -> Item | None:
    """The first undecided item after ``after`` in queue order, wrapping around; None when all are done."""
    done = set(decided)
    start = items.index(after) + 1 if after in items else 0
    for item in list(items[start:]) + list(items[:start]):
        if item not in done:
            return item
    return None


def progress(items: Sequence[Item], decided: Iterable[Item]) -> tuple[int, int]:
    """``(reviewed, total)`` over the queue's items."""
    done = set(decided)
    return sum(i in done for i in items), len(items)
