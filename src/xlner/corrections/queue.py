"""The review queue: which projected entities to look at, in which order, and what comes next.

An *item* is one projected entity, ``(sentence id, entity key)``. Sentences are ordered by the
chosen key and their entities follow in reading order, so an annotator keeps a sentence's context
while the queue advances. Pure functions over typed run records (:class:`xlner.record.RunRecord`).

Orders: the run's own, the lowest projection score first, the worst error category first, the
sentences with the most errors attributed to one pipeline stage first (:mod:`xlner.attribution`:
translation, English NER, alignment, projection — the errors of the stage an annotator wants to
correct, or to study, come first), or any key a library caller gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from xlner.attribution import STAGES, attribute_record
from xlner.corrections.store import entity_key
from xlner.record import RunRecord

Item = tuple[str, str]
ORDERS = {"run": "run order", "score": "lowest projection score first",
          "category": "error category (worst first)",
          **{f"stage:{s}": f"most {s.replace('_', ' ')} errors first (per-stage attribution)"
             .replace("english ner", "English NER") for s in STAGES},
          "custom": "custom key"}
#: The orders the Corrections page offers (``custom`` needs a key function, so only callers use it).
PAGE_ORDERS = [o for o in ORDERS if o != "custom"]
# The SemEval categories from worst to best for review: a spurious or mistyped entity is a sure
# fix, a partial one a boundary fix, a missing one needs an add.
CATEGORY_RANK = {"spurious": 0, "incorrect": 1, "partial": 2, "missing": 3, "correct": 4}


def sentence_categories(record: RunRecord) -> list[str]:
    """The SemEval categories of a record's projected vs gold entities (nervaluate's, via xlner.evaluate);
    empty for a record without gold."""
    from xlner.evaluate import sentence_categories as categories

    if record.gold is None:
        return []
    gold = sorted(((s.label, s.start, s.end - 1) for s in record.gold), key=lambda x: (x[1], x[2], x[0]))
    pred = sorted(((s.label, s.start, s.end - 1) for s in record.projected_spans()), key=lambda x: (x[1], x[2], x[0]))
    return [c for c, _, _ in categories(gold, pred)]


def stage_errors(record: RunRecord, stage: str) -> int:
    """How many of the record's errors :mod:`xlner.attribution` gives to ``stage`` (0 without gold)."""
    return sum(a.stage == stage for a in attribute_record(record))


def _score(record: RunRecord) -> float:
    scores = [float(p.score) for p in record.projection.projected]
    return min(scores) if scores else float("inf")


def _category(record: RunRecord) -> tuple[int, int]:
    cats = sentence_categories(record)
    worst = min((CATEGORY_RANK.get(c, 4) for c in cats), default=4)
    return worst, -sum(c != "correct" for c in cats)


def order_sentences(records: Sequence[RunRecord], order: str = "run", *,
                    key: Callable[[RunRecord], Any] | None = None) -> list[str]:
    """Sentence ids to review: those with projected entities (and, ordered by error category or by a
    stage's errors, those whose gold entities were all missed, for an add), in the chosen order;
    ties keep the run's order.

    ``order`` is one of :data:`ORDERS`: ``stage:alignment`` puts the sentences with the most errors
    attributed to alignment first; ``custom`` sorts by ``key(record)`` ascending."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(ORDERS)}")
    needs_gold = order == "category" or order.startswith("stage:")
    chosen = [r for r in records if r.projection.projected or (needs_gold and r.gold)]
    if order == "score":
        chosen = sorted(chosen, key=_score)
    elif order == "category":
        chosen = sorted(chosen, key=_category)
    elif order.startswith("stage:"):
        stage = order.split(":", 1)[1]
        chosen = sorted(chosen, key=lambda r: -stage_errors(r, stage))
    elif order == "custom":
        if key is None:
            raise ValueError("order='custom' needs a key function")
        chosen = sorted(chosen, key=key)
    return [str(r.id) for r in chosen]


def assigned_positions(assignments: Iterable[dict[str, Any]], annotator: str) -> set[int] | None:
    """Positions (in the run's sentence order) assigned to ``annotator``; None when nothing is."""
    mine = [a for a in assignments if a["annotator"] == annotator]
    if not mine:
        return None
    return {i for a in mine for i in range(int(a["first"]), int(a["last"]))}


def queue_items(records: Sequence[RunRecord], sentence_ids: Sequence[str]) -> list[Item]:
    """The projected entities of the ordered sentences, each sentence's in reading order."""
    by_id = {str(r.id): r for r in records}
    out: list[Item] = []
    for sid in sentence_ids:
        spans = sorted((p.span for p in by_id[sid].projection.projected), key=lambda s: (s.start, s.end))
        out += [(sid, entity_key(s)) for s in spans]
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
