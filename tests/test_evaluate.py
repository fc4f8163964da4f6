"""Evaluation (xlner.evaluate, xlner evaluate): seqeval as the oracle, on real data."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score
from seqeval.scheme import IOB2
from typer.testing import CliRunner

from xlner.evaluate import evaluate_files
from xlner.data import read_dataset, read_records
from xlner.datamodel import Sentence, Span
from xlner.errors import XlnerError
from xlner.evaluate import (_f1, _resampled_sums, bootstrap_f1_ci, evaluate, evaluate_tags,
                            paired_bootstrap_diff, proj_ratio, sentence_counts)

SHARED = Path(__file__).parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
REAL = ["masakhaner2/swa/test.txt", "conll03-en/test.txt", "conll02-es/dev.txt"]


def perturb(tags: list[str], rng: random.Random, types: list[str]) -> list[str]:
    """A plausible bad tagger: wrong types, stray I- starts, lost and invented entities, shifted ends."""
    out = list(tags)
    for i, tag in enumerate(out):
        r = rng.random()
        if tag == "O":
            if r < 0.02:
                out[i] = f"B-{rng.choice(types)}"
            elif r < 0.03:
                out[i] = f"I-{rng.choice(types)}"  # an entity that starts with I- (projection does this)
        elif r < 0.08:
            out[i] = "O"
        elif r < 0.14:
            out[i] = f"{tag[0]}-{rng.choice(types)}"
        elif r < 0.2 and tag.startswith("B-"):
            out[i] = "I" + tag[1:]
    return out


def write_tags(path: Path, tokens: list[list[str]], tags: list[list[str]]) -> None:
    path.write_text("".join("".join(f"{t} {g}\n" for t, g in zip(tt, gg)) + "\n" for tt, gg in zip(tokens, tags)),
                    encoding="utf-8")


def seqeval_numbers(gold_tags, pred_tags, **kw):
    rep = classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0, **kw)
    overall = rep.pop("micro avg")
    for key in ("macro avg", "weighted avg"):
        rep.pop(key)
    return overall, rep


@pytest.fixture(scope="module", params=REAL)
def real_pair(request, tmp_path_factory):
    if not SHARED.exists():
        pytest.skip("../shared/data is not present")
    gold_path = SHARED / request.param
    records, _ = read_records(gold_path)
    types = sorted({t[2:] for r in records for t in r.tags if t != "O"})
    rng = random.Random(13)
    pred_tags = [perturb(r.tags, rng, types) for r in records]
    pred_path = tmp_path_factory.mktemp("pred") / "pred.conll"
    write_tags(pred_path, [r.tokens for r in records], pred_tags)
    return gold_path, pred_path, [r.tags for r in records], pred_tags


# --- seqeval equality on real data ----------------------------------------------------------------

@needs_shared
def test_default_mode_equals_seqeval(real_pair):
    gold_path, pred_path, gold_tags, pred_tags = real_pair
    report = evaluate(read_dataset(gold_path), read_dataset(pred_path))
    overall, per_type = seqeval_numbers(gold_tags, pred_tags)  # seqeval on the *raw* files' tags
    assert report.overall["precision"] == overall["precision"]
    assert report.overall["recall"] == overall["recall"]
    assert report.overall["f1"] == overall["f1-score"]
    assert report.overall["support"] == overall["support"]
    assert report.overall["f1"] == f1_score(gold_tags, pred_tags)
    assert set(report.per_type) == set(per_type)
    for t, m in per_type.items():
        assert (report.per_type[t]["precision"], report.per_type[t]["recall"], report.per_type[t]["f1"],
                report.per_type[t]["support"]) == (m["precision"], m["recall"], m["f1-score"], m["support"])
    # the per-sentence counts behind the bootstrap give the same micro F1
    counts = sentence_counts([s.tags() for s in read_dataset(gold_path).sentences],
                             [s.tags() for s in read_dataset(pred_path).sentences])
    assert _f1(counts.sum(0)) == pytest.approx(report.overall["f1"], abs=1e-12)
    c = report.categories
    assert c["correct"]["count"] == report.overall["n_correct"]
    assert c["correct"]["count"] + c["incorrect"]["count"] + c["partial"]["count"] + c["spurious"]["count"] \
        == report.overall["n_pred"]
    assert c["correct"]["count"] + c["incorrect"]["count"] + c["partial"]["count"] + c["missing"]["count"] \
        == report.overall["support"]


@needs_shared
def test_strict_mode_equals_seqeval_strict_on_raw_prediction_tags(real_pair):
    gold_path, pred_path, _, pred_tags = real_pair
    gold_norm = [s.tags() for s in read_dataset(gold_path).sentences]  # gold is normalised to IOB2
    _, _, report = evaluate_files(str(gold_path), str(pred_path), mode="strict")
    overall, per_type = seqeval_numbers(gold_norm, pred_tags, mode="strict", scheme=IOB2)
    assert (report.overall["precision"], report.overall["recall"], report.overall["f1"]) == \
        (overall["precision"], overall["recall"], overall["f1-score"])
    for t, m in per_type.items():
        assert report.per_type[t]["f1"] == m["f1-score"]
    # stray I- starts count in default mode and not in strict mode
    _, _, default = evaluate_files(str(gold_path), str(pred_path), mode="default")
    assert report.overall["n_pred"] < default.overall["n_pred"]


@needs_shared
def test_ignore_labels_equals_seqeval_without_them():
    gold_path = SHARED / "masakhaner2" / "swa" / "test.txt"
    gold = read_dataset(gold_path)
    rng = random.Random(3)
    pred = [Sentence(s.id, s.tokens, [sp for sp in s.spans if rng.random() < 0.8]) for s in gold.sentences]
    report = evaluate(gold, pred, ignore_labels=["DATE"])
    strip = lambda tags: ["O" if t.endswith("-DATE") else t for t in tags]  # noqa: E731
    overall, per_type = seqeval_numbers([strip(s.tags()) for s in gold.sentences], [strip(s.tags()) for s in pred])
    assert report.overall["f1"] == overall["f1-score"]
    assert "DATE" not in report.per_type and set(report.per_type) == set(per_type)
    # the masakhaner label map at read time gives the same numbers
    mapped = read_dataset(gold_path, label_map="masakhaner")
    pred_mapped = [Sentence(s.id, s.tokens, [sp for sp in s.spans if sp.label != "DATE"]) for s in pred]
    assert evaluate(mapped, pred_mapped).overall == report.overall


# --- refusals --------------------------------------------------------------------------------------

def _sent(i, tokens, *spans):
    return Sentence(f"test:{i}", tokens, list(spans), f"f.conll:{i * 3 + 1}")


def test_refuses_different_tokens_and_counts():
    gold = [_sent(0, ["a", "b"]), _sent(1, ["Juan", "vive"])]
    pred = [_sent(0, ["a", "b"]), _sent(1, ["Juan", "bive"])]
    with pytest.raises(XlnerError) as err:
        evaluate(gold, pred)
    assert err.value.code == "E302" and "test:1" in err.value.message and "'bive'" in err.value.message
    with pytest.raises(XlnerError) as err:
        evaluate(gold, gold[:1])
    assert err.value.code == "E301"
    with pytest.raises(XlnerError) as err:
        evaluate(gold, [gold[0], _sent(1, ["Juan"])])
    assert err.value.code == "E302" and "2 tokens" in err.value.message
    with pytest.raises(XlnerError) as err:
        evaluate(gold, gold, mode="lenient")
    assert err.value.code == "E303"
    with pytest.raises(XlnerError) as err:
        evaluate([], [])
    assert err.value.code == "E306"


# --- projection ratio and categories ------------------------------------------------------------------

def test_proj_ratio_definition():
    toks = ["w"] * 6
    gold = [_sent(0, toks, Span(0, 1, "PER"), Span(2, 3, "LOC")), _sent(1, toks), _sent(2, toks),
            _sent(3, toks, Span(0, 1, "ORG"))]
    pred = [_sent(0, toks, Span(0, 1, "PER")),                        # 1/2
            _sent(1, toks),                                           # 0/0 counts 1
            _sent(2, toks, Span(0, 1, "PER"), Span(3, 4, "PER")),     # 2/0 counts 1 + 2
            _sent(3, toks, Span(0, 1, "ORG"))]                        # 1/1
    assert proj_ratio(gold, pred) == pytest.approx((0.5 + 1 + 3 + 1) / 4)
    assert evaluate(gold, pred).proj_ratio == pytest.approx(proj_ratio(gold, pred))


def test_semeval_categories_with_sentence_ids():
    toks = ["w"] * 12
    gold = [_sent(0, toks, Span(0, 2, "PER")), _sent(1, toks, Span(3, 4, "LOC")),
            _sent(2, toks, Span(5, 7, "ORG")), _sent(3, toks, Span(7, 9, "MISC")), _sent(4, toks)]
    pred = [_sent(0, toks, Span(0, 2, "PER")), _sent(1, toks, Span(3, 4, "ORG")),
            _sent(2, toks, Span(5, 8, "ORG")), _sent(3, toks), _sent(4, toks, Span(9, 10, "LOC"))]
    cats = evaluate(gold, pred).categories
    assert {c: (v["count"], v["ids"]) for c, v in cats.items()} == {
        "correct": (1, ["test:0"]), "incorrect": (1, ["test:1"]), "partial": (1, ["test:2"]),
        "missing": (1, ["test:3"]), "spurious": (1, ["test:4"])}



def _flat(rng: random.Random, n: int) -> list[tuple[str, int, int]]:
    """Dense non-overlapping ``(type, start, end_inclusive)`` entities, so that gold and prediction cross."""
    out, i = [], rng.randrange(2)
    while i < n:
        length = rng.randint(1, 3)
        if rng.random() < 0.8 and i + length <= n:
            out.append((rng.choice(["PER", "LOC", "ORG"]), i, i + length - 1))
        i += length + (rng.random() < 0.15)
    return out


def test_sentence_categories_count_what_nervaluate_counts():
    """Per sentence, the entity-by-entity categories add up to nervaluate's own strict and partial counts,
    and the pairs they name are real: each entity once, a pair's entities overlap."""
    from nervaluate.entities import Entity
    from nervaluate.strategies import PartialEvaluation, StrictEvaluation

    from xlner.evaluate import sentence_categories

    rng = random.Random(0)
    for _ in range(500):
        n = rng.randint(2, 14)
        gold, pred = _flat(rng, n), _flat(rng, n)
        got = sentence_categories(gold, pred)
        strict, _ = StrictEvaluation().evaluate([Entity(*e) for e in gold], [Entity(*e) for e in pred], [])
        partial, _ = PartialEvaluation().evaluate([Entity(*e) for e in gold], [Entity(*e) for e in pred], [])
        count = {c: sum(g[0] == c for g in got) for c in ("correct", "incorrect", "partial", "missing", "spurious")}
        assert count == {"correct": strict.correct, "incorrect": partial.correct - strict.correct,
                         "partial": partial.partial, "missing": partial.missed, "spurious": partial.spurious}
        assert sorted(i for _, i, _ in got if i is not None) == list(range(len(gold)))
        assert sorted(j for _, _, j in got if j is not None) == list(range(len(pred)))
        for cat, i, j in got:
            if i is not None and j is not None:
                (gt, gs, ge), (pt, ps, pe) = gold[i], pred[j]
                assert gs <= pe and ps <= ge
                assert ((gs, ge) == (ps, pe)) == (cat in ("correct", "incorrect"))
                assert (gt == pt) == (cat == "correct") or cat == "partial"

