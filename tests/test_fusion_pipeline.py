"""Fused projection as a pipeline method: ``match-fused`` / ``match-fused+ensemble`` on run records,
the ``target_tagger`` step, the ``offline-fusion`` profile and their bad input.

The record-level expectations are written out from the thesis formulas (method.md §4): fused score =
``lambda_align * Dice + lambda_ner * NER``, NER = ``1.15 ** (len - 1) * mean(p(B-l), p(I-l)...)``.
The end-to-end test trains a tiny token classifier inside the test (``xlner.train``) and runs the
real offline components (Apertium, SimAlign on e5-small) on real Basque demo sentences.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from xlner.datamodel import Alignment, ScoredSpan, Span
from xlner.errors import XlnerError
from xlner.ner import iob_columns
from xlner.pipeline import Options, load_profile, translate_test
from xlner.project import FUSED_METHODS, METHODS, project, project_records
from xlner.project.consistency import vote_types
from xlner.project.fused import TargetNer
from xlner.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
DATA = ROOT.parent / "shared" / "data"

COLUMNS = iob_columns(["PER", "LOC"])  # O, B-PER, I-PER, B-LOC, I-LOC
# "Jon Parisen bizi da Bilbon": the tagger calls Jon a place (0.8), Parisen and Bilbon places.
PROBS = np.array([[0.05, 0.15, 0.00, 0.80, 0.00],
                  [0.10, 0.00, 0.00, 0.90, 0.00],
                  [0.97, 0.01, 0.00, 0.01, 0.01],
                  [0.97, 0.01, 0.00, 0.01, 0.01],
                  [0.02, 0.00, 0.00, 0.97, 0.01]])
NER = TargetNer([Span(0, 1, "LOC"), Span(1, 2, "LOC"), Span(4, 5, "LOC")], [0.80, 0.90, 0.97], PROBS, COLUMNS)


def _record() -> RunRecord:
    return RunRecord("s1", ["Jon", "Parisen", "bizi", "da", "Bilbon"], None,
                     src_tokens=["John", "lives", "in", "Paris"],
                     src_entities=[ScoredSpan(Span(0, 1, "PER")), ScoredSpan(Span(3, 4, "LOC"))],
                     alignment=Alignment(np.array([[0, 0], [1, 2], [3, 1]])))


OPTIONS = {"weights": {"align": 1.0, "ner": 1.0}, "ner_variant": "ner", "retype_if": 0.7, "add_if": 0.9}


def test_fused_records_hand_computed_scores_components_and_origin():
    res = project_records([_record()], "match-fused", {"options": OPTIONS}, [NER])[0]
    # Paris -> Parisen: Dice 2*1/(1+1) = 1, NER(LOC, [1,2)) = 0.90 -> 1.90, picked first;
    # John -> Jon: Dice 1, NER(PER, [0,1)) = p(B-PER) = 0.15 -> 1.15
    assert [(p.span, p.source) for p in res.projected] == [(Span(0, 1, "PER"), 0), (Span(1, 2, "LOC"), 1)]
    assert [p.score for p in res.projected] == pytest.approx([1.15, 1.90])
    best = {c.source: c for c in res.candidates if (c.start, c.end) in ((0, 1), (1, 2))}
    assert best[0].components == pytest.approx({"align": 1.0, "ner": 0.15})
    assert best[1].components == pytest.approx({"align": 1.0, "ner": 0.90})
    assert best[0].origin == "ner" and best[1].origin == "ner"  # both are tagger spans
    two = next(c for c in res.candidates if c.source == 0 and (c.start, c.end) == (0, 2))
    # "Jon Parisen" as a PER n-gram: Dice 2/3, NER 1.15 * (0.15 + 0) / 2 = 0.08625
    assert two.origin == "ngram" and two.score == pytest.approx(2 / 3 + 0.08625)
    assert two.components == pytest.approx({"align": 2 / 3, "ner": 0.08625})


def test_ensemble_retypes_adds_and_rejects_with_its_thresholds():
    res = project_records([_record()], "match-fused+ensemble", {"options": OPTIONS}, [NER])[0]
    # Jon retyped PER -> LOC (tagger's LOC score on exactly [0,1) is 0.80 >= 0.7); Bilbon added
    # (confidence 0.97 >= 0.9, overlaps no projected span) with no English entity behind it.
    assert [(p.span, p.source) for p in res.projected] == [
        (Span(0, 1, "LOC"), 0), (Span(1, 2, "LOC"), 1), (Span(4, 5, "LOC"), -1)]
    assert res.projected[2].score == pytest.approx(0.97)
    strict = {"options": {**OPTIONS, "drop_if_o": 0.08, "add_if": None}}
    res = project_records([_record()], "match-fused+ensemble", strict, [NER])[0]
    # mean p(O) of Parisen is 0.10 >= 0.08: the tagger contradicts it; Jon (0.05) stays
    assert [(p.span, p.source) for p in res.projected] == [(Span(0, 1, "LOC"), 0)]
    assert [(u.source, u.reason.value) for u in res.unprojected] == [(1, "rejected_by_target_model")]
    # match-fused ignores the ensemble's thresholds: one profile serves both methods
    plain = project_records([_record()], "match-fused", strict, [NER])[0]
    assert [p.span.label for p in plain.projected] == ["PER", "LOC"] and not plain.unprojected


def test_fused_methods_are_registered_and_refuse_missing_tagger_output():
    assert set(FUSED_METHODS) <= set(METHODS)
    with pytest.raises(XlnerError) as err:
        project("match-fused", ["John"], ["Jon"], [Span(0, 1, "PER")], [[0, 0]])
    assert err.value.code == "E685"
    with pytest.raises(XlnerError) as err:
        project_records([_record()], "match-fused+ensemble", {"options": OPTIONS})
    assert err.value.code == "E685"
    with pytest.raises(XlnerError) as err:
        project_records([_record(), _record()], "match-fused", {"options": OPTIONS}, [NER])
    assert err.value.code == "E687"
    with pytest.raises(XlnerError) as err:  # no seq2seq model behind an nmt weight
        project_records([_record()], "match-fused", {"options": {"weights": {"nmt": 0.5}}}, [NER])
    assert err.value.code == "E686"
    with pytest.raises(XlnerError) as err:  # a bad option is refused by the registry, naming it
        project_records([_record()], "match-fused", {"options": {"retype_if": 1.5}}, [NER])
    assert err.value.code == "E761" and "retype_if" in err.value.message


def test_exact_solver_total_is_never_below_greedy_on_the_records():
    greedy = project_records([_record()], "match-fused", {"options": OPTIONS}, [NER])[0]
    exact = project_records([_record()], "match-fused", {"options": {**OPTIONS, "solver": "exact"}}, [NER])[0]
    assert sum(p.score for p in exact.projected) >= sum(p.score for p in greedy.projected) - 1e-9


def _demo(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "eu.jsonl"
    path.write_text("\n".join((DEMO / "eu.jsonl").read_text(encoding="utf-8").splitlines()[:n]) + "\n",
                    encoding="utf-8")
    return path


def test_offline_fusion_without_a_model_is_refused_before_any_work(tmp_path):
    data = _demo(tmp_path, 2)
    for kw in ({"profile": "offline-fusion"}, {"profile": "offline", "method": "match-fused"}):
        out = tmp_path / f"run-{len(kw)}-{kw['profile']}"
        with pytest.raises(XlnerError) as err:
            translate_test(Options(data=str(data), lang="eu", out=str(out), shared_cache=False, progress=False, **kw))
        assert err.value.code == "E684" and "target_tagger.model" in err.value.message
        assert not (out / "steps").exists()
    with pytest.raises(XlnerError) as err:  # a folder that is no token classifier is named
        translate_test(Options(data=str(data), lang="eu", out=str(tmp_path / "run-bad"), shared_cache=False,
                               progress=False, profile="offline-fusion",
                               settings={"target_tagger.model": str(tmp_path)}))
    assert err.value.code == "E680" and str(tmp_path) in err.value.message
    assert not (tmp_path / "run-bad" / "steps").exists()


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory):
    """A tiny BERT token classifier trained on 150 real English CoNLL-03 sentences (PER/ORG/LOC),
    its vocabulary also built from the Basque demo words it will read."""
    import torch

    from xlner.data import read_dataset
    from xlner.train import TrainConfig, build_tiny_encoder, iob2_labels, train_ner

    torch.set_num_threads(1)
    train = read_dataset(DATA / "conll03-en" / "train.txt").sentences[:150]
    demo = [json.loads(line)["tokens"] for line in (DEMO / "eu.jsonl").read_text(encoding="utf-8").splitlines()]
    root = tmp_path_factory.mktemp("fusion-models")
    encoder = build_tiny_encoder([s.tokens for s in train] + demo, root / "tiny")
    out = root / "tagger"
    train_ner(train, out, model=encoder, labels=iob2_labels(["PER", "ORG", "LOC"]),
              config=TrainConfig(epochs=3, batch_size=8, lr=3e-3, freeze_embeddings=False, max_length=64,
                                 progress=False))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")
def test_offline_fusion_end_to_end_with_a_tagger_trained_in_the_test(tmp_path, tiny_tagger):
    # the profile's English NER is the target tagger's model ({target_tagger})...
    profile = load_profile("offline-fusion", {"target_tagger.model": str(tiny_tagger)})
    assert profile["tagger"] == {"name": "hf", "model": str(tiny_tagger / "model"), "local_files_only": True}
    # ...but a tiny model trained in seconds finds next to no English entity to project: the English
    # side here is the offline profile's spaCy NER, the tiny model tags the Basque sentences
    data = _demo(tmp_path, 5)
    opts = Options(data=str(data), lang="eu", out=str(tmp_path / "run"), shared_cache=False, progress=False,
                   profile="offline-fusion", labels=["PER", "ORG", "LOC"],
                   settings={"target_tagger.model": str(tiny_tagger), "tagger": load_profile("offline")["tagger"]})
    run = translate_test(opts)
    assert run.config["method"] == "match-fused+ensemble"
    assert run.config["components"]["target_tagger"]["model"] == str(tiny_tagger)
    assert {"target_tag", "project"} <= set(run.metrics["seconds"])
    records = run.records
    weights = {"align": 0.5, "ner": 1.0, "capitalization": 1.0}  # the profile's tuned weights
    listed = [c for r in records for c in r.projection.candidates]
    assert listed, "five news sentences with names give candidates"
    for c in listed:  # every stored score is the weighted sum of its stored components
        assert set(c.components or {}) == set(weights) and c.origin in ("ngram", "ner")
        assert c.score == pytest.approx(sum(weights[k] * v for k, v in c.components.items()), abs=1e-5)
    # the stored projection is what the library gives on the records with the tagger's cached output
    table = pq.read_table(next((tmp_path / "run" / "steps").glob("target_tag-*.parquet"))).to_pylist()
    ner = [TargetNer([Span(e["start"], e["end"], e["label"]) for e in row["tgt_ner_entities"]],
                     [e["score"] for e in row["tgt_ner_entities"]],
                     np.asarray(row["tgt_ner_probs"], dtype=np.float64), row["tgt_ner_columns"])
           for row in table]
    # (then the profile's run-level type vote over the whole run)
    settings = run.config["components"]["projection"]
    again = project_records(records, "match-fused+ensemble", settings, ner)
    spans = vote_types([r.tgt_tokens for r in records], [[p.span for p in res.projected] for res in again],
                       settings["type_vote"])
    assert [list(zip(s, [p.source for p in res.projected])) for s, res in zip(spans, again)] == \
        [[(p.span, p.source) for p in r.projection.projected] for r in records]
    # a rerun reads every step from the cache; another method reuses the tagger's output
    rerun = translate_test(opts)
    assert set(rerun.metrics["cached_steps"]) >= {"target_tag", "project", "ner", "align"}
    other = translate_test(dataclasses.replace(opts, method="match-fused"))
    assert "target_tag" in other.metrics["cached_steps"] and "project" not in other.metrics["cached_steps"]
    assert all(p.source >= 0 for r in other.records for p in r.projection.projected)


def test_fused_records_refuse_another_method():
    from xlner.project.fused import project_fused_records

    with pytest.raises(XlnerError) as err:
        project_fused_records([_record()], "match-greedy", {}, [NER])
    assert err.value.code == "E688" and "match-greedy" in err.value.message


def test_back_translation_cannot_use_a_fused_method(tmp_path):
    """Nothing runs the target tagger on a back-translation's words: refused before any work."""
    data = _demo(tmp_path, 2)
    with pytest.raises(XlnerError) as err:
        translate_test(Options(data=str(data), lang="eu", out=str(tmp_path / "run"), shared_cache=False,
                               progress=False, settings={"back_translation.method": "match-fused"}))
    assert err.value.code == "E750" and "match-fused" in err.value.message
    assert "match-fused" not in err.value.message.split("one of")[1].split(", not")[0]


