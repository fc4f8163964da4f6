"""Annotator decisions on projected entities: an append-only, versioned SQLite log.

Every decision (accept / fix / reject a projected entity, or add one that projection missed) is one
row saying who decided and when (UTC, millisecond resolution). Each decision is its own
``BEGIN IMMEDIATE`` transaction in WAL mode with ``synchronous=FULL``: once :meth:`record` returns,
the row survives a reload, a crash or a killed server, and a kill during the write leaves either the
whole row or nothing. Rows are never updated or deleted (triggers refuse it), so one annotator can
never overwrite another's decision: the state of an entity *for an annotator* is that annotator's
latest row, and the final state comes from agreement or an adjudication row (``role='adjudicate'``),
see :mod:`xlner.corrections.resolve`.

The schema is versioned with ``PRAGMA user_version``; opening an older store upgrades it in place
inside one transaction (version 0 is the explorer's first store: no role column, second-resolution
timestamps, no assignments).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xlner.errors import XlnerError

ACTIONS = ("accept", "fix", "reject", "add")
ROLES = ("annotate", "adjudicate")
SCHEMA_VERSION = 1

# Version 0: the explorer's first store (kept verbatim: tests build old stores from it).
SCHEMA_V0 = """
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

# 0 -> 1: who decided in which role (adjudication is a decision of its own), ranges of sentences
# assigned to annotators, and an index to read one annotator's decisions.
UPGRADE_TO_V1 = """
ALTER TABLE decisions ADD COLUMN role TEXT NOT NULL DEFAULT 'annotate'
  CHECK (role IN ('annotate', 'adjudicate'));
CREATE INDEX IF NOT EXISTS decisions_by_annotator ON decisions (run, annotator, id);
CREATE TABLE IF NOT EXISTS assignments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run TEXT NOT NULL,
  annotator TEXT NOT NULL,
  first INTEGER NOT NULL,        -- positions in the run's sentence order, end exclusive
  last INTEGER NOT NULL CHECK (last > first),
  created TEXT NOT NULL,
  assigned_by TEXT NOT NULL DEFAULT ''
);
"""
UPGRADES = {0: UPGRADE_TO_V1}


def default_db_path() -> Path:
    """``$XLNER_CORRECTIONS_DB``, else ``corrections.sqlite`` in the explorer's user runs folder."""
    from xlner.explorer.loading import user_runs_root

    return Path(os.environ.get("XLNER_CORRECTIONS_DB") or user_runs_root() / "corrections.sqlite").expanduser()


def entity_key(span: Any) -> str:
    """The key of a projected entity: ``start-end-LABEL`` as projected. ``span``: a
    :class:`~xlner.datamodel.Span`, a projected entity (its ``.span``) or a mapping with those keys."""
    if isinstance(span, Mapping):
        start, end, label = span["start"], span["end"], span["label"]
    else:
        inner = getattr(span, "span", span)
        start, end, label = inner.start, inner.end, inner.label
    return f"{int(start)}-{int(end)}-{label}"


def added_key(start: int, end: int, label: str) -> str:
    """The key of an entity an annotator adds (two annotators adding the same span agree)."""
    return f"new-{int(start)}-{int(end)}-{label}"