# --- bootstrap --------------------------------------------------------------------------------------

def _toy(n=300, seed=0):
    rng = np.random.default_rng(seed)
    gold, a, b = [], [], []
    for i in range(n):
        spans = [Span(j, j + 1, "PER") for j in range(0, 8, 3) if rng.random() < 0.7]
        gold.append(_sent(i, ["w"] * 9, *spans))
        a.append(_sent(i, ["w"] * 9, *[s for s in spans if rng.random() < 0.9]))
        b.append(_sent(i, ["w"] * 9, *[s for s in spans if rng.random() < 0.6]))
    return gold, a, b


def test_bootstrap_resampling_equals_a_plain_loop():
    counts = np.random.default_rng(1).integers(0, 4, size=(50, 3))
    sums = _resampled_sums(counts, 100, seed=7)
    rng = np.random.default_rng(7)
    loop = []
    for lo in range(0, 100, 64):  # same draws as the vectorised version, summed one resample at a time
        idx = rng.integers(0, 50, size=(min(64, 100 - lo), 50))
        loop.extend(sum(counts[j] for j in row) for row in idx)
    assert np.array_equal(sums, np.array(loop))


def test_bootstrap_ci_contains_point_estimate_and_is_seeded():
    gold, a, _ = _toy()
    f1 = evaluate(gold, a, categories=False).overall["f1"]
    low, high = bootstrap_f1_ci(gold, a, n_boot=500, seed=0)
    assert low < f1 < high and high - low < 0.1
    assert bootstrap_f1_ci(gold, a, n_boot=500, seed=0) == (low, high)
    with pytest.raises(XlnerError):
        bootstrap_f1_ci(gold, a, n_boot=0)


