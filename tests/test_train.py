"""NER training, prediction, resume and teacher–student distillation on tiny real data.

The encoder is a small random BERT with a WordPiece tokenizer trained in the test on the CoNLL-03
sentences (xlner.train.build_tiny_encoder): real training, real gradients, seconds on one core.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from xlner.datamodel import Sentence, Span
from xlner.errors import XlnerError
from xlner.data import strip_labels
from xlner.experiment import DataSpec, load_spec
from xlner.train import (SoftSentence, TrainConfig, build_tiny_encoder, encode_windows, iob2_labels,
                         kl_to_targets, load_tokenizer, model_labels, one_hot_targets, predict, soft_labels,
                         train_ner)

DATA = Path(__file__).parents[1].parent / "shared" / "data"
TYPES = ["PER", "ORG", "LOC"]
LABELS = iob2_labels(TYPES)
FAST = dict(batch_size=8, lr=3e-3, freeze_embeddings=False, max_length=64, progress=False)

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")


@pytest.fixture(scope="module")
def data():
    train = load_spec(DataSpec("train", "conll03-en/train.txt", max_sentences=200), DATA, TYPES)
    dev = load_spec(DataSpec("dev", "conll03-en/dev.txt", max_sentences=40), DATA, TYPES)
    return train, dev


@pytest.fixture(scope="module")
def encoder(tmp_path_factory, data):
    torch.set_num_threads(1)
    train, dev = data
    return build_tiny_encoder([s.tokens for s in train + dev], tmp_path_factory.mktemp("enc") / "tiny")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, data, encoder):
    train, dev = data
    out = tmp_path_factory.mktemp("teacher")
    res = train_ner(train, out, model=encoder, dev=dev, labels=LABELS,
                    config=TrainConfig(epochs=8, patience=8, **FAST))
    return out, res


def test_iob2_labels_order():
    assert iob2_labels(["PER", "LOC"]) == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_long_sentences_are_split_into_windows_not_truncated(encoder, data):
    tok = load_tokenizer(encoder)
    sent = [w for s in data[0][:20] for w in s.tokens]  # one very long "sentence"
    windows = encode_windows(tok, [sent], max_length=32)
    assert len(windows) > 1
    covered = np.concatenate([np.arange(w.word_start, w.word_end) for w in windows])
    assert covered.tolist() == list(range(len(sent)))  # every word once, in order
    for w in windows:
        assert len(w.input_ids) <= 32
        assert len(w.first_pos) == w.word_end - w.word_start
        assert len(set(w.first_pos.tolist())) == len(w.first_pos)


def test_word_without_subtokens_still_gets_a_position(encoder):
    tok = load_tokenizer(encoder)
    # a zero-width space normalises to nothing in BERT's normaliser
    (w,) = encode_windows(tok, [["Peter", "\u200b", "Blackburn"]], max_length=32)
    assert len(w.first_pos) == 3
    assert w.input_ids[w.first_pos[1]] == tok.unk_token_id


def test_kl_to_one_hot_targets_is_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(10, 7)
    gold = torch.randint(0, 7, (10,))
    onehot = torch.nn.functional.one_hot(gold, 7).float()
    assert torch.allclose(kl_to_targets(logits, onehot), torch.nn.functional.cross_entropy(logits, gold))


def test_training_learns_and_predicts(teacher, data):
    out, res = teacher
    state = json.loads((out / "xlner_train.json").read_text())
    loss = np.array(state["loss"])
    assert loss[-20:].mean() < 0.6 * loss[:5].mean()  # the loss goes down
    assert res.best_dev_f1 is not None and res.best_dev_f1 > 0  # and it finds entities on held-out dev
    assert [h["dev_f1"] for h in res.history] and max(h["dev_f1"] for h in res.history) == res.best_dev_f1
    assert not (out / "checkpoint").exists()  # removed once finished
    assert model_labels(res.model_dir) == LABELS
    dev = data[1]
    preds = predict(out, [s.tokens for s in dev])
    assert len(preds) == len(dev)
    for s, p in zip(dev, preds):
        assert p.probs.shape == (len(s.tokens), len(LABELS))
        assert np.allclose(p.probs.sum(1), 1, atol=1e-5)
        assert len(p.scores) == len(p.spans)
        assert all(0 <= sp.start < sp.end <= len(s.tokens) for sp in p.spans)
    assert sum(len(p.spans) for p in preds) > 0


def test_finished_run_is_reused(teacher, data, encoder):
    out, res = teacher
    again = train_ner(data[0], out, model=encoder, dev=data[1], labels=LABELS,
                      config=TrainConfig(epochs=8, patience=8, **FAST))
    assert again.skipped and again.best_dev_f1 == res.best_dev_f1


def test_interrupted_training_resumes_to_the_same_model(tmp_path, data, encoder):
    train = data[0][:64]
    cfg = dict(epochs=2, checkpoint_every=3, **FAST)
    full = train_ner(train, tmp_path / "full", model=encoder, labels=LABELS, config=TrainConfig(**cfg))
    part = train_ner(train, tmp_path / "part", model=encoder, labels=LABELS,
                     config=TrainConfig(stop_at_step=5, **cfg))  # stops mid-epoch 1
    assert not part.finished and (tmp_path / "part" / "checkpoint" / "state.pt").exists()
    assert not (tmp_path / "part" / "xlner_train.json").exists()
    done = train_ner(train, tmp_path / "part", model=encoder, labels=LABELS, config=TrainConfig(**cfg))
    assert done.resumed and done.finished
    a = json.loads((tmp_path / "full" / "xlner_train.json").read_text())
    b = json.loads((tmp_path / "part" / "xlner_train.json").read_text())
    assert a["global_step"] == b["global_step"]
    assert np.allclose(a["loss"], b["loss"], atol=1e-4)  # same batches, same dropout, same updates
    pa = predict(full.model_dir, [s.tokens for s in data[1]])
    pb = predict(done.model_dir, [s.tokens for s in data[1]])
    assert all(np.allclose(x.probs, y.probs, atol=1e-4) for x, y in zip(pa, pb))


def test_seeds_change_the_model(tmp_path, data, encoder):
    train = data[0][:48]
    runs = [train_ner(train, tmp_path / f"s{seed}", model=encoder, labels=LABELS,
                      config=TrainConfig(epochs=1, seed=seed, **FAST)) for seed in (0, 1)]
    p0, p1 = (predict(r.model_dir, [data[1][0].tokens])[0].probs for r in runs)
    assert not np.allclose(p0, p1)


def test_temperature_softens_teacher_distributions(teacher, data):
    out, _ = teacher
    text = strip_labels(data[1][:10])
    t1 = soft_labels(out, text, temperature=1.0)
    t3 = soft_labels(out, text, temperature=3.0)

    def entropy(ss):
        p = np.concatenate([s.probs for s in ss])
        return float(-(p * np.log(p + 1e-12)).sum(1).mean())

    assert entropy(t3) > entropy(t1)
    assert [s.id for s in t1] == [s.id for s in text]


def test_student_learns_to_follow_the_teacher(tmp_path, teacher, data, encoder):
    out, _ = teacher
    text = strip_labels(load_spec(DataSpec("u", "conll03-en/test.txt", max_sentences=40), DATA, TYPES))
    targets = soft_labels(out, text)
    res = train_ner(targets, tmp_path / "student", model=encoder, labels=LABELS,
                    config=TrainConfig(epochs=15, temperature=1.0, **FAST))
    state = json.loads((tmp_path / "student" / "xlner_train.json").read_text())
    assert state["soft_targets"]
    loss = np.array(state["loss"])
    assert loss[-10:].mean() < 0.5 * loss[:3].mean()  # the KL divergence to the teacher goes down
    student = predict(res.model_dir, [s.tokens for s in text])
    t_tags = np.concatenate([t.probs.argmax(1) for t in targets])
    s_tags = np.concatenate([p.probs.argmax(1) for p in student])
    assert (t_tags > 0).sum() > 0
    assert (s_tags == t_tags).mean() > 0.9
    # on the words the teacher calls entities the student agrees far above chance (1/6)
    assert (s_tags[t_tags > 0] == t_tags[t_tags > 0]).mean() > 0.5


def test_bad_inputs_are_reported(tmp_path, encoder, data):
    misc = [Sentence("x:1", ["Paris", "Match"], [Span(0, 2, "MISC")], "x.txt:1")]
    with pytest.raises(XlnerError) as e:
        one_hot_targets(misc, LABELS)
    assert e.value.code == "E804" and "x.txt:1" in e.value.message and "MISC" in e.value.message
    with pytest.raises(XlnerError) as e:
        TrainConfig.from_dict({"epochs": 1, "learning_rate": 1})
    assert e.value.code == "E801" and "learning_rate" in e.value.message
    bad = [SoftSentence("s1", ["a", "b"], np.ones((3, len(LABELS)), dtype=np.float32))]
    with pytest.raises(XlnerError) as e:
        train_ner(bad, tmp_path / "bad", model=encoder, labels=LABELS, config=TrainConfig(**FAST))
    assert e.value.code == "E805" and "s1" in e.value.message
    with pytest.raises(XlnerError) as e:
        train_ner(data[0][:4], tmp_path / "nomodel", model=tmp_path / "missing", labels=LABELS,
                  config=TrainConfig(**FAST))
    assert e.value.code == "E802"
    with pytest.raises(XlnerError) as e:
        train_ner([], tmp_path / "empty", model=encoder, labels=LABELS)
    assert e.value.code == "E839"


def test_checkpoint_from_other_data_is_refused(tmp_path, data, encoder):
    cfg = dict(epochs=1, **FAST)
    train_ner(data[0][:40], tmp_path / "run", model=encoder, labels=LABELS,
              config=TrainConfig(stop_at_step=2, **cfg))
    with pytest.raises(XlnerError) as e:
        train_ner(data[0][:80], tmp_path / "run", model=encoder, labels=LABELS, config=TrainConfig(**cfg))
    assert e.value.code == "E806"


def test_tiny_encoder_is_the_same_in_every_process(tmp_path):
    """The vocabulary is decided by counting alone (ties alphabetically), so a tiny-encoder run is
    reproducible; tokenizers' own trainer broke ties in an order that changed between processes."""
    import subprocess
    import sys

    from xlner.train.tiny import SPECIALS, word_piece_vocab

    vocab = word_piece_vocab(["b", "ab", "ba", "ab", "ba", "zz"], vocab_size=12)
    assert list(vocab)[:len(SPECIALS)] == SPECIALS
    assert list(vocab)[len(SPECIALS):] == ["a", "b", "z", "##a", "##b", "##z", "ab"]  # "ab" beats "ba"
    code = ("import sys; from xlner.train import build_tiny_encoder; "
            "build_tiny_encoder([['EU', 'rejects', 'German', 'call'], ['Peter', 'Blackburn'], ['BRUSSELS', '1996-08-22']]"
            " * 3, sys.argv[1])")
    for name, hash_seed in (("a", "1"), ("b", "2")):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
    for f in ("tokenizer.json", "model.safetensors"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
