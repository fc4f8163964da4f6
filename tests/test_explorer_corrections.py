"""The corrections store (append-only SQLite, durable per decision) and the corrected exports."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3

import pytest

from xlner.datamodel import Span, tags_to_spans
from xlner.record import RunRecord
from xlner.errors import XlnerError
from xlner.explorer.corrections import (CorrectionStore, corrected_sentences, corrected_spans, entity_key,
                                        to_conll, to_jsonl)

REC_JSON = {"id": "val:7", "tgt_tokens": ["Ana", "Lopez", "Bilbon", "bizi", "da", "Osasunan"],
            "tgt_entities": [{"start": 0, "end": 1, "label": "PER", "source": -1, "score": 0.67},
                             {"start": 2, "end": 3, "label": "PER", "source": -1, "score": 1.0},
                             {"start": 4, "end": 5, "label": "ORG", "source": -1, "score": 0.5}]}
REC = RunRecord.from_json(REC_JSON)
REC2 = RunRecord.from_json({"id": "val:8", "tgt_tokens": ["Kaixo"], "tgt_entities": []})


def test_decisions_apply_each_annotators_latest_wins_and_history_is_kept(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    e0, e1, e2 = (entity_key(p) for p in REC_JSON["tgt_entities"])
    store.record(run="r", sentence="val:7", entity=e0, action="fix", annotator="ane",
                 span={"start": 0, "end": 2, "label": "PER"}, n_tokens=6)
    store.record(run="r", sentence="val:7", entity=e1, action="fix", annotator="ane",
                 span={"start": 2, "end": 3, "label": "LOC"}, n_tokens=6)
    store.record(run="r", sentence="val:7", entity=e2, action="accept", annotator="ane", span=REC_JSON["tgt_entities"][2])
    store.record(run="r", sentence="val:7", entity=e2, action="reject", annotator="ane")  # changes her mind
    store.record(run="r", sentence="val:7", entity="new-5-6-ORG", action="add", annotator="jon",
                 span={"start": 5, "end": 6, "label": "ORG"}, n_tokens=6)
    latest = store.latest("r")
    assert corrected_spans(REC, latest) == [Span(0, 2, "PER"), Span(2, 3, "LOC"), Span(5, 6, "ORG")]
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
    for p in REC_JSON["tgt_entities"][:2]:
        store.record(run="r", sentence="val:7", entity=entity_key(p), action="accept", annotator="a", span=p)
    # One entity undecided: not exported when only reviewed sentences are asked for.
    assert corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=True) == []
    store.record(run="r", sentence="val:7", entity=entity_key(REC_JSON["tgt_entities"][2]), action="reject", annotator="a")
    sents = corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=True)
    assert [s.id for s in sents] == ["val:7"]
    conll = to_conll(sents)
    rows = [line.split() for line in conll.strip().splitlines() if line.strip()]
    assert [r[0] for r in rows] == REC.tgt_tokens
    assert [str(s) for s in tags_to_spans([r[-1] for r in rows])] == [
        str(s) for s in sents[0].spans]
    lines = [json.loads(line) for line in to_jsonl(sents).splitlines()]
    assert lines[0]["tokens"] == REC.tgt_tokens
    everything = corrected_sentences([REC, REC2], store.latest("r"), reviewed_only=False)
    assert [s.id for s in everything] == ["val:7", "val:8"]


def test_overlapping_corrections_block_the_export(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    store.record(run="r", sentence="val:7", entity=entity_key(REC_JSON["tgt_entities"][0]), action="fix",
                 annotator="a", span={"start": 0, "end": 3, "label": "PER"})
    with pytest.raises(XlnerError) as e:
        corrected_sentences([REC], store.latest("r"), reviewed_only=False)
    assert e.value.code == "E913" and "val:7" in e.value.message


# --- the Corrections page through Streamlit's AppTest (the embedded demo runs) ---------------------

from pathlib import Path  # noqa: E402

from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "runs"
RUN = "es-match-greedy"


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XLNER_DEMO_RUNS", str(DEMO))
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "none"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    monkeypatch.setenv("XLNER_CORRECTIONS_DB", str(tmp_path / "corrections.sqlite"))
    from xlner.explorer.loading import load_run_records

    return CorrectionStore(tmp_path / "corrections.sqlite"), load_run_records(DEMO / RUN)


def corrections_page(**query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "5_Corrections.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=f"corrections_key_{key}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ents(rec):
    return sorted((p.span for p in rec.projection.projected), key=lambda s: (s.start, s.end))


def open_tab(at: AppTest, name: str) -> AppTest:
    """Switch the page's lazily drawn tabs (only the open one runs)."""
    at.session_state["corrections_tab"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_one_key_decisions_advance_to_the_next_undecided_across_sentences(page_env):
    store, recs = page_env
    with_ents = [r for r in recs if r.projection.projected]
    first = with_ents[0]
    at = corrections_page(run=RUN, sentence=first.id, annotator="ane")  # the name comes from the URL
    assert at.sidebar.text_input(key="annotator").value == "ane"
    assert at.session_state["corrections_item"] == entity_key(_ents(first)[0])
    n = len(first.projection.projected)
    for _ in range(n - 1):
        press(at, "a")
        assert at.selectbox(key="corrections_sid").value == first.id
    press(at, "x")  # the sentence's last entity: the queue moves on to the next sentence
    assert at.selectbox(key="corrections_sid").value == with_ents[1].id
    assert at.query_params["sentence"] == with_ents[1].id and at.query_params["annotator"] == "ane"
    rows = store.history(RUN)
    assert [d["action"] for d in rows] == ["accept"] * (n - 1) + ["reject"]
    assert all(d["annotator"] == "ane" for d in rows)
    assert "Saved: reject" in at.success[0].value  # acknowledged in the same run that saved it
    # skip leaves the entity undecided and moves on; the progress counts decisions only
    press(at, "skip")
    assert len(store.history(RUN)) == n
    total = sum(len(r.projection.projected) for r in with_ents)
    assert f"**{n} of {total}** entities reviewed by ane" in at.get("progress")[0].proto.text
    body = " ".join(m.value for m in at.markdown)
    assert "▶" in body  # the current entity is marked


def test_the_decision_buttons_have_text_labels():
    """Labels any font can draw (a glyph such as ⏭ showed as a box in Debian chromium)."""
    at = corrections_page(run=RUN, annotator="ane")
    labels = {b.key: b.label for b in at.button if b.key and b.key.startswith("corrections_key_")}
    assert labels == {"corrections_key_a": "Accept · A", "corrections_key_x": "Reject · X",
                      "corrections_key_f": "Fix · F", "corrections_key_skip": "Skip · Space"}
    assert all(label.isascii() for label in labels.values() if "·" not in label)


def test_fix_key_then_a_picked_span_saves_a_fix_of_the_current_entity(page_env):
    store, recs = page_env
    rec = next(r for r in recs if r.projection.projected)
    at = corrections_page(run=RUN, sentence=rec.id, annotator="ane")
    current = at.session_state["corrections_item"]
    press(at, "f")
    assert at.session_state["corrections_fix"] == current
    assert any("Fixing" in i.value for i in at.info)


def test_other_annotators_decisions_show_as_conflicts_and_adjudication_settles_them(page_env):
    store, recs = page_env
    rec = next(r for r in recs if r.projection.projected)
    p = rec.projection.projected[0].span
    store.record(run=RUN, sentence=rec.id, entity=entity_key(p), action="accept", annotator="ane",
                 span=p.to_dict())
    store.record(run=RUN, sentence=rec.id, entity=entity_key(p), action="reject", annotator="jon")
    at = corrections_page(run=RUN, sentence=rec.id, annotator="mikel")
    body = " ".join(m.value for m in at.markdown)
    assert "accept by ane" in body and "reject by jon" in body and "conflict" in body
    assert "1 open conflicts" in at.get("progress")[0].proto.text
    assert not [d for d in at.dataframe if "annotators" in d.value.columns]  # closed tabs do not run
    open_tab(at, "Agreement")
    [agreement_table] = [d.value for d in at.dataframe if "annotators" in d.value.columns]
    assert list(agreement_table["annotators"]) == ["ane / jon"]
    open_tab(at, "Conflicts")
    assert "**1 open conflicts** in this run" in [m.value for m in at.markdown]
    at.button(key="adj_0_1").click().run()  # choose jon's decision
    final_rows = [d for d in store.history(RUN) if d["role"] == "adjudicate"]
    assert [(d["annotator"], d["action"]) for d in final_rows] == [("mikel", "reject")]
    assert "**0 open conflicts** in this run" in [m.value for m in at.markdown]
    open_tab(at, "Review")
    assert "final: reject by mikel (adjudicated)" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("stage", ["alignment", "projection"])
def test_the_queue_can_follow_per_stage_attribution(page_env, stage):
    """Ordered by one stage's errors, the queue opens on the sentence with most of them (the Basque
    demo run has errors of every stage)."""
    from xlner.attribution import attribute_record
    from xlner.explorer.loading import load_run_records

    recs = load_run_records(DEMO / "eu-heuristic")
    at = corrections_page(run="eu-heuristic", annotator="ane")
    order = at.selectbox(key="corrections_order")
    assert f"stage:{stage}" in order.options or any(stage in o for o in order.options)
    at.selectbox(key="corrections_order").set_value(f"stage:{stage}").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.selectbox(key="corrections_sid").value
    errors = {r.id: sum(a.stage == stage for a in attribute_record(r)) for r in recs}
    assert errors[shown] == max(errors.values()) > 0
    options = [o.split(" — ")[0] for o in at.selectbox(key="corrections_sid").options]
    assert [errors[s] for s in options] == sorted((errors[s] for s in options), reverse=True)


def test_assigned_ranges_limit_the_queue(page_env):
    store, recs = page_env
    with_ents = [i for i, r in enumerate(recs) if r.projection.projected]
    lo, hi = with_ents[2], with_ents[4] + 1
    store.assign(run=RUN, annotator="ane", first=lo, last=hi)
    at = corrections_page(run=RUN, annotator="ane")
    shown = [o.split(" — ")[0] for o in at.selectbox(key="corrections_sid").options]
    assert shown == [recs[i].id for i in with_ents if lo <= i < hi]
    assert "assigned sentences only" in at.get("progress")[0].proto.text
    other = corrections_page(run=RUN, annotator="jon")
    assert len(other.selectbox(key="corrections_sid").options) == len(with_ents)
