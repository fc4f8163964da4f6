"""The decision store: keyed by annotator, millisecond timestamps, adjudication, schema upgrade,
durability under a killed writer and concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from xlner.corrections.resolve import annotator_view, conflicts, final
from xlner.corrections.store import SCHEMA_V0, SCHEMA_VERSION, CorrectionStore, added_key
from xlner.errors import XlnerError

SRC = str(Path(__file__).resolve().parents[1] / "src")
PER = {"start": 0, "end": 1, "label": "PER"}


def test_timestamps_have_milliseconds_and_stay_ordered(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    for who in ("ane", "jon"):
        store.record(run="r", sentence="1", entity="0-1-PER", action="accept", annotator=who, span=PER)
    rows = store.history("r")
    stamps = [datetime.fromisoformat(d["created"]) for d in rows]
    assert all("." in d["created"] for d in rows)  # 2026-..T..:..:..mmm+00:00
    assert stamps[0] <= stamps[1] and stamps[0].tzinfo is not None


def test_one_annotator_cannot_overwrite_another_and_disagreement_is_a_conflict(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    store.record(run="r", sentence="1", entity="0-1-PER", action="accept", annotator="ane", span=PER)
    store.record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="jon")  # same second
    rows = store.history("r")
    assert annotator_view(rows, "ane")[("1", "0-1-PER")]["action"] == "accept"
    assert annotator_view(rows, "jon")[("1", "0-1-PER")]["action"] == "reject"
    assert final(rows) == {}  # neither silently wins
    [c] = conflicts(rows)
    assert (c.sentence, c.entity, sorted(c.decisions), c.resolved) == ("1", "0-1-PER", ["ane", "jon"], False)
    # adjudication picks the final decision and is recorded as such, with the adjudicator's name
    store.record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="mikel", role="adjudicate")
    rows = store.history("r")
    assert final(rows)[("1", "0-1-PER")]["annotator"] == "mikel"
    assert final(rows)[("1", "0-1-PER")]["role"] == "adjudicate"
    assert conflicts(rows, include_resolved=False) == [] and conflicts(rows)[0].resolved
    # ane changing her own mind later does not undo the adjudication, nor jon's decision
    store.record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="ane")
    rows = store.history("r")
    assert final(rows)[("1", "0-1-PER")]["annotator"] == "mikel"
    assert len(store.history("r", annotator="jon")) == 1


def test_agreeing_annotators_give_a_final_decision_without_adjudication(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    for who in ("ane", "jon"):
        store.record(run="r", sentence="1", entity="0-1-PER", action="fix", annotator=who,
                     span={"start": 0, "end": 2, "label": "PER"})
        store.record(run="r", sentence="1", entity=added_key(3, 4, "LOC"), action="add", annotator=who,
                     span={"start": 3, "end": 4, "label": "LOC"})
    got = final(store.history("r"))
    assert {k: (d["action"], d["end"]) for k, d in got.items()} == {("1", "0-1-PER"): ("fix", 2),
                                                                   ("1", "new-3-4-LOC"): ("add", 4)}
    assert conflicts(store.history("r")) == []


def test_change_counter_grows_with_each_saved_decision(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    before = store.change_counter()
    store.record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="ane")
    middle = store.change_counter()
    store.assign(run="r", annotator="jon", first=0, last=5)
    assert before < middle < store.change_counter()
    assert store.assignments("r")[0]["annotator"] == "jon"


@pytest.mark.parametrize("kwargs, code", [(dict(annotator=" ", first=0, last=3), "E957"),
                                          (dict(annotator="a", first=3, last=3), "E958")])
def test_bad_assignments_are_refused(tmp_path, kwargs, code):
    with pytest.raises(XlnerError) as e:
        CorrectionStore(tmp_path / "c.sqlite").assign(run="r", **kwargs)
    assert e.value.code == code and "r" in e.value.message


def test_an_old_store_is_upgraded_on_open_and_keeps_every_decision(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)  # the explorer's first store, written as that code wrote it
    con.executescript(SCHEMA_V0)
    con.execute('INSERT INTO decisions (run, sentence, entity, action, start, "end", label, annotator, created)'
                " VALUES ('r', '1', '0-1-PER', 'accept', 0, 1, 'PER', 'ane', '2025-05-01T10:00:00+00:00')")
    con.commit()
    con.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 0
    store = CorrectionStore(path)
    assert store.version == SCHEMA_VERSION
    [old] = store.history()
    assert (old["annotator"], old["action"], old["role"]) == ("ane", "accept", "annotate")
    store.record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="jon")
    store.assign(run="r", annotator="jon", first=0, last=1)
    assert CorrectionStore(path).version == SCHEMA_VERSION  # reopening is a no-op
    assert len(CorrectionStore(path).history()) == 2
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite3.connect(path).execute("UPDATE decisions SET action = 'reject'")


def test_a_store_from_a_newer_xlner_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    CorrectionStore(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(XlnerError) as e:
        CorrectionStore(path)
    assert e.value.code == "E951" and str(path) in e.value.message


WRITER = """
import sys
from xlner.corrections.store import CorrectionStore
store = CorrectionStore(sys.argv[1])
for i in range(100000):
    rid = store.record(run="r", sentence=str(i), entity="0-1-PER", action="fix", annotator="ane",
                       span={"start": 0, "end": 2, "label": "PER"}, note="x" * 2000)
    print(rid, flush=True)  # the acknowledgement: printed only after the commit returned
"""


def test_killing_the_writer_mid_save_loses_no_acknowledged_decision_and_leaves_no_half_row(tmp_path):
    path = tmp_path / "c.sqlite"
    CorrectionStore(path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": SRC})
    acked = []
    assert proc.stdout is not None
    while len(acked) < 60:
        line = proc.stdout.readline()
        assert line, "the writer stopped early"
        acked.append(int(line))
    proc.send_signal(signal.SIGKILL)  # no clean shutdown: possibly inside a transaction
    proc.wait(30)
    acked += [int(x) for x in proc.stdout.read().split()]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = CorrectionStore(path).history()
    ids = {d["id"] for d in rows}
    assert set(acked) <= ids
    assert len(rows) - len(acked) <= 1  # at most the one committed as the kill came
    assert all(d["start"] == 0 and d["end"] == 2 and d["label"] == "PER" and d["note"] == "x" * 2000
               and d["created"] for d in rows)


def test_concurrent_writers_keep_every_decision(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def annotate(who: str) -> None:
        try:
            mine = CorrectionStore(store.path)
            for i in range(150):
                mine.record(run="r", sentence=str(i), entity="0-1-PER", action="accept", annotator=who, span=PER)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(f"a{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = store.history("r")
    assert len(rows) == 600 and {d["annotator"] for d in rows} == {"a0", "a1", "a2", "a3"}
    assert len(final(rows)) == 150
