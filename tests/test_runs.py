"""Reading run directories: the embedded demo runs and broken run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xlner.datamodel import Span
from xlner.errors import XlnerError
from xlner.runs import RunRecord, list_runs, load_run, read_records, write_run

DEMO_RUNS = Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs"
DEMO_LANGS = ("eu", "es", "sw")
DEMO_METHODS = ("heuristic", "match-greedy", "match-exact")
# back-translation needs English -> target: Apertium has eng->spa, not eng->eus; FreeDict has no eng->swh here
DEMO_RUNS_ALL = [f"{l}-{m}" for l in DEMO_LANGS for m in DEMO_METHODS] + ["es-back-translation"]


def test_every_demo_run_is_listed():
    names = {p.name for p in list_runs(DEMO_RUNS)}
    assert names == set(DEMO_RUNS_ALL)


@pytest.mark.parametrize("name", DEMO_RUNS_ALL)
def test_demo_run_loads_with_real_translations_alignments_and_projections(name):
    run = load_run(DEMO_RUNS / name)
    lang, method = name.split("-", 1)
    assert run.config["task"] == "translate-test"
    assert run.config["lang"] == lang and run.config["method"] == method
    assert run.config["profile"] == "offline"
    assert len(run.records) == run.metrics["n_sentences"] >= 20
    assert 0.0 <= run.metrics["overall"]["f1"] <= 1.0
    assert set(run.metrics["seconds"]) >= {"translate", "ner", "align", "project"}
    for r in run.records:
        assert r.translation.strip()  # a real translation of every demo sentence
        n_src, n_tgt = len(r.src_tokens), len(r.tgt_tokens)
        pairs = r.alignment.pairs
        assert ((pairs >= 0) & (pairs < [n_src, n_tgt])).all()
        assert r.alignment.similarity is None or r.alignment.similarity.shape == (n_src, n_tgt)
        outcomes = [e.source for e in r.projection.projected] + [u.source for u in r.projection.unprojected]
        assert set(outcomes) == set(range(len(r.src_entities)))  # every entity accounted for
        assert r.gold is not None
    assert sum(len(r.gold or []) for r in run.records) >= 40
    assert sum(len(r.projection.projected) for r in run.records) > 0
    frame = run.frame
    assert list(frame["id"]) == [r.id for r in run.records]


@pytest.mark.parametrize("name", DEMO_RUNS_ALL)
def test_demo_records_are_written_back_unchanged(name, tmp_path):
    """Reading a run and writing it again gives the same records.jsonl, byte for byte: the typed
    record keeps every field and number of the format (old runs load unchanged)."""
    run = load_run(DEMO_RUNS / name)
    write_run(tmp_path / name, run.config, run.metrics, run.records)
    assert (tmp_path / name / "records.jsonl").read_bytes() == (DEMO_RUNS / name / "records.jsonl").read_bytes()


@pytest.mark.parametrize("name", ["eu-match-greedy", "es-heuristic"])
def test_demo_record_reprojects_to_the_stored_result(name):
    """The explorer re-projects records from the stored fields: that must give the same spans."""
    from xlner.project import project_record

    run = load_run(DEMO_RUNS / name)
    settings = run.config["components"]["projection"]
    for r in run.records:
        result = project_record(r, settings["method"], settings)
        # the run stores scores as float32 (Parquet): spans, labels and sources are identical
        assert [(p.span, p.source) for p in result.projected] == [(p.span, p.source) for p in r.projection.projected]
        assert [p.score for p in result.projected] == pytest.approx([p.score for p in r.projection.projected],
                                                                     rel=1e-6)
        assert result.unprojected == r.projection.unprojected


def test_missing_run_directory(tmp_path):
    with pytest.raises(XlnerError) as err:
        load_run(tmp_path / "nope")
    assert err.value.code == "E712" and "nope" in err.value.message


def test_unfinished_run_names_the_missing_file(tmp_path):
    run = shutil.copytree(DEMO_RUNS / "es-heuristic", tmp_path / "run")
    (run / "metrics.json").unlink()
    with pytest.raises(XlnerError) as err:
        load_run(run)
    assert err.value.code == "E720" and "metrics.json" in err.value.message
    assert list_runs(tmp_path) == []  # an unfinished run is not listed


def test_bad_record_line_is_named(tmp_path):
    run = shutil.copytree(DEMO_RUNS / "es-heuristic", tmp_path / "run")
    lines = (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:40]
    (run / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        load_run(run)
    assert err.value.code == "E210" and "records.jsonl:3" in err.value.message


def test_write_run_round_trip(tmp_path):
    records = [RunRecord("a", ["Kaixo", "Miren"], [Span(1, 2, "PER")]),
               RunRecord("b", ["Kaixo"], None)]  # no gold: stays None, not an empty list
    write_run(tmp_path / "r", {"task": "translate-test"}, {"n_sentences": 2}, records)
    run = load_run(tmp_path / "r")
    assert run.records == records and run.metrics == {"n_sentences": 2}
    assert json.loads((tmp_path / "r" / "config.json").read_text())["task"] == "translate-test"
    assert run.record("a").tgt_tokens == ["Kaixo", "Miren"] and run.record("b").gold is None
    # the JSON form of a record is accepted too, and checked before anything is written
    write_run(tmp_path / "j", {}, {}, [{"id": "a", "tgt_tokens": ["Kaixo"], "gold_entities": []}])
    assert load_run(tmp_path / "j").records == [RunRecord("a", ["Kaixo"], [])]
    with pytest.raises(XlnerError) as err:
        write_run(tmp_path / "k", {}, {}, [{"id": "a", "tgt_tokens": ["Kaixo"],
                                            "gold_entities": [{"start": 0, "end": 2, "label": "PER"}]}])
    assert err.value.code == "E201" and "gold_entities[0]" in err.value.message
    assert not (tmp_path / "k" / "records.jsonl").exists()


def test_repeated_sentence_ids_are_refused(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "s1", "tgt_tokens": ["a"]}\n{"id": "s2", "tgt_tokens": ["b"]}\n'
                    '{"id": "s1", "tgt_tokens": ["c"]}\n', encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        read_records(path)
    assert err.value.code == "E221" and "sentence s1" in err.value.message and "records 1 and 3" in err.value.message


def test_records_that_are_not_utf8_are_named(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "s1", "tgt_tokens": ["a"]}\n{"id": "s2", "tgt_tokens": ["\xff"]}\n')
    with pytest.raises(XlnerError) as err:
        read_records(path)
    assert err.value.code == "E215" and f"{path}:2" in err.value.message and "UTF-8" in err.value.message


def test_sentences_without_gold_are_kept_as_such_and_never_scored():
    """A sentence whose spans are None (typed or plain-text input) becomes a record with gold None;
    a run of such sentences gets projection counts, not an F1 of 0."""
    from xlner.datamodel import Sentence
    from xlner.pipeline.records import evaluate_records
    from xlner.pipeline.steps import gold_table

    table = gold_table([Sentence("t:1", ["Kaixo", "Miren"], None), Sentence("t:2", ["Agur"], [Span(0, 1, "PER")])])
    assert table["entities"].to_pylist() == [None, [{"start": 0, "end": 1, "label": "PER", "score": 1.0}]]
    run = load_run(DEMO_RUNS / "es-heuristic")
    no_gold = [RunRecord.from_json({**r.to_json(), "gold_entities": None}) for r in run.records]
    metrics = evaluate_records(no_gold, ["PER", "ORG", "LOC"])
    assert metrics["gold"] is False and "overall" not in metrics and "f1" not in json.dumps(metrics)
    assert metrics["n_projected_entities"] == sum(len(r.projection.projected) for r in run.records)
    assert metrics["n_sentences"] == len(run.records)
    # a run where only some sentences lack gold cannot be scored: the first one is named
    with pytest.raises(XlnerError) as err:
        evaluate_records(run.records[:3] + no_gold[3:4], ["PER"])
    assert err.value.code == "E724" and no_gold[3].id in err.value.message
    scored = evaluate_records(run.records, run.config["labels"])
    assert scored["overall"]["f1"] == pytest.approx(run.metrics["overall"]["f1"])
