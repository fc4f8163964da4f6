"""The typed run record: its JSON form (docs/run-format.md) and its one validation."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from xlner.datamodel import (Alignment, Candidate, ProjectedEntity, ProjectionResult, Reason, ScoredSpan, Span,
                             Unprojected)
from xlner.errors import XlnerError
from xlner.record import (PROJECT_FIELDS, BackTranslation, RunRecord, evaluation_sentences, iter_json_lines)

FULL = {
    "id": "val:17", "lang": "eu", "source": "val.jsonl:18",
    "tgt_tokens": ["Miren", "Bilbon", "bizi", "da"],
    "gold_entities": [{"start": 0, "end": 1, "label": "PER"}, {"start": 1, "end": 2, "label": "LOC"}],
    "translation": "Miren lives in *Bilbon",
    "src_tokens": ["Miren", "lives", "in", "Bilbon"], "src_unknown": [False, False, False, True],
    "src_entities": [{"start": 0, "end": 1, "label": "PER", "score": 0.5},
                     {"start": 3, "end": 4, "label": "LOC", "score": 0.25}],
    "alignment": [[0, 0], [1, 2], [3, 1]], "alignment_scores": [0.5, 0.25, 0.75],
    "similarity": [[0.5, 0.125, 0.25, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0] * 4, [0.0, 0.75, 0.0, 0.0]],
    "method": "match-greedy",
    "tgt_entities": [{"start": 0, "end": 1, "label": "PER", "source": 0, "score": 1.0}],
    "unprojected": [{"source": 1, "reason": "collision"}],
    "candidates": [{"source": 0, "start": 0, "end": 1, "score": 1.0},
                   {"source": 1, "start": 1, "end": 2, "score": 0.5,
                    "components": {"align": 0.25, "ner": 0.25}, "origin": "ner"}],
    "back_translation": {"text": "[Miren] [Bilbon] bizi da", "entity_texts": ["Miren", "Bilbon"],
                         "tokens": ["Miren", "Bilbon", "bizi", "da"],
                         "entities": [{"start": 0, "end": 1, "label": "PER", "source": 0, "score": 1.0}],
                         "lost": [{"source": 1, "reason": "marker_moved"}],
                         "alignment": [[0, 0], [1, 1]], "alignment_scores": None, "method": "match-greedy"},
}


def test_every_field_is_typed_and_written_back_unchanged():
    rec = RunRecord.from_json(FULL)
    assert rec.gold == [Span(0, 1, "PER"), Span(1, 2, "LOC")]
    assert rec.src_entities == [ScoredSpan(Span(0, 1, "PER"), 0.5), ScoredSpan(Span(3, 4, "LOC"), 0.25)]
    assert rec.src_spans == [Span(0, 1, "PER"), Span(3, 4, "LOC")]
    assert rec.alignment == Alignment(np.array([[0, 0], [1, 2], [3, 1]]), np.array([0.5, 0.25, 0.75]),
                                      np.array(FULL["similarity"]))
    assert rec.projection == ProjectionResult(
        [ProjectedEntity(Span(0, 1, "PER"), 0, 1.0)], [Unprojected(1, Reason.COLLISION)],
        [Candidate(0, 0, 1, 1.0), Candidate(1, 1, 2, 0.5, {"align": 0.25, "ner": 0.25}, "ner")])
    assert rec.projected_spans() == [Span(0, 1, "PER")]
    bt = rec.back_translation
    assert isinstance(bt, BackTranslation) and bt.lost == [Unprojected(1, Reason.MARKER_MOVED)]
    assert bt.alignment.scores is None and bt.method == "match-greedy"
    assert rec.to_json() == FULL
    assert list(rec.to_json()) == list(FULL)  # the documented key order
    assert RunRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec


def test_a_minimal_record_has_no_gold_and_empty_layers():
    rec = RunRecord.from_json({"id": 3, "tgt_tokens": ["Kaixo"]})
    assert rec.id == "3" and rec.gold is None  # no gold is None, never an empty list
    assert rec.src_tokens == [] and rec.src_entities == [] and len(rec.alignment.pairs) == 0
    assert rec.projection == ProjectionResult() and rec.back_translation is None
    out = rec.to_json()
    assert out["gold_entities"] is None and "back_translation" not in out
    assert RunRecord.from_json({"id": "e", "tgt_tokens": [], "gold_entities": []}).gold == []
    # candidates written without the optional parts stay without them
    assert "components" not in Candidate(0, 0, 1, 1.0).to_dict()


def test_entities_predicted_by_a_model_have_no_source():
    rec = RunRecord.from_json({"id": "m", "tgt_tokens": ["Ana"], "gold_entities": [],
                               "tgt_entities": [{"start": 0, "end": 1, "label": "PER", "source": -1, "score": 0.9}]})
    assert rec.projection.projected == [ProjectedEntity(Span(0, 1, "PER"), -1, 0.9)]


def _with(**changes):
    obj = json.loads(json.dumps(FULL))
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return obj


BAD = [
    ([1, 2], "E211", "expected a JSON object, got list"),
    (_with(tgt_tokens=...), "E217", "missing key(s) tgt_tokens"),
    (_with(id=[1]), "E218", "id must be a string or an integer"),
    (_with(tgt_tokens="Miren Bilbon"), "E218", "tgt_tokens must be a list of strings"),
    (_with(src_tokens=["a", 1]), "E218", "src_tokens must be a list of strings"),
    (_with(src_unknown=[True]), "E218", "src_unknown must be a list of 4 true/false flags"),
    (_with(gold_entities=[{"start": 0, "end": 5, "label": "PER"}]), "E201",
     "gold_entities[0] [0, 5) is not a span of the 4 tgt_tokens"),
    (_with(gold_entities=[{"start": 2, "end": 2, "label": "PER"}]), "E201", "[2, 2)"),
    (_with(gold_entities=[{"start": 0, "end": 1}]), "E218", "gold_entities[0].label must be a non-empty string"),
    (_with(gold_entities=[{"start": "0", "end": 1, "label": "PER"}]), "E218", "integer start and end"),
    (_with(gold_entities={"start": 0}), "E218", "gold_entities must be a list"),
    (_with(src_entities=[{"start": 3, "end": 5, "label": "LOC"}]), "E201", "src_entities[0]"),
    (_with(src_entities=[{"start": 0, "end": 1, "label": "LOC", "score": "high"}]), "E218",
     "src_entities[0].score must be a number"),
    (_with(alignment=[[0, 9]]), "E202", "alignment[0] [0, 9] is outside 4 source x 4 target tokens"),
    (_with(alignment=[[0, 0], [-1, 0]]), "E202", "alignment[1] [-1, 0]"),
    (_with(alignment=[[0, 0], [1]]), "E218", "alignment[1] must be a pair of integers"),
    (_with(alignment=[[0, 0.5]]), "E218", "alignment[0] must be a pair of integers"),
    (_with(alignment_scores=[0.5]), "E218", "alignment_scores must be a list of 3 numbers"),
    (_with(similarity=[[0.5]]), "E218", "similarity must be a 4 x 4 matrix"),
    (_with(tgt_entities=[{"start": 0, "end": 1, "label": "PER", "source": 2, "score": 1.0}]), "E220",
     "tgt_entities[0].source is 2, which names no English entity (the record has 2)"),
    (_with(unprojected=[{"source": 0, "reason": "bad luck"}]), "E218", "unprojected[0].reason must be one of"),
    (_with(unprojected=[{"source": 5, "reason": "unaligned"}]), "E220", "unprojected[0].source"),
    (_with(candidates=[{"source": 0, "start": 0, "end": 1, "score": 1, "origin": "guess"}]), "E218",
     "candidates[0].origin must be one of ngram, ner"),
    (_with(candidates=[{"source": 0, "start": 0, "end": 1, "score": 1, "components": {"ner": "x"}}]), "E218",
     "candidates[0].components"),
    (_with(back_translation="yes"), "E218", "back_translation must be an object"),
    (_with(back_translation={**FULL["back_translation"], "alignment": [[4, 0]]}), "E202",
     "back_translation.alignment[0] [4, 0] is outside 4 source x 4 target tokens"),
    (_with(back_translation={**FULL["back_translation"], "lost": [{"source": 2, "reason": "marker_lost"}]}),
     "E220", "back_translation.lost[0].source"),
]


@pytest.mark.parametrize("obj, code, text", BAD)
def test_bad_records_name_file_line_sentence_and_field(obj, code, text):
    with pytest.raises(XlnerError) as err:
        RunRecord.from_json(obj, path="run/records.jsonl", line=7)
    assert err.value.code == code
    assert err.value.message.startswith("run/records.jsonl:7")
    if isinstance(obj, dict) and "id" in obj and isinstance(obj["id"], str):
        assert "(sentence val:17)" in err.value.message
    assert text in err.value.message


def test_project_input_needs_the_projection_fields_and_names_lines_without_ids():
    rec = RunRecord.from_json({"src_tokens": ["a"], "tgt_tokens": ["b"], "src_entities": [], "alignment": []},
                              path="in.jsonl", line=4, required=PROJECT_FIELDS)
    assert rec.id == "line 4" and rec.gold is None
    with pytest.raises(XlnerError) as err:
        RunRecord.from_json({"id": "s", "tgt_tokens": ["b"]}, path="in.jsonl", line=4, required=PROJECT_FIELDS)
    assert err.value.code == "E217" and "src_tokens, src_entities, alignment" in err.value.message


def test_records_without_gold_cannot_be_scored():
    recs = [RunRecord.from_json(FULL), RunRecord("typed:1", ["Kaixo"], None)]
    gold, pred = evaluation_sentences(recs[:1], "run r")
    assert gold[0].spans == [Span(0, 1, "PER"), Span(1, 2, "LOC")] and pred[0].spans == [Span(0, 1, "PER")]
    with pytest.raises(XlnerError) as err:
        evaluation_sentences(recs, "run r")
    assert err.value.code == "E724" and "run r: sentence typed:1" in err.value.message


def test_json_lines_reader_names_the_bad_line():
    good = json.dumps({"id": "a"}).encode()
    assert list(iter_json_lines(io.BytesIO(b"\xef\xbb\xbf" + good + b"\n\n" + good + b"\n"), "f")) == \
        [(1, {"id": "a"}), (3, {"id": "a"})]  # a byte-order mark and blank lines are fine
    for data, code, text in ((good + b"\n{oops\n", "E210", "f:2: not valid JSON"),
                             (good + b"\n\xff\n", "E215", "f:2: not UTF-8"),
                             (b"[" * 100000 + b"\n", "E210", "nested too deeply")):
        with pytest.raises(XlnerError) as err:
            list(iter_json_lines(io.BytesIO(data), "f"))
        assert err.value.code == code and text in err.value.message


def test_a_record_is_read_by_attribute_only():
    """The transitional JSON-key access is gone: ``record["tgt_tokens"]`` is an error, the attribute works."""
    rec = RunRecord.from_json(FULL)
    assert rec.tgt_tokens == FULL["tgt_tokens"]
    with pytest.raises(TypeError):
        rec["tgt_tokens"]  # type: ignore[index]
    assert not hasattr(rec, "get") and not hasattr(rec, "keys")
