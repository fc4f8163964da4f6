"""Per-stage error attribution: every rule of docs/attribution.md on a hand-made sentence, and the
counts of the demo runs adding up to the evaluation's categories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlner.attribution import ERRORS, STAGES, attribute, attribute_record, same_word, span_ref, stage_counts
from xlner.datamodel import ProjectedEntity, Span
from xlner.evaluate import evaluate

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs"


def e(start: int, end: int, label: str, source: int | None = None) -> dict:
    out: dict = {"start": start, "end": end, "label": label}
    if source is not None:
        out["source"] = source
    return out


def one(**sentence) -> tuple[str, str, str]:
    """The single error of a hand-made sentence as (error, stage, rule)."""
    sentence.setdefault("unprojected", [])
    found = attribute(**sentence)
    assert len(found) == 1, found
    return found[0].error, found[0].stage, found[0].rule


def test_missed_entity_whose_words_the_translation_dropped():
    # "Gaur Mikel etorri da" -> "Today came": nothing renders Mikel.
    assert one(gold=[e(1, 2, "PER")], tgt_tokens=["Gaur", "Mikel", "etorri", "da"], src_tokens=["Today", "came"],
               src_entities=[], links=[(0, 0), (1, 2)], projected=[]) == ("missed", "translation", "missed.dropped")


def test_missed_name_the_translation_turned_into_common_words():
    # The surname Iturri ("fountain") translated as a common noun: the English NER had no name to see.
    assert one(gold=[e(0, 1, "PER")], tgt_tokens=["Iturri", "etorri", "da"], src_tokens=["The", "fountain", "came"],
               src_entities=[], links=[(1, 0), (2, 1)], projected=[]) == ("missed", "translation", "missed.mangled")


def test_missed_name_left_untranslated_is_the_english_ners():
    # Apertium marked the name unknown (lower case after the mark): it is still a name on the English side.
    assert one(gold=[e(0, 1, "PER")], tgt_tokens=["Iturri", "etorri", "da"], src_tokens=["iturri", "came"],
               src_unknown=[True, False], src_entities=[], links=[(0, 0), (1, 1)], projected=[]) \
        == ("missed", "english_ner", "missed.no_english_entity")


def test_missed_entity_the_english_side_had_without_an_entity():
    assert one(gold=[e(0, 1, "PER")], tgt_tokens=["Mikel", "etorri", "da"], src_tokens=["Mikel", "came"],
               src_entities=[], links=[(0, 0), (1, 1)], projected=[]) \
        == ("missed", "english_ner", "missed.no_english_entity")


def test_missed_because_the_english_entity_has_no_links():
    assert one(gold=[e(0, 1, "PER")], tgt_tokens=["Mikel", "etorri", "da"], src_tokens=["Mikel", "came"],
               src_entities=[e(0, 1, "PER")], links=[(1, 1)], projected=[],
               unprojected=[{"source": 0, "reason": "unaligned"}]) == ("missed", "alignment", "missed.unaligned")


def test_missed_because_a_projection_rule_refused_the_aligned_entity():
    assert one(gold=[e(0, 1, "PER")], tgt_tokens=["Mikel", "etorri", "da"], src_tokens=["Mikel", "came"],
               src_entities=[e(0, 1, "PER")], links=[(0, 0), (1, 1)], projected=[],
               unprojected=[{"source": 0, "reason": "length_ratio"}]) \
        == ("missed", "projection", "missed.unprojected.length_ratio")


def test_entity_linked_right_but_projected_elsewhere_is_the_projections_twice():
    # Mikel is linked to Mikel, but the projection put it on "Ane": one missed, one spurious, both projection.
    found = attribute(gold=[e(0, 1, "PER")], tgt_tokens=["Mikel", "eta", "Ane", "etorri"],
                      src_tokens=["Mikel", "came"], src_entities=[e(0, 1, "PER")], links=[(0, 0), (1, 3)],
                      projected=[e(2, 3, "PER", source=0)])
    assert [(a.error, a.stage, a.rule) for a in found] == [
        ("missed", "projection", "missed.projected_elsewhere"),
        ("spurious", "projection", "spurious.projected_elsewhere")]
    assert found[1].gold == span_ref(e(0, 1, "PER"))  # the spurious one names the gold entity it belonged to


def test_entity_whose_links_point_elsewhere_is_the_alignments_twice():
    # The English "Mikel" is the same word as the gold "Mikel", but it is linked to "da".
    found = attribute(gold=[e(0, 1, "PER")], tgt_tokens=["Mikel", "etorri", "da"], src_tokens=["Mikel", "came"],
                      src_entities=[e(0, 1, "PER")], links=[(0, 2), (1, 1)], projected=[e(2, 3, "PER", source=0)],
                      unprojected=[])
    assert [(a.error, a.stage, a.rule) for a in found] == [
        ("missed", "alignment", "missed.links_elsewhere"), ("spurious", "alignment", "spurious.links_elsewhere")]


def test_spurious_entity_the_gold_does_not_have_is_the_english_ners():
    assert one(gold=[], tgt_tokens=["Etxea", "handia", "da"], src_tokens=["The", "House", "is", "big"],
               src_entities=[e(1, 2, "ORG")], links=[(1, 0), (2, 2), (3, 1)], projected=[e(0, 1, "ORG", source=0)]) \
        == ("spurious", "english_ner", "spurious.no_gold_entity")


def test_wrong_type_from_the_english_ner():
    assert one(gold=[e(0, 1, "LOC")], tgt_tokens=["Bilbo", "polita", "da"], src_tokens=["Bilbao", "is", "nice"],
               src_entities=[e(0, 1, "ORG")], links=[(0, 0), (1, 2), (2, 1)], projected=[e(0, 1, "ORG", source=0)]) \
        == ("type", "english_ner", "type.english_label")


def test_wrong_type_made_after_the_english_ner_is_the_projections():
    assert one(gold=[e(0, 1, "LOC")], tgt_tokens=["Bilbo", "polita", "da"], src_tokens=["Bilbao", "is", "nice"],
               src_entities=[e(0, 1, "LOC")], links=[(0, 0)], projected=[e(0, 1, "ORG", source=0)]) \
        == ("type", "projection", "type.relabelled")


BASQUE_GOVERNMENT = dict(tgt_tokens=["Eusko", "Jaurlaritza", "bildu", "da"], src_tokens=["Basque", "Government", "met"])


def test_boundary_cut_by_the_projection_although_the_links_were_right():
    assert one(gold=[e(0, 2, "ORG")], **BASQUE_GOVERNMENT, src_entities=[e(0, 2, "ORG")],
               links=[(0, 0), (1, 1), (2, 2)], projected=[e(1, 2, "ORG", source=0)]) \
        == ("boundary", "projection", "boundary.links_right")


def test_boundary_of_an_english_entity_that_is_too_short():
    assert one(gold=[e(0, 2, "ORG")], **BASQUE_GOVERNMENT, src_entities=[e(1, 2, "ORG")],
               links=[(0, 0), (1, 1), (2, 2)], projected=[e(1, 2, "ORG", source=0)]) \
        == ("boundary", "english_ner", "boundary.english_too_short")


def test_boundary_of_an_english_entity_that_takes_in_a_common_word():
    assert one(gold=[e(0, 2, "ORG")], tgt_tokens=["Eusko", "Jaurlaritzako", "bozeramailea", "etorri"],
               src_tokens=["Basque", "Government", "spokesman", "came"], src_entities=[e(0, 3, "ORG")],
               links=[(0, 0), (1, 1), (2, 2), (3, 3)], projected=[e(0, 3, "ORG", source=0)]) \
        == ("boundary", "english_ner", "boundary.english_too_long")


def test_boundary_from_a_link_that_points_outside_the_entity():
    # The English entity is right, but "Government" is also linked to "bildu".
    assert one(gold=[e(0, 2, "ORG")], **BASQUE_GOVERNMENT, src_entities=[e(0, 2, "ORG")],
               links=[(0, 0), (1, 1), (1, 2), (2, 2)], projected=[e(0, 3, "ORG", source=0)]) \
        == ("boundary", "alignment", "boundary.links_off")


def test_boundary_of_a_projection_without_its_english_entity():
    assert one(gold=[e(0, 2, "ORG")], **BASQUE_GOVERNMENT, src_entities=[], links=[(0, 0)],
               projected=[e(0, 1, "ORG")]) == ("boundary", "projection", "boundary.no_english_entity")


def test_no_gold_means_no_errors_and_correct_entities_are_not_errors():
    sentence = dict(tgt_tokens=["Mikel", "etorri", "da"], src_tokens=["Mikel", "came"],
                    src_entities=[e(0, 1, "PER")], links=[(0, 0)], projected=[e(0, 1, "PER", source=0)])
    assert attribute(gold=None, **sentence) == []
    assert attribute(gold=[e(0, 1, "PER")], **sentence) == []


def test_typed_spans_are_accepted():
    found = attribute(gold=[Span(0, 2, "ORG")], **BASQUE_GOVERNMENT, src_entities=[Span(0, 2, "ORG")],
                      links=[(0, 0), (1, 1), (2, 2)], projected=[ProjectedEntity(Span(1, 2, "ORG"), 0)],
                      unprojected=[])
    assert [(a.stage, a.english) for a in found] == [("projection", span_ref(e(0, 2, "ORG")))]


def test_same_word_allows_case_endings_but_not_short_prefixes():
    assert same_word("Bilboko", "Bilbao") and same_word("Gasteizen", "Gasteiz") and same_word("*Mikel", "mikel")
    assert not same_word("Bilbo", "Bill") and not same_word("etorri", "eta") and not same_word(",", ",")


def demo_records(run: str) -> list[dict]:
    """The run's records.jsonl objects as written (docs/run-format.md)."""
    text = (DEMO / run / "records.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("run", ["eu-match-greedy", "es-heuristic"])
def test_every_error_of_a_demo_run_gets_one_stage_and_the_counts_match_the_evaluation(run):
    from xlner.datamodel import Sentence

    records = demo_records(run)
    found = [a for r in records for a in attribute_record(r)]
    table = stage_counts(found)
    gold = [Sentence(r["id"], r["tgt_tokens"], [Span.from_dict(s) for s in r["gold_entities"]]) for r in records]
    pred = [Sentence(r["id"], r["tgt_tokens"], [Span.from_dict(s) for s in r["tgt_entities"]]) for r in records]
    cats = evaluate(gold, pred).categories
    expected = {"missed": "missing", "spurious": "spurious", "type": "incorrect", "boundary": "partial"}
    for kind, cat in expected.items():
        assert sum(table[kind].values()) == cats[cat]["count"], kind
    assert sum(table["total"].values()) == len(found) > 0
    assert set(table) == {*ERRORS, "total"} and all(set(row) == set(STAGES) for row in table.values())
    assert all(a.stage in STAGES and a.why for a in found)


def test_a_typed_run_record_gets_the_same_attributions_as_its_json():
    record = pytest.importorskip("xlner.record", reason="the typed run record (xlner.record) is not in this checkout")
    for n, obj in enumerate(demo_records("eu-heuristic"), start=1):
        typed = record.RunRecord.from_json(obj, path="eu-heuristic/records.jsonl", line=n)
        assert attribute_record(typed) == attribute_record(obj), obj["id"]


# --- a whole run folder: xlner.attribution.attribute_run and `xlner evaluate RUN_DIR` -------------

def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "xlner.cli", "evaluate", *args], capture_output=True, text=True)


