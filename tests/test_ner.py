"""English NER taggers (xlner.ner): the real spaCy pipeline and tiny token-classification models
built inside the test."""

from __future__ import annotations

import numpy as np
import pytest

from xlner.datamodel import Span
from xlner.errors import XlnerError
from xlner import data
from xlner.ner import (NerOutput, decode_probs, get_tagger, iob1_to_iob2_probs, iob_columns,
                       refine_with_marks)


# --- label maps and pure helpers -------------------------------------------------------------------

def test_packaged_ontonotes_map():
    m = data.load_label_map("ontonotes_to_conll")
    assert m.map["PERSON"] == "PER" and m.map["GPE"] == "LOC" and m.map["FAC"] == "LOC"
    assert m.map["NORP"] == "MISC"
    assert m.label("DATE") is None and m.label("CARDINAL") is None  # not named entities in CoNLL


def test_taggers_read_label_maps_with_the_data_loader(tmp_path):
    """One label-map loader (xlner.data): the taggers' maps, and their errors, are its own."""
    spacy = get_tagger("spacy")
    assert spacy._map == data.load_label_map("ontonotes_to_conll")
    mine = tmp_path / "mine.yaml"
    mine.write_text("PERSON: PER\nORG: ORG\n", "utf-8")
    assert get_tagger("spacy", label_map=str(mine))._map == data.load_label_map(mine)
    # a plain mapping given to the hf tagger renames those types and keeps the others
    renaming = get_tagger("hf", model=str(tmp_path), label_map={"PERSON": "PER"}, device="cpu")._map
    assert renaming.label("PERSON") == "PER" and renaming.label("ORG") == "ORG"
    for content in (None, "PERSON: [PER\n", "- PER\n- LOC\n"):
        bad = tmp_path / "bad.yaml"
        if content is None:
            bad.unlink(missing_ok=True)
        else:
            bad.write_text(content, "utf-8")
        with pytest.raises(XlnerError) as expected:
            data.load_label_map(bad)
        with pytest.raises(XlnerError) as err:
            get_tagger("spacy", label_map=str(bad))
        assert (err.value.code, err.value.message) == (expected.value.code, expected.value.message)
        assert "bad.yaml" in err.value.message


def test_iob1_to_iob2_probabilities():
    # IOB1 words: "I-PER I-PER B-PER O" with certainty -> IOB2 B I B O
    p_b = np.array([0.0, 0.0, 1.0, 0.0])
    p_i = np.array([1.0, 1.0, 0.0, 0.0])
    b, i = iob1_to_iob2_probs(p_b, p_i)
    np.testing.assert_allclose(b, [1, 0, 1, 0])
    np.testing.assert_allclose(i, [0, 1, 0, 0])
    # uncertain: mass is only moved between B and I, never created or lost
    p_b, p_i = np.array([0.1, 0.2]), np.array([0.5, 0.6])
    b, i = iob1_to_iob2_probs(p_b, p_i)
    np.testing.assert_allclose(b + i, p_b + p_i)
    np.testing.assert_allclose(i, [0.0, 0.6 * 0.6])


def test_decode_probs_scores_spans():
    cols = iob_columns(["PER", "LOC"])
    probs = np.array([[0.1, 0.8, 0.1, 0, 0], [0.2, 0.1, 0.7, 0, 0], [0.9, 0, 0, 0.1, 0],
                      [0.3, 0, 0.1, 0, 0.6]])
    spans, scores = decode_probs(probs, cols)
    assert spans == [Span(0, 2, "PER"), Span(3, 4, "LOC")]  # a stray I- starts an entity
    np.testing.assert_allclose(scores, [0.75, 0.6])
    assert decode_probs(np.zeros((0, 5)), cols) == ([], [])


def test_refine_with_marks_retypes_and_adds_untranslated_names():
    words = ["in", "Frankfurteko", "Otegi", "said", "Durangon", "and", "Jone", "Gorizelaia", "*", "ok"]
    unknown = [False, True, False, False, True, False, True, True, False, True]
    out = NerOutput([Span(1, 2, "PER"), Span(2, 3, "PER"), Span(4, 5, "ORG")], [0.9, 0.8, 0.7], None,
                    iob_columns(["PER", "ORG", "LOC"]))
    new = refine_with_marks(out, words, unknown, "eu")
    # wholly untranslated entities with a locative ending become LOC; Otegi was translated (kept);
    # the capitalised untranslated run "Jone Gorizelaia" is added (lower-case "ok" is not)
    assert new.spans == [Span(1, 2, "LOC"), Span(2, 3, "PER"), Span(4, 5, "LOC"), Span(6, 8, "PER")]
    assert new.scores == [0.9, 0.8, 0.7, 1.0]
    assert refine_with_marks(out, words, unknown, "eu", retype=False, add_unknown=False).spans == out.spans
    # a type outside the tagger's labels is never introduced
    no_loc = NerOutput([Span(1, 2, "PER")], [1.0], None, iob_columns(["PER"]))
    assert refine_with_marks(no_loc, words, unknown, "eu", add_unknown=False).spans == [Span(1, 2, "PER")]


