"""The review queue (orders, assignment, next undecided, progress) and the agreement figures."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import cohen_kappa_score

from annotation_helpers import DEMO_RUNS
from xlner.corrections.agreement import cohen_kappa, pair_agreement
from xlner.attribution import STAGES, attribute_record
from xlner.corrections.queue import (assigned_positions, next_undecided, order_sentences, progress, queue_items,
                                     sentence_categories, stage_errors)
from xlner.explorer.loading import load_run_records

RECS = load_run_records(DEMO_RUNS / "eu-match-greedy")


def _ids_with_entities():
    return [r.id for r in RECS if r.projection.projected]


def test_orders_by_score_and_error_category_and_custom_key():
    run_order = order_sentences(RECS)
    assert run_order == _ids_with_entities()
    by_score = order_sentences(RECS, "score")
    lowest = {r.id: min(p.score for p in r.projection.projected) for r in RECS if r.projection.projected}
    assert [lowest[s] for s in by_score] == sorted(lowest.values()) and set(by_score) == set(run_order)
    by_cat = order_sentences(RECS, "category")
    cats = {r.id: sentence_categories(r) for r in RECS}
    first, last = cats[by_cat[0]], cats[by_cat[-1]]
    assert any(c != "correct" for c in first) and all(c == "correct" for c in last)
    # sentences where projection found nothing but gold has entities are queued for an add
    assert {r.id for r in RECS if not r.projection.projected and r.gold} <= set(by_cat)
    custom = order_sentences(RECS, "custom", key=lambda r: -len(r.tgt_tokens))
    by_id = {r.id: r for r in RECS}
    assert len(by_id[custom[0]].tgt_tokens) == max(len(r.tgt_tokens) for r in RECS if r.projection.projected)
    with pytest.raises(ValueError):
        order_sentences(RECS, "custom")


@pytest.mark.parametrize("stage", STAGES)
def test_orders_by_the_errors_attributed_to_one_stage(stage):
    """``stage:X`` puts the sentences with the most errors that xlner.attribution gives to X first."""
    ordered = order_sentences(RECS, f"stage:{stage}")
    by_id = {r.id: r for r in RECS}
    counts = [sum(a.stage == stage for a in attribute_record(by_id[s])) for s in ordered]
    assert counts == sorted(counts, reverse=True)
    assert set(ordered) == set(order_sentences(RECS, "category"))  # the same sentences, another order
    # ties keep the run's order
    position = {r.id: i for i, r in enumerate(RECS)}
    for a, b, ca, cb in zip(ordered, ordered[1:], counts, counts[1:]):
        assert ca > cb or position[a] < position[b]


def test_stage_orders_differ_on_real_data():
    """On the Basque demo run every stage has errors of its own, so each stage order starts elsewhere
    than run order (the orders are not a relabelled run order)."""
    firsts = {stage: order_sentences(RECS, f"stage:{stage}")[0] for stage in STAGES}
    totals = {stage: sum(stage_errors(r, stage) for r in RECS) for stage in STAGES}
    for stage in STAGES:
        if totals[stage]:
            assert stage_errors(next(r for r in RECS if r.id == firsts[stage]), stage) == max(
                stage_errors(r, stage) for r in RECS)
    assert sum(1 for t in totals.values() if t) >= 2, totals


def test_next_undecided_wraps_and_progress_counts():
    items = queue_items(RECS, order_sentences(RECS))
    assert next_undecided(items, []) == items[0]
    assert next_undecided(items, items[:3], after=items[0]) == items[3]
    assert next_undecided(items, items[2:], after=items[5]) == items[0]  # wraps to the start
    assert next_undecided(items, items) is None
    assert progress(items, items[:4] + [("elsewhere", "0-1-PER")]) == (4, len(items))
    # within a sentence entities come in reading order
    first_sid = items[0][0]
    starts = [int(e.split("-")[0]) for s, e in items if s == first_sid]
    assert starts == sorted(starts)


def test_assignment_positions():
    rows = [{"annotator": "ane", "first": 0, "last": 3}, {"annotator": "ane", "first": 10, "last": 12},
            {"annotator": "jon", "first": 3, "last": 10}]
    assert assigned_positions(rows, "ane") == {0, 1, 2, 10, 11}
    assert assigned_positions(rows, "mikel") is None


def test_kappa_matches_scikit_learn_and_is_undefined_without_variation():
    a = ["keep", "keep", "reject", "keep", "reject", "reject", "keep"]
    b = ["keep", "reject", "reject", "keep", "reject", "keep", "keep"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    rng = random.Random(0)
    for _ in range(50):  # scikit-learn as the oracle, on random keep/reject/fix sequences
        n = rng.randint(2, 40)
        x = [rng.choice(["keep", "reject", "fix"]) for _ in range(n)]
        y = [rng.choice(["keep", "reject", "fix"]) for _ in range(n)]
        want = cohen_kappa_score(x, y)
        got = cohen_kappa(x, y)
        assert (got is None and (want != want or x == y)) or got == pytest.approx(want)
    assert cohen_kappa(["keep"] * 4, ["keep"] * 4) is None
    assert cohen_kappa([], []) is None


def _row(i, who, sentence, entity, action, span=None):
    s, e, lab = span or (None, None, None)
    return {"id": i, "annotator": who, "sentence": sentence, "entity": entity, "action": action, "start": s,
            "end": e, "label": lab, "role": "annotate"}


def test_span_f1_only_counts_sentences_both_reviewed():
    rows = [_row(1, "a", "1", "0-1-PER", "accept", (0, 1, "PER")),
            _row(2, "b", "1", "0-1-PER", "fix", (0, 2, "PER")),
            _row(3, "a", "1", "new-3-4-LOC", "add", (3, 4, "LOC")),
            _row(4, "b", "1", "new-3-4-LOC", "add", (3, 4, "LOC")),
            _row(5, "a", "2", "0-1-ORG", "accept", (0, 1, "ORG"))]  # only a saw sentence 2
    p = pair_agreement(rows, "a", "b")
    assert (p.sentences, p.spans_a, p.spans_b, p.spans_both) == (1, 2, 2, 1)
    assert p.span_f1 == pytest.approx(0.5) and p.entities == 1 and p.observed == 1.0 and p.kappa is None
