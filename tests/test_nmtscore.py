"""NMTScore "direct" with a tiny seq2seq model built in the test (random weights, a word-level
tokenizer built locally): the score's algebra is checked against a forced-decoding computation
written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from xlner.errors import XlnerError
from xlner.nmtscore import NMTScorer

WORDS = "John Smith Jon Smithek Basque Country Euskal Herria the of in Bilbao Bilbon".split()


@pytest.fixture(scope="module")
def tiny_seq2seq(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    cfg = BartConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                     decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
                     eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=None)
    folder = tmp_path_factory.mktemp("nmt") / "tiny-bart"
    BartForConditionalGeneration(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def by_hand(scorer, source: str, target: str) -> float:
    """exp(mean log p(y_t | y_<t, x)) from one unpadded forward pass with explicit decoder inputs."""
    import torch

    tok, model = scorer._tok, scorer._model
    x = torch.tensor([tok(source)["input_ids"]])
    y = tok(target)["input_ids"]
    dec = torch.tensor([[model.config.decoder_start_token_id] + y[:-1]])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=x, decoder_input_ids=dec).logits[0], dim=-1)
    return float(np.exp(np.mean([logp[t, y[t]].item() for t in range(len(y))])))


def test_likelihood_is_the_length_normalised_forced_decoding_probability(tiny_seq2seq):
    scorer = NMTScorer(model=str(tiny_seq2seq), device="cpu", batch_size=3)
    sources = ["John Smith", "the Basque Country", "in Bilbao", "John"]
    targets = ["Jon Smithek", "Euskal Herria", "Bilbon", "Jon Smithek Bilbon the"]
    got = scorer.likelihood(sources, targets)
    expected = [by_hand(scorer, s, t) for s, t in zip(sources, targets)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)  # padding in a batch changes nothing
    assert ((got > 0) & (got < 1)).all()


def test_direct_score_algebra(tiny_seq2seq):
    scorer = NMTScorer(model=str(tiny_seq2seq), device="cpu")
    a, b = ["John Smith", "Bilbao"], ["Jon Smithek", "Euskal Herria"]
    got = scorer.direct(a, b)
    for k in range(2):
        p = lambda x, y: by_hand(scorer, x, y)  # noqa: E731  P(y | x)
        expected = (p(b[k], a[k]) / p(a[k], a[k]) + p(a[k], b[k]) / p(b[k], b[k])) / 2
        assert got[k] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(scorer.direct(b, a), got, rtol=1e-6)   # symmetric
    np.testing.assert_allclose(scorer.direct(a, a), [1.0, 1.0], rtol=1e-6)  # a text with itself: 1


def test_score_matrix_thresholds_and_reuses_pairs(tiny_seq2seq):
    scorer = NMTScorer(model=str(tiny_seq2seq), device="cpu")
    ents, cands = ["John Smith", "Bilbao"], ["Jon", "Bilbon", "Jon", "the of"]
    raw = scorer.direct([e for e in ents for _ in cands], [c for _ in ents for c in cands]).reshape(2, 4)
    scorer.threshold = float(np.median(raw))
    m = scorer.score_matrix(ents, cands)
    np.testing.assert_allclose(m, np.where(raw < scorer.threshold, 0.0, raw), rtol=1e-6)
    assert (m[:, 0] == m[:, 2]).all() and (m == 0).any() and (m > 0).any()
    assert scorer.fingerprint()["name"] == "nmtscore-direct"


def test_bad_input(tmp_path, tiny_seq2seq):
    with pytest.raises(XlnerError) as e:
        NMTScorer(model=str(tmp_path / "no-model"), device="cpu").likelihood(["a"], ["b"])
    assert e.value.code == "E482" and "no-model" in e.value.message
    with pytest.raises(XlnerError) as e:
        NMTScorer(model=str(tiny_seq2seq), device="cpu").likelihood(["a", "b"], ["c"])
    assert e.value.code == "E483"
