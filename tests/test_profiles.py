"""Profiles that name models built into the xlner cache (`{cache}`), e.g. offline-e5ner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xlner.data import read_dataset
from xlner.errors import XlnerError
from xlner.pipeline.profiles import builtin_profiles, load_profile

ROOT = Path(__file__).resolve().parents[1]
CONLL_EN = ROOT.parent / "shared" / "data" / "conll03-en"


def test_every_builtin_profile_loads():
    assert {"offline", "offline-e5ner", "paper"} <= set(builtin_profiles())
    for name in builtin_profiles():
        assert load_profile(name)["tagger"]["name"]


def test_cache_placeholder_is_the_configured_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XLNER_CACHE", str(tmp_path))
    profile = load_profile("offline-e5ner")
    assert profile["tagger"]["model"] == f"{tmp_path}/models/e5-conll03-en/model"
    assert "{cache}" not in str(profile)


def test_missing_cache_model_says_how_to_build_it(tmp_path):
    env = {**__import__("os").environ, "XLNER_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "xlner.cli", "pipeline", "translate-test", "--data",
                          str(ROOT / "assets" / "demo" / "eu.jsonl"), "--lang", "eu", "--profile", "offline-e5ner",
                          "--limit", "2", "--no-shared-cache", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2, out.stderr
    assert "error[E603]" in out.stderr and "xlner train" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_profile_runs_with_a_model_trained_into_the_cache(tmp_path, monkeypatch):
    """A tiny encoder trained by xlner.train on real CoNLL-03 sentences, placed where the profile
    looks for it; the pipeline then tags the English side with it (real Apertium + e5 alignment)."""
    from xlner.pipeline import Options, translate_test
    from xlner.runs import load_run
    from xlner.encoder import ensure_e5_small
    from xlner.train import TrainConfig, build_tiny_encoder, train_ner

    e5 = ensure_e5_small()  # the aligner's encoder, from the usual cache (built once)
    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "cache"))
    train = read_dataset(CONLL_EN / "dev.txt").sentences[:80]
    encoder = build_tiny_encoder([s.tokens for s in train], tmp_path / "enc")
    train_ner(train, tmp_path / "cache" / "models" / "e5-conll03-en", model=encoder,
              config=TrainConfig(epochs=1, batch_size=16, progress=False, seed=0))
    run_dir = tmp_path / "run"
    translate_test(Options(data=str(ROOT / "assets" / "demo" / "eu.jsonl"), lang="eu", profile="offline-e5ner",
                           limit=3, out=str(run_dir), shared_cache=False,
                           overrides=(f"aligner.model={e5}",), progress=False))
    run = load_run(run_dir)
    assert run.config["components"]["tagger"]["name"] == "hf"
    assert len(run.records) == 3 and "f1" in run.metrics["overall"]


# --- typed sections, checked once -----------------------------------------------------------------

def test_profiles_parse_into_typed_sections():
    from xlner.pipeline.profiles import read_profile

    offline = read_profile("offline")
    assert offline.translator.name == "apertium" and offline.translator.params == {"mark_unknown": True}
    assert offline.aligner.params == {"model": "e5-small", "layer": 8, "method": "itermax"}
    assert offline.projection.method == "match-greedy" and offline.settings.shard_size == 256
    assert offline.back_translation.translator is None and offline.back_translation.min_ratio == 0.5
    assert offline.as_dict() == load_profile("offline")  # the mapping the pipeline reads, as written
    combined = read_profile("offline", {"aligner.name": "simalign+identity", "aligner.identity": {"min_prefix": 3}})
    assert combined.aligner.params["identity"] == {"min_prefix": 3}


@pytest.mark.parametrize("override,code,text", [
    ('aligner.layer="8"', "E761", '--set aligner.layer="8": aligner \'simalign\': layer must be an integer'),
    ("aligner.lyer=8", "E761", "has no parameter 'lyer'"),
    ("tagger.name=flair", "E760", "--set tagger.name=flair: unknown NER tagger 'flair'"),
    ("projection.method=telepathy", "E760", "unknown projection method 'telepathy'"),
    ("projection.options.merge_distance=2", "E761", "projection method 'match-greedy': has no parameter"),
    ("threads=0", "E761", "threads must be an integer >= 1"),
    ("shard_sise=3", "E761", "has no key 'shard_sise'"),
    ("back_translation.min_ratio=1.5", "E761", "min_ratio must be a number in [0, 1)"),
    ("back_translation.method=x", "E760", "--set back_translation.method=x: unknown projection method"),
    ("tagger={name: mt-marks, base: spacy, retype: 3}", "E761", "retype must be true or false"),
    ("labels=PER", "E761", "labels must be a list, not one string"),
    ("aligner.name=simalign&identity>eflomal", "E510", "mixes combination operators"),
    ("translator.name.x=1", "E768", "'name' is not a section"),
    ("translator.name=[", "E742", "cannot read the value"),
    ("aligner.layer", "E741", "'aligner.layer'"),
])
def test_bad_overrides_name_the_override(override, code, text):
    with pytest.raises(XlnerError) as err:
        load_profile("offline", [override])
    assert err.value.code == code and text in err.value.message


def test_a_mistake_in_the_file_names_the_file_and_key(tmp_path):
    text = Path(load_profile("offline")["path"]).read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(text.replace("layer: 8", "layer: eight"), encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        load_profile(str(mine))
    assert err.value.code == "E761"
    assert err.value.message.startswith(f"profile {mine}, key aligner.layer: aligner 'simalign'")
    mine.write_text(text.replace("  method: match-greedy\n  options: {}", "  method: match-greedy\n"
                                 "  options: {n_candidates: -1}", 1), encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        load_profile(str(mine))
    assert f"profile {mine}, key projection.options.n_candidates" in err.value.message
    mine.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        load_profile(str(mine))
    assert err.value.code == "E763"


def test_options_are_checked_against_the_method_of_the_run():
    """--method heuristic with heuristic options is fine even if the profile's method is matching."""
    profile = load_profile("offline", ["projection.options.merge_distance=2"], method="heuristic")
    assert profile["projection"]["options"] == {"merge_distance": 2}
    with pytest.raises(XlnerError) as err:
        load_profile("offline", ["projection.options.merge_distance=2"])  # match-greedy has none
    assert err.value.code == "E761" and "merge_distance" in err.value.message