def test_paired_bootstrap_diff():
    gold, a, b = _toy()
    res = paired_bootstrap_diff(gold, a, b, n_boot=500)
    fa = evaluate(gold, a, categories=False).overall["f1"]
    fb = evaluate(gold, b, categories=False).overall["f1"]
    assert res.diff == pytest.approx(fa - fb)
    assert 0 < res.low < res.diff < res.high and res.p_value < 0.01
    same = paired_bootstrap_diff(gold, a, a, n_boot=100)
    assert (same.diff, same.low, same.high) == (0.0, 0.0, 0.0)


@pytest.mark.filterwarnings("ignore::UserWarning")  # the oracle's UndefinedMetricWarning on empty samples
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), min_size=1, max_size=8),
                          st.integers(0, 2**31)), min_size=1, max_size=6))
def test_counts_agree_with_seqeval(samples):
    gold = [tags for tags, _ in samples]
    pred = [random.Random(seed).sample(tags, len(tags)) for tags, seed in samples]
    report = evaluate_tags([str(i) for i in range(len(gold))], gold, pred, categories=False)
    assert report.overall["f1"] == f1_score(gold, pred)
    assert _f1(sentence_counts(gold, pred).sum(0)) == pytest.approx(report.overall["f1"], abs=1e-12)


# --- CLI ---------------------------------------------------------------------------------------------