def now_utc() -> str:
    """UTC now, ISO 8601 with milliseconds (two decisions in one second stay ordered and visible)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class CorrectionStore:
    """The decisions database. Opens a short-lived connection per call (Streamlit runs pages in threads)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise XlnerError("E950", path=self.path, reason=str(exc)) from exc

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE takes the write lock up
        # front, so two writers queue on the busy timeout instead of failing on a lock upgrade).
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.row_factory = sqlite3.Row
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def _migrate(self) -> None:
        with self._write() as con:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise XlnerError("E951", path=self.path, version=version, supported=SCHEMA_VERSION)
            if version == 0:  # a new file, or the first store: both start from version 0's tables
                for statement in _statements(SCHEMA_V0):
                    con.execute(statement)
            while version < SCHEMA_VERSION:
                for statement in _statements(UPGRADES[version]):
                    con.execute(statement)
                version += 1
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def version(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("PRAGMA user_version").fetchone()[0])
        finally:
            con.close()

    # -- writing ---------------------------------------------------------------------------------

    def record(self, *, run: str, sentence: str, entity: str, action: str, annotator: str,
               span: dict[str, Any] | None = None, n_tokens: int | None = None, note: str = "",
               role: str = "annotate") -> int:
        """Append one decision and commit it; returns its row id (the acknowledgement)."""
        sentence = str(sentence)
        if action not in ACTIONS:
            raise XlnerError("E952", sentence=sentence, action=action, actions=", ".join(ACTIONS))
        if role not in ROLES:
            raise XlnerError("E953", sentence=sentence, role=role, roles=", ".join(ROLES))
        if not annotator.strip():
            raise XlnerError("E905", sentence=sentence)
        start = end = label = None
        if action != "reject":
            if span is None:
                raise XlnerError("E954", sentence=sentence, action=action)
            start, end, label = int(span["start"]), int(span["end"]), str(span["label"]).strip()
            if not label:
                raise XlnerError("E955", sentence=sentence)
            if not 0 <= start < end or (n_tokens is not None and end > n_tokens):
                raise XlnerError("E956", sentence=sentence, start=start, end=end,
                                 n_tokens=n_tokens if n_tokens is not None else "?")
        with self._write() as con:
            cur = con.execute(
                'INSERT INTO decisions (run, sentence, entity, action, start, "end", label, annotator, created,'
                " note, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run, sentence, entity, action, start, end, label, annotator.strip(), now_utc(), note, role))
            return int(cur.lastrowid or 0)

    def assign(self, *, run: str, annotator: str, first: int, last: int, assigned_by: str = "") -> int:
        """Assign the sentences at positions ``[first, last)`` of the run's order to ``annotator``."""
        if not annotator.strip():
            raise XlnerError("E957", run=run)
        if not 0 <= first < last:
            raise XlnerError("E958", run=run, first=first, last=last)
        with self._write() as con:
            cur = con.execute("INSERT INTO assignments (run, annotator, first, last, created, assigned_by)"
                              " VALUES (?, ?, ?, ?, ?, ?)", (run, annotator.strip(), first, last, now_utc(),
                                                             assigned_by.strip()))
            return int(cur.lastrowid or 0)

    # -- reading ---------------------------------------------------------------------------------

    def _query(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        con = self._connect()
        try:
            return [dict(r) for r in con.execute(sql, args)]
        finally:
            con.close()

    def history(self, run: str | None = None, sentence: str | None = None, *,
                annotator: str | None = None) -> list[dict[str, Any]]:
        """Every decision, oldest first (optionally one run / one sentence / one annotator)."""
        sql, args = "SELECT * FROM decisions WHERE 1=1", list[Any]()
        for column, value in (("run", run), ("sentence", sentence), ("annotator", annotator)):
            if value is not None:
                sql, args = sql + f" AND {column} = ?", args + [str(value)]
        return self._query(sql + " ORDER BY id", args)

    def runs(self) -> list[str]:
        """The runs that have decisions, in order of their first decision."""
        rows = self._query("SELECT run, min(id) AS first FROM decisions GROUP BY run ORDER BY first", [])
        return [r["run"] for r in rows]

    def annotators(self, run: str | None = None) -> list[str]:
        sql = "SELECT DISTINCT annotator FROM decisions" + (" WHERE run = ?" if run is not None else "")
        return sorted(r["annotator"] for r in self._query(sql, [run] if run is not None else []))

    def assignments(self, run: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM assignments WHERE run = ? ORDER BY id", [run])

    def change_counter(self) -> int:
        """Grows with every saved decision or assignment: cheap to poll for other annotators' work."""
        rows = self._query("SELECT (SELECT coalesce(max(id), 0) FROM decisions)"
                           " + (SELECT coalesce(max(id), 0) FROM assignments) AS n", [])
        return int(rows[0]["n"])

    def latest(self, run: str, sentence: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        """The final decision per ``(sentence, entity)`` (see :func:`xlner.corrections.resolve.final`)."""
        from xlner.corrections.resolve import final

        return final(self.history(run, sentence))


def _statements(script: str) -> list[str]:
    """Split a schema script into statements, so that they run inside our transaction
    (``executescript`` would commit first); trigger bodies hold ``;`` and stay whole."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out
