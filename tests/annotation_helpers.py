"""Scripted annotators for the corrections tests and benchmark: decisions derived from real gold.

``gold_decisions`` is what a careful annotator with the gold standard in front of them decides for
each projected entity of a real run record: accept an exact match, fix one that overlaps a gold
entity nobody claimed yet (to that gold span and type), reject the rest, and add the gold entities
projection missed. Applied to every entity, the corrected sentence equals the gold sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlner.record import RunRecord

DEMO_RUNS = Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs"


def gold_decisions(record: RunRecord) -> list[dict[str, Any]]:
    """``[{entity, action, span}]`` for one typed run record, in reading order, adds last."""
    from xlner.corrections.store import added_key, entity_key

    gold = [(g.start, g.end, g.label) for g in record.gold or []]
    claimed: set[tuple[int, int, str]] = set()
    out = []
    projected = sorted((p.span for p in record.projection.projected), key=lambda s: (s.start, s.end))
    exact = {(s.start, s.end, s.label) for s in projected} & set(gold)
    claimed |= exact
    for p in projected:
        s, e, lab = p.start, p.end, p.label
        if (s, e, lab) in exact:
            out.append({"entity": entity_key(p), "action": "accept", "span": {"start": s, "end": e, "label": lab}})
            continue
        hit = next((g for g in gold if g not in claimed and g[0] < e and s < g[1]), None)
        if hit is None:
            out.append({"entity": entity_key(p), "action": "reject", "span": None})
        else:
            claimed.add(hit)
            out.append({"entity": entity_key(p), "action": "fix",
                        "span": {"start": hit[0], "end": hit[1], "label": hit[2]}})
    for g in gold:
        if g not in claimed:
            out.append({"entity": added_key(*g), "action": "add", "span": {"start": g[0], "end": g[1], "label": g[2]}})
    return out