def _app() -> typer.Typer:
    from xlner.cli import evaluate as evaluate_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    evaluate_cli.register(app)
    return app


def test_cli_table_and_json(tmp_path):
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.jsonl"
    write_tags(gold, [["Juan", "vive", "en", "Madrid"], ["Hola"]], [["B-PER", "O", "O", "B-LOC"], ["O"]])
    pred.write_text(json.dumps({"tokens": ["Juan", "vive", "en", "Madrid"], "tags": ["B-PER", "O", "O", "I-LOC"]})
                    + "\n" + json.dumps({"tokens": ["Hola"], "tags": ["O"]}) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(_app(), ["evaluate", str(gold), str(pred)])
    assert res.exit_code == 0, res.output
    assert "overall" in res.output and "1.0000" in res.output
    res = runner.invoke(_app(), ["evaluate", str(gold), str(pred), "--mode", "strict", "--json"])
    out = json.loads(res.output)
    assert out["overall"]["f1"] == pytest.approx(2 / 3)  # the I-LOC start does not count in strict mode
    assert out["categories"]["missing"]["ids"] == ["gold:0"]
    res = runner.invoke(_app(), ["evaluate", str(gold), str(pred), "--ignore-labels", "LOC", "--json",
                                 "--bootstrap", "50"])
    out = json.loads(res.output)
    assert list(out["per_type"]) == ["PER"] and out["overall"]["f1"] == 1.0 and out["overall"]["f1_ci95"]


def test_cli_refusal_exits_2_with_a_message(tmp_path):
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    write_tags(gold, [["a", "b"]], [["O", "O"]])
    write_tags(pred, [["a", "c"]], [["O", "O"]])
    proc = subprocess.run([sys.executable, "-c", "from xlner.cli import main; main()", "evaluate",
                           str(gold), str(pred)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error[E302]" in proc.stderr and "gold:0" in proc.stderr and "Traceback" not in proc.stderr


def test_mismatch_blocks_mark_the_differing_rows():
    from xlner.evaluate import mismatch_blocks

    gold = [_sent(0, ["Juan", "vive"], Span(0, 1, "PER")), _sent(1, ["en", "Bilbo"], Span(1, 2, "LOC"))]
    pred = [_sent(0, ["Juan", "vive"], Span(0, 1, "PER")), _sent(1, ["en", "Bilbo"], Span(1, 2, "ORG"))]
    text = mismatch_blocks(gold, pred)
    assert "test:0" not in text and text.startswith("# test:1")
    assert [line.endswith("<<<") for line in text.splitlines()[1:]] == [False, True]
    assert mismatch_blocks(gold, pred, ignore_labels=["LOC", "ORG"]) == ""


@st.composite
def _span_lists(draw, n=12):
    spans, i = [], 0
    while i < n:
        if draw(st.booleans()):
            length = draw(st.integers(1, min(3, n - i)))
            spans.append(Span(i, i + length, draw(st.sampled_from(["PER", "LOC"]))))
            i += length
        else:
            i += 1
    return spans


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_span_lists(), _span_lists()), min_size=1, max_size=5),
       st.sampled_from(["default", "strict"]))