def test_unknown_tagger_and_parameter():
    with pytest.raises(XlnerError) as err:
        get_tagger("flair")
    assert err.value.code == "E760" and "spacy, hf, mt-marks" in err.value.hint
    with pytest.raises(XlnerError) as err:
        get_tagger("spacy", modle="x")
    assert err.value.code == "E761" and "modle" in err.value.message
    assert "model, labels, label_map, batch_size" in err.value.hint


@pytest.mark.parametrize("name,params,text", [
    ("spacy", {"labels": []}, "labels must be a non-empty list of non-empty strings, got []"),
    ("spacy", {"labels": "PER"}, "labels must be a list, not one string"),
    ("spacy", {"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ("hf", {"scheme": "bilou"}, "scheme must be one of auto, iob1, iob2, got 'bilou'"),
    ("hf", {"local_files_only": "yes"}, "local_files_only must be true or false"),
    ("mt-marks", {"base": "mt-marks"}, "mt-marks cannot wrap itself"),
    ("mt-marks", {"base_params": {"labels": ["PER"], "modle": "x"}}, "NER tagger 'spacy': has no parameter 'modle'"),
])
def test_bad_tagger_parameters_are_one_error(name, params, text):
    with pytest.raises(XlnerError) as err:
        get_tagger(name, **params)
    assert err.value.code == "E761" and text in err.value.message


# --- spaCy (real en_core_web_sm) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def spacy_tagger():
    return get_tagger("spacy")


@pytest.mark.slow
def test_spacy_tags_given_words(spacy_tagger):
    sents = [["Barack", "Obama", "visited", "Paris", "and", "the", "United", "Nations", "on", "Monday", "."],
             [],
             ["He", "speaks", "English", "in", "New", "York-based", "Acme", "Corp", "."]]
    out = spacy_tagger.tag(sents)
    assert len(out) == 3 and out[1].spans == []
    labelled = {(" ".join(sents[0][s.start:s.end]), s.label) for s in out[0].spans}
    assert ("Barack Obama", "PER") in labelled and ("Paris", "LOC") in labelled
    assert all(s.label in ("PER", "ORG", "LOC", "MISC") for o in out for s in o.spans)  # DATE dropped
    assert all(s.end <= len(w) for o, w in zip(out, sents) for s in o.spans)
    assert out[0].labels == iob_columns(["PER", "ORG", "LOC", "MISC"]) and out[0].probs is None
    # Without MISC the language name is not an entity.
    no_misc = get_tagger("spacy", labels=["PER", "ORG", "LOC"]).tag(sents)
    assert all(s.label != "MISC" for o in no_misc for s in o.spans)
    assert {s.label for s in out[2].spans} >= {"MISC"}


@pytest.mark.slow
def test_spacy_batches_like_single_sentences(spacy_tagger):
    sents = [["Xabier", "Arzalluz", "visited", "Bilbao", "yesterday", "."],
             ["The", "meeting", "of", "PNB", "in", "Durango", "."],
             ["Arnaldo", "Otegi", "he", "said", "."]]
    batch = spacy_tagger.tag(sents)
    assert [o.spans for o in batch] == [spacy_tagger.tag([s])[0].spans for s in sents]
    fp = spacy_tagger.fingerprint()
    assert fp["version"] and fp["label_map"]["PERSON"] == "PER"


@pytest.mark.slow
def test_spacy_bad_input_and_missing_model(spacy_tagger):
    with pytest.raises(XlnerError) as err:
        spacy_tagger.tag(["Barack", "Obama"])
    assert err.value.code == "E605"
    with pytest.raises(XlnerError) as err:
        spacy_tagger.tag([["Barack", ""]])
    assert err.value.code == "E610" and "sentence #0, word 1" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_tagger("spacy", model="en_core_web_nonexistent").tag([["a"]])
    assert err.value.code == "E602" and "pip install" in err.value.hint


@pytest.mark.slow
def test_mt_marks_tagger_on_real_apertium_style_words(spacy_tagger):
    marked = [["*Frankfurteko", "The", "meeting", "yesterday", "he", "were", "."],
              ["Xabier", "Arzalluz", "and", "*Jone", "*Gorizelaia", "visited", "*Durangon", "."],
              ["Barack", "Obama", "visited", "Paris", "."]]
    tagger = get_tagger("mt-marks", lang="eu")
    out = tagger.tag(marked)
    clean = [[w.lstrip("*") for w in s] for s in marked]
    got = [{(" ".join(c[s.start:s.end]), s.label) for s in o.spans} for o, c in zip(out, clean)]
    assert ("Frankfurteko", "LOC") in got[0]
    assert ("Jone Gorizelaia", "PER") in got[1] and ("Durangon", "LOC") in got[1]
    # clean words plus the flags from split_marked give the same result
    flags = [[w.startswith("*") for w in s] for s in marked]
    assert [o.spans for o in tagger.tag(clean, unknown=flags)] == [o.spans for o in out]
    # without marks it is the plain spaCy tagger
    assert out[2].spans == spacy_tagger.tag([clean[2]])[0].spans
    fp = tagger.fingerprint()
    assert fp["base"]["name"] == "spacy" and fp["lang"] == "eu"


# --- Hugging Face token classification with tiny models built here ---------------------------------

CORPUS = ["Barack Obama visited Paris yesterday .", "The United Nations met in New York .",
          "Xabier Arzalluz spoke in Bilbao about the Basque Country .",
          "internationalisation of counterrevolutionaries happened"]


def _tiny_tagger_dir(path, id2label):
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    # A small vocabulary so that long words are split into several sub-tokens.
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(
        vocab_size=80, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     id2label=id2label, label2id={v: k for k, v in id2label.items()},
                     initializer_range=1.0)
    torch.manual_seed(0)
    BertForTokenClassification(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


IOB2_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC", 5: "B-DATE", 6: "I-DATE"}


@pytest.fixture(scope="module")
def tiny_iob2(tmp_path_factory):
    return _tiny_tagger_dir(tmp_path_factory.mktemp("tiny-ner"), IOB2_LABELS)


def test_hf_first_subtoken_probabilities(tiny_iob2):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    sents = [s.split() for s in CORPUS] + [[]]
    tagger = get_tagger("hf", model=str(tiny_iob2), labels=["PER", "LOC"], batch_size=2, device="cpu")
    out = tagger.tag(sents)
    assert len(out) == len(sents) and out[-1].spans == [] and out[-1].probs.shape == (0, 5)
    assert out[0].labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    # Reference computed directly: softmax at each word's first sub-token, DATE mass folded into O.
    tok = AutoTokenizer.from_pretrained(tiny_iob2)
    model = AutoModelForTokenClassification.from_pretrained(tiny_iob2).eval()
    assert len(tok.tokenize("counterrevolutionaries")) > 1  # the test does exercise sub-tokens
    for words, got in zip(sents[:-1], out):
        enc = tok(words, is_split_into_words=True, return_tensors="pt")
        with torch.inference_mode():
            p = torch.softmax(model(**enc).logits[0], -1).numpy()
        ids = enc.word_ids(0)
        first = [ids.index(w) for w in range(len(words))]
        ref = p[first]
        expected = np.stack([ref[:, 0] + ref[:, 5] + ref[:, 6], ref[:, 1], ref[:, 2], ref[:, 3], ref[:, 4]], 1)
        np.testing.assert_allclose(got.probs, expected, atol=1e-5)
        spans, scores = decode_probs(expected, got.labels)
        assert got.spans == spans
        np.testing.assert_allclose(got.scores, scores, atol=1e-5)


def test_hf_long_sentence_is_windowed(tiny_iob2):
    words = ("Xabier Arzalluz spoke in Bilbao about internationalisation " * 12).split()
    tagger = get_tagger("hf", model=str(tiny_iob2), max_length=24)
    out = tagger.tag([words])[0]
    # columns for every requested type (PER ORG LOC MISC), zero where the model lacks the type
    assert out.probs.shape == (len(words), 9)
    np.testing.assert_allclose(out.probs.sum(1), 1.0, atol=1e-5)
    assert all(s.end <= len(words) for s in out.spans)
    windows = tagger._windows([words])[0]
    assert len(windows) > 3 and windows[0][0] == 0 and windows[-1][1] == len(words)
    # Each window is tagged exactly as that piece of the sentence alone.
    for start, end in windows[:2]:
        alone = tagger.tag([words[start:end]])[0]
        np.testing.assert_allclose(out.probs[start:end], alone.probs, atol=1e-5)


def test_hf_iob1_model_detected_and_converted(tmp_path):
    id2label = {0: "O", 1: "I-PER", 2: "I-LOC", 3: "B-LOC"}  # like the XLM-R CoNLL-03 model: no B-PER
    path = _tiny_tagger_dir(tmp_path, id2label)
    tagger = get_tagger("hf", model=str(path), labels=["PER", "LOC"])
    out = tagger.tag([CORPUS[2].split()])[0]
    assert tagger.iob1 is True
    np.testing.assert_allclose(out.probs.sum(1), 1.0, atol=1e-5)
    assert out.probs[0, 2] == 0 and out.probs[0, 4] == 0  # nothing continues an entity at word 0
    forced = get_tagger("hf", model=str(path), labels=["PER", "LOC"], scheme="iob2")
    forced.tag([["a"]])
    assert forced.iob1 is False


def test_hf_errors(tmp_path, tiny_iob2):
    with pytest.raises(XlnerError) as err:
        get_tagger("hf", model=str(tmp_path / "missing"), local_files_only=True).tag([["a"]])
    assert err.value.code == "E603" and "missing" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_tagger("hf", model=str(tiny_iob2), scheme="bilou")
    assert err.value.code == "E761"
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(XlnerError) as err:
            get_tagger("hf", model=str(tiny_iob2), device="cuda")
        assert err.value.code == "E772"
    fp = get_tagger("hf", model=str(tiny_iob2)).fingerprint()
    assert fp["model"] == str(tiny_iob2) and any(f[0] == "model.safetensors" for f in fp["files"])
