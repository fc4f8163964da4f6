"""Translators (xlner.translate): real Apertium, tiny seq2seq models built here, precomputed files,
and the marker-preserving back-translation helpers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xlner.datamodel import Reason, Span
from xlner.errors import XlnerError
from xlner.text import detokenize
from xlner.translate import (apertium_pairs, assign_marked_classes, back_translate_with_markers,
                             get_translator, nllb_code, normalise_lang, recover_marked_spans,
                             split_apertium_output, wrap_entities)

DATA = Path(__file__).parents[1].parent / "shared" / "data"


def needs_apertium(test):
    """Runs the real Debian Apertium (a slow-marked test), skipped where it is not installed."""
    skip = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium not installed")
    return pytest.mark.slow(skip(test))


# --- language codes -------------------------------------------------------------------------------

@pytest.mark.parametrize("code, iso3, nllb", [
    ("eu", "eus", "eus_Latn"), ("EUS", "eus", "eus_Latn"), ("swa", "swa", "swh_Latn"),
    ("sw", "swa", "swh_Latn"), ("es", "spa", "spa_Latn"), ("mk", "mkd", "mkd_Cyrl"),
    ("en_US", "eng", "eng_Latn"), ("yor", "yor", "yor_Latn"),
])
def test_language_codes(code, iso3, nllb):
    assert normalise_lang(code) == iso3
    assert nllb_code(code) == nllb


def test_bad_language_codes():
    with pytest.raises(XlnerError) as err:
        normalise_lang("xx")
    assert err.value.code == "E401" and "'xx'" in err.value.message
    with pytest.raises(XlnerError) as err:
        nllb_code("pcm")
    assert err.value.code == "E415" and "NLLB" in err.value.message


def test_unknown_translator_and_parameter():
    with pytest.raises(XlnerError) as err:
        get_translator("google", "eu", "en")
    assert err.value.code == "E760" and "apertium, hf, precomputed" in err.value.hint
    with pytest.raises(XlnerError) as err:
        get_translator("apertium", "eu", "en", beam=4)
    assert err.value.code == "E761" and "beam" in err.value.message and "mark_unknown" in err.value.hint


@pytest.mark.parametrize("name,params,text", [
    ("apertium", {"mark_unknown": "yes"}, "mark_unknown must be true or false, got 'yes'"),
    ("apertium", {"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ("apertium", {"timeout": "60"}, "timeout must be a number > 0, got '60'"),
    ("hf", {"num_beams": 2.5}, "num_beams must be an integer >= 1, got 2.5"),
    ("hf", {"model": 3}, "model must be a string, got 3"),
    ("precomputed", {}, "needs parameter path, which must be a non-empty string"),
])
def test_bad_translator_parameters_are_one_error(name, params, text):
    with pytest.raises(XlnerError) as err:
        get_translator(name, "eu", "en", **params)
    assert err.value.code == "E761" and text in err.value.message


# --- Apertium ----------------------------------------------------------------------------------

def test_split_apertium_output_checks_count():
    assert split_apertium_output(" Vi el coche\n\nrojo\nauto\n", 2) == ["Vi el coche", "rojo auto"]
    with pytest.raises(XlnerError) as err:
        split_apertium_output("uno\n\ndos\n\ntres\n", 2, batch=3, ids=["val:7", "val:8"])
    assert err.value.code == "E405" and "batch 3" in err.value.message and "val:7" in err.value.message


@needs_apertium
def test_apertium_pair_discovery():
    pairs = apertium_pairs()
    assert pairs[("eus", "eng", "")] == "eu-en"
    assert pairs[("eng", "spa", "")] == "eng-spa"
    assert get_translator("apertium", "en", "sr").mode == "eng-hbs_SR"
    assert get_translator("apertium", "hr", "en").mode == "hbs-eng"
    assert get_translator("apertium", "spa", "eng").mode == "spa-eng"


@needs_apertium
def test_apertium_missing_pair_says_what_to_install():
    with pytest.raises(XlnerError) as err:
        get_translator("apertium", "eu", "es")
    assert err.value.code == "E403" and "eu->es" in err.value.message and "eu-en" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_translator("apertium", "eu", "en", binary="apertium-not-installed-here")
    assert err.value.code == "E402" and "apt-get install" in err.value.hint


@needs_apertium
def test_apertium_basque_batch_keeps_sentences_apart():
    rows = [json.loads(line) for line in
            (DATA / "basque-nerc" / "in_domain" / "val.jsonl").read_text("utf-8").splitlines()[:40]]
    texts = [detokenize(r["tokens"]) for r in rows]
    texts[5] = ""                                   # an empty sentence stays empty
    texts[6] = texts[6].replace(" ", "\n", 2)       # a newline inside a sentence is not a boundary
    texts[7] = "Testua [kortxete] ^ $ \\ / @ # < > { } ditu."  # Apertium stream-format characters
    tr = get_translator("apertium", "eu", "en")
    out = tr.translate(texts, ids=[f"val:{r['idx']}" for r in rows])
    assert len(out) == len(texts) and out[5] == ""
    assert all(o.strip() for i, o in enumerate(out) if i != 5)
    # one call per batch gives exactly what translating each sentence alone gives
    for i in (0, 6, 7, 39):
        assert tr.translate([texts[i]]) == [out[i]]
    assert "[" in out[7] and "kortxete]" in out[7]  # brackets are text, their content is translated


@needs_apertium
def test_apertium_blank_line_separator_blocks_reordering():
    # With a single newline between them Apertium's transfer moves "car" before "red".
    out = get_translator("apertium", "en", "es").translate(["I saw the red", "car"])
    assert len(out) == 2 and "rojo" in out[0]


@needs_apertium
def test_apertium_unknown_word_marks():
    text = ["Frankfurteko bilera atzo izan zen."]
    marked = get_translator("apertium", "eu", "en", mark_unknown=True).translate(text)[0]
    plain = get_translator("apertium", "eu", "en", mark_unknown=False).translate(text)[0]
    assert "*Frankfurteko" in marked
    assert "*" not in plain and "Frankfurteko" in plain


@needs_apertium
def test_apertium_fingerprint():
    fp = get_translator("apertium", "eu", "en").fingerprint()
    assert fp["pair"] == "eu-en" and fp["mark_unknown"] is True
    assert fp["versions"]["apertium-eu-en"]  # the Debian package version keys the cache
    assert get_translator("apertium", "eu", "en", mark_unknown=False).fingerprint() != fp


# --- precomputed -----------------------------------------------------------------------------------

def test_precomputed_jsonl_and_tsv(tmp_path):
    jl = tmp_path / "t.jsonl"
    jl.write_text('{"id": "a", "translation": "Hello", "source": "Kaixo"}\n\n'
                  '{"id": "b", "translation": "Bye"}\n', "utf-8")
    tr = get_translator("precomputed", "eu", "en", path=str(jl))
    assert tr.translate(["x", "y"], ids=["b", "a"]) == ["Bye", "Hello"]
    assert tr.translate(["Kaixo"]) == ["Hello"]  # by source text when no ids are given
    tsv = tmp_path / "t.tsv"
    tsv.write_text("id\ttranslation\na\tHello there\nb\t\n", "utf-8")
    tr2 = get_translator("precomputed", "eu", "en", path=str(tsv))
    assert tr2.translate(["", ""], ids=["a", "b"]) == ["Hello there", ""]
    assert tr.fingerprint() != tr2.fingerprint()


def test_precomputed_errors_name_the_problem(tmp_path):
    jl = tmp_path / "t.jsonl"
    jl.write_text('{"id": "a", "translation": "Hello"}\n', "utf-8")
    tr = get_translator("precomputed", "eu", "en", path=str(jl))
    with pytest.raises(XlnerError) as err:
        tr.translate(["x", "y"], ids=["a", "val:9"])
    assert err.value.code == "E408" and "'val:9'" in err.value.message
    with pytest.raises(XlnerError) as err:
        tr.translate(["Agur"])
    assert err.value.code == "E421" and "Agur" in err.value.message

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "translation": "Hello"}\n{"id": "b", "translation": \n', "utf-8")
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(bad))
    assert err.value.code == "E419" and "bad.jsonl:2" in err.value.message
    dup = tmp_path / "dup.tsv"
    dup.write_text("a\tx\na\ty\n", "utf-8")
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(dup))
    assert err.value.code == "E413" and "dup.tsv:2" in err.value.message
    cols = tmp_path / "cols.tsv"
    cols.write_text("a\tx\ty\n", "utf-8")
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(cols))
    assert err.value.code == "E407" and "cols.tsv:1" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(tmp_path / "missing.jsonl"))
    assert err.value.code == "E406"
    with pytest.raises(XlnerError) as err:
        tr.translate("a single string")
    assert err.value.code == "E411"
    with pytest.raises(XlnerError) as err:
        tr.translate(["a", "b"], ids=["a"])
    assert err.value.code == "E422" and "2 texts but 1 ids" in err.value.message
    not_text = tmp_path / "t.tsv"
    not_text.write_text('{"id": "a", "translation": 3}\n', "utf-8")
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(not_text.rename(tmp_path / "n.jsonl")))
    assert err.value.code == "E420" and "n.jsonl:1 (sentence a)" in err.value.message
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("a\tMaría\n".encode("latin-1"))
    with pytest.raises(XlnerError) as err:
        get_translator("precomputed", "eu", "en", path=str(latin1))
    assert err.value.code == "E424" and "latin1.tsv" in err.value.message


# --- Hugging Face seq2seq with tiny models built here ----------------------------------------------

WORDS = "the a house red car barack obama visited paris yesterday etxea gorria autoa ikusi zuen atzo".split()
LANG_TOKENS = ["eng_Latn", "eus_Latn", "spa_Latn", ">>spa<<"]


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"] + LANG_TOKENS
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", pad_token="<pad>",
                                   eos_token="</s>", unk_token="<unk>",
                                   additional_special_tokens=LANG_TOKENS), len(vocab)


@pytest.fixture(scope="module")
def tiny_m2m(tmp_path_factory):
    """A randomly initialised 1-layer M2M-100 with NLLB-style language tokens (large init so that
    different inputs give different outputs)."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    tok, n = _tokenizer()
    cfg = M2M100Config(vocab_size=n, d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                       decoder_ffn_dim=32, max_position_embeddings=64, init_std=1.0,
                       pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-m2m")
    M2M100ForConditionalGeneration(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


TEXTS = ["etxea gorria", "barack obama visited paris yesterday", "", "autoa",
         "ikusi zuen atzo the red car", "house"]


def test_hf_batches_keep_order_and_use_target_token(tiny_m2m):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tr = get_translator("hf", "eu", "en", model=str(tiny_m2m), batch_size=2, num_beams=1,
                        max_length=8, device="cpu")
    out = tr.translate(TEXTS)
    assert tr.family == "nllb" and tr._tgt_token == "eng_Latn"
    assert len(out) == len(TEXTS) and out[2] == ""
    assert len(set(out) - {""}) > 1  # the outputs do depend on the input
    # Reference: each sentence alone, generated directly with the target language token forced.
    tok = AutoTokenizer.from_pretrained(tiny_m2m)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_m2m).eval()
    for text, got in zip(TEXTS, out):
        if not text:
            continue
        with torch.inference_mode():
            gen = model.generate(**tok([text], return_tensors="pt"), num_beams=1, max_new_tokens=8,
                                 forced_bos_token_id=tok.convert_tokens_to_ids("eng_Latn"))
        assert gen[0, 1].item() == tok.convert_tokens_to_ids("eng_Latn")
        assert got == tok.decode(gen[0], skip_special_tokens=True).strip()
    # Beam search runs through the same path.
    assert len(get_translator("hf", "eu", "en", model=str(tiny_m2m), num_beams=3, max_length=6)
               .translate(TEXTS[:3])) == 3


def test_hf_long_input_is_refused_or_truncated(tiny_m2m):
    long = " ".join(WORDS * 3)
    tr = get_translator("hf", "eu", "en", model=str(tiny_m2m), num_beams=1, max_length=10)
    with pytest.raises(XlnerError) as err:
        tr.translate(["etxea", long], ids=["s1", "s2"])
    assert err.value.code == "E414" and "'s2'" in err.value.message
    cut = get_translator("hf", "eu", "en", model=str(tiny_m2m), num_beams=1, max_length=10, truncate=True)
    assert len(cut.translate(["etxea", long])) == 2


def test_hf_marian_multi_target_prefix(tmp_path):
    import torch
    from transformers import MarianConfig, MarianMTModel

    tok, n = _tokenizer()
    cfg = MarianConfig(vocab_size=n, d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                       decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=1,
                       eos_token_id=2, decoder_start_token_id=1, init_std=1.0)
    torch.manual_seed(0)
    MarianMTModel(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    tr = get_translator("hf", "en", "es", model=str(tmp_path), num_beams=1, max_length=5)
    out = tr.translate(["the red car", "house"])
    assert tr.family == "marian-multi" and tr._tgt_token == ">>spa<<" and len(out) == 2
    assert tr.fingerprint()["model"] == str(tmp_path)


def test_hf_missing_model_and_device(tmp_path):
    tr = get_translator("hf", "eu", "en", model=str(tmp_path / "no-such-model"), local_files_only=True)
    with pytest.raises(XlnerError) as err:
        tr.translate(["kaixo"])
    assert err.value.code == "E409" and "no-such-model" in err.value.message
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(XlnerError) as err:
            get_translator("hf", "eu", "en", model=str(tmp_path), device="cuda")
        assert err.value.code == "E772"


# --- marker-preserving back-translation ------------------------------------------------------------

def test_wrap_and_recover_markers():
    toks = ["Barack", "Obama", "visited", "Paris", "."]
    ents = [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    assert wrap_entities(toks, ents) == "[Barack Obama] visited [Paris]."
    words, ranges, broken = recover_marked_spans("[Barack Obama] visitó [París] ayer.")
    assert words == ["Barack", "Obama", "visitó", "París", "ayer", "."]
    assert ranges == [(0, 2), (3, 4)] and broken == 0
    # unclosed, empty and stray markers are counted, their words kept
    words, ranges, broken = recover_marked_spans("[Barack Obama visitó [] París] ayer ]")
    assert words == ["Barack", "Obama", "visitó", "París", "ayer"] and ranges == [] and broken == 4


def test_assign_marked_classes_by_similarity():
    words = ["Las", "Naciones", "Unidas", "y", "Obama", "se", "reunieron"]
    spans, sources = assign_marked_classes(words, [(1, 3), (4, 5), (5, 6)],
                                           ["Obama", "Naciones Unidas"], ["PER", "ORG"])
    assert spans == [Span(1, 3, "ORG"), Span(4, 5, "PER")] and sources == [1, 0]


def test_marker_lost_is_reported(tmp_path):
    """A (precomputed) back-translation that dropped one pair of markers reports MARKER_LOST."""
    path = tmp_path / "bt.jsonl"
    lines = [{"id": "s1", "translation": "[Obama] visitó París."},
             {"id": "e0", "translation": "Obama", "source": "Obama"},
             {"id": "e1", "translation": "París", "source": "Paris"}]
    path.write_text("\n".join(json.dumps(x) for x in lines), "utf-8")
    tr = get_translator("precomputed", "en", "es", path=str(path))
    res = back_translate_with_markers(tr, [["Obama", "visited", "Paris", "."]],
                                      [[Span(0, 1, "PER"), Span(2, 3, "LOC")]], ids=["s1"])
    assert res[0].spans == [Span(0, 1, "PER")] and res[0].sources == [0]
    assert [(u.source, u.reason) for u in res[0].lost] == [(1, Reason.MARKER_LOST)]


@needs_apertium
def test_back_translation_with_apertium_keeps_square_brackets():
    tr = get_translator("apertium", "en", "es", mark_unknown=False)
    sents = [["Barack", "Obama", "visited", "Paris", "yesterday", "."],
             ["The", "United", "Nations", "met", "in", "New", "York", "."]]
    ents = [[Span(0, 2, "PER"), Span(3, 4, "LOC")], [Span(1, 3, "ORG"), Span(5, 7, "LOC")]]
    res = back_translate_with_markers(tr, sents, ents)
    assert [len(r.lost) for r in res] == [0, 0]
    surface = [[(" ".join(r.words[s.start:s.end]), s.label) for s in r.spans] for r in res]
    assert surface[0] == [("Barack Obama", "PER"), ("París", "LOC")]
    assert surface[1] == [("Naciones Unidas", "ORG"), ("Nueva York", "LOC")]
