"""Fused matching (alignment + target NER score) and the projection / model-transfer ensembles.

Expected values are written out from the thesis formulas (method.md §4): the NER score is
``1.15 ** (len - 1) * mean(p(B-l | first word), p(I-l | next words))``, 0 when <= 0.05; the fused
score is ``lambda_align * Dice + lambda_ner * NER``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlner.datamodel import Span
from xlner.errors import XlnerError
from xlner.ner import iob_columns
from xlner.project.ensemble import EnsembleRule, ensemble, naive_union, span_type_scores
from xlner.project.fusion import (aligned_gate, fused_project, fusion_candidates, ner_score_matrix,
                                  ner_span_scores)
from xlner.project.matching import ngram_candidates

COLUMNS = iob_columns(["PER", "LOC"])  # O, B-PER, I-PER, B-LOC, I-LOC
PROBS = np.array([[0.10, 0.80, 0.00, 0.10, 0.00],
                  [0.05, 0.00, 0.90, 0.00, 0.05],
                  [0.90, 0.02, 0.02, 0.03, 0.03]])


def test_ner_span_score_is_the_thesis_formula():
    starts, ends = np.array([0, 0, 0, 1, 2]), np.array([1, 2, 3, 2, 3])
    scores, types = ner_span_scores(PROBS, COLUMNS, starts, ends)
    assert types == ["PER", "LOC"]
    expected = np.array([
        [0.80, 0.10],                                                  # [0,1): B only, alpha**0
        [1.15 * (0.80 + 0.90) / 2, 1.15 * (0.10 + 0.05) / 2],          # [0,2)
        [1.15 ** 2 * (0.80 + 0.90 + 0.02) / 3, 1.15 ** 2 * (0.10 + 0.05 + 0.03) / 3],
        [0.0, 0.0],                                                    # [1,2): p(B) = 0 and 0 <= 0.05
        [0.0, 0.0],                                                    # [2,3): 0.02, 0.03 <= 0.05 -> 0
    ])
    expected[expected <= 0.05] = 0.0
    np.testing.assert_allclose(scores, expected)
    # the threshold is inclusive: a score of exactly 0.05 is 0
    edge = np.array([[0.95, 0.05, 0.0, 0.0, 0.0]])
    assert ner_span_scores(edge, COLUMNS, np.array([0]), np.array([1]))[0][0, 0] == 0.0


def test_ner_variants_max_over_classes_or_the_entity_type():
    starts, ends = np.array([0, 0]), np.array([1, 2])
    ents = [Span(0, 1, "PER"), Span(1, 2, "LOC"), Span(2, 3, "ORG")]
    spans_v = ner_score_matrix(ents, PROBS, COLUMNS, starts, ends, variant="ner_spans")
    np.testing.assert_allclose(spans_v, np.tile([0.80, 1.15 * 1.70 / 2], (3, 1)))
    own = ner_score_matrix(ents, PROBS, COLUMNS, starts, ends, variant="ner")
    np.testing.assert_allclose(own, [[0.80, 1.15 * 1.70 / 2], [0.10, 1.15 * 0.15 / 2], [0.0, 0.0]])
    with pytest.raises(XlnerError) as e:
        ner_score_matrix(ents, PROBS, COLUMNS, starts, ends, variant="ner_max")
    assert e.value.code == "E294" and "ner_max" in e.value.message
    with pytest.raises(XlnerError) as e:
        ner_span_scores(PROBS, ["O", "PER"], starts, ends)
    assert e.value.code == "E292"
    with pytest.raises(XlnerError) as e:
        ner_span_scores(PROBS[:1], COLUMNS, starts, ends)
    assert e.value.code == "E293"


def test_candidates_from_ngrams_ner_spans_or_both():
    toks = ["Jon", "Smith", "etorri", "!", "da"]
    ner = [Span(0, 2, "PER"), Span(3, 5, "LOC")]
    cands, origins = fusion_candidates(toks, ner, "ner")
    assert cands.tolist() == [[0, 2], [3, 5]] and origins == ["ner", "ner"]
    cands, origins = fusion_candidates(toks, ner, "ngram", max_length=2)
    assert cands.tolist() == ngram_candidates(toks, 2).tolist() and set(origins) == {"ngram"}
    assert [3, 4] not in cands.tolist()
    cands, origins = fusion_candidates(toks, ner, "ngram+ner", max_length=2)
    pos = [tuple(c) for c in cands.tolist()]
    assert pos == sorted(pos) and origins[pos.index((0, 2))] == "ner"
    assert origins[pos.index((3, 5))] == "ner"  # an NER span is a candidate even across a "!"
    with pytest.raises(XlnerError) as e:
        fusion_candidates(toks, ner, "words")
    assert e.value.code == "E295"


SRC = ["John", "Smith", "arrived"]
TGT = ["Jon", "Smith", "etorri"]


def test_fused_score_moves_the_boundary_and_keeps_its_components():
    ents = [Span(0, 2, "PER")]
    pairs = [(0, 0), (2, 2)]  # "Smith" unaligned: alignment alone projects only "Jon"
    align_only = fused_project(SRC, TGT, ents, pairs, candidates="ngram", weights={"align": 1.0})
    assert [(p.span.start, p.span.end) for p in align_only.projected] == [(0, 1)]

    res = fused_project(SRC, TGT, ents, pairs, tgt_probs=PROBS, tgt_columns=COLUMNS,
                        tgt_spans=[Span(0, 2, "PER")], weights={"align": 0.5, "ner": 0.5})
    dice_01, dice_02 = 2 * 1 / (2 + 1), 2 * 1 / (2 + 2)
    ner_01, ner_02 = 0.80, 1.15 * (0.80 + 0.90) / 2
    assert 0.5 * dice_02 + 0.5 * ner_02 > 0.5 * dice_01 + 0.5 * ner_01
    (p,) = res.projected
    assert (p.span.start, p.span.end, p.span.label) == (0, 2, "PER")
    assert p.score == pytest.approx(0.5 * dice_02 + 0.5 * ner_02)
    best = res.candidates[0]
    assert (best.start, best.end, best.origin) == (0, 2, "ner")
    assert best.components == pytest.approx({"align": dice_02, "ner": ner_02})
    assert best.to_dict()["components"]["ner"] == pytest.approx(ner_02)
    second = {(c.start, c.end): c for c in res.candidates}[(0, 1)]
    assert second.origin == "ngram" and second.score == pytest.approx(0.5 * dice_01 + 0.5 * ner_01)


def test_ner_score_can_place_an_unaligned_entity_unless_gated():
    ents = [Span(0, 2, "PER")]
    res = fused_project(SRC, TGT, ents, [], tgt_probs=PROBS, tgt_columns=COLUMNS,
                        tgt_spans=[Span(0, 2, "PER")], candidates="ner")
    assert [(p.span.start, p.span.end) for p in res.projected] == [(0, 2)]
    gated = fused_project(SRC, TGT, ents, [], tgt_probs=PROBS, tgt_columns=COLUMNS,
                          tgt_spans=[Span(0, 2, "PER")], candidates="ner", ner_gate=True)
    assert gated.projected == [] and gated.unprojected[0].reason.value == "unaligned"
    links = np.zeros((3, 3), dtype=bool)
    links[0, 1] = True
    np.testing.assert_array_equal(aligned_gate(links, ents, np.array([0, 0, 2]), np.array([1, 2, 3])),
                                  [[0, 1, 0]])


def test_nmt_scores_and_label_filter_and_bad_input():
    ents = [Span(0, 2, "PER"), Span(2, 3, "MISC")]
    cands, _ = fusion_candidates(TGT, [], "ngram")
    nmt = np.zeros((2, len(cands)))
    nmt[0, cands.tolist().index([1, 2])] = 2.0
    res = fused_project(SRC, TGT, ents, [(0, 0)], candidates="ngram", nmt_scores=nmt,
                        weights={"align": 1.0, "nmt": 1.0}, target_labels=["PER"])
    assert [(p.span.start, p.span.end) for p in res.projected] == [(1, 2)]
    assert {u.source: u.reason.value for u in res.unprojected} == {1: "label_not_in_target"}
    with pytest.raises(XlnerError) as e:
        fused_project(SRC, TGT, ents, [(0, 7)], sentence_id="s9")
    assert e.value.code == "E297" and "s9" in e.value.message
    with pytest.raises(XlnerError) as e:
        fused_project(SRC, TGT, ents, [(0, 0)], solver="ilp")
    assert e.value.code == "E296"


@st.composite
def fusion_case(draw):
    n_src, n_tgt = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_src - 1), st.integers(0, n_tgt - 1)), max_size=10))
    ents, pos = [], 0
    while pos < n_src and len(ents) < 4:
        start = draw(st.integers(pos, n_src - 1))
        end = draw(st.integers(start + 1, n_src))
        ents.append(Span(start, end, draw(st.sampled_from(["PER", "LOC"]))))
        pos = end
    raw = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=5 * n_tgt, max_size=5 * n_tgt)))
    probs = raw.reshape(n_tgt, 5)
    probs /= probs.sum(axis=1, keepdims=True)
    weights = {"align": draw(st.sampled_from([0.5, 1.0])), "ner": draw(st.sampled_from([0.5, 1.0]))}
    return n_src, n_tgt, pairs, ents, probs, weights, draw(st.sampled_from(["ner_spans", "ner"]))


@settings(max_examples=150, deadline=None)
@given(fusion_case())
def test_exact_total_is_never_below_greedy_on_fused_scores(case):
    n_src, n_tgt, pairs, ents, probs, weights, variant = case
    common = dict(tgt_probs=probs, tgt_columns=COLUMNS, candidates="ngram", weights=weights,
                  ner_variant=variant, max_candidate_length=0)
    src, tgt = [f"s{i}" for i in range(n_src)], [f"t{i}" for i in range(n_tgt)]
    greedy = fused_project(src, tgt, ents, pairs, solver="greedy", **common)
    exact = fused_project(src, tgt, ents, pairs, solver="exact", **common)
    assert sum(p.score for p in exact.projected) >= sum(p.score for p in greedy.projected) - 1e-9
    for res in (greedy, exact):
        chosen = sorted((p.span.start, p.span.end) for p in res.projected)
        assert all(a[1] <= b[0] for a, b in zip(chosen, chosen[1:])), "overlapping picks"
        assert len({p.source for p in res.projected}) == len(res.projected)


# --- ensembles -------------------------------------------------------------------------------------

def test_naive_union_adds_projected_spans_that_overlap_no_model_span():
    model = [Span(0, 2, "PER")]
    projected = [Span(1, 2, "LOC"), Span(3, 4, "ORG")]
    assert naive_union(model, projected) == [Span(0, 2, "PER"), Span(3, 4, "ORG")]


def test_ensemble_rule_drops_contradicted_adds_confident_and_retypes():
    probs = np.array([[0.95, 0.03, 0.00, 0.02, 0.00],    # w0: confidently O
                      [0.05, 0.90, 0.00, 0.05, 0.00],    # w1: B-PER
                      [0.10, 0.00, 0.85, 0.00, 0.05],    # w2: I-PER
                      [0.50, 0.10, 0.00, 0.40, 0.00]])   # w3: unsure
    projected = [Span(0, 1, "ORG"), Span(3, 4, "LOC")]
    model_spans, model_scores = [Span(1, 3, "PER")], [float(np.mean([0.90, 0.85]))]
    out = ensemble(projected, model_spans, model_scores, probs, COLUMNS, EnsembleRule(0.9, 0.8))
    assert out == [Span(1, 3, "PER"), Span(3, 4, "LOC")]  # [0,1) dropped (p(O)=.95), PER added
    keep_all = ensemble(projected, model_spans, model_scores, probs, COLUMNS, EnsembleRule(None, 0.9))
    assert keep_all == [Span(0, 1, "ORG"), Span(3, 4, "LOC")]  # 0.875 < 0.9: nothing added
    retyped = ensemble([Span(1, 3, "LOC")], [], [], probs, COLUMNS, EnsembleRule(None, None, 0.8))
    assert retyped == [Span(1, 3, "PER")]
    assert span_type_scores(probs, COLUMNS, Span(1, 3, "X")) == pytest.approx(
        {"PER": (0.90 + 0.85) / 2, "LOC": (0.05 + 0.05) / 2})
    with pytest.raises(XlnerError) as e:
        EnsembleRule(drop_if_o=1.5)
    assert e.value.code == "E298" and "drop_if_o" in e.value.message
    with pytest.raises(XlnerError) as e:
        ensemble(projected, model_spans, [], probs, COLUMNS)
    assert e.value.code == "E299"
