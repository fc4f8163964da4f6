"""``xlner tag``: a token classifier applied to a real dataset, written, cached and scored.

Models are built inside the test: a tiny BERT token classifier saved as a plain Hugging Face folder,
and the output of ``xlner.train.train_ner`` on real CoNLL-02 Spanish sentences (real training).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from xlner.data import read_dataset, write_conll
from xlner.errors import XlnerError
from xlner.evaluate import evaluate

DATA = Path(__file__).parents[1].parent / "shared" / "data"
TYPES = ["PER", "ORG", "LOC"]
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    """180 training sentences and a 40-sentence test file cut from the real CoNLL-02 files."""
    dev = read_dataset(DATA / "conll02-es" / "dev.txt").sentences
    test = read_dataset(DATA / "conll02-es" / "test.txt").sentences[:40]
    path = tmp_path_factory.mktemp("data") / "es-test.txt"
    write_conll(test, path)
    return dev[:180], path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, spanish):
    import torch

    from xlner.train import TrainConfig, build_tiny_encoder, iob2_labels, train_ner

    torch.set_num_threads(1)
    train, _ = spanish
    root = tmp_path_factory.mktemp("models")
    encoder = build_tiny_encoder([s.tokens for s in train], root / "tiny")
    out = root / "trained"
    train_ner(train, out, model=encoder, labels=iob2_labels(TYPES),
              config=TrainConfig(epochs=4, batch_size=8, lr=3e-3, freeze_embeddings=False, max_length=64,
                                 progress=False))
    return encoder, out


def app() -> typer.Typer:
    from xlner.cli import tag as cli_tag

    a = typer.Typer()

    @a.callback()
    def _root() -> None: ...

    cli_tag.register(a)
    return a


def test_tag_a_train_output_writes_scores_and_caches(tmp_path, spanish, trained, monkeypatch):
    from xlner.tag import tag_dataset

    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "cache"))
    _, test_path = spanish
    _, model_out = trained
    pred = tmp_path / "pred.txt"
    res = CliRunner().invoke(app(), ["tag", str(test_path), "--model", str(model_out), "-o", str(pred), "--quiet"])
    assert res.exit_code == 0, res.output
    # the written file holds the same sentences and tokens, and scores like `xlner evaluate` does
    gold, written = read_dataset(test_path), read_dataset(pred)
    assert [s.tokens for s in written.sentences] == [s.tokens for s in gold.sentences]
    report = evaluate(gold.sentences, written.sentences)
    assert f"{report.overall['f1']:.4f}" in res.output and "proj_ratio" in res.output

    first = tag_dataset(model_out, test_path)
    assert first.cached  # the CLI run filled the cache
    again = tag_dataset(model_out / "model", test_path, use_cache=False)
    assert not again.cached
    assert [s.spans for s in again.predicted] == [s.spans for s in first.predicted]
    for a, b in zip(again.probs, first.probs):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert again.report.overall == pytest.approx(report.overall)


def test_probabilities_as_json_lines(tmp_path, spanish, trained):
    from xlner.tag import tag_dataset, write_predictions

    _, test_path = spanish
    _, model_out = trained
    result = tag_dataset(model_out, test_path, labels=["PER", "LOC"], use_cache=False)
    assert result.columns == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    out = tmp_path / "pred.jsonl"
    assert write_predictions(result, out, with_probs=True) == "jsonl"
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and rows[0]["columns"] == result.columns
    for row in rows:
        probs = np.array(row["probs"])
        assert probs.shape == (len(row["tokens"]), 5)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=2e-3)  # ORG mass goes to O
        assert {sp["label"] for sp in row["spans"]} <= {"PER", "LOC"}
    # ORG is outside the kept labels, so it is ignored in the gold as well
    assert "ORG" in result.report.ignore_labels
    with pytest.raises(XlnerError) as e:
        write_predictions(result, tmp_path / "pred.txt", with_probs=True)
    assert e.value.code == "E683"


def test_a_plain_hugging_face_token_classifier(tmp_path, spanish, trained):
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    from xlner.tag import tag_dataset

    encoder, _ = trained
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    cfg = BertConfig.from_pretrained(encoder, num_labels=len(labels), id2label=dict(enumerate(labels)),
                                     label2id={lab: i for i, lab in enumerate(labels)})
    folder = tmp_path / "hf-ner"
    BertForTokenClassification(cfg).save_pretrained(folder)
    PreTrainedTokenizerFast.from_pretrained(encoder).save_pretrained(folder)
    _, test_path = spanish
    result = tag_dataset(folder, test_path, use_cache=False)
    assert len(result.predicted) == 40 and result.report is not None
    assert all(p.shape == (len(s.tokens), 7) for p, s in zip(result.probs, result.predicted))


def test_a_folder_that_is_not_a_token_classifier_is_named(tmp_path, spanish, trained):
    from xlner.tag import tag_dataset

    encoder, _ = trained  # a plain BertModel: no NER head
    _, test_path = spanish
    with pytest.raises(XlnerError) as e:
        tag_dataset(encoder, test_path)
    assert e.value.code == "E680" and str(encoder) in e.value.message
    with pytest.raises(XlnerError) as e:
        tag_dataset(tmp_path / "missing", test_path)
    assert e.value.code == "E681"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    proc = subprocess.run([sys.executable, "-m", "xlner.cli", "tag", str(test_path), "--model", str(encoder),
                           "-o", str(tmp_path / "p.txt")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and f"error[E680]: {encoder}" in proc.stderr
    assert "Traceback" not in proc.stderr