@pytest.mark.slow
@pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")
def test_fused_projection_is_an_experiment_method(tmp_path, monkeypatch):
    """``projection-fused`` in the experiment runner: the seed's tiny teacher is the target tagger of
    the translate-test pipeline (Apertium + spaCy, identical-token aligner for speed), one cell per
    seed and Basque test set, scored by the pipeline's own evaluation."""
    import pandas as pd
    import yaml

    from xlner.experiment import run_domain_shift
    from xlner.runs import load_run

    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "cache"))
    cfg = yaml.safe_load((ROOT / "src/xlner/configs/tiny-test.yaml").read_text())
    cfg.update(methods=["model-transfer", "projection-fused"], seeds=[0],
               projection={"set": {"aligner": {"name": "identity"}}})
    cfg["test_sets"] = [dict(t, max_sentences=10) for t in cfg["test_sets"] if t["language"] == "eu"]
    cfg["teacher"]["epochs"] = 1
    path = tmp_path / "fused.yaml"
    path.write_text(yaml.safe_dump(cfg))
    exp = tmp_path / "exp"
    run_domain_shift(path, exp, data_root=DATA, log=None, progress=False)
    res = pd.read_csv(exp / "results.csv")
    fused = res[res.method == "projection-fused"]
    assert set(fused.test_set) == {"eu-news-val", "eu-wiki-val"} and set(fused.seed) == {0}
    for _, r in fused.iterrows():
        (folder,) = (exp / "pipeline").glob(f"translate-test-fused__test-{r.test_set}-s0-*")
        pipe = load_run(folder)
        assert pipe.config["method"] == "match-fused+ensemble"
        assert pipe.config["components"]["target_tagger"]["model"].startswith(str(exp))  # the seed's teacher
        assert pipe.metrics["overall"]["f1"] == pytest.approx(r.f1)
