"""Candidate matching: candidates, the Dice score, extra scores, the greedy and the exact solver.

The exact solver is checked against brute-force enumeration on small random cases, the greedy
against a plain-Python transcription of the paper's loop, and the batched engine behind
``project_batch`` against ``project`` sentence by sentence.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlner.datamodel import Alignment, Reason, Span
from xlner.errors import XlnerError
from xlner.project import project, project_batch
from xlner.project.matching import _dp_match, _milp_match, exact_match, greedy_match, ngram_candidates
from projection_helpers import reasons, spans, words


# --- reference implementations (plain Python, written from the method description) -------------

def reference_greedy(src, tgt, ents, pairs, max_len=0, stops=("!", "?")):
    """The paper's loop: Dice scores of all n-grams, then repeatedly the first highest score."""
    links = set(map(tuple, pairs))
    n = len(tgt)
    cands = [(s, e) for s in range(n) for e in range(s + 1, n + 1)
             if (not max_len or e - s <= max_len) and not any(t in stops for t in tgt[s:e])]
    score = [[2 * sum((i, j) in links for i in range(x.start, x.end) for j in range(s, e)) / (len(x) + e - s)
              for s, e in cands] for x in ents]
    picks = []
    while True:
        best = max((v, -k, -c) for k, row in enumerate(score) for c, v in enumerate(row)) if cands and ents else (0,)
        if best[0] <= 0:
            break
        k, c = -best[1], -best[2]
        s0, e0 = cands[c]
        picks.append((s0, e0, ents[k].label, k))
        score[k] = [0.0] * len(cands)
        for j, (s, e) in enumerate(cands):
            if s < e0 and s0 < e:
                for row in score:
                    row[j] = 0.0
    return sorted(picks)


def brute_force_best(scores, starts, ends, min_score=0.0):
    """Best total over every assignment (each entity: nothing or one usable candidate, no overlap)."""
    k_n, c_n = scores.shape
    best = 0.0

    def rec(k, used, total):
        nonlocal best
        if k == k_n:
            best = max(best, total)
            return
        rec(k + 1, used, total)
        for c in range(c_n):
            if scores[k, c] > min_score and all(not (starts[c] < ends[u] and starts[u] < ends[c]) for u in used):
                rec(k + 1, used + [c], total + scores[k, c])

    rec(0, [], 0.0)
    return best


def check_feasible(picks, scores, starts, ends, min_score=0.0):
    rows = [k for k, _ in picks]
    assert len(rows) == len(set(rows)), "an entity got two candidates"
    cols = [c for _, c in picks]
    for i, a in enumerate(cols):
        assert scores[picks[i][0], a] > min_score
        for b in cols[i + 1:]:
            assert not (starts[a] < ends[b] and starts[b] < ends[a]), "overlapping candidates chosen"
    return sum(scores[k, c] for k, c in picks)


# --- candidates and scores ----------------------------------------------------------------------

def test_ngram_candidates_order_length_cap_and_stop_tokens():
    cands = ngram_candidates(["a", "b", "c"]).tolist()
    assert cands == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]  # by start, then end
    assert ngram_candidates(["a", "b", "c"], max_length=1).tolist() == [[0, 1], [1, 2], [2, 3]]
    # ranges holding "!" or "?" are skipped
    assert ngram_candidates(["a", "!", "b", "?"]).tolist() == [[0, 1], [2, 3]]


def test_dice_score_values():
    # entity of 2 words, both aligned inside a 3-word candidate: 2*2/(2+3) = 0.8
    res = project("match-greedy", words(2), words(5, "t"), [Span(0, 2, "PER")], [(0, 1), (1, 3)],
                  n_candidates=10)
    scores = {(c.start, c.end): c.score for c in res.candidates}
    assert scores[(1, 4)] == pytest.approx(0.8)
    assert scores[(1, 2)] == pytest.approx(2 / 3)
    # the gap word lowers the score, but [1,4) still beats either single word
    assert spans(res) == [(1, 4, "PER", 0)]
    assert res.projected[0].score == pytest.approx(0.8)


def test_one_to_many_alignment_scores_above_one():
    # one source word aligned to two target words: 2*2/(1+2) = 4/3
    res = project("match-greedy", words(1), words(3, "t"), [Span(0, 1, "LOC")], [(0, 0), (0, 1)])
    assert spans(res) == [(0, 2, "LOC", 0)]
    assert res.projected[0].score == pytest.approx(4 / 3)


