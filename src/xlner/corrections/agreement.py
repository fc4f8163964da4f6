"""Inter-annotator agreement per pair of annotators.

Two figures, computed only on what both annotators looked at:

- **span F1**: over the sentences both annotators decided something in, the spans each one kept
  (accepted, fixed or added: ``(sentence, start, end, label)``) compared exactly;
  ``F1 = 2|A ∩ B| / (|A| + |B|)`` — symmetric, so neither annotator is the reference.
- **Cohen's kappa on accept/reject**: over the projected entities both decided, whether each kept
  an entity there (accept or fix) or rejected it. Boundary and type disagreements show in span F1,
  not here. Kappa is undefined (``None``) when chance agreement is total, e.g. both always accept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from xlner.corrections.resolve import by_annotator


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    sentences: int          # sentences both annotators decided something in
    spans_a: int
    spans_b: int
    spans_both: int
    span_f1: float | None   # None when neither kept a span in the shared sentences
    entities: int           # projected entities both decided (the kappa items)
    observed: float | None  # raw agreement on keep/reject
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two label sequences, ``(p_o - p_e) / (1 - p_e)``; ``None`` when undefined.

    Written out rather than calling scikit-learn's ``cohen_kappa_score`` (the test checks they
    agree): its input validation costs ~80 ms per pair, and the page computes every pair on each
    key press."""
    if not a:
        return None
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((a.count(x) / n) * (b.count(x) / n) for x in set(a) | set(b))
    if expected >= 1.0:  # both used one and the same label throughout: 0/0
        return None
    return (observed - expected) / (1 - expected)


def pair_agreement(rows: list[dict[str, Any]], a: str, b: str) -> PairAgreement:
    per = by_annotator(rows)
    da, db = per.get(a, {}), per.get(b, {})
    shared_sentences = {s for s, _ in da} & {s for s, _ in db}

    def kept(states: dict[tuple[str, str], dict[str, Any]]) -> set[tuple[str, int, int, str]]:
        return {(s, int(d["start"]), int(d["end"]), d["label"]) for (s, _), d in states.items()
                if s in shared_sentences and d["action"] != "reject"}

    ka, kb = kept(da), kept(db)
    both = len(ka & kb)
    f1 = 2 * both / (len(ka) + len(kb)) if ka or kb else None
    items = sorted(k for k in set(da) & set(db) if da[k]["action"] != "add")
    la = ["reject" if da[k]["action"] == "reject" else "keep" for k in items]
    lb = ["reject" if db[k]["action"] == "reject" else "keep" for k in items]
    observed = sum(x == y for x, y in zip(la, lb)) / len(items) if items else None
    return PairAgreement(a, b, len(shared_sentences), len(ka), len(kb), both, f1, len(items), observed,
                         cohen_kappa(la, lb))


def agreement(rows: list[dict[str, Any]]) -> list[PairAgreement]:
    """Agreement of every pair of annotators who both decided something (names in sorted order)."""
    names = sorted(by_annotator(rows))
    return [pair_agreement(rows, a, b) for a, b in combinations(names, 2)]
