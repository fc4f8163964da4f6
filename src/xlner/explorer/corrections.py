"""Corrected spans of run records after annotator decisions.

The decision store, queue, agreement and exports live in :mod:`xlner.corrections` (library code
shared with ``xlner corrections``); they are re-exported here for the explorer's pages.
"""

from __future__ import annotations

from typing import Any, Iterable

from xlner.corrections.export import to_conll, to_jsonl
from xlner.corrections.store import ACTIONS, CorrectionStore, default_db_path, entity_key
from xlner.datamodel import Sentence, Span
from xlner.errors import XlnerError
from xlner.record import RunRecord

__all__ = ["ACTIONS", "CorrectionStore", "default_db_path", "entity_key", "corrected_spans", "corrected_sentences",
           "describe", "picker_spans", "entity_labels", "to_conll", "to_jsonl"]

Decisions = dict[tuple[str, str], dict[str, Any]]


def corrected_spans(record: RunRecord, decisions: dict[tuple[str, str], dict[str, Any]]) -> list[Span]:
    """The record's projected spans after the decisions (undecided entities are kept as projected)."""
    sid = record.id
    out = []
    for p in record.projection.projected:
        d = decisions.get((sid, entity_key(p.span.to_dict())))
        if d is None or d["action"] == "accept":
            out.append(p.span)
        elif d["action"] == "fix":
            out.append(Span(int(d["start"]), int(d["end"]), str(d["label"])))
    out += [Span(int(d["start"]), int(d["end"]), str(d["label"]))
            for (s, _), d in decisions.items() if s == sid and d["action"] == "add"]
    return sorted(out, key=lambda s: (s.start, s.end))


def corrected_sentences(records: Iterable[RunRecord], decisions: dict[tuple[str, str], dict[str, Any]],
                        *, reviewed_only: bool = True) -> list[Sentence]:
    """Sentences with corrected target spans, ready to train on.

    ``reviewed_only`` keeps the sentences where every projected entity has a decision; overlapping
    corrected spans are an error naming the sentence (a training file cannot hold them).
    """
    decided_sentences = {s for s, _ in decisions}
    out = []
    for rec in records:
        if reviewed_only:
            keys = {entity_key(p.span.to_dict()) for p in rec.projection.projected}
            if rec.id not in decided_sentences or any((rec.id, k) not in decisions for k in keys):
                continue
        spans = corrected_spans(rec, decisions)
        for a, b in zip(spans, spans[1:]):
            if a.overlaps(b):
                raise XlnerError("E913", sentence=rec.id, a=a, b=b)
        out.append(Sentence(rec.id, list(rec.tgt_tokens), spans, source=f"corrections:{rec.id}"))
    return out


def describe(d: dict[str, Any]) -> str:
    """One decision as the page shows it: ``fix → LOC [10–12) by ane``."""
    fix = f" → {d['label']} [{d['start']}–{d['end']})" if d["action"] == "fix" else ""
    return f"{d['action']}{fix} by {d['annotator']}"


def picker_spans(record: RunRecord, decisions: Decisions, current: str | None) -> list[dict[str, Any]]:
    """What the span picker draws for one sentence after an annotator's ``decisions``: each projected
    entity as decided (a rejected one is left out, a fixed one at its new place), marked with its
    state and whether it is ``current``, then the entities the annotator added."""
    sid = record.id
    out: list[dict[str, Any]] = []
    for p in record.projection.projected:
        key = entity_key(p.span)
        d = decisions.get((sid, key))
        if d is not None and d["action"] == "reject":
            continue
        start, end, label = ((p.span.start, p.span.end, p.span.label) if d is None or d["action"] == "accept"
                             else (int(d["start"]), int(d["end"]), str(d["label"])))
        out.append({"start": start, "end": end, "label": label, "key": key, "state": "" if d is None else d["action"],
                    "current": key == current, "added": False})
    out += [{"start": int(d["start"]), "end": int(d["end"]), "label": str(d["label"]), "key": e, "state": "add",
             "current": False, "added": True} for (s, e), d in decisions.items() if s == sid and d["action"] == "add"]
    return out


def entity_labels(record: RunRecord, configured: Iterable[str] = ()) -> list[str]:
    """The types an annotator can give in one sentence: the run's configured labels, those of its gold
    and projected entities, and the four CoNLL types, sorted (the picker's 1–9 keys follow this order)."""
    return sorted({*configured, *(s.label for s in record.gold or []),
                   *(p.span.label for p in record.projection.projected), "PER", "ORG", "LOC", "MISC"})
