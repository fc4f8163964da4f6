"""The corrections store (append-only SQLite, durable per decision) and the corrected exports."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3

import pytest

from xlner.datamodel import tags_to_spans
from xlner.errors import XlnerError
from xlner.explorer.corrections import (CorrectionStore, corrected_sentences, corrected_spans, entity_key,
                                        to_conll, to_jsonl)

REC = {"id": "val:7", "tgt_tokens": ["Ana", "Lopez", "Bilbon", "bizi", "da", "Osasunan"],
       "tgt_entities": [{"start": 0, "end": 1, "label": "PER", "source": 0, "score": 0.67},
                        {"start": 2, "end": 3, "label": "PER", "source": 1, "score": 1.0},
                        {"start": 4, "end": 5, "label": "ORG", "source": 2, "score": 0.5}]}
REC2 = {"id": "val:8", "tgt_tokens": ["Kaixo"], "tgt_entities": []}


def test_decisions_apply_each_annotators_latest_wins_and_history_is_kept(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    e0, e1, e2 = (entity_key(p) for p in REC["tgt_entities"])
    store.record(run="r", sentence="val:7", entity=e0, action="fix", annotator="ane",
                 span={"start": 0, "end": 2, "label": "PER"}, n_tokens=6)
    store.record(run="r", sentence="val:7", entity=e1, action="fix", annotator="ane",
                 span={"start": 2, "end": 3, "label": "LOC"}, n_tokens=6)
    store.record(run="r", sentence="val:7", entity=e2, action="accept", annotator="ane", span=REC["tgt_entities"][2])
    store.record(run="r", sentence="val:7", entity=e2, action="reject", annotator="ane")  # changes her mind
    store.record(run="r", sentence="val:7", entity="new-5-6-ORG", action="add", annotator="jon",
                 span={"start": 5, "end": 6, "label": "ORG"}, n_tokens=6)
    latest = store.latest("r")
    assert corrected_spans(REC, latest) == [{"start": 0, "end": 2, "label": "PER"},
                                            {"start": 2, "end": 3, "label": "LOC"},
                                            {"start": 5, "end": 6, "label": "ORG"}]
    history = store.history("r", "val:7")
    assert [h["action"] for h in history] == ["fix", "fix", "accept", "reject", "add"]
    assert [h["annotator"] for h in history][-2:] == ["ane", "jon"] and all(h["created"] for h in history)
    assert store.history("other") == []


def test_store_is_append_only_and_survives_reopen(tmp_path):
    path = tmp_path / "c.sqlite"
    CorrectionStore(path).record(run="r", sentence="1", entity="0-1-PER", action="reject", annotator="a")
    again = CorrectionStore(path)  # a reload opens the file afresh
    assert len(again.history()) == 1
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE decisions SET action = 'accept'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    con.close()


def _record_then_die(path: str) -> None:
    store = CorrectionStore(path)
    store.record(run="r", sentence="1", entity="0-1-PER", action="accept", annotator="a",
                 span={"start": 0, "end": 1, "label": "PER"})
    os._exit(9)  # a crash right after saving: no clean shutdown, no close()


def test_a_crash_after_saving_loses_nothing(tmp_path):
    path = str(tmp_path / "c.sqlite")
    proc = multiprocessing.get_context("fork").Process(target=_record_then_die, args=(path,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 9
    assert [d["action"] for d in CorrectionStore(path).history()] == ["accept"]


@pytest.mark.parametrize("kwargs, words", [
    (dict(action="maybe", span=None), "unknown decision"),
    (dict(action="accept", span=None), "needs a span"),
    (dict(action="fix", span={"start": 3, "end": 9, "label": "PER"}), "not inside"),
    (dict(action="fix", span={"start": 3, "end": 3, "label": "PER"}), "not inside"),
    (dict(action="fix", span={"start": 0, "end": 1, "label": " "}), "needs a label"),
])
def test_bad_decisions_are_refused_with_the_sentence(tmp_path, kwargs, words):
    store = CorrectionStore(tmp_path / "c.sqlite")
    with pytest.raises(XlnerError) as e:
        store.record(run="r", sentence="val:7", entity="0-1-PER", annotator="ane", n_tokens=6, **kwargs)
    assert e.value.code.startswith("E95") and words in e.value.message and "val:7" in e.value.message
    assert store.history() == []


def test_a_decision_needs_a_name(tmp_path):
    with pytest.raises(XlnerError, match="annotator") as e:
        CorrectionStore(tmp_path / "c.sqlite").record(run="r", sentence="1", entity="e", action="reject",
                                                      annotator="  ")
    assert e.value.code == "E905" and "?annotator=" in (e.value.hint or "")


def test_unwritable_database_is_a_clear_error(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(XlnerError) as e:
        CorrectionStore(tmp_path / "dir.sqlite")
    assert e.value.code == "E950" and "XLNER_CORRECTIONS_DB" in (e.value.hint or "")


def test_exports_round_trip_and_respect_review_state(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    for p in REC["tgt_entities"][:2]:
        store.record(run="r", sentence="val:7", entity=entity_key(p), action="accept", annotator="a", span=p)
    # One entity undecided: not exported when only reviewed sentences are asked for.
    assert corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=True) == []
    store.record(run="r", sentence="val:7", entity=entity_key(REC["tgt_entities"][2]), action="reject", annotator="a")
    sents = corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=True)
    assert [s.id for s in sents] == ["val:7"]
    conll = to_conll(sents)
    rows = [line.split() for line in conll.strip().splitlines() if line.strip()]
    assert [r[0] for r in rows] == REC["tgt_tokens"]
    assert [str(s) for s in tags_to_spans([r[-1] for r in rows])] == [
        str(s) for s in sents[0].spans]
    lines = [json.loads(line) for line in to_jsonl(sents).splitlines()]
    assert lines[0]["tokens"] == REC["tgt_tokens"]
    everything = corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=False)
    assert [s.id for s in everything] == ["val:7", "val:8"]


def test_overlapping_corrections_block_the_export(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    store.record(run="r", sentence="val:7", entity=entity_key(REC["tgt_entities"][0]), action="fix",
                 annotator="a", span={"start": 0, "end": 3, "label": "PER"})
    with pytest.raises(XlnerError) as e:
        corrected_sentences([REC], store.latest("r"), reviewed_only=False)
    assert e.value.code == "E905" and "val:7" in e.value.message
