"""Detokenization and English word splitting (xlner.text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlner.text import detokenize, ending_type, split_marked, split_words, strip_case_ending, strip_mark

DATA = Path(__file__).parents[1].parent / "shared" / "data"


@pytest.mark.parametrize("tokens, text", [
    (["Hello", ",", "world", "!"], "Hello, world!"),
    (["«", "Bakeak", "edukia", "behar", "du", "»", "esan", "zuen", "."], "«Bakeak edukia behar du» esan zuen."),
    (["He", "said", "(", "again", ")", ":", "yes", ";", "no", "..."], "He said (again): yes; no..."),
    (["I", "do", "n't", "know", "John", "'s", "dog"], "I don't know John's dog"),
    (["He", "said", '"', "go", "home", '"', "and", "left", "."], 'He said "go home" and left.'),
    (["``", "Yes", "''", ",", "she", "said"], '"Yes", she said'),
    (["It", "costs", "$", "5", "or", "10", "%", "."], "It costs $5 or 10%."),
    (["", "a", " ", "b"], "a b"),
    ([], ""),
])
def test_detokenize(tokens, text):
    assert detokenize(tokens) == text


@pytest.mark.parametrize("text, words", [
    ("Barack Obama visited Paris.", ["Barack", "Obama", "visited", "Paris", "."]),
    ("PNB's president, Xabier Arzalluz's visit", ["PNB", "'s", "president", ",", "Xabier", "Arzalluz", "'s", "visit"]),
    ("I don't know", ["I", "do", "n't", "know"]),
    ("2.000 people at 2:00, 3,5 % in the 1990s", ["2.000", "people", "at", "2:00", ",", "3,5", "%", "in", "the", "1990s"]),
    ("The U.S. and Mr. Smith went to Lasarte-Oria.", ["The", "U.S.", "and", "Mr.", "Smith", "went", "to", "Lasarte-Oria", "."]),
    ("« the bent » (ok) ... end", ["«", "the", "bent", "»", "(", "ok", ")", "...", "end"]),
    ("", []),
])
def test_split_words(text, words):
    assert split_words(text) == words


def test_unknown_marks_kept_or_stripped():
    mt = "*Frankfurteko The meeting , Otegi * *EHko *Lasarte-*Oria"
    assert split_words(mt, keep_marks=True) == ["*Frankfurteko", "The", "meeting", ",", "Otegi", "*",
                                                "*EHko", "*Lasarte-Oria"]
    assert split_words(mt) == ["Frankfurteko", "The", "meeting", ",", "Otegi", "*", "EHko", "Lasarte-Oria"]
    words, unknown = split_marked(mt)
    assert words == split_words(mt)
    assert unknown == [True, False, False, False, False, False, True, True]
    # "#" marks a known word whose generation failed: the mark goes, but it is not an unknown word
    assert strip_mark("*") == ("*", False) and strip_mark("#sunday") == ("sunday", False)


@pytest.mark.parametrize("word, stem, ending, typ", [
    ("Frankfurteko", "Frankfurt", "eko", "LOC"), ("Durangon", "Durango", "n", "LOC"),
    ("Bergendik", "Bergen", "dik", "LOC"), ("Otegik", "Otegi", "k", None),
    ("Arzalluzen", "Arzalluz", "en", None), ("EHko", "EH", "ko", "LOC"), ("Otegi", "Otegi", "", None),
    ("Ian", "Ian", "", None),
])
def test_basque_case_endings(word, stem, ending, typ):
    assert strip_case_ending(word, "eu") == (stem, ending)
    assert ending_type(ending, "eus") == typ
    assert strip_case_ending(word, "es") == (word, "")  # no table for Spanish: unchanged


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzÁÉñüßABCXYZ", min_size=1, max_size=8),
                min_size=0, max_size=12))
def test_plain_words_round_trip(words):
    assert split_words(detokenize(words)) == words


@pytest.mark.skipif(not (DATA / "conll03-en").exists(), reason="shared data not available")
def test_english_gold_round_trip_is_mostly_exact():
    """Detokenize-then-split gives back the gold English tokens for most sentences; the rest are
    mostly CoNLL's ranking-list numbers (``1.`` as one token), which Treebank splitting also splits."""
    sents, cur = [], []
    for line in (DATA / "conll03-en" / "dev.txt").read_text("utf-8").splitlines():
        if not line.strip():
            if cur:
                sents.append(cur)
            cur = []
        elif not line.startswith("-DOCSTART-"):
            cur.append(line.split()[0])
    sents = sents[:500]
    exact = sum(split_words(detokenize(s)) == s for s in sents)
    assert exact / len(sents) > 0.8, exact