def test_tightest_span_is_preferred():
    res = project("match-greedy", words(2), words(6, "t"), [Span(0, 2, "ORG")], [(0, 2), (1, 3)])
    assert spans(res) == [(2, 4, "ORG", 0)]
    assert res.projected[0].score == 1.0


# --- the greedy's tie order ----------------------------------------------------------------------

def test_candidate_ties_go_to_the_lowest_start_then_end():
    # one word aligned to target 0 and 2: [0,1), [0,3) (2*2/4) and [2,3) all score 1.0
    res = project("match-greedy", words(1), words(4, "t"), [Span(0, 1, "PER")], [(0, 0), (0, 2)],
                  n_candidates=5)
    assert sorted((c.start, c.end) for c in res.candidates if c.score == 1.0) == [(0, 1), (0, 3), (2, 3)]
    assert spans(res) == [(0, 1, "PER", 0)]


def test_entity_ties_go_to_the_lowest_entity_index():
    # two entities aligned to the same word: the first one wins, the second collides
    res = project("match-greedy", words(2), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "ORG")],
                  [(0, 1), (1, 1)])
    assert spans(res) == [(1, 2, "PER", 0)]
    assert reasons(res) == {1: Reason.COLLISION}


def test_overlapping_candidates_are_removed_after_a_pick():
    # entity 0 takes [0,2) (score 4/3); entity 1's only positive candidates overlap it
    al = [(0, 0), (0, 1), (1, 1)]
    res = project("match-greedy", words(2), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "LOC")], al)
    assert spans(res) == [(0, 2, "PER", 0)]
    assert reasons(res) == {1: Reason.COLLISION}


def test_exact_beats_greedy_on_a_conflict():
    al = [(0, 0), (0, 1), (1, 1)]
    ents = [Span(0, 1, "PER"), Span(1, 2, "LOC")]
    greedy = project("match-greedy", words(2), words(3, "t"), ents, al)
    exact = project("match-exact", words(2), words(3, "t"), ents, al)
    assert sum(p.score for p in greedy.projected) == pytest.approx(4 / 3)
    assert spans(exact) == [(0, 1, "PER", 0), (1, 2, "LOC", 1)]
    assert sum(p.score for p in exact.projected) == pytest.approx(2.0)
    for solver in ("dp", "milp"):
        again = project("match-exact", words(2), words(3, "t"), ents, al, exact_solver=solver)
        assert spans(again) == spans(exact)


# --- candidate sources, stop tokens, reasons ------------------------------------------------------

def test_candidates_with_exclamation_or_question_mark_are_skipped():
    tgt = ["a", "!", "b", "c"]
    # a 3-word entity aligned to a, !, b: the full range holds "!" so only pieces remain
    res = project("match-greedy", words(3), tgt, [Span(0, 3, "ORG")], [(0, 0), (1, 1), (2, 2)])
    assert spans(res) == [(0, 1, "ORG", 0)]  # [0,1) and [2,3) tie at 2/4; the first wins
    res = project("match-greedy", words(1), ["?"], [Span(0, 1, "PER")], [(0, 0)])
    assert res.projected == [] and reasons(res) == {0: Reason.NO_CANDIDATE}
    res = project("match-greedy", words(3), tgt, [Span(0, 3, "ORG")], [(0, 0), (1, 1), (2, 2)], stop_tokens=())
    assert spans(res) == [(0, 3, "ORG", 0)]


def test_max_candidate_length():
    al = [(i, i) for i in range(4)]
    res = project("match-greedy", words(4), words(4, "t"), [Span(0, 4, "ORG")], al, max_candidate_length=2)
    assert spans(res) == [(0, 2, "ORG", 0)]
    res = project("match-greedy", words(4), words(4, "t"), [Span(0, 4, "ORG")], al, max_candidate_length=0)
    assert spans(res) == [(0, 4, "ORG", 0)]


def test_unaligned_and_label_reasons():
    res = project("match-exact", words(3), words(3, "t"), [Span(0, 1, "PER"), Span(1, 2, "DATE"), Span(2, 3, "LOC")],
                  [(1, 1), (2, 2)], target_labels={"PER", "LOC"})
    assert reasons(res) == {0: Reason.UNALIGNED, 1: Reason.LABEL_NOT_IN_TARGET}
    assert spans(res) == [(2, 3, "LOC", 2)]


