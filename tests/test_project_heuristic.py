"""Heuristic projection: the paper's variant, García-Ferrero's largest group, the thesis generalisation.

Hand-made cases follow the descriptions in docs (method.md §3); property tests check that every
source entity ends with exactly one kind of outcome and that projected spans never overlap.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlner.datamodel import Alignment, Reason, Span, spans_to_tags
from xlner.errors import XlnerError
from xlner.project import DEFAULTS, METHODS, project
from projection_helpers import reasons, spans, words


# --- the paper's variant (method "heuristic") -------------------------------------------------

def test_defaults_are_the_papers_settings():
    assert DEFAULTS["heuristic"]["merge_distance"] == 1
    assert DEFAULTS["heuristic"]["min_length_ratio"] == 0.8
    assert DEFAULTS["heuristic"]["collision"] == "overwrite"
    assert set(METHODS) >= {"heuristic", "largest-group", "match-greedy", "match-exact"}


def test_one_to_one_alignment_projects_each_entity():
    res = project("heuristic", words(6), words(6, "t"), [Span(0, 2, "PER"), Span(4, 6, "LOC")],
                  Alignment.from_pairs([(i, i) for i in range(6)]))
    assert spans(res) == [(0, 2, "PER", 0), (4, 6, "LOC", 1)]
    assert res.unprojected == []
    assert all(p.score == 1.0 for p in res.projected)  # Dice of a perfect 1:1 span


def test_gap_of_one_unaligned_word_is_filled():
    # entity [0, 3) aligned to target words 2, 3 and 5: ranges [2,4) and [5,6), one word apart
    al = [(0, 2), (1, 3), (2, 5)]
    res = project("heuristic", words(3), words(8, "t"), [Span(0, 3, "ORG")], al)
    assert spans(res) == [(2, 6, "ORG", 0)]


def test_gap_wider_than_merge_distance_is_discontinuous():
    al = [(0, 2), (1, 3), (2, 5)]
    res = project("heuristic", words(3), words(8, "t"), [Span(0, 3, "ORG")], al, merge_distance=0)
    # no single range reaches the ratio, but together the pieces would: a gap problem
    assert res.projected == []
    assert reasons(res) == {0: Reason.DISCONTINUOUS}


@pytest.mark.parametrize("aligned, projected", [(4, False), (5, True)])
def test_length_ratio_is_strict_at_exactly_0_8(aligned, projected):
    # a 5-word entity aligned to 4 contiguous words has ratio 4/5 == 0.8: not > 0.8, so dropped
    al = [(i, i) for i in range(aligned)]
    res = project("heuristic", words(5), words(6, "t"), [Span(0, 5, "PER")], al)
    if projected:
        assert spans(res) == [(0, 5, "PER", 0)]
    else:
        assert res.projected == [] and reasons(res) == {0: Reason.LENGTH_RATIO}
        lower = project("heuristic", words(5), words(6, "t"), [Span(0, 5, "PER")], al, min_length_ratio=0.79)
        assert spans(lower) == [(0, 4, "PER", 0)]


def test_entity_with_no_aligned_word_is_unaligned():
    res = project("heuristic", words(4), words(4, "t"), [Span(0, 1, "PER"), Span(2, 4, "LOC")],
                  [(1, 1), (2, 2), (3, 3)])
    assert reasons(res) == {0: Reason.UNALIGNED}
    assert spans(res) == [(2, 4, "LOC", 1)]


def test_every_range_above_the_ratio_is_kept():
    # one-word entity aligned to two distant words: two mentions, both projected
    res = project("heuristic", words(2), words(6, "t"), [Span(0, 1, "PER")], [(0, 0), (0, 4)])
    assert spans(res) == [(0, 1, "PER", 0), (4, 5, "PER", 0)]


def test_later_entity_overwrites_earlier_one():
    # PER covers target [1, 4); LOC (later) takes word 2: PER keeps the two pieces left over
    al = [(0, 1), (1, 2), (2, 3), (3, 2)]
    res = project("heuristic", words(4), words(5, "t"), [Span(0, 3, "PER"), Span(3, 4, "LOC")], al)
    assert spans(res) == [(1, 2, "PER", 0), (2, 3, "LOC", 1), (3, 4, "PER", 0)]
    assert spans_to_tags(res.spans(), 5) == ["O", "B-PER", "B-LOC", "B-PER", "O"]


def test_fully_overwritten_entity_is_a_collision():
    al = [(0, 1), (1, 1)]
    res = project("heuristic", words(2), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "ORG")], al)
    assert spans(res) == [(1, 2, "ORG", 1)]
    assert reasons(res) == {0: Reason.COLLISION}


def test_punctuation_is_kept_by_the_paper_variant_and_dropped_by_largest_group():
    tgt = ["Juan", ",", "vive"]
    res = project("heuristic", words(2), tgt, [Span(0, 1, "PER")], [(0, 1)])
    assert spans(res) == [(1, 2, "PER", 0)]
    res = project("largest-group", words(2), tgt, [Span(0, 1, "PER")], [(0, 1)])
    assert res.projected == [] and reasons(res) == {0: Reason.PUNCTUATION_ONLY}


def test_target_labels_filter():
    res = project("heuristic", words(3), words(3, "t"), [Span(0, 1, "DATE"), Span(1, 2, "PER")],
                  [(0, 0), (1, 1)], target_labels=["PER", "ORG", "LOC"])
    assert reasons(res) == {0: Reason.LABEL_NOT_IN_TARGET}
    assert spans(res) == [(1, 2, "PER", 1)]


# --- thesis generalisation (order, collision=skip, only_i, top_k) -----------------------------

def test_shortest_first_with_skip_keeps_the_short_entity():
    # long ORG [0, 3) covers target [0, 3); short PER aligned to target 1
    al = [(0, 0), (1, 1), (2, 2), (3, 1)]
    ents = [Span(0, 3, "ORG"), Span(3, 4, "PER")]
    thesis = project("heuristic", words(4), words(4, "t"), ents, al, order="shortest", collision="skip")
    assert spans(thesis) == [(1, 2, "PER", 1)]
    assert reasons(thesis) == {0: Reason.COLLISION}
    paper = project("heuristic", words(4), words(4, "t"), ents, al)  # input order, overwrite
    assert spans(paper) == [(0, 1, "ORG", 0), (1, 2, "PER", 1), (2, 3, "ORG", 0)]


def test_only_i_keeps_a_second_mention_apart():
    # one-word entity aligned to target words 0 and 2, one word apart
    al = [(0, 0), (0, 2)]
    merged = project("heuristic", words(1), words(4, "t"), [Span(0, 1, "PER")], al)
    assert spans(merged) == [(0, 3, "PER", 0)]
    apart = project("heuristic", words(1), words(4, "t"), [Span(0, 1, "PER")], al, only_i=True)
    assert spans(apart) == [(0, 1, "PER", 0), (2, 3, "PER", 0)]


def test_only_i_still_merges_a_range_starting_with_another_word():
    # "New York": New -> 0, York -> 2; the right range starts on York, not on the first word
    al = [(0, 0), (1, 2)]
    res = project("heuristic", words(2), words(4, "t"), [Span(0, 2, "LOC")], al, only_i=True)
    assert spans(res) == [(0, 3, "LOC", 0)]


def test_top_k_keeps_the_longest_then_leftmost():
    al = [(0, 0), (0, 3), (0, 4), (0, 7)]  # ranges [0,1) [3,5) [7,8)
    res = project("heuristic", words(1), words(9, "t"), [Span(0, 1, "PER")], al, merge_distance=0, top_k=1)
    assert spans(res) == [(3, 5, "PER", 0)]
    res = project("heuristic", words(1), words(9, "t"), [Span(0, 1, "PER")], al, merge_distance=0, top_k=2)
    assert spans(res) == [(0, 1, "PER", 0), (3, 5, "PER", 0)]


# --- García-Ferrero et al. 2022 (method "largest-group") --------------------------------------

def test_largest_group_after_gap_filling():
    # aligned: 0 | 3 4 _ 6 (gap of one filled) -> groups [0,1) and [3,7): the largest wins
    al = [(0, 0), (1, 3), (1, 4), (2, 6)]
    res = project("largest-group", words(3), words(8, "t"), [Span(0, 3, "ORG")], al)
    assert spans(res) == [(3, 7, "ORG", 0)]


def test_largest_group_ignores_the_length_ratio():
    # a 4-word entity aligned to a single word is still projected (no ratio filter)
    res = project("largest-group", words(4), words(4, "t"), [Span(0, 4, "ORG")], [(0, 2)])
    assert spans(res) == [(2, 3, "ORG", 0)]


def test_largest_group_drops_punctuation_before_grouping():
    tgt = ["Banco", "«", "de", "»", "España"]
    al = [(0, 0), (0, 1), (1, 3), (1, 4)]
    res = project("largest-group", words(2), tgt, [Span(0, 2, "ORG")], al)
    # groups without punctuation: [0,1) and [4,5) are 3 apart (too far); both length 1 -> leftmost
    assert spans(res) == [(0, 1, "ORG", 0)]
    res = project("largest-group", words(2), tgt, [Span(0, 2, "ORG")], al, merge_distance=3)
    assert spans(res) == [(0, 5, "ORG", 0)]


def test_largest_group_merges_same_type_collisions():
    al = [(0, 0), (0, 1), (1, 1), (1, 2)]
    res = project("largest-group", words(2), words(3, "t"), [Span(0, 1, "LOC"), Span(1, 2, "LOC")], al)
    assert spans(res) == [(0, 3, "LOC", 0)]
    assert reasons(res) == {1: Reason.COLLISION}  # merged into source 0's span


def test_largest_group_longer_projection_wins_a_type_clash():
    al = [(0, 1), (1, 0), (1, 1), (1, 2)]
    res = project("largest-group", words(2), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "ORG")], al)
    assert spans(res) == [(0, 3, "ORG", 1)]
    assert reasons(res) == {0: Reason.COLLISION}
    # equal lengths: the projection already placed stays
    al = [(0, 1), (1, 1)]
    res = project("largest-group", words(2), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "ORG")], al)
    assert spans(res) == [(1, 2, "PER", 0)]
    assert reasons(res) == {1: Reason.COLLISION}


# --- bad input ---------------------------------------------------------------------------------

def test_bad_arguments_raise_coded_errors():
    with pytest.raises(XlnerError) as e:
        project("nope", ["a"], ["b"], [], [])
    assert e.value.code == "E760"
    with pytest.raises(XlnerError) as e:
        project("heuristic", ["a"], ["b"], [], [], max_candidate_length=3)
    assert e.value.code == "E761"
    with pytest.raises(XlnerError) as e:
        project("heuristic", ["a"], ["b"], [], [], collision="explode")
    assert e.value.code == "E761"
    with pytest.raises(XlnerError) as e:
        project("heuristic", ["a"], ["b"], [Span(0, 2, "PER")], [], sentence_id="s7")
    assert e.value.code == "E201" and "s7" in e.value.message and "source entity 0 [0, 2)" in e.value.message
    with pytest.raises(XlnerError) as e:
        project("heuristic", ["a"], ["b"], [Span(0, 1, "PER")], [(0, 1)])
    assert e.value.code == "E202"


# --- properties ---------------------------------------------------------------------------------

@st.composite
def sentence_pairs(draw):
    n_src = draw(st.integers(1, 9))
    n_tgt = draw(st.integers(1, 9))
    tgt = draw(st.lists(st.sampled_from(["a", "b", ",", ".", "!", "?", "c"]), min_size=n_tgt, max_size=n_tgt))
    ents, pos = [], 0
    while pos < n_src and len(ents) < 4:
        start = draw(st.integers(pos, n_src - 1))
        end = draw(st.integers(start + 1, n_src))
        ents.append(Span(start, end, draw(st.sampled_from(["PER", "ORG", "LOC"]))))
        pos = end + draw(st.integers(0, 2))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_src - 1), st.integers(0, n_tgt - 1)), max_size=14))
    return words(n_src), tgt, ents, pairs


heuristic_params = st.fixed_dictionaries({}, optional={
    "merge_distance": st.integers(0, 3), "min_length_ratio": st.sampled_from([0.0, 0.5, 0.8, 1.0]),
    "top_k": st.integers(0, 2), "only_i": st.booleans(), "order": st.sampled_from(["input", "shortest"]),
    "collision": st.sampled_from(["overwrite", "skip", "merge"]), "drop_punctuation": st.booleans(),
})


@settings(max_examples=300, deadline=None)
@given(sentence_pairs(), st.sampled_from(["heuristic", "largest-group"]), heuristic_params)
def test_every_entity_has_one_outcome_and_spans_do_not_overlap(pair, method, params):
    src, tgt, ents, pairs = pair
    res = project(method, src, tgt, ents, pairs, **params)
    projected = {p.source for p in res.projected}
    unprojected = [u.source for u in res.unprojected]
    assert len(unprojected) == len(set(unprojected))
    assert projected.isdisjoint(unprojected)
    assert projected | set(unprojected) == set(range(len(ents)))
    out = sorted(res.spans())
    for a, b in zip(out, out[1:]):
        assert a.end <= b.start
    for p in res.projected:
        assert p.span.end <= len(tgt) and p.span.label == ents[p.source].label and p.score >= 0
    linked = {i for i, _ in pairs}
    for u in res.unprojected:
        if u.reason is Reason.UNALIGNED:
            assert not linked & set(range(ents[u.source].start, ents[u.source].end))


def test_considered_ranges_are_listed_as_candidates():
    al = [(0, 2), (1, 3), (2, 5)]
    res = project("heuristic", words(3), words(8, "t"), [Span(0, 3, "ORG")], al, merge_distance=0)
    assert [(c.start, c.end) for c in res.candidates] == [(2, 4), (5, 6)]
    assert res.candidates[0].score == pytest.approx(2 * 2 / 5)


@pytest.mark.parametrize("method, params, text", [
    ("heuristic", {"merge_distance": -1}, "merge_distance must be an integer >= 0"),
    ("heuristic", {"merge_distance": "one"}, "merge_distance must be an integer"),
    ("heuristic", {"min_length_ratio": None}, "min_length_ratio must be a number"),
    ("heuristic", {"order": "longest"}, "order must be one of"),
    ("match-greedy", {"max_candidate_length": 2.5}, "max_candidate_length must be an integer"),
    ("match-greedy", {"weights": ["align"]}, "weights must map"),
    ("match-exact", {"exact_solver": "cplex"}, "exact_solver must be one of"),
    ("match-exact", {"target_labels": "PER"}, "not one string"),
])
def test_bad_parameter_values_are_one_clear_error(method, params, text):
    with pytest.raises(XlnerError) as e:
        project(method, ["a"], ["b"], [Span(0, 1, "PER")], [(0, 0)], **params)
    assert e.value.code == "E761" and text in e.value.message
