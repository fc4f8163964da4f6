"""The experiment runner's translate-train method, its per-language method plan (E811), the shipped
Spanish/MasakhaNER2 config, the per-test-set method comparisons and the PNG plots.

End-to-end runs use a tiny BERT built in the test, real Apertium (eng->spa, spa->eng) and tiny
subsets of ../shared/data; nothing is stubbed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xlner.errors import XlnerError
from xlner.experiment import (find_browser, load_config, load_experiment, load_spec, plan_methods,
                              run_domain_shift, spans_of, teacher_dir, write_plots)

DATA = Path(__file__).parents[1].parent / "shared" / "data"
REPO = Path(__file__).parents[1]
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")

TINY_TRAIN = {"epochs": 2, "batch_size": 8, "lr": 0.003, "freeze_embeddings": False, "max_length": 64}


def write_config(tmp_path: Path, **changes) -> Path:
    """A tiny Spanish (+ Swahili) transfer config: 60 English sentences, a dozen test sentences."""
    cfg = {
        "name": "tiny-transfer", "encoder": "tiny", "types": ["PER", "ORG", "LOC"], "seeds": [0, 1],
        "methods": ["model-transfer", "projection", "translate-train"],
        "source": {"train": {"path": "conll03-en/train.txt", "max_sentences": 60}},
        "test_sets": [
            {"name": "es-test", "path": "conll02-es/test.txt", "language": "es", "domain": "news",
             "max_sentences": 12},
            {"name": "swa-test", "path": "masakhaner2/swa/test.txt", "language": "swa", "domain": "news",
             "max_sentences": 8}],
        "teacher": {**TINY_TRAIN, "epochs": 10}, "student": TINY_TRAIN,
        # the identical-token aligner keeps the test fast; the shipped configs use the profile's SimAlign
        "projection": {"profile": "offline", "set": {"aligner": {"name": "identity"}}},
        # 30 epochs on 25 sentences: enough for the tiny student to learn its silver labels
        "translate_train": {"max_sentences": 25, "min_score": 0.5, "student": {"epochs": 30}},
        "n_boot": 200}
    cfg.update(changes)
    path = tmp_path / "transfer.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transfer")
    mp = pytest.MonkeyPatch()
    mp.setenv("XLNER_CACHE", str(tmp / "cache"))  # keep the shared step cache clean
    exp = tmp / "exp"
    logs: list[str] = []
    run_domain_shift(write_config(tmp), exp, data_root=DATA, log=logs.append, progress=False)
    yield exp, logs, tmp
    mp.undo()


@pytest.mark.slow
def test_translate_train_end_to_end(transfer):
    from xlner.runs import load_run

    exp, logs, _ = transfer
    res = pd.read_csv(exp / "results.csv")
    cells = {m: set(zip(g.test_set, g.seed)) for m, g in res.groupby("method")}
    assert cells["translate-train"] == {("es-test", 0), ("es-test", 1)}
    assert set(res[res.method == "projection"].test_set) == {"es-test"}
    assert set(res[res.method == "model-transfer"].test_set) == {"es-test", "swa-test"}
    # Swahili has no Apertium pair: skipped with the reason, not failed
    assert "translate-train: skipped for swa (Apertium has no en->swa direction installed)" in logs
    assert any(line.startswith("projection: skipped for swa") for line in logs)

    # the pipeline's translate-train task translated the 25 English sentences with Apertium eng->spa
    pipe = load_run(exp / "pipeline" / "translate-train__es")
    recs = pipe.records
    assert pipe.config["task"] == "translate-train" and len(recs) == 25
    assert pipe.config["components"]["translator"]["name"] == "apertium"
    changed = [r for r in recs if r.tgt_tokens != r.src_tokens]
    assert len(changed) >= 20  # actually translated, not copied
    assert any(w in {"el", "la", "de", "en", "los"} for r in recs for w in r.tgt_tokens)

    # silver = the projections that passed min_score 0.5, on the translated tokens
    silver = [json.loads(line) for line in (exp / "cache" / "translate-train-es.jsonl").read_text().splitlines()]
    assert len(silver) == len([r for r in recs if r.tgt_tokens])
    expected = [spans_of([e for e in r.projection.projected if e.score >= 0.5], ["PER", "ORG", "LOC"])[0]
                for r in recs if r.tgt_tokens]
    for s, spans in zip(silver, expected):
        assert s["tokens"] and len(s["tokens"]) == len(s["tags"])
        assert sum(t.startswith("B-") for t in s["tags"]) == len(spans)
    n_entities = sum(len(x) for x in expected)
    assert n_entities > 10
    assert n_entities < sum(len(r.projection.projected) for r in recs) or all(
        e.score >= 0.5 for r in recs for e in r.projection.projected)

    # one student per seed on hard silver labels, with translate_train.student overriding student
    for seed in (0, 1):
        state = json.loads((exp / "models" / f"translate-train-es-s{seed}" / "xlner_train.json").read_text())
        assert state["finished"] and not state["soft_targets"]
        assert state["n_train_sentences"] == len(silver) and state["config"]["epochs"] == 30
        assert state["config"]["seed"] == seed
        cell = json.loads((exp / "runs" / f"translate-train__es-test__s{seed}" / "config.json").read_text())
        assert cell["method"] == "translate-train" and cell["n_silver"] == len(silver)
        assert cell["translate_train"].endswith("translate-train__es")
    # the student learnt the projected Spanish labels (its training data), not English or nothing
    from seqeval.metrics import f1_score

    from xlner.train import Predictor

    preds = Predictor(exp / "models" / "translate-train-es-s0" / "model", max_length=64).predict(
        [s["tokens"] for s in silver])
    tags = [["O"] * len(p.tokens) for p in preds]
    for t, p in zip(tags, preds):
        for sp in p.spans:
            t[sp.start:sp.end] = [f"B-{sp.label}"] + [f"I-{sp.label}"] * (sp.end - sp.start - 1)
    assert f1_score([s["tags"] for s in silver], tags) > 0.5
    # the silver data was built once for both seeds
    assert sum(line.startswith("translate-train es:") for line in logs) == 1
    timings = json.loads((exp / "timings.json").read_text())
    assert {"translate-train/silver", "translate-train/train-student", "predict/translate-train"} <= set(timings)


@pytest.mark.slow
def test_methods_compared_per_test_set_in_words(transfer):
    exp, _, _ = transfer
    agg = pd.read_csv(exp / "aggregate.csv")
    mc = pd.read_csv(exp / "method_comparisons.csv")
    es = mc[mc.test_set == "es-test"]
    assert set(zip(es.method, es.baseline)) == {("projection", "model-transfer"),
                                                ("translate-train", "model-transfer"),
                                                ("translate-train", "projection")}
    f1 = agg[agg.test_set == "es-test"].set_index("method").f1
    for r in es.itertuples():
        assert r.difference == pytest.approx(f1[r.method] - f1[r.baseline])
        assert r.ci_low <= r.ci_high and r.significant == (r.ci_low > 0 or r.ci_high < 0)
    assert list(mc[mc.test_set == "swa-test"].method) == []  # one method only: nothing to compare
    # Spanish has one domain: no drop, and the summary says so instead of failing
    drops = exp / "drops.csv"
    assert drops.stat().st_size <= 1 or pd.read_csv(drops).empty
    summary = (exp / "summary.md").read_text()
    tt = es[es.method == "translate-train"].query("baseline == 'model-transfer'").iloc[0]
    line = next(l for l in summary.splitlines() if "translate-train vs model-transfer" in l)
    assert f"{100 * abs(tt.difference):.1f}" in line and f"{100 * tt.ci_low:.1f}" in line
    verdict = ("no significant difference" if not tt.significant else
               f"significantly {'better' if tt.difference > 0 else 'worse'}")
    assert verdict in line
    assert "degradation of methods is not compared" in summary
    loaded = load_experiment(exp)
    assert len(loaded["method_comparisons"]) == len(mc)


@pytest.mark.slow
def test_rerun_reuses_silver_data_students_and_cells(transfer):
    exp, _, tmp = transfer
    before = {p: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")}
    silver_before = (exp / "cache" / "translate-train-es.jsonl").stat().st_mtime_ns
    logs: list[str] = []
    run_domain_shift(write_config(tmp), exp, data_root=DATA, log=logs.append, progress=False)
    assert {p: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")} == before
    assert (exp / "cache" / "translate-train-es.jsonl").stat().st_mtime_ns == silver_before
    assert not any(line.startswith(("translate-train es:", "translate-train student")) for line in logs)


def test_translate_train_without_translator_is_refused_before_training(tmp_path):
    path = write_config(tmp_path, test_sets=[
        {"name": "eu-news", "path": "basque-nerc/in_domain/val.jsonl", "language": "eu", "domain": "news",
         "max_sentences": 5},
        {"name": "en-test", "path": "conll03-en/test.txt", "language": "en", "domain": "news", "max_sentences": 5}])
    with pytest.raises(XlnerError) as e:
        run_domain_shift(path, tmp_path / "exp", data_root=DATA, log=None, progress=False)
    msg = e.value.message
    assert e.value.code == "E811" and "translate-train" in msg
    assert "eu: Apertium has no en->eu direction installed" in msg
    assert "eng->spa" in msg and "eng->cat" in msg  # the directions that do exist
    assert "profile: paper" in e.value.hint
    assert not (tmp_path / "exp").exists()  # nothing was written, let alone trained


def test_translate_train_languages_must_have_a_translator(tmp_path):
    cfg = load_config(write_config(tmp_path, translate_train={"languages": ["swa"]}))
    with pytest.raises(XlnerError) as e:
        plan_methods(cfg)
    assert e.value.code == "E826" and "cannot run for swa" in e.value.message
    cfg = load_config(write_config(tmp_path, translate_train={"languages": ["es"]}))
    assert plan_methods(cfg).languages["translate-train"] == ["es"]
    with pytest.raises(XlnerError) as e:
        load_config(write_config(tmp_path, translate_train={"max_sentence": 10}))
    assert e.value.code == "E821" and "max_sentence" in e.value.message and "max_sentences" in e.value.hint


def test_shipped_spanish_masakhaner2_config_shares_the_teachers(tmp_path):
    b = load_config("transfer-es-masakhaner2")
    a = load_config("domain-shift-basque-en")
    assert (b.encoder, b.types, vars(b.source_train), vars(b.source_dev), b.teacher, b.seeds) == \
        (a.encoder, a.types, vars(a.source_train), vars(a.source_dev), a.teacher, a.seeds)
    # hence the same cached English teacher per seed (the key hashes encoder, data and settings)
    train = load_spec(b.source_train, DATA, b.types)
    dev = load_spec(b.source_dev, DATA, b.types)
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    teacher_a = teacher_dir(a, tmp_path / "a", "e5", train, dev, labels, 1)
    assert teacher_dir(b, tmp_path / "b", "e5", train, dev, labels, 1) == teacher_a
    b.teacher = {**b.teacher, "lr": 1e-4}  # a real change of the teacher is a different model
    assert teacher_dir(b, tmp_path / "b", "e5", train, dev, labels, 1) != teacher_a
    for spec in b.test_sets + list(b.unlabeled.values()):
        assert (DATA / spec.path).is_file(), spec.path
    plan = plan_methods(b)
    # Swahili: projection and fused projection translate it with the FreeDict lexicon
    # (projection.languages.swa); translate-train would need English->Swahili, which it has not
    assert plan.languages == {"model-transfer": ["es", "swa", "yor"], "teacher-student": ["swa", "yor"],
                              "projection": ["es", "swa"], "translate-train": ["es"],
                              "projection-fused": ["es", "swa"]}
    assert set(plan.skipped["translate-train"]) == {"swa", "yor"}
    assert b.settings_for("swa") == {"translator": {"name": "lexicon"}} and b.settings_for("es") == {}
    assert b.translate_train["max_sentences"] == 2000
    # MasakhaNER2: DATE set to O (method.md §6); 1,000 of the test sentences
    swa = load_spec(next(t for t in b.test_sets if t.language == "swa"), DATA, b.types)
    assert len(swa) == 1000 and {sp.label for s in swa for sp in s.spans} == {"PER", "ORG", "LOC"}
    raw = (DATA / "masakhaner2/swa/test.txt").read_text()
    assert "B-DATE" in raw


def _agg() -> pd.DataFrame:
    rows = []
    for lang, ts, dom, ind in (("es", "es-test", "news", True), ("eu", "eu-news", "news", True),
                               ("eu", "eu-wiki", "wikipedia", False)):
        for k, m in enumerate(("model-transfer", "translate-train")):
            f1 = 0.5 + 0.05 * k - (0 if ind else 0.1)
            rows.append({"method": m, "language": lang, "test_set": ts, "domain": dom, "in_domain": ind,
                         "n_seeds": 3, "f1": f1, "f1_ci_low": f1 - 0.03, "f1_ci_high": f1 + 0.03})
    rows.append({**rows[-1], "method": "teacher-student", "f1": 0.4})  # only in the second panel
    return pd.DataFrame(rows)


def test_degradation_figure_lists_every_method_once_in_the_legend():
    from xlner.experiment import degradation_figure

    fig = degradation_figure(_agg())
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert sorted(shown) == ["model-transfer", "teacher-student", "translate-train"]


def test_plots_png_next_to_html_when_a_browser_exists(tmp_path, monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    logs: list[str] = []
    written = write_plots(tmp_path, _agg(), log=logs.append)
    html = tmp_path / "plots" / "degradation.html"
    assert html in written and html.stat().st_size > 10_000
    png = tmp_path / "plots" / "degradation.png"
    browser, _ = find_browser()
    if browser is None:  # a machine without chromium: HTML only, one clear line
        assert not png.exists() and len(logs) == 1 and "PNG skipped" in logs[0]
        return
    assert logs == [] and png in written
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (800, 450)  # two languages: the minimum width; the figure's height
    assert len(data) > 10_000


def test_plots_without_a_browser_keep_the_html_and_say_why(tmp_path, monkeypatch):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "degradation.png").write_bytes(b"stale")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))
    logs: list[str] = []
    written = write_plots(tmp_path, _agg(), log=logs.append)
    assert written == [tmp_path / "plots" / "degradation.html"] and written[0].stat().st_size > 10_000
    assert not (tmp_path / "plots" / "degradation.png").exists()  # no stale PNG beside new HTML
    assert len(logs) == 1 and logs[0].startswith("plots: PNG skipped, HTML only")
    assert "no-chromium is not an executable file" in logs[0] and "Traceback" not in logs[0]


def test_reused_pipeline_run_with_other_sentences_is_refused(tmp_path):
    """A finished pipeline folder left from another config must not be used silently (E814)."""
    from types import SimpleNamespace

    from xlner.datamodel import Sentence
    from xlner.errors import XlnerError
    from xlner.experiment import checked_records
    from xlner.record import RunRecord

    def rec(tokens: list[str]) -> RunRecord:
        return RunRecord(id="x", tgt_tokens=tokens, gold=None)

    sents = [Sentence("s1", ["Mikel", "etorri", "da"], []), Sentence("s2", ["Kaixo"], [])]
    same = SimpleNamespace(records=[rec(s.tokens) for s in sents])
    assert checked_records(same, tmp_path, sents, "tgt", "translate-test run", "sentences") == same.records
    for records in ([rec(["Mikel", "etorri", "da"])],                          # one missing
                    [rec(["Mikel", "etorri", "da"]), rec(["Agur"])]):  # other words
        with pytest.raises(XlnerError) as e:
            checked_records(SimpleNamespace(records=records), tmp_path, sents, "tgt",
                            "translate-test run", "sentences")
        assert e.value.code == "E814" and str(tmp_path) in e.value.message
        assert f"{len(records)} records for 2 sentences" in e.value.message