def test_given_candidate_spans_replace_ngrams():
    # NER predicted [1,3) and [4,5) on the target; their labels are ignored
    cands = [Span(4, 5, "X"), Span(1, 3, "X")]
    res = project("match-greedy", words(2), words(6, "t"), [Span(0, 1, "PER"), Span(1, 2, "LOC")],
                  [(0, 1), (1, 0)], tgt_candidates=cands)
    assert spans(res) == [(1, 3, "PER", 0)]
    assert res.projected[0].score == pytest.approx(2 / 3)
    assert reasons(res) == {1: Reason.NO_CANDIDATE}  # aligned, but to no candidate
    with pytest.raises(XlnerError) as e:
        project("match-greedy", words(1), words(2, "t"), [Span(0, 1, "PER")], [], tgt_candidates=[Span(1, 3, "X")])
    assert e.value.code == "E201" and "target candidate 0 [1, 3)" in e.value.message


def test_extra_scores_array_callable_and_weights():
    cands = [Span(0, 1, "X"), Span(2, 3, "X")]
    ents = [Span(0, 1, "PER")]
    al = [(0, 0)]
    ner = np.array([[0.0, 2.0]])  # a strong NER vote for the second candidate
    plain = project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands)
    assert spans(plain) == [(0, 1, "PER", 0)]
    fused = project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands,
                    extra_scores={"ner": ner})
    assert spans(fused) == [(2, 3, "PER", 0)] and fused.projected[0].score == pytest.approx(2.0)
    weighted = project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands,
                       extra_scores={"ner": ner}, weights={"ner": 0.25, "align": 1.0})
    assert spans(weighted) == [(0, 1, "PER", 0)]  # 1.0 vs 0.5

    seen = {}

    def length_bonus(src_tokens, tgt_tokens, src_entities, candidates):
        seen["shape"] = candidates.shape
        return np.tile((candidates[:, 1] - candidates[:, 0]) * 0.1, (len(src_entities), 1))

    res = project("match-exact", words(1), words(3, "t"), ents, al, extra_scores={"len": length_bonus})
    assert seen["shape"] == (6, 2)  # every n-gram: the aligned-window shortcut is off with extra scores
    assert spans(res) == [(0, 1, "PER", 0)] and res.projected[0].score == pytest.approx(1.1)
    with pytest.raises(XlnerError) as e:
        project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands,
                extra_scores={"ner": np.zeros((1, 3))})
    assert e.value.code == "E291" and "(1, 3)" in e.value.message
    with pytest.raises(XlnerError) as e:
        project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands,
                extra_scores={"ner": np.array([[np.nan, 1.0]])})
    assert e.value.code == "E205" and "NaN" in e.value.message
    with pytest.raises(XlnerError) as e:
        project("match-greedy", words(1), words(3, "t"), ents, al, tgt_candidates=cands,
                extra_scores={"ner": ner}, weights={"nmt": 1.0})
    assert e.value.code == "E290" and "nmt" in e.value.message


def test_heuristic_methods_refuse_candidates():
    with pytest.raises(XlnerError) as e:
        project("heuristic", ["a"], ["b"], [Span(0, 1, "PER")], [(0, 0)], tgt_candidates=[Span(0, 1, "X")])
    assert e.value.code == "E203"


def test_empty_inputs():
    assert project("match-greedy", ["a"], [], [Span(0, 1, "PER")], []).unprojected[0].reason is Reason.UNALIGNED
    res = project_batch("match-exact", [{"src_tokens": ["a"], "tgt_tokens": [], "src_entities": [Span(0, 1, "PER")],
                                         "alignment": []},
                                        {"src_tokens": ["a"], "tgt_tokens": ["b"], "src_entities": [], "alignment": []}])
    assert [len(r.unprojected) for r in res] == [1, 0]


# --- properties ------------------------------------------------------------------------------------

