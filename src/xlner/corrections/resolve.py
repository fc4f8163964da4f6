"""From the decision log to current states: per annotator, conflicts, and the final decision.

Pure functions over the rows of :meth:`CorrectionStore.history` (dicts, oldest first). An entity is
identified by ``(sentence, entity key)`` within one run.

- An annotator's state of an entity is their latest ``annotate`` row on it.
- Two states *agree* when they have the same action and, unless rejected, the same span and label.
- The final decision is the latest ``adjudicate`` row if there is one; else the annotators' state
  when every annotator who decided agrees (one annotator alone always agrees with themselves);
  else the entity is a *conflict* and has no final decision until someone adjudicates it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (sentence, entity)


def outcome(d: dict[str, Any]) -> tuple[Any, ...]:
    """What a decision means for the data: the action and the span it keeps."""
    if d["action"] == "reject":
        return ("reject",)
    return (d["action"], int(d["start"]), int(d["end"]), d["label"])


def by_annotator(rows: Iterable[dict[str, Any]]) -> dict[str, dict[Key, dict[str, Any]]]:
    """``{annotator: {(sentence, entity): latest annotate row}}``."""
    out: dict[str, dict[Key, dict[str, Any]]] = {}
    for d in rows:
        if d.get("role", "annotate") == "annotate":
            out.setdefault(d["annotator"], {})[(d["sentence"], d["entity"])] = d
    return out


def adjudications(rows: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The latest adjudication row per entity."""
    return {(d["sentence"], d["entity"]): d for d in rows if d.get("role") == "adjudicate"}


@dataclass
class Conflict:
    """An entity on which annotators disagree, with each annotator's current decision."""

    sentence: str
    entity: str
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # annotator -> row
    adjudication: dict[str, Any] | None = None

    @property
    def resolved(self) -> bool:
        return self.adjudication is not None


def conflicts(rows: list[dict[str, Any]], *, include_resolved: bool = True) -> list[Conflict]:
    """Entities whose annotators' current decisions disagree, in sentence order of first decision."""
    per = by_annotator(rows)
    adj = adjudications(rows)
    keys: dict[Key, None] = {}
    for d in rows:
        keys.setdefault((d["sentence"], d["entity"]), None)
    out = []
    for key in keys:
        states = {who: st[key] for who, st in sorted(per.items()) if key in st}
        if len({outcome(d) for d in states.values()}) > 1:
            c = Conflict(key[0], key[1], states, adj.get(key))
            if include_resolved or not c.resolved:
                out.append(c)
    return out


def final(rows: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The final decision per entity: adjudicated, or agreed by everyone who decided it.

    Conflicts without an adjudication are left out (undecided for exports and progress)."""
    per = by_annotator(rows)
    adj = adjudications(rows)
    out: dict[Key, dict[str, Any]] = {}
    keys: dict[Key, None] = {}
    for d in rows:
        keys.setdefault((d["sentence"], d["entity"]), None)
    for key in keys:
        if key in adj:
            out[key] = adj[key]
            continue
        states = [st[key] for st in per.values() if key in st]
        if states and len({outcome(d) for d in states}) == 1:
            out[key] = max(states, key=lambda d: int(d["id"]))
    return out


def annotator_view(rows: list[dict[str, Any]], annotator: str) -> dict[Key, dict[str, Any]]:
    """One annotator's own current decisions (what they would export on their own)."""
    return by_annotator(rows).get(annotator, {})
