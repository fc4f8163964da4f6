"""The end-to-end pipeline with the real offline components, its profiles and its bad-input cases."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from xlner.errors import XlnerError
from xlner.pipeline import Options, load_profile, translate_test, translate_train
from xlner.pipeline import steps as S
from xlner.runs import load_run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
DATA = ROOT.parent / "shared" / "data"


def _demo_subset(tmp_path: Path, n: int = 5, empty: bool = False) -> Path:
    """The first ``n`` demo sentences (optionally followed by an empty one) as a data file."""
    lines = (DEMO / "eu.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    if empty:
        lines.append(json.dumps({"id": "empty:1", "tokens": [], "tags": []}))
    path = tmp_path / "eu.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _opts(tmp_path: Path, data: Path, **kw) -> Options:
    return Options(data=str(data), lang=kw.pop("lang", "eu"), out=str(tmp_path / "run"),
                   shared_cache=False, progress=False, **kw)


# --- end to end, real components -------------------------------------------------------------

@pytest.mark.slow
def test_translate_test_end_to_end_cached_rerun_and_corrupt_cache(tmp_path, caplog):
    from xlner.errors import XlnerWarning

    data = _demo_subset(tmp_path, 5, empty=True)
    with pytest.warns(XlnerWarning) as warned:
        run = translate_test(_opts(tmp_path, data, method="match-greedy"))
    empty_warning = next(w.message for w in warned if getattr(w.message, "code", "") == "E740")
    assert "empty:1" in empty_warning.message  # the empty sentence is named...
    assert len(run.records) == 6                                  # ...and kept, not dropped
    empty = run.records[-1]
    assert empty.tgt_tokens == [] and empty.projection.projected == [] and empty.translation == ""

    m = run.metrics
    assert set(m["overall"]) >= {"precision", "recall", "f1", "f1_ci95"}
    assert set(m["per_type"]) <= {"PER", "ORG", "LOC"} and m["per_type"]
    assert m["n_sentences"] == 6 and "proj_ratio" in m and "categories" in m
    assert set(m["seconds"]) >= {"load", "detokenize", "translate", "split_words", "ner", "align",
                                 "project", "evaluate"}
    assert m["overall"]["f1"] > 0.3  # five easy newswire sentences: names pass through Apertium

    first = run.records[0]
    assert "Miren" in first.translation and first.src_tokens
    assert len(first.alignment.pairs) and first.alignment.scores is not None
    assert len(first.alignment.scores) == len(first.alignment.pairs)
    assert first.alignment.similarity is not None and len(first.alignment.similarity) == len(first.src_tokens)
    assert first.method == "match-greedy"
    config = json.loads((Path(run.path) / "config.json").read_text())
    assert config["task"] == "translate-test" and config["profile"] == "offline"
    assert config["components"]["aligner"]["name"] == "simalign"

    # Another projection method: translation, NER and alignment are read back, not recomputed.
    run2 = translate_test(_opts(tmp_path, data, method="heuristic"))
    assert set(run2.metrics["cached_steps"]) >= {"translate", "ner", "align"}
    assert "project" not in run2.metrics["cached_steps"]
    assert run2.records[0].method == "heuristic"

    # A corrupt cache file is reported and recomputed; the run still finishes.
    [align_file] = (Path(run.path) / "steps").glob("align-*.parquet")
    align_file.write_bytes(b"not a parquet file")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xlner"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run3 = translate_test(_opts(tmp_path, data, method="heuristic"))
    # reported as a catalogued warning (or, by an older cache module, logged)
    reported = caplog.text + "".join(str(w.message) for w in caught)
    assert "E703" in reported and align_file.name in reported
    assert "align" not in run3.metrics["cached_steps"]
    assert run3.records[0].alignment.pairs.tolist() == run2.records[0].alignment.pairs.tolist()


@pytest.mark.slow
def test_translate_train_writes_a_training_set(tmp_path):
    from xlner.data import read_dataset

    data = DATA / "conll03-en" / "dev.txt"
    run = translate_train(_opts(tmp_path, data, lang="es", limit=8, method="match-greedy"))
    assert run.config["task"] == "translate-train"
    assert run.metrics["n_sentences"] == 8 and run.metrics["n_source_entities"] > 0
    assert 0 < run.metrics["n_projected_entities"] <= run.metrics["n_source_entities"]
    train = read_dataset(run.path / "train.conll", lang="es")
    jsonl = read_dataset(run.path / "train.jsonl", lang="es")
    assert len(train) == len(jsonl) == run.metrics["n_training_sentences"] > 0
    assert sum(len(s.spans) for s in train.sentences) == run.metrics["n_projected_entities"]
    # The training tokens are the Spanish translation, without Apertium's unknown-word marks.
    assert not any(t.startswith("*") for s in train.sentences for t in s.tokens)
    assert run.records[0].translation and run.records[0].src_entities


# --- profiles ----------------------------------------------------------------------------------

def test_builtin_profiles_load_and_overrides_apply():
    offline = load_profile("offline", ["aligner.layer=6", "projection.method=match-exact"])
    assert offline["aligner"]["layer"] == 6 and offline["projection"]["method"] == "match-exact"
    assert offline["translator"]["name"] == "apertium"
    paper = load_profile("paper")
    assert "nllb" in paper["translator"]["model"].lower()


def test_profile_copied_to_a_file_can_be_used(tmp_path):
    text = Path(load_profile("offline")["path"]).read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(text.replace("layer: 8", "layer: 7"), encoding="utf-8")
    assert load_profile(str(mine))["aligner"]["layer"] == 7


@pytest.mark.parametrize("name,content,code", [
    ("nope", None, "E701"),
    ("broken.yaml", "translator: [unclosed", "E762"),
    ("partial.yaml", "translator: {name: apertium}\n", "E761"),
])
def test_bad_profiles(tmp_path, name, content, code):
    target = name
    if content is not None:
        (tmp_path / name).write_text(content, encoding="utf-8")
        target = str(tmp_path / name)
    with pytest.raises(XlnerError) as err:
        load_profile(target)
    assert err.value.code == code


def test_bad_override_is_refused():
    with pytest.raises(XlnerError) as err:
        load_profile("offline", ["aligner.layer"])
    assert err.value.code == "E741" and "aligner.layer" in err.value.message


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang,code", [("basque", "E401"), ("xx", "E401"), ("en", "E702")])
def test_unknown_language_code(tmp_path, lang, code):
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, _demo_subset(tmp_path), lang=lang))
    assert err.value.code == code


def test_missing_data_file(tmp_path):
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, tmp_path / "missing.jsonl"))
    assert err.value.code == "E713" and "missing.jsonl" in err.value.message


def test_unknown_projection_method(tmp_path):
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, _demo_subset(tmp_path), method="telepathy"))
    assert err.value.code == "E747" and "match-greedy" in err.value.hint


def test_overlong_sentence_is_named(tmp_path):
    data = _demo_subset(tmp_path, 3)
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, data, settings={"max_words": 12}))
    assert err.value.code == "E710"
    assert "eu.jsonl:1 (sentence demo-eu:0): 15 words" in err.value.message
    assert "max_words=15" in err.value.hint


def test_missing_apertium_pair_keeps_finished_steps(tmp_path):
    # Swahili has no Apertium pair: the translate step fails with an install hint, after the
    # detokenize step has been saved.
    data = tmp_path / "sw.jsonl"
    data.write_text(json.dumps({"id": "s1", "tokens": ["Rais", "Samia", "yuko", "Dodoma", "."],
                                "tags": ["O", "B-PER", "O", "B-LOC", "O"]}) + "\n", encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, data, lang="sw"))
    assert err.value.code == "E403" and "apertium" in (err.value.message + (err.value.hint or "")).lower()
    assert list((tmp_path / "run" / "steps").glob("detokenize-*.parquet"))


@pytest.mark.slow
def test_missing_ner_model_is_reported(tmp_path):
    data = _demo_subset(tmp_path, 2)
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, data, settings={"tagger.model": "en_core_web_nonexistent"}))
    assert err.value.code in ("E602", "E708") and "en_core_web_nonexistent" in err.value.message
    assert list((tmp_path / "run" / "steps").glob("translate-*.parquet"))  # translations kept


@pytest.mark.slow
def test_missing_local_model_folder_is_reported(tmp_path):
    data = _demo_subset(tmp_path, 2)
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, data, settings={"aligner.model": str(tmp_path / "no-model"),
                                                       "tagger.name": "spacy"}))
    assert err.value.code.startswith(("E5", "E7")) and "no-model" in err.value.message


class _LosesALine:
    """A broken translation backend: drops the last sentence of every batch (what happens when a
    sentence separator does not survive translation)."""

    def translate(self, texts, ids=None):
        return [t.upper() for t in texts[:-1]]


def test_wrong_translation_line_count_is_refused():
    table = pa.table({"id": ["a", "b"], "text": ["Kaixo mundua .", "Agur ."]})
    with pytest.raises(XlnerError) as err:
        S.translate(table, _LosesALine(), {})
    assert err.value.code == "E705" and "1 translations for 2" in err.value.message
    assert "sentence a" in err.value.message


def test_cli_reports_errors_without_traceback(tmp_path):
    import subprocess
    import sys

    xlner = str(Path(sys.executable).parent / "xlner")
    proc = subprocess.run([xlner, "pipeline", "translate-test",
                           "--data", str(tmp_path / "x.jsonl"), "--lang", "eu",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error[E713]" in proc.stderr and "Traceback" not in proc.stderr


# --- sentences and settings given directly ----------------------------------------------------------

def test_sentences_keep_the_cache_key_of_the_same_sentences_in_a_file(tmp_path):
    """Sentences handed to the pipeline are keyed by their content, exactly as the JSON-lines file
    an experiment used to write for them: cached steps stay valid."""
    from xlner.cache import file_fingerprint
    from xlner.data import read_dataset, write_jsonl
    from xlner.pipeline.options import sentences_fingerprint
    from xlner.pipeline.tasks import load_gold

    sents = list(read_dataset(DEMO / "eu.jsonl").sentences)[:7]
    write_jsonl(sents, tmp_path / "input.jsonl")
    assert sentences_fingerprint(sents) == file_fingerprint(tmp_path / "input.jsonl")
    profile = load_profile("offline")
    from_file = load_gold(Options(data=str(tmp_path / "input.jsonl"), lang="eu", out=str(tmp_path)), profile)
    given = load_gold(Options(sentences=sents, dataset="demo", lang="eu", out=str(tmp_path)), profile)
    assert given[2] == from_file[2] and given[1] == "demo"
    assert [s.tokens for s in given[0]] == [s.tokens for s in from_file[0]]


def test_settings_are_values_and_the_command_line_text_is_read_once():
    from xlner.pipeline import apply_settings, parse_settings

    settings = parse_settings(["aligner.layer=6", "labels=[PER, LOC]", "back_translation.store=true"])
    assert settings == {"aligner.layer": 6, "labels": ["PER", "LOC"], "back_translation.store": True}
    profile = apply_settings(load_profile("offline"), {**settings, "aligner": {"name": "identity"}})
    assert profile["aligner"] == {"name": "identity"}  # a plain key replaces the section
    assert profile["labels"] == ["PER", "LOC"] and profile["back_translation"]["store"] is True
    assert apply_settings(load_profile("offline"), {"aligner.layer": 6})["aligner"]["layer"] == 6
    for bad, code in (("aligner.layer", "E741"), ("=3", "E741"), ("labels=[PER", "E742")):
        with pytest.raises(XlnerError) as err:
            parse_settings([bad])
        assert err.value.code == code and bad in err.value.message
    with pytest.raises(XlnerError) as err:
        apply_settings(load_profile("offline"), {"threads.n": 2})
    assert err.value.code == "E768" and "'threads'" in err.value.message and "threads.n=2" in err.value.message
    with pytest.raises(XlnerError) as err:
        Options(lang="eu", out="x")
    assert err.value.code == "E744"
    # command-line style texts given to Options are read into settings once
    assert Options(data="x", lang="eu", out="x", overrides=("max_words=9",)).settings == {"max_words": 9}


def test_bad_settings_are_refused_before_any_work(tmp_path):
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, _demo_subset(tmp_path), settings={"aligner": {"layer": 3}}))
    assert err.value.code == "E761" and "section 'aligner': needs key name" in err.value.message
    assert not (tmp_path / "run").exists()