@st.composite
def score_problems(draw):
    n_words = draw(st.integers(1, 6))
    max_len = draw(st.integers(0, 3))
    cands = ngram_candidates(words(n_words), max_len)
    k = draw(st.integers(1, 4))
    values = st.sampled_from([0.0, 0.25, 0.5, 2 / 3, 0.8, 1.0, 4 / 3, -0.5])
    scores = np.array(draw(st.lists(st.lists(values, min_size=len(cands), max_size=len(cands)),
                                    min_size=k, max_size=k)))
    return scores, cands[:, 0].copy(), cands[:, 1].copy()


@settings(max_examples=400, deadline=None)
@given(score_problems())
def test_exact_solver_matches_brute_force(problem):
    scores, starts, ends = problem
    best = brute_force_best(scores, starts, ends)
    greedy_total = check_feasible(greedy_match(scores, starts, ends), scores, starts, ends)
    for solver in ("auto", "dp", "milp"):
        total = check_feasible(exact_match(scores, starts, ends, solver=solver), scores, starts, ends)
        assert total == pytest.approx(best, abs=1e-9)
    assert best >= greedy_total - 1e-9


@settings(max_examples=60, deadline=None)
@given(score_problems())
def test_dp_and_milp_alone_are_optimal(problem):
    scores, starts, ends = problem
    sub = np.where(scores > 0, scores, -np.inf)
    n = int(ends.max())
    dp = check_feasible(_dp_match(sub, starts, ends, n), scores, starts, ends)
    assert dp == pytest.approx(brute_force_best(scores, starts, ends), abs=1e-9)  # no shortcut taken
    keep = np.isfinite(sub).any(axis=0)
    if keep.any():
        mi = _milp_match(sub[:, keep], starts[keep], ends[keep], n)
        cols = np.flatnonzero(keep)
        mi_total = check_feasible([(r, int(cols[c])) for r, c in mi], scores, starts, ends)
        assert dp == pytest.approx(mi_total, abs=1e-9)


@st.composite
def sentence_pairs(draw):
    n_src = draw(st.integers(1, 8))
    n_tgt = draw(st.integers(1, 9))
    tgt = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "!", "?"]), min_size=n_tgt, max_size=n_tgt))
    ents, pos = [], 0
    while pos < n_src and len(ents) < 4:
        start = draw(st.integers(pos, n_src - 1))
        end = draw(st.integers(start + 1, min(n_src, start + 3)))
        ents.append(Span(start, end, draw(st.sampled_from(["PER", "ORG", "LOC"]))))
        pos = end + draw(st.integers(0, 2))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_src - 1), st.integers(0, n_tgt - 1)), max_size=12))
    return words(n_src), tgt, ents, pairs


@settings(max_examples=300, deadline=None)
@given(sentence_pairs(), st.integers(0, 4))
def test_greedy_equals_the_papers_loop(pair, max_len):
    src, tgt, ents, pairs = pair
    res = project("match-greedy", src, tgt, ents, pairs, max_candidate_length=max_len)
    assert sorted(spans(res)) == reference_greedy(src, tgt, ents, pairs, max_len)
    # the aligned-window shortcut changes nothing
    full = project("match-greedy", src, tgt, ents, pairs, max_candidate_length=max_len, restrict_to_aligned=False)
    assert spans(full) == spans(res)


@settings(max_examples=200, deadline=None)
@given(sentence_pairs(), st.sampled_from(["match-greedy", "match-exact"]), st.integers(0, 3))
def test_every_entity_has_one_outcome_and_matches_never_overlap(pair, method, max_len):
    src, tgt, ents, pairs = pair
    res = project(method, src, tgt, ents, pairs, max_candidate_length=max_len)
    projected = [p.source for p in res.projected]
    unprojected = [u.source for u in res.unprojected]
    assert len(projected) == len(set(projected))  # at most one candidate per entity
    assert sorted(projected + unprojected) == list(range(len(ents)))
    out = res.spans()
    for a, b in zip(out, out[1:]):
        assert a.end <= b.start
    if method == "match-exact":
        greedy = project("match-greedy", src, tgt, ents, pairs, max_candidate_length=max_len)
        assert sum(p.score for p in res.projected) >= sum(p.score for p in greedy.projected) - 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(sentence_pairs(), min_size=1, max_size=25), st.sampled_from(["match-greedy", "match-exact"]),
       st.integers(0, 3), st.booleans(), st.sampled_from([None, ("PER", "LOC")]))
