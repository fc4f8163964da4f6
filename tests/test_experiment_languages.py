"""``projection.languages``: one target language's own pipeline settings in an experiment config.

Swahili (MasakhaNER2) has no Apertium pair; the FreeDict swh-eng lexicon (Debian's
dict-freedict-swh-eng, installed by ./dev) translates it word by word for the projection methods.
End-to-end runs use a tiny BERT built in the test, the real lexicon, spaCy's English tagger and
ten real MasakhaNER2 Swahili test sentences; nothing is stubbed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xlner.errors import XlnerError
from xlner.experiment import load_config, plan_methods, run_domain_shift

DATA = Path(__file__).parents[1].parent / "shared" / "data"
LEXICON = Path("/usr/share/dictd/freedict-swh-eng.index")
pytestmark = [pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found"),
              pytest.mark.skipif(not LEXICON.exists(), reason="dict-freedict-swh-eng not installed (./dev)")]

TINY_TRAIN = {"epochs": 2, "batch_size": 8, "lr": 0.003, "freeze_embeddings": False, "max_length": 64}
SWA_LEXICON = {"translator": {"name": "lexicon"}}


def write_config(tmp_path: Path, **changes) -> Path:
    """A tiny English -> Swahili (+ Spanish) config with Swahili translated by the lexicon."""
    cfg = {
        "name": "tiny-swahili", "encoder": "tiny", "types": ["PER", "ORG", "LOC"], "seeds": [0],
        "methods": ["model-transfer", "projection", "projection-fused"],
        "source": {"train": {"path": "conll03-en/train.txt", "max_sentences": 60}},
        "test_sets": [{"name": "swa-test", "path": "masakhaner2/swa/test.txt", "language": "swa",
                       "domain": "news", "max_sentences": 10}],
        "teacher": {**TINY_TRAIN, "epochs": 4}, "student": TINY_TRAIN,
        # the identical-token aligner keeps the test fast (the shipped config uses the profile's SimAlign);
        # names, which the lexicon keeps as they are, align to themselves
        "projection": {"profile": "offline", "set": {"aligner": {"name": "identity"}},
                       "languages": {"swa": SWA_LEXICON}},
        "n_boot": 100}
    cfg.update(changes)
    path = tmp_path / "swahili.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def swahili(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("swahili")
    mp = pytest.MonkeyPatch()
    mp.setenv("XLNER_CACHE", str(tmp / "cache"))  # keep the shared step cache clean
    logs: list[str] = []
    run_domain_shift(write_config(tmp), tmp / "exp", data_root=DATA, log=logs.append, progress=False)
    yield tmp / "exp", logs, tmp
    mp.undo()


def _pipeline_dirs(exp: Path, prefix: str) -> list[Path]:
    return sorted(p for p in (exp / "pipeline").iterdir() if p.name.startswith(prefix))


@pytest.mark.slow
def test_swahili_projection_through_the_lexicon(swahili):
    from xlner.runs import load_run

    exp, logs, _ = swahili
    res = pd.read_csv(exp / "results.csv")
    assert set(zip(res.method, res.test_set)) == {("model-transfer", "swa-test"), ("projection", "swa-test"),
                                                  ("projection-fused", "swa-test")}
    assert not any("skipped for swa" in line for line in logs)
    suffix = load_config(write_config(swahili[2])).run_suffix("swa")
    assert suffix.startswith("-") and len(suffix) == 9
    for method, prefix in (("projection", "translate-test__"), ("projection-fused", "translate-test-fused__")):
        (run_dir,) = _pipeline_dirs(exp, prefix)
        assert run_dir.name.endswith(suffix)  # the folder names the language's own settings
        run = load_run(run_dir)
        assert run.config["components"]["translator"]["name"] == "lexicon"
        assert run.config["lang"] == "swa"
        # fused projection: the seed's teacher is the English NER too (offline-fusion's design)
        assert run.config["components"]["tagger"]["name"] == ("hf" if method == "projection-fused" else "spacy")
        recs = run.records
        assert len(recs) == 10
        # word by word into English: most words changed, names kept as they are
        changed = [r for r in recs if [t.lower() for t in r.src_tokens] != [t.lower() for t in r.tgt_tokens]]
        assert len(changed) >= 8
        assert any(w in {"the", "and", "of", "in", "is", "to", "said", "for"} for r in recs
                   for w in (t.lower() for t in r.src_tokens))
        row = res[res.method == method].iloc[0]
        assert run.metrics["overall"]["f1"] == pytest.approx(row.f1)  # the cell is the pipeline's score
        assert row.n_sentences == 10
        if method == "projection":  # names survive the lexicon, spaCy finds some (the tiny teacher, trained
            assert row.f1 > 0       # on 60 sentences, is too weak to find any: fused F1 0 is its score)
    for name in ("projection__swa-test", "projection-fused__swa-test__s0"):
        cell = json.loads((exp / "runs" / name / "config.json").read_text())
        assert cell["language_settings"] == SWA_LEXICON and cell["pipeline"].endswith(suffix)


@pytest.mark.slow
def test_changed_language_settings_redo_the_cells_they_made(swahili):
    exp, _, tmp = swahili
    cells = {p.parent.name: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")}
    other = {"translator": {"name": "lexicon", "max_phrase": 1}}  # phrases of one word only
    path = write_config(tmp, projection={"profile": "offline", "set": {"aligner": {"name": "identity"}},
                                         "languages": {"swa": other}})
    logs: list[str] = []
    run_domain_shift(path, exp, data_root=DATA, log=logs.append, progress=False)
    after = {p.parent.name: p.stat().st_mtime_ns for p in (exp / "runs").glob("*/metrics.json")}
    assert after["model-transfer__swa-test__s0"] == cells["model-transfer__swa-test__s0"]  # not a pipeline cell
    for name in ("projection__swa-test", "projection-fused__swa-test__s0"):
        assert after[name] != cells[name]  # made with the old settings: redone, not reused
        cell = json.loads((exp / "runs" / name / "config.json").read_text())
        assert cell["language_settings"] == other
    assert len(_pipeline_dirs(exp, "translate-test__")) == 2  # a new folder; the old one is left as it was
    new = load_config(path).run_suffix("swa")
    assert any(p.name.endswith(new) for p in _pipeline_dirs(exp, "translate-test-fused__"))
    # and back to the first settings: their finished runs are found again, nothing is translated anew
    run_domain_shift(write_config(tmp), exp, data_root=DATA, log=None, progress=False)
    assert len(_pipeline_dirs(exp, "translate-test__")) == 2


def test_translate_train_skips_swahili_and_says_why(tmp_path):
    """The lexicon has swh->eng only: projection covers Swahili, translate-train (eng->swa) does not."""
    both = {"methods": ["model-transfer", "projection", "translate-train"],
            "test_sets": [{"name": "es-test", "path": "conll02-es/test.txt", "language": "es", "domain": "news",
                           "max_sentences": 5},
                          {"name": "swa-test", "path": "masakhaner2/swa/test.txt", "language": "swa",
                           "domain": "news", "max_sentences": 5}]}
    cfg = load_config(write_config(tmp_path, **both))
    plan = plan_methods(cfg)
    assert plan.languages["projection"] == ["es", "swa"]
    assert plan.languages["translate-train"] == ["es"]  # Apertium eng->spa
    why = plan.skipped["translate-train"]["swa"]
    assert "freedict-eng-swh" in why and "not found" in why
    assert f"translate-train: skipped for swa ({why})" in plan.lines()
    # without the language's own settings Swahili falls back to the profile's Apertium, which has no pair
    plain = load_config(write_config(tmp_path, projection={"profile": "offline"}, **both))
    assert plan_methods(plain).skipped["projection"] == {"swa": "Apertium has no swa->en direction installed"}
    assert plain.run_suffix("swa") == "" and plain.run_suffix("es") == ""


def test_shipped_config_projects_swahili_with_the_lexicon():
    from xlner.lexicon import dictd_path

    # MasakhaNER2's code, the ISO 639-3 individual language and ISO 639-1 name one dictionary
    assert dictd_path("swa", "en") == dictd_path("swh", "eng") == dictd_path("sw", "en") == LEXICON
    cfg = load_config("transfer-es-masakhaner2")
    assert cfg.settings_for("swa") == SWA_LEXICON and cfg.settings_for("es") == {}
    plan = plan_methods(cfg)
    assert plan.languages["projection"] == plan.languages["projection-fused"] == ["es", "swa"]
    assert set(plan.skipped["projection-fused"]) == {"yor"}
    assert "Apertium has no yor->en direction installed" in plan.skipped["projection-fused"]["yor"]


@pytest.mark.parametrize("languages, code, names", [
    ({"swa": {"translator": {"name": "nosuch"}}}, "E757", ["projection.languages.swa", "nosuch", "E760"]),
    ({"swa": {"translator": {"name": "lexicon", "max_phrases": 2}}}, "E757",
     ["projection.languages.swa", "max_phrases", "E761"]),
    ({"swa": {"bogus": 1}}, "E757", ["projection.languages.swa", "bogus"]),
    ({"sw": SWA_LEXICON}, "E755", ["['sw']"]),
    ({"swa": "lexicon"}, "E743", ["projection.languages must map"]),
])
def test_bad_language_settings_name_the_file_and_key(tmp_path, languages, code, names):
    path = write_config(tmp_path, projection={"profile": "offline", "languages": languages})
    with pytest.raises(XlnerError) as e:
        plan_methods(load_config(path))
    assert e.value.code == code and str(path) in e.value.message
    for name in names:
        assert name in e.value.message
    if code == "E757":
        assert e.value.hint  # the inner error's hint: what the component takes
    if code == "E755":
        assert "swa" in e.value.hint
    assert not (tmp_path / "exp").exists()


def test_unknown_projection_key_is_refused_with_the_known_ones(tmp_path):
    path = write_config(tmp_path, projection={"profile": "offline", "language": {"swa": SWA_LEXICON}})
    with pytest.raises(XlnerError) as e:
        load_config(path)
    assert e.value.code == "E756" and str(path) in e.value.message and "'language'" in e.value.message
    assert "languages (" in e.value.hint and "fused_options" in e.value.hint


def test_a_cell_from_before_language_settings_is_reused_only_without_them(tmp_path):
    from xlner.experiment.cells import finished

    cell = tmp_path / "projection__es-test"
    cell.mkdir()
    (cell / "metrics.json").write_text("{}")
    (cell / "config.json").write_text(json.dumps({"method": "projection"}))
    assert finished(cell) and finished(cell, {"language_settings": {}})
    assert not finished(cell, {"language_settings": SWA_LEXICON})
    (cell / "config.json").write_text(json.dumps({"method": "projection", "language_settings": SWA_LEXICON}))
    assert finished(cell, {"language_settings": SWA_LEXICON})
    assert not finished(cell, {"language_settings": {}})
    assert not finished(tmp_path / "missing", {"language_settings": {}})
