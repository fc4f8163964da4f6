"""Profiles that name models built into the xlner cache (`{cache}`), e.g. offline-e5ner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xlner.data import read_dataset
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