@pytest.mark.parametrize("run", ["eu-match-greedy", "es-heuristic"])
def test_evaluate_on_a_run_folder_prints_the_scores_and_the_per_stage_breakdown(run):
    from xlner.runs import load_run

    loaded = load_run(DEMO / run)
    expected = stage_counts(a for r in loaded.records for a in attribute_record(r))
    done = _cli(str(DEMO / run), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # the scores are the pipeline's own (metrics.json), the breakdown the library's
    assert out["overall"]["f1"] == pytest.approx(loaded.metrics["overall"]["f1"])
    assert out["attribution"]["stages"] == expected
    assert out["attribution"]["n_errors"] == sum(expected["total"].values()) > 0
    assert sum(out["attribution"]["rules"].values()) == out["attribution"]["n_errors"]
    text = _cli(str(DEMO / run))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("error "))
    assert lines[head].split() == ["error", *STAGES, "total"]
    total = lines[head + len(ERRORS) + 1].split()
    assert total == ["total", *(str(expected["total"][s]) for s in STAGES), str(sum(expected["total"].values()))]


def test_sentences_without_gold_are_left_out_and_a_run_without_any_cannot_be_scored(tmp_path):
    import dataclasses

    from xlner.attribution import attribute_run, evaluate_run_dir
    from xlner.runs import load_run, write_run

    run = load_run(DEMO / "eu-heuristic")
    # typed sentences mixed in: the first three lose their gold
    mixed = [dataclasses.replace(r, gold=None) if k < 3 else r for k, r in enumerate(run.records)]
    write_run(tmp_path / "mixed", run.config, run.metrics, mixed)
    gold, _, report, result = evaluate_run_dir(tmp_path / "mixed")
    assert len(gold) == len(run.records) - 3 and (result.n_sentences, result.n_no_gold) == (len(run.records), 3)
    assert {sid for sid, _ in result.errors} <= {r.id for r in run.records[3:]}
    assert result.errors == attribute_run(run.records[3:]).errors
    assert report.to_dict()["overall"]["f1"] is not None
    done = _cli(str(tmp_path / "mixed"))
    assert done.returncode == 0 and "(3 sentences without gold left out)" in done.stdout

    write_run(tmp_path / "typed", run.config, run.metrics, [dataclasses.replace(r, gold=None) for r in run.records])
    assert not attribute_run(load_run(tmp_path / "typed").records).has_gold
    bad = _cli(str(tmp_path / "typed"))
    assert bad.returncode == 2 and "error[E724]" in bad.stderr and "Traceback" not in bad.stderr


def test_evaluate_with_one_argument_that_is_no_run_folder_says_so(tmp_path):
    done = _cli(str(DEMO))
    assert done.returncode == 2 and "error[E920]" in done.stderr and "records.jsonl" in done.stderr
    done = _cli(str(tmp_path / "absent"))
    assert done.returncode == 2 and "error[E712]" in done.stderr and "Traceback" not in done.stderr
