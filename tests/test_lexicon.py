"""The lexicon ("cheap translation") translator on real Swahili sentences with Debian's FreeDict
Swahili-English dictionary (``apt-get install dict-freedict-swh-eng``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from xlner.data import read_dataset
from xlner.errors import XlnerError
from xlner.lexicon import LexiconTranslator, dictd_path, load_dictd
from xlner.text import detokenize, split_marked

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "masakhaner2" / "swa" / "test.txt"
INDEX = dictd_path("sw", "en")
pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason="dict-freedict-swh-eng is not installed")


@pytest.fixture(scope="module")
def swahili():
    if not DATA.is_file():
        pytest.skip("../shared/data not found")
    return read_dataset(DATA).sentences


def test_real_sentences_word_by_word_names_kept_and_marked(swahili):
    t = LexiconTranslator("sw", "en")
    first = swahili[0]  # "Shujaa Mwakilishi wa Baraza la Wawakilishi John Lewis atazikwa Alhamisi ..."
    assert first.tokens[:8] == ["Shujaa", "Mwakilishi", "wa", "Baraza", "la", "Wawakilishi", "John", "Lewis"]
    (english,) = t.translate([detokenize(first.tokens)])
    words, unknown = split_marked(english)
    pairs = dict(zip(words, unknown))
    # grammatical words are translated (the particle reading of "wa"/"la": "of", not "be"/"eat")
    assert words[2] == "of" and words[4] == "of" and "eat" not in words
    # names the lexicon does not know stay as they are, marked like Apertium's unknown words
    assert pairs["John"] and pairs["Lewis"] and pairs["Atlanta"]
    # a capitalised word the lexicon lists capitalised is translated (Alhamisi = Thursday)
    assert "Thursday" in words and not pairs["Thursday"]
    assert english.endswith(".")


def test_every_sentence_of_the_test_set_translates(swahili):
    t = LexiconTranslator("swa", "eng", mark_unknown=False)
    texts = [detokenize(s.tokens) for s in swahili[:200]]
    out = t.translate(texts, ids=[s.id for s in swahili[:200]])
    assert len(out) == 200 and all(o.strip() for o in out)
    assert not any("*" in o for o in out)
    # names of the gold data survive translation word for word (PER spans are kept verbatim)
    per = [" ".join(s.tokens[sp.start:sp.end]) for s in swahili[:200] for sp in s.spans if sp.label == "PER"]
    joined = "\n".join(out)
    kept = sum(name in joined for name in per)
    assert per and kept / len(per) > 0.9


def test_lexicon_entries_plurals_phrases_and_sentence_initial_case():
    lex = load_dictd(str(INDEX))
    assert lex["na"] == "and" and lex["miaka"] == "year"  # "Plural of {mwaka}: year"
    assert lex["maabiria"] == "passenger"                 # plural listed in the abiria entry
    t = LexiconTranslator("sw", "en", mark_unknown=False)
    assert t.translate_words(["Agano", "Jipya"]) == ["New", "Testament"]
    # first word: looked up in lower case ("baada ya" is one dictionary phrase, "after")
    assert t.translate_words(["Baada", "ya", "hapo"]) == ["After", "this"]
    assert t.translate_words(["kwa", "Baada"]) == ["with", "Baada"]             # inside: a name
    fp = t.fingerprint()
    assert fp["name"] == "lexicon" and fp["entries"] == len(lex) and fp["path"] == str(INDEX)


def test_bad_texts_are_refused():
    t = LexiconTranslator("sw", "en")
    for texts, ids in (("Habari", None), (["Habari", 3], None), (["Habari"], ["a", "b"])):
        with pytest.raises(XlnerError) as e:
            t.translate(texts, ids)
        assert e.value.code == "E484"


def test_missing_or_broken_dictionary_is_named(tmp_path):
    with pytest.raises(XlnerError) as e:
        LexiconTranslator("yo", "en")
    assert e.value.code == "E480" and "freedict-yor-eng.index" in e.value.message
    assert "dict-freedict-yor-eng" in e.value.hint
    bad = tmp_path / "bad.index"
    bad.write_text("word\t!!\tB\n", encoding="utf-8")
    with gzip.open(tmp_path / "bad.dict.dz", "wb") as f:
        f.write(b"word\n\nthing\n")
    with pytest.raises(XlnerError) as e:
        LexiconTranslator("sw", "en", path=str(bad))
    assert e.value.code == "E481" and str(bad) in e.value.message


def test_registered_translator_is_selectable_in_a_profile_and_runs_translate_test(swahili, tmp_path):
    """``translator: {name: lexicon}`` in a profile: Swahili translate-test offline, end to end with
    the offline profile's English NER, alignment and projection, on 4 real MasakhaNER2 sentences."""
    from xlner.data import write_jsonl
    from xlner.pipeline import Options, load_profile, translate_test
    from xlner.translate import get_translator

    assert get_translator("lexicon", "sw", "en").translate(["wa"]) == LexiconTranslator("sw", "en").translate(["wa"])
    with pytest.raises(XlnerError) as err:  # the registry checks the parameters like any translator's
        get_translator("lexicon", "sw", "en", max_phrase=0)
    assert err.value.code == "E761" and "max_phrase" in err.value.message
    assert load_profile("offline", {"translator": {"name": "lexicon"}})["translator"] == {"name": "lexicon"}
    data = tmp_path / "sw.jsonl"
    write_jsonl(swahili[:4], data)
    run = translate_test(Options(data=str(data), lang="sw", out=str(tmp_path / "run"), shared_cache=False,
                                 progress=False, settings={"translator": {"name": "lexicon"}}))
    assert run.config["components"]["translator"]["name"] == "lexicon"
    first = run.records[0]
    assert "of" in first.src_tokens and "John" in first.src_tokens      # translated, the name kept
    assert first.src_unknown is not None and any(first.src_unknown)     # unknown words flagged, '*' split off
    assert not any(w.startswith("*") for r in run.records for w in r.src_tokens)
    assert run.metrics["overall"]["f1"] is not None and sum(len(r.projection.projected) for r in run.records) > 0
