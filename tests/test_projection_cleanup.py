"""The fused methods' clean-ups (``drop_lowercase``, ``merge_adjacent``) and the run-level type vote
(``projection.type_vote``): hand-written examples of each rule, their wiring through
``project_records`` and the profile, and a real translate-test run whose stored types are exactly the
library's vote over the per-sentence projections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xlner.datamodel import Alignment, ProjectedEntity, ProjectionResult, Reason, ScoredSpan, Span, Unprojected
from xlner.errors import XlnerError
from xlner.ner import iob_columns
from xlner.pipeline import Options, load_profile, translate_test
from xlner.pipeline import steps as S
from xlner.pipeline.tasks import _projection_steps
from xlner.project import project_records
from xlner.project.consistency import vote_types
from xlner.project.fused import TargetNer, drop_lowercase_spans, merge_adjacent_spans
from xlner.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _result(*spans: tuple[int, int, str, int]) -> ProjectionResult:
    return ProjectionResult(projected=[ProjectedEntity(Span(a, b, label), source, 1.0 + source / 10)
                                       for a, b, label, source in spans])


# --- drop_lowercase ------------------------------------------------------------------------------

def test_a_span_starting_with_a_lowercase_word_is_dropped_and_its_entity_says_why():
    tokens = ["Gure", "euskal", "herria", "eta", "Bilbo", "handia"]
    res = drop_lowercase_spans(_result((0, 1, "LOC", 0), (1, 3, "LOC", 1), (4, 6, "LOC", 2)), tokens)
    # "euskal herria" starts lower case; "Bilbo handia" only ends so: kept
    assert [(p.span.start, p.span.end, p.source) for p in res.projected] == [(0, 1, 0), (4, 6, 2)]
    assert res.unprojected == [Unprojected(1, Reason.LOWERCASE_START)]


def test_words_without_case_are_never_dropped():
    tokens = ["አዲስ", "አበባ", "东京", "123", "«Roma»"]  # Ethiopic, Han, digits, a quote first
    res = drop_lowercase_spans(_result((0, 2, "LOC", 0), (2, 3, "LOC", 1), (3, 4, "ORG", 2), (4, 5, "LOC", 3)),
                               tokens)
    assert len(res.projected) == 4 and not res.unprojected


def test_an_entity_keeping_another_span_is_not_unprojected():
    res = drop_lowercase_spans(_result((0, 1, "PER", 0), (2, 3, "PER", 0)), ["Jon", "eta", "jon"])
    assert [p.span.start for p in res.projected] == [0] and not res.unprojected


# --- merge_adjacent ------------------------------------------------------------------------------

def test_touching_spans_of_one_type_become_one_and_the_joined_entity_says_why():
    # [Hong] [Kongeko] [Txina] ... : the first two touch and share a type; Txina is ORG here
    res = merge_adjacent_spans(_result((0, 1, "LOC", 2), (1, 2, "LOC", 3), (2, 3, "ORG", 4), (5, 6, "LOC", 5)))
    assert [(p.span, p.source) for p in res.projected] == [
        (Span(0, 2, "LOC"), 2), (Span(2, 3, "ORG"), 4), (Span(5, 6, "LOC"), 5)]
    assert res.projected[0].score == pytest.approx(1.3)  # the higher of 1.2 and 1.3
    assert res.unprojected == [Unprojected(3, Reason.MERGED)]


def test_a_word_between_or_another_type_keeps_spans_apart():
    spans = _result((0, 1, "PER", 0), (2, 3, "PER", 1), (3, 4, "LOC", 2))
    assert merge_adjacent_spans(spans) is spans


def test_three_touching_spans_merge_into_one():
    res = merge_adjacent_spans(_result((4, 5, "ORG", 1), (0, 2, "ORG", 0), (2, 4, "ORG", 3)))
    assert [(p.span, p.source) for p in res.projected] == [(Span(0, 5, "ORG"), 0)]
    assert [u.source for u in res.unprojected] == [1, 3]


# --- both through the fused methods --------------------------------------------------------------

COLUMNS = iob_columns(["LOC"])


def _record() -> RunRecord:
    # "hong kong eta Bilbo": the English NER split Hong Kong in two; "hong" starts lower case
    return RunRecord("s1", ["Hong", "Kongeko", "eta", "bilbo"], None,
                     src_tokens=["Hong", "Kong", "and", "Bilbao"],
                     src_entities=[ScoredSpan(Span(0, 1, "LOC")), ScoredSpan(Span(1, 2, "LOC")),
                                   ScoredSpan(Span(3, 4, "LOC"))],
                     alignment=Alignment(np.array([[0, 0], [1, 1], [2, 2], [3, 3]])))


NER = TargetNer([], [], np.tile([0.9, 0.05, 0.05], (4, 1)), COLUMNS)


@pytest.mark.parametrize("method", ["match-fused", "match-fused+ensemble"])
def test_the_fused_methods_apply_the_cleanups_only_when_asked(method):
    options = {"weights": {"align": 1.0, "ner": 0.0}, "ner_variant": "ner"}
    plain = project_records([_record()], method, {"options": options}, [NER])[0]
    assert [p.span for p in plain.projected] == [Span(0, 1, "LOC"), Span(1, 2, "LOC"), Span(3, 4, "LOC")]
    both = {**options, "drop_lowercase": True, "merge_adjacent": True}
    res = project_records([_record()], method, {"options": both}, [NER])[0]
    assert [(p.span, p.source) for p in res.projected] == [(Span(0, 2, "LOC"), 0)]
    assert [(u.source, u.reason.value) for u in res.unprojected] == [(1, "merged"), (2, "lowercase_start")]
    with pytest.raises(XlnerError) as err:
        project_records([_record()], method, {"options": {"merge_adjacent": "often"}}, [NER])
    assert err.value.code == "E761" and "merge_adjacent" in err.value.message


# --- the run-level type vote ---------------------------------------------------------------------

def test_the_majority_type_of_a_surface_form_wins_across_sentences():
    tokens = [["Korfu", "eta", "Atenas"], ["Korfu", "uhartea"], ["Korfun", "Korfu"], ["Atenas"]]
    spans = [[Span(0, 1, "PER"), Span(2, 3, "LOC")], [Span(0, 1, "LOC")], [Span(0, 1, "ORG"), Span(1, 2, "LOC")],
             [Span(0, 1, "ORG")]]
    voted = vote_types(tokens, spans, min_count=2)
    # Korfu: LOC 2, PER 1 -> LOC everywhere; Korfun occurs once: kept; Atenas: LOC 1, ORG 1, a tie: kept
    assert voted == [[Span(0, 1, "LOC"), Span(2, 3, "LOC")], [Span(0, 1, "LOC")],
                     [Span(0, 1, "ORG"), Span(1, 2, "LOC")], [Span(0, 1, "ORG")]]
    assert vote_types(tokens, spans, min_count=4) == spans  # no form is projected 4 times
    with pytest.raises(ValueError):
        vote_types(tokens[:2], spans)


def test_the_vote_step_sees_the_whole_run_and_is_off_by_default():
    profile = load_profile("offline")
    assert profile["projection"].get("type_vote") is None
    assert [s.name for s in _projection_steps(profile, ["PER"])][-1] == "project"
    voted = load_profile("offline", {"projection.type_vote": 3})
    last = _projection_steps(voted, ["PER"])[-1]
    assert (last.name, last.params, last.shard_size) == ("type_vote", {"min_count": 3}, S.WHOLE_RUN)
    assert last.inputs["entities"] == last.outputs["entities"] == "tgt_entities"
    for bad in (1, "often"):
        with pytest.raises(XlnerError) as err:
            load_profile("offline", {"projection.type_vote": bad})
        assert "type_vote" in err.value.message


@pytest.mark.slow
@pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")
def test_a_run_with_the_vote_stores_the_library_vote_over_its_projection(tmp_path):
    """Real offline translate-test (Apertium, spaCy, SimAlign on e5-small) on the first 120 sentences
    of CoNLL-02 Spanish test, once without and once with the vote: the second run's types are the
    vote over the first run's projection (which changes some), boundaries and English entities
    unchanged, and the step is cached."""
    data = DATA / "conll02-es" / "test.txt"
    base = Options(data=str(data), lang="es", out=str(tmp_path / "plain"), progress=False, limit=120,
                   cache_dir=str(tmp_path / "cache"))
    plain = translate_test(base)
    voted_opts = Options(data=str(data), lang="es", out=str(tmp_path / "voted"), progress=False, limit=120,
                         cache_dir=str(tmp_path / "cache"), settings={"projection.type_vote": 2})
    voted = translate_test(voted_opts)
    assert "type_vote" in voted.metrics["seconds"] and "project" in voted.metrics["cached_steps"]
    expected = vote_types([r.tgt_tokens for r in plain.records], [r.projected_spans() for r in plain.records])
    assert [r.projected_spans() for r in voted.records] == expected
    assert expected != [r.projected_spans() for r in plain.records], "some name is typed two ways in 120 sentences"
    assert [[p.source for p in r.projection.projected] for r in voted.records] == \
        [[p.source for p in r.projection.projected] for r in plain.records]
    assert voted.config["components"]["projection"]["type_vote"] == 2
    again = translate_test(voted_opts)
    assert "type_vote" in again.metrics["cached_steps"]


def test_the_offline_fusion_profile_and_the_fused_experiment_method_use_the_cleanups():
    from types import SimpleNamespace

    from xlner.experiment.fused_projection import FusedProjection

    profile = load_profile("offline-fusion", {"target_tagger.model": "/models/x"})["projection"]
    assert profile["options"]["drop_lowercase"] and profile["options"]["merge_adjacent"]
    assert profile["type_vote"] == 2
    method = FusedProjection(SimpleNamespace(cfg=SimpleNamespace(projection={})))
    assert method.fused_settings() == {"method": "match-fused+ensemble", "options": profile["options"],
                                       "type_vote": 2}
    off = FusedProjection(SimpleNamespace(cfg=SimpleNamespace(projection={"fused_type_vote": None,
                                                                          "fused_method": "match-fused"})))
    assert off.fused_settings()["type_vote"] is None and off.fused_settings()["method"] == "match-fused"
