"""Word aligners: the real offline e5-small, Apertium and eflomal on small real samples."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xlner.align import combine_alignments, get_aligner
from xlner.align.embeddings import _windows
from xlner.align.identity import IdentityAligner, normalise, token_similarity
from xlner.align.statistical import read_parallel_corpus, symmetrise
from xlner.datamodel import Alignment
from xlner.errors import XlnerError

DATA = Path(__file__).parents[1].parent / "shared" / "data"
BASQUE_VAL = DATA / "basque-nerc" / "in_domain" / "val.jsonl"

EN_ES = ([["the", "house", "is", "small"], ["My", "friend", "lives", "in", "Madrid", "."]],
         [["la", "casa", "es", "pequeña"], ["Mi", "amigo", "vive", "en", "Madrid", "."]])


def basque(n: int, start: int = 0) -> list[list[str]]:
    lines = BASQUE_VAL.read_text(encoding="utf-8").splitlines()[start:start + n]
    return [json.loads(line)["tokens"] for line in lines]


def apertium_eu_en(sentences: list[list[str]]) -> list[list[str]]:
    out = subprocess.run(["apertium", "eu-en"], input="\n".join(" ".join(s) for s in sentences) + "\n",
                         capture_output=True, text=True, check=True).stdout.rstrip("\n").split("\n")
    assert len(out) == len(sentences)
    return [re.findall(r"[*@#]?\w+(?:[-']\w+)*|[^\w\s]", line) for line in out]


@pytest.fixture(scope="module")
def eu_en():
    eu = [s for s in basque(320) if s]
    return apertium_eu_en(eu), eu


def links(al: Alignment) -> set[tuple[int, int]]:
    return set(map(tuple, al.pairs.tolist()))


# --- pure parts ---------------------------------------------------------------------------

def test_windows_cover_and_overlap():
    assert _windows(10, 510) == [(0, 10)]
    wins = _windows(1300, 510)
    assert wins[0][0] == 0 and wins[-1][1] == 1300
    assert all(b - a == 510 for a, b in wins)
    assert all(a2 < b1 for (_, b1), (a2, _) in zip(wins, wins[1:]))  # consecutive windows overlap


def test_identity_links_names_and_inflections():
    al = IdentityAligner().align([["*Barack", "*Obama", "visited", "Frankfurteko", "fair", "."]],
                                 [["Barack", "Obamak", "Frankfurteko", "azoka", "bisitatu", "zuen", "."]])[0]
    assert links(al) == {(0, 0), (1, 1), (3, 2)}  # punctuation ignored by default
    assert al.scores[list(map(tuple, al.pairs.tolist())).index((1, 1))] == pytest.approx(5 / 6)
    assert al.similarity.shape == (6, 7)


def test_identity_rules():
    assert normalise("*José") == "jose" and normalise("*") == "*"
    assert token_similarity("frankfurteko", "frankfurt") == pytest.approx(9 / 12)
    assert token_similarity("eta", "etan") == 0.0  # shorter than min_prefix: exact only
    # Repeated tokens are linked one-to-one, in order; one-letter words are not linked.
    al = IdentityAligner().align([["ETA", "and", "ETA", "a"]], [["ETA", "eta", "ETA", "a"]])[0]
    assert links(al) == {(0, 0), (2, 2)}
    assert (3, 3) not in links(al)


def test_combination_modes():
    a = Alignment.from_pairs([(0, 0), (1, 2)], [0.9, 0.6])
    b = Alignment.from_pairs([(0, 0), (1, 1), (2, 2)], [0.5, 0.8, 0.7])
    assert links(combine_alignments([a, b], 3, 3, "union")) == {(0, 0), (1, 2), (1, 1), (2, 2)}
    inter = combine_alignments([a, b], 3, 3, "intersection")
    assert links(inter) == {(0, 0)} and inter.scores.tolist() == [pytest.approx(0.9)]
    # priority: b may only link words a left unaligned (source 2 is free but target 2 is taken)
    assert links(combine_alignments([a, b], 3, 3, "priority")) == {(0, 0), (1, 2)}
    with pytest.raises(XlnerError) as err:
        combine_alignments([a], 3, 3, "vote")
    assert err.value.code == "E517"


def test_symmetrisation():
    def mat(pairs):
        m = np.zeros((4, 4), bool)
        m[tuple(np.array(pairs).T)] = True
        return m

    def pairs(m):
        return set(zip(*map(list, np.nonzero(m))))

    fwd, rev = mat([(0, 0), (1, 1), (2, 1), (0, 3)]), mat([(0, 0), (1, 1), (3, 3)])
    assert pairs(symmetrise(fwd, rev, "intersection")) == {(0, 0), (1, 1)}
    assert pairs(symmetrise(fwd, rev, "union")) == {(0, 0), (1, 1), (2, 1), (0, 3), (3, 3)}
    # grow-diag adds (2, 1): a union neighbour of (1, 1) whose source word is unaligned
    assert pairs(symmetrise(fwd, rev, "grow-diag")) == {(0, 0), (1, 1), (2, 1)}
    # final-and adds (3, 3) (both words unaligned) but not (0, 3) (source 0 is aligned)
    assert pairs(symmetrise(fwd, rev, "grow-diag-final-and")) == {(0, 0), (1, 1), (2, 1), (3, 3)}
    # final (or) also takes (0, 3): its target word is unaligned
    assert (0, 3) in pairs(symmetrise(fwd, rev, "grow-diag-final"))
    with pytest.raises(XlnerError):
        symmetrise(fwd, rev, "grow")


def test_mwmf_equals_simalign_networkx_matching():
    from simalign import SentenceAligner

    from xlner.align.neural import max_weight_matching

    rng = np.random.default_rng(0)
    for shape in [(5, 7), (8, 8), (9, 4)]:
        sim = (rng.uniform(-1, 1, shape) + 1) / 2
        np.testing.assert_array_equal(max_weight_matching(sim), SentenceAligner.get_max_weight_match(sim))


def test_bad_names_and_params():
    with pytest.raises(XlnerError) as err:
        get_aligner("fastalign")
    assert err.value.code == "E760" and "simalign" in err.value.hint
    with pytest.raises(XlnerError) as err:
        get_aligner("identity", layer=3)
    assert err.value.code == "E761" and "has no parameter 'layer'" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_aligner("identity+unknown")
    assert err.value.code == "E760" and "'unknown'" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_aligner("eflomal", symmetrise="grow")
    assert err.value.code == "E761" and "grow-diag-final-and" in err.value.message
    with pytest.raises(XlnerError) as err:
        get_aligner("identity&simalign>eflomal")
    assert err.value.code == "E510"
    with pytest.raises(XlnerError) as err:
        get_aligner("identity+identity")
    assert err.value.code == "E516"
    with pytest.raises(XlnerError) as err:
        get_aligner("simalign+identity", bogus=1)
    assert err.value.code == "E761" and "'bogus'" in err.value.message


@pytest.mark.parametrize("name,params,text", [
    ("identity", {"min_prefix": 0}, "min_prefix must be an integer >= 1, got 0"),
    ("identity", {"punctuation": 1}, "punctuation must be true or false, got 1"),
    ("simalign", {"layer": "8"}, "layer must be an integer, got '8'"),
    ("simalign", {"method": "hungarian"}, "method must be one of mwmf, inter, itermax"),
    ("simalign", {"distortion": 1.5}, "distortion must be a number in [0, 1], got 1.5"),
    ("awesome", {"unit": "char"}, "unit must be one of word, bpe, got 'char'"),
    ("awesome", {"threshold": 1}, "threshold must be a number in [0, 1), got 1"),
    ("simalign", {"dtype": "int8"}, "dtype must be one of auto, float32, bfloat16, float16"),
    ("eflomal", {"eflomal_model": 4}, "eflomal_model must be one of 1, 2, 3, got 4"),
    ("eflomal", {"corpus": 3}, "corpus must be a string or be a list of strings, or be null, got 3"),
])
def test_bad_parameters_are_refused_before_any_model_loads(name, params, text):
    with pytest.raises(XlnerError) as err:
        get_aligner(name, **params)
    assert err.value.code == "E761" and text in err.value.message


def test_bad_batches():
    al = get_aligner("identity")
    with pytest.raises(XlnerError) as err:
        al.align([["a"], ["b"]], [["a"]])
    assert err.value.code == "E523" and "2 source but 1 target" in err.value.message
    with pytest.raises(XlnerError) as err:
        al.align("a b", "a b")
    assert err.value.code == "E512"
    with pytest.raises(XlnerError) as err:
        al.align(["a b"], ["a b"])
    assert err.value.code == "E522"
    with pytest.raises(XlnerError) as err:
        al.align([["a", 3]], [["a"]])
    assert err.value.code == "E524"
    assert al.align([], []) == []


def test_parallel_corpus_errors(tmp_path):
    bad = tmp_path / "corpus.txt"
    bad.write_text("a b ||| c d\nno separator here\n", encoding="utf-8")
    with pytest.raises(XlnerError) as err:
        read_parallel_corpus(bad)
    assert err.value.code == "E515" and f"{bad}:2" in err.value.message
    with pytest.raises(XlnerError) as err:
        read_parallel_corpus(tmp_path / "missing.txt")
    assert err.value.code == "E530"
    (tmp_path / "s").write_text("a\nb\n")
    (tmp_path / "t").write_text("a\n")
    with pytest.raises(XlnerError) as err:
        read_parallel_corpus([tmp_path / "s", tmp_path / "t"])
    assert err.value.code == "E529" and "differ in length" in err.value.message
    with pytest.raises(XlnerError) as err:
        read_parallel_corpus([tmp_path / "s"])
    assert err.value.code == "E528"


# --- real e5-small ------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name,params", [
    ("simalign", {"method": "inter"}), ("simalign", {"method": "mwmf"}),
    ("simalign", {"method": "itermax", "unit": "bpe"}), ("simalign", {"method": "argmax", "layer": 6}),
    ("awesome", {}),
])
def test_en_es_sanity(name, params):
    out = get_aligner(name, **params).align(*EN_ES)
    assert {(0, 0), (1, 1), (3, 3)} <= links(out[0])  # the~la, house~casa, small~pequeña
    assert {(0, 0), (1, 1), (4, 4)} <= links(out[1])  # My~Mi, friend~amigo, Madrid~Madrid
    for al, (s, t) in zip(out, zip(*EN_ES)):
        assert al.similarity.shape == (len(s), len(t))
        assert len(al.scores) == len(al.pairs) and np.all((al.scores >= 0) & (al.scores <= 1))


@pytest.mark.slow
def test_bad_layer_and_method():
    for layer in (13, -14):  # checked against the model's depth once it is known
        with pytest.raises(XlnerError) as err:
            get_aligner("simalign", layer=layer)
        assert err.value.code == "E519"
    with pytest.raises(XlnerError) as err:
        get_aligner("simalign", layer=13)
    assert "12 layers" in err.value.message


def test_missing_model(tmp_path):
    with pytest.raises(XlnerError) as err:
        get_aligner("simalign", model=str(tmp_path / "no-such-model"))
    assert err.value.code == "E513"


@pytest.mark.slow
def test_batched_equals_one_at_a_time(eu_en):
    en, eu = eu_en[0][:16], eu_en[1][:16]
    al = get_aligner("simalign", dtype="float32")
    batched = al.align(en, eu)
    for k in range(len(en)):
        single = al.align([en[k]], [eu[k]])[0]
        assert links(single) == links(batched[k])
        np.testing.assert_allclose(single.similarity, batched[k].similarity, atol=1e-4)


@pytest.mark.slow
def test_names_align_on_real_basque(eu_en):
    """Capitalised tokens found once on each side (names Apertium passed through) get linked."""
    en, eu = eu_en[0][:60], eu_en[1][:60]
    found = linked = 0
    for al, s, t in zip(get_aligner("simalign").align(en, eu), en, eu):
        for i, tok in enumerate(s):
            name = tok.lstrip("*")
            if len(name) > 2 and name[0].isupper() and i > 0 and s.count(tok) == 1 and t.count(name) == 1:
                found += 1
                linked += (i, t.index(name)) in links(al)
    assert found >= 20 and linked / found >= 0.8, (linked, found)


@pytest.mark.slow
def test_600_word_sentence_is_windowed_not_truncated():
    words = [w for s in basque(80) for w in s][:600]
    assert len(words) == 600
    aligner = get_aligner("simalign", dtype="float32")
    assert sum(len(aligner.encoder.tokenizer.tokenize(w)) for w in words) > aligner.encoder.content_width
    al = aligner.align([words, ["Kaixo", "mundua"]], [words, ["Hello", "world"]])
    assert al[0].similarity.shape == (600, 600)
    diagonal = sum(i == j for i, j in links(al[0]))
    assert diagonal >= 0.95 * 600  # every window stitched back at the right positions
    assert al[0].pairs[:, 0].max() == 599  # nothing cut off at the end
    assert len(al[1].pairs) >= 1


@pytest.mark.slow
def test_empty_sentence_gives_empty_alignment():
    out = get_aligner("simalign+identity").align([[], ["Madrid"]], [["Madrid"], []])
    assert [len(a.pairs) for a in out] == [0, 0]
    assert out[0].similarity.shape == (0, 1) and out[1].similarity.shape == (1, 0)


@pytest.mark.slow
def test_union_with_identity_adds_name_links(eu_en):
    en, eu = eu_en[0][:30], eu_en[1][:30]
    plain = get_aligner("simalign").align(en, eu)
    ident = get_aligner("identity").align(en, eu)
    both = get_aligner("simalign+identity", simalign={"layer": 8}).align(en, eu)
    for p, i, b in zip(plain, ident, both):
        assert links(p) | links(i) == links(b)
        assert b.similarity is not None


@pytest.mark.slow
def test_awesome_threshold():
    loose = get_aligner("awesome", threshold=1e-3).align(*EN_ES)
    strict = get_aligner("awesome", threshold=0.99).align(*EN_ES)
    for a, b in zip(loose, strict):
        assert links(b) <= links(a)
        assert np.all(b.scores > 0.99)


# --- eflomal ------------------------------------------------------------------------------

@pytest.mark.slow
def test_eflomal_on_real_pairs(eu_en, tmp_path):
    en, eu = eu_en
    assert len(en) >= 300
    out = get_aligner("eflomal", symmetrise="intersection").align(en, eu)
    assert len(out) == len(en)
    found = linked = 0
    for al, s, t in zip(out, en, eu):
        assert np.all(al.pairs[:, 0] < len(s)) and np.all(al.pairs[:, 1] < len(t))
        for i, tok in enumerate(s):
            name = tok.lstrip("*")
            if len(name) > 2 and name[0].isupper() and s.count(tok) == 1 and t.count(name) == 1:
                found += 1
                linked += (i, t.index(name)) in links(al)
    assert linked / found >= 0.6, (linked, found)
    # plus a parallel corpus file (the next 100 val sentences), grow-diag-final-and
    more_eu = basque(100, start=320)
    more_en = apertium_eu_en(more_eu)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"{' '.join(s)} ||| {' '.join(t)}\n" for s, t in zip(more_en, more_eu) if s and t))
    gdfa = get_aligner("eflomal", corpus=str(corpus)).align(en[:50], eu[:50])
    assert len(gdfa) == 50 and all(np.isin(a.scores, [0.5, 1.0]).all() for a in gdfa)
    assert sum(len(a.pairs) for a in gdfa) > sum(len(a.pairs) for a in out[:50])
