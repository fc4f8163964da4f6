"""Annotator decisions on projected entities: an append-only SQLite log, and the corrected exports.

Every decision (accept / fix / reject a projected entity, or add one that projection missed) is one
row with who and when, committed on its own in WAL mode with ``synchronous=FULL``: a reload, a
crash or a killed server loses nothing that was saved. Rows are never updated or deleted (triggers
refuse it); the current state of an entity is its latest row, the history is all of them.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from xlner.datamodel import Sentence, Span, spans_to_tags
from xlner.errors import XlnerError
from xlner.record import RunRecord

ACTIONS = ("accept", "fix", "reject", "add")

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run TEXT NOT NULL,
  sentence TEXT NOT NULL,
  entity TEXT NOT NULL,          -- the projected entity decided on: 'start-end-LABEL' as projected
  action TEXT NOT NULL CHECK (action IN ('accept', 'fix', 'reject', 'add')),
  start INTEGER, "end" INTEGER, label TEXT,   -- the span kept (accept, fix, add); NULL for reject
  annotator TEXT NOT NULL,
  created TEXT NOT NULL,         -- UTC, ISO 8601
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS decisions_by_sentence ON decisions (run, sentence, entity, id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
"""


def default_db_path() -> Path:
    from xlner.explorer.loading import user_runs_root

    return Path(os.environ.get("XLNER_CORRECTIONS_DB") or user_runs_root() / "corrections.sqlite").expanduser()


def entity_key(span: dict[str, Any]) -> str:
    return f"{int(span['start'])}-{int(span['end'])}-{span['label']}"


class CorrectionStore:
    """The decisions database. Opens a short-lived connection per call (Streamlit runs pages in threads)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise XlnerError("E905", f"cannot open the corrections database {self.path}: {exc}",
                             hint="set XLNER_CORRECTIONS_DB to a writable file") from exc

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.row_factory = sqlite3.Row
        return con

    def record(self, *, run: str, sentence: str, entity: str, action: str, annotator: str,
               span: dict[str, Any] | None = None, n_tokens: int | None = None, note: str = "") -> int:
        """Append one decision and commit it; returns its row id."""
        if action not in ACTIONS:
            raise XlnerError("E905", f"unknown decision {action!r} for sentence {sentence}",
                             hint=f"use one of {', '.join(ACTIONS)}")
        if not annotator.strip():
            raise XlnerError("E905", f"sentence {sentence}: a decision needs the annotator's name",
                             hint="type your name in the sidebar")
        start = end = label = None
        if action != "reject":
            if span is None:
                raise XlnerError("E905", f"sentence {sentence}: {action} needs a span")
            start, end, label = int(span["start"]), int(span["end"]), str(span["label"]).strip()
            if not label:
                raise XlnerError("E905", f"sentence {sentence}: the corrected entity needs a label")
            if not 0 <= start < end or (n_tokens is not None and end > n_tokens):
                raise XlnerError("E905", f"sentence {sentence}: span [{start}, {end}) is not inside the "
                                 f"{n_tokens if n_tokens is not None else '?'} tokens",
                                 hint="start < end, end at most the number of tokens (end is exclusive)")
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as con:  # the context manager commits this one decision
            cur = con.execute(
                'INSERT INTO decisions (run, sentence, entity, action, start, "end", label, annotator, created, note)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run, str(sentence), entity, action, start, end, label, annotator.strip(), created, note))
            return int(cur.lastrowid)

    def history(self, run: str | None = None, sentence: str | None = None) -> list[dict[str, Any]]:
        """Every decision, oldest first (optionally one run / one sentence)."""
        sql, args = "SELECT * FROM decisions WHERE 1=1", []
        if run is not None:
            sql, args = sql + " AND run = ?", args + [run]
        if sentence is not None:
            sql, args = sql + " AND sentence = ?", args + [str(sentence)]
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY id", args)]

    def latest(self, run: str, sentence: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        """The current decision per ``(sentence, entity)``: the latest row wins."""
        return {(d["sentence"], d["entity"]): d for d in self.history(run, sentence)}


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


def _via_library(writer_name: str, sentences: list[Sentence]) -> str | None:
    """Use xlner.data's writer (the format owner) when it is installed."""
    try:
        import xlner.data as data
    except ImportError:
        return None
    writer = getattr(data, writer_name, None)
    if writer is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out"
        writer(sentences, path)
        return path.read_text(encoding="utf-8")


def to_conll(sentences: list[Sentence]) -> str:
    """``token TAG`` lines (IOB2), a blank line between sentences."""
    text = _via_library("write_conll", sentences)
    if text is not None:
        return text
    buf = io.StringIO()
    for s in sentences:
        for tok, tag in zip(s.tokens, s.tags()):
            buf.write(f"{tok} {tag}\n")
        buf.write("\n")
    return buf.getvalue()


def to_jsonl(sentences: list[Sentence]) -> str:
    """One JSON object per sentence: ``id``, ``tokens``, ``tags`` (IOB2)."""
    text = _via_library("write_jsonl", sentences)
    if text is not None:
        return text
    return "".join(json.dumps({"id": s.id, "tokens": s.tokens, "tags": spans_to_tags(s.spans, len(s.tokens))},
                              ensure_ascii=False) + "\n" for s in sentences)