def test_batch_engine_equals_sentence_by_sentence(pairs, method, max_len, restrict, labels):
    params = dict(max_candidate_length=max_len, restrict_to_aligned=restrict, n_candidates=2)
    if labels:
        params["target_labels"] = labels
    records = [{"id": i, "src_tokens": s, "tgt_tokens": t, "src_entities": e,
                "alignment": Alignment.from_pairs(p)} for i, (s, t, e, p) in enumerate(pairs)]
    batch = project_batch(method, records, **params)
    for rec, got in zip(records, batch):
        one = project(method, rec["src_tokens"], rec["tgt_tokens"], rec["src_entities"], rec["alignment"], **params)
        assert got.projected == one.projected
        assert got.unprojected == one.unprojected
        assert got.candidates == one.candidates


def test_batch_reports_the_bad_sentence():
    records = [{"id": "ok", "src_tokens": ["a"], "tgt_tokens": ["b"], "src_entities": [Span(0, 1, "PER")],
                "alignment": [(0, 0)]},
               {"id": "broken", "src_tokens": ["a"], "tgt_tokens": ["b"], "src_entities": [Span(0, 1, "PER")],
                "alignment": [(0, 5)]}]
    with pytest.raises(XlnerError) as e:
        project_batch("match-greedy", records)
    assert e.value.code == "E202" and "broken" in e.value.message
    with pytest.raises(XlnerError) as e:
        project_batch("match-greedy", [{"src_tokens": ["a"]}])
    assert e.value.code == "E206"


def test_many_interacting_entities_use_milp():
    # 12 one-word entities all aligned to the same 3 target words: more than the DP takes
    n = 12
    pairs = [(i, j) for i in range(n) for j in range(3)]
    res = project("match-exact", words(n), words(3, "t"), [Span(i, i + 1, "PER") for i in range(n)], pairs)
    assert len(res.projected) == 3  # three one-word spans (1.0 each) beat [0,3) alone (1.5)
    assert math.isclose(sum(p.score for p in res.projected), 3.0)


def _raw_problem(n: int, n_ent: int, seed: int, spacing: int = 2):
    rng = np.random.default_rng(seed)
    ents = [Span(spacing * i, spacing * i + 2, "PER") for i in range(n_ent)]
    pairs = [(i, int(np.clip(i + rng.integers(-4, 5), 0, n - 1))) for i in range(n) for _ in range(2)]
    return words(n), words(n, "t"), ents, pairs


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_on_a_crowded_sentence_equals_the_unreduced_integer_programme(seed):
    # 11 entities whose candidates all interact: the reductions (sub-interval dominance, fixed
    # entities, independent groups) must not lose the optimum of the full problem.
    src, tgt, ents, pairs = _raw_problem(30, 11, seed)
    res = project("match-exact", src, tgt, ents, pairs)
    links = np.zeros((30, 30), bool)
    links[tuple(np.array(pairs).T)] = True
    cands = ngram_candidates(tgt)
    e_s = np.array([e.start for e in ents])
    e_e = np.array([e.end for e in ents])
    from xlner.project.matching import dice_scores, entity_link_counts

    scores = dice_scores(entity_link_counts(links, e_s, e_e), e_e - e_s, cands[:, 0], cands[:, 1])
    sub = np.where(scores > 0, scores, -np.inf)
    keep = np.flatnonzero(np.isfinite(sub).any(axis=0))
    raw = _milp_match(sub[:, keep], cands[keep, 0], cands[keep, 1], 30)
    raw_total = check_feasible([(r, int(keep[c])) for r, c in raw], scores, cands[:, 0], cands[:, 1])
    assert sum(p.score for p in res.projected) == pytest.approx(raw_total, abs=1e-9)


@pytest.mark.timeout(120)
def test_exact_stays_fast_on_a_long_sentence_with_many_entities():
    # 150 words, 25 entities, unlimited candidate length: 280k (entity, n-gram) pairs before the
    # reductions (a plain milp on them took minutes).
    src, tgt, ents, pairs = _raw_problem(150, 25, 0, spacing=6)
    greedy = project("match-greedy", src, tgt, ents, pairs)
    exact = project("match-exact", src, tgt, ents, pairs)
    assert sum(p.score for p in exact.projected) >= sum(p.score for p in greedy.projected) - 1e-9
    assert len({p.source for p in exact.projected}) + len(exact.unprojected) == 25