def test_span_path_equals_tag_path(pairs, mode):
    gold = [_sent(i, ["w"] * 12, *g) for i, (g, _) in enumerate(pairs)]
    pred = [_sent(i, ["w"] * 12, *p) for i, (_, p) in enumerate(pairs)]
    by_spans = evaluate(gold, pred, mode=mode, ignore_labels=["LOC"])
    by_tags = evaluate_tags([s.id for s in gold], [s.tags() for s in gold], [s.tags() for s in pred],
                            mode=mode, ignore_labels=["LOC"])
    assert by_spans.to_dict() == by_tags.to_dict()


def test_overlapping_spans_are_refused():
    with pytest.raises(XlnerError) as err:
        evaluate([_sent(0, ["a", "b"])], [_sent(0, ["a", "b"], Span(0, 2, "PER"), Span(1, 2, "LOC"))])
    assert err.value.code == "E305" and "test:0" in err.value.message


def test_run_labels_are_checked_against_the_gold_and_the_tagger():
    """check_run_labels: an unknown name is E313; absent from the scored subset E314; a type the
    tagger cannot emit E315; without gold only the tagger decides, without tagger only the gold."""
    from xlner.errors import XlnerWarning
    from xlner.evaluate import check_run_labels

    tagger = ("PER", "ORG", "LOC", "MISC")
    gold = {"PER", "LOC", "DATE"}
    with pytest.raises(XlnerError) as err:
        check_run_labels(["PER", "GPE"], gold_types=gold, scored_types=gold, n_scored=3, tagger_types=tagger)
    assert err.value.code == "E313" and "GPE" in err.value.message and "DATE, LOC, PER" in err.value.message
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = check_run_labels(["per", "loc", "PER"], gold_types=gold, scored_types={"PER"}, n_scored=2,
                               tagger_types=tagger, limit=2)
    assert got == ["PER", "LOC"]
    [w] = [w.message for w in seen if isinstance(w.message, XlnerWarning)]
    assert w.code == "E314" and "LOC" in str(w) and "--limit" in str(w)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check_run_labels(["DATE"], gold_types=gold, scored_types=gold, n_scored=3, tagger_types=tagger)
    assert [w.message.code for w in seen if isinstance(w.message, XlnerWarning)] == ["E315"]
    # no gold (plain text): the tagger's types are the only ones a name can mean
    assert check_run_labels(["MISC"], gold_types=None, scored_types=None, n_scored=2, tagger_types=tagger) == ["MISC"]
    with pytest.raises(XlnerError) as err:
        check_run_labels(["DATE"], gold_types=None, scored_types=None, n_scored=2, tagger_types=tagger)
    assert err.value.code == "E313" and "gold (none)" in err.value.message
    # translate-train: no tagger, the gold alone decides
    with pytest.raises(XlnerError) as err:
        check_run_labels(["MISC"], gold_types=gold, scored_types=gold, n_scored=3, tagger_types=None)
    assert err.value.code == "E313" and "(not used)" in err.value.message
