"""Readers, tagging schemes, label maps and writers (xlner.data, xlner.tagging, xlner data CLI)."""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from typer.testing import CliRunner

from xlner.data import LabelMap, load_label_map, read_dataset, read_records, write_conll, write_jsonl
from xlner.datamodel import Sentence, Span
from xlner.errors import XlnerError, XlnerWarning
from xlner.hub import hub_split_to_records, parse_hub_spec
from xlner.tagging import SCHEMES, TagError, detect_scheme, parse_tag, spans_to_tags, tags_to_spans

FIXTURES = Path(__file__).parent / "fixtures" / "data"
SHARED = Path(__file__).parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")


def shared_files() -> list[Path]:
    """One split per dataset folder (the smallest, to keep the suite fast) - every folder is read."""
    if not SHARED.exists():
        return []
    folders = sorted({p.parent for p in SHARED.glob("**/*") if p.suffix in (".txt", ".jsonl")})
    return [min((p for p in f.iterdir() if p.suffix in (".txt", ".jsonl")), key=lambda p: p.stat().st_size)
            for f in folders]


# --- CoNLL details -------------------------------------------------------------------------------

def test_conll_tabs_spaces_docstart_trailing_blanks():
    ds = read_dataset(FIXTURES / "ok_mixed.conll")
    assert [s.tokens for s in ds.sentences] == [["EU", "rejects", "German", "call"],
                                                ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert [s.spans for s in ds.sentences] == [[Span(0, 1, "ORG"), Span(2, 3, "MISC")],
                                               [Span(0, 2, "PER")], [Span(0, 1, "LOC")]]
    assert [s.id for s in ds.sentences] == ["ok_mixed:0", "ok_mixed:1", "ok_mixed:2"]
    # source points at the first line of each sentence
    assert [s.source.rsplit(":", 1)[1] for s in ds.sentences] == ["3", "10", "13"]


def test_iob1_and_bioes_are_normalised_to_the_same_spans():
    iob1 = read_dataset(FIXTURES / "iob1.conll")
    assert iob1.scheme == "iob1"
    assert iob1.sentences[0].spans == [Span(0, 2, "PER"), Span(3, 4, "PER"), Span(4, 5, "PER"),
                                       Span(6, 7, "LOC")]
    assert iob1.sentences[0].tags()[:5] == ["B-PER", "I-PER", "O", "B-PER", "B-PER"]
    bioes = read_dataset(FIXTURES / "bioes.conll")
    assert bioes.scheme == "bioes"
    assert bioes.sentences[0].spans == [Span(0, 2, "PER"), Span(3, 4, "PER"), Span(5, 8, "LOC")]


def test_explicit_scheme_rejects_foreign_prefixes():
    with pytest.raises(XlnerError) as err:
        read_dataset(FIXTURES / "bioes.conll", scheme="iob2")
    assert err.value.code == "E106"
    assert "bioes.conll:2" in err.value.message and "bioes:0" in err.value.message
    assert read_dataset(FIXTURES / "bioes.conll", scheme="IOBES").scheme == "bioes"


# --- every bad input names file, line and sentence -------------------------------------------------

@pytest.mark.parametrize("name, fmt, code, line, sentence", [
    ("bad_columns.conll", "auto", "E104", 5, "bad_columns:1"),
    ("bad_column_count.conll", "auto", "E122", 5, "bad_column_count:1"),
    ("bad_tag_underscore.conll", "auto", "E105", 4, "bad_tag_underscore:1"),
    ("bad_tag_prefix.conll", "auto", "E105", 4, "bad_tag_prefix:1"),
    ("broken_utf8.conll", "auto", "E103", 4, None),
    ("empty.conll", "auto", "E102", None, None),
    ("mismatch.jsonl", "auto", "E109", 2, "mismatch:1"),
    ("invalid.jsonl", "auto", "E107", 2, "invalid:1"),
    ("missing_tags.jsonl", "auto", "E126", 1, "missing_tags:0"),
    ("panx_bad.tsv", "panx", "E115", 2, "panx_bad:0"),
])
def test_bad_input_is_reported_with_location(name, fmt, code, line, sentence):
    path = FIXTURES / name
    with pytest.raises(XlnerError) as err:
        read_dataset(path, format=fmt)
    assert err.value.code == code
    assert str(path) in err.value.message
    if line is not None:
        assert f"{path}:{line}" in err.value.message
    if sentence is not None:
        assert f"(sentence {sentence})" in err.value.message


def test_missing_file_and_unknown_format():
    with pytest.raises(XlnerError) as err:
        read_dataset(FIXTURES / "nope.conll")
    assert err.value.code == "E101"
    with pytest.raises(XlnerError) as err:
        read_dataset(FIXTURES / "ok.jsonl", format="xml")
    assert err.value.code == "E110"


def test_broken_utf8_error_names_the_byte():
    with pytest.raises(XlnerError, match="0xf1"):
        read_dataset(FIXTURES / "broken_utf8.conll")


def test_mojibake_warns_but_reads():
    with pytest.warns(XlnerWarning, match=r"warning\[E142\]: .*mojibake\.conll:1 .*España"):
        ds = read_dataset(FIXTURES / "mojibake.conll")
    assert len(ds) == 2  # a warning, never a dropped sentence


def test_clean_file_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_dataset(FIXTURES / "ok_mixed.conll")


# --- JSON lines and PAN-X ----------------------------------------------------------------------------

def test_jsonl_ids_from_idx_and_id(tmp_path):
    ds = read_dataset(FIXTURES / "ok.jsonl")
    assert [s.id for s in ds.sentences] == ["ok:0", "ok:1"]
    assert ds.sentences[0].spans == [Span(0, 2, "PER")]
    assert ds.sentences[1].source.endswith("ok.jsonl:2")
    p = tmp_path / "pred.jsonl"
    p.write_text(json.dumps({"id": "val:17", "tokens": ["a", "b"], "spans": [
        {"start": 1, "end": 2, "label": "LOC"}]}) + "\n", encoding="utf-8")
    sent = read_dataset(p).sentences[0]
    assert (sent.id, sent.spans) == ("val:17", [Span(1, 2, "LOC")])


def test_panx_strips_language_prefix():
    ds = read_dataset(FIXTURES / "panx_eu.tsv")
    assert ds.lang == "eu"
    assert ds.sentences[0].tokens == ["Arnaldo", "Otegi", "Donostian"]
    assert ds.sentences[0].spans == [Span(0, 2, "PER"), Span(2, 3, "LOC")]
    assert len(ds) == 2


# --- label maps --------------------------------------------------------------------------------------

def test_bundled_label_maps():
    m = load_label_map("masakhaner")
    assert m.label("DATE") is None and m.label("PER") == "PER"
    keep = load_label_map("per_org_loc")
    assert keep.label("MISC") is None and keep.label("LOC") == "LOC"
    assert load_label_map("no_misc").label("MISC") is None


def test_short_form_label_map_is_closed(tmp_path):
    p = tmp_path / "onto.yaml"
    p.write_text("PERSON: PER\nGPE: LOC\n", encoding="utf-8")
    m = load_label_map(p)
    assert (m.label("PERSON"), m.label("GPE"), m.label("DATE")) == ("PER", "LOC", None)


def test_label_map_applied_by_reader(tmp_path):
    p = tmp_path / "d.conll"
    p.write_text("Monday B-DATE\nin O\nDonostia B-LOC\nGoogle B-ORG\n", encoding="utf-8")
    ds = read_dataset(p, label_map={"map": {"ORG": "LOC"}, "drop": ["DATE"]})
    assert ds.sentences[0].spans == [Span(2, 3, "LOC"), Span(3, 4, "LOC")]  # two entities stay two


@pytest.mark.parametrize("bad, code", [(["DATE"], "E114"), ({"drop": "DATE"}, "E134"),
                                       ({"map": {"A": ""}}, "E133"), ({"mapp": {}}, "E132"),
                                       ({"map": {"A": "B"}, "drop": ["A"]}, "E135")])
def test_invalid_label_maps(bad, code):
    with pytest.raises(XlnerError) as err:
        LabelMap.from_dict(bad, origin="my.yaml")
    assert err.value.code == code and "my.yaml" in err.value.message


def test_unknown_label_map_name():
    with pytest.raises(XlnerError, match="masakhaner"):  # the hint lists the bundled maps
        load_label_map("no_such_map")


# --- writers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_write_read_roundtrip(tmp_path, scheme):
    ds = read_dataset(FIXTURES / "iob1.conll")
    for writer, suffix in ((write_conll, ".conll"), (write_jsonl, ".jsonl")):
        out = tmp_path / f"out{suffix}"
        writer(ds, out, scheme=scheme)
        back = read_dataset(out)
        assert [s.spans for s in back.sentences] == [s.spans for s in ds.sentences]
        assert [s.tokens for s in back.sentences] == [s.tokens for s in ds.sentences]


def test_writer_refuses_tokens_with_spaces(tmp_path):
    with pytest.raises(XlnerError) as err:
        write_conll([Sentence("s:0", ["New York"], [Span(0, 1, "LOC")])], tmp_path / "x.conll")
    assert err.value.code == "E139" and "s:0" in err.value.message
    write_jsonl([Sentence("s:0", ["New York"], [Span(0, 1, "LOC")])], tmp_path / "x.jsonl")
    assert read_dataset(tmp_path / "x.jsonl").sentences[0].tokens == ["New York"]


# --- tagging schemes: property tests -------------------------------------------------------------------

@st.composite
def sentences_with_spans(draw):
    n = draw(st.integers(0, 25))
    spans, i = [], 0
    while i < n:
        if draw(st.booleans()):
            length = draw(st.integers(1, min(4, n - i)))
            spans.append(Span(i, i + length, draw(st.sampled_from(["PER", "LOC", "ORG", "WORK-OF-ART"]))))
            i += length
        else:
            i += draw(st.integers(1, 3))
    return n, spans


@settings(max_examples=300, deadline=None)
@given(sentences_with_spans(), st.sampled_from(SCHEMES))
def test_spans_tags_spans_roundtrip(sample, scheme):
    n, spans = sample
    tags = spans_to_tags(spans, n, scheme)
    assert tags_to_spans(tags) == spans
    if scheme == "bioes" and spans:
        assert detect_scheme([tags]) == "bioes"
    if scheme == "iob2":  # our IOB2 decoding agrees with seqeval's (independent) decoder
        assert [(s.label, s.start, s.end - 1) for s in spans] == get_entities(tags)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=20))
def test_lenient_decoding_matches_seqeval_default(tags):
    assert [(s.label, s.start, s.end - 1) for s in tags_to_spans(tags)] == get_entities(tags)


@pytest.mark.parametrize("tag", ["B_PER", "X-LOC", "B-", "b-PER", "B-PER X", "", "-PER"])
def test_ill_formed_tags(tag):
    with pytest.raises(TagError):
        parse_tag(tag)


# --- the Hugging Face hub --------------------------------------------------------------------------------

class _ClassLabel:
    def __init__(self, names):
        self.names = names


class _Sequence:
    def __init__(self, feature):
        self.feature = feature


class _Split:
    """Shaped like a ``datasets.Dataset`` split: ``features``, ``column_names`` and row dicts."""

    def __init__(self, rows, features):
        self.rows, self.features = rows, features
        self.column_names = list(features)

    def __iter__(self):
        return iter(self.rows)


def test_hub_split_conversion_uses_classlabel_names():
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]
    split = _Split([{"id": "0", "tokens": ["Rais", "Samia", "Suluhu"], "ner_tags": [0, 1, 2]},
                    {"id": "1", "tokens": ["Dodoma"], "ner_tags": [5]}],
                   {"id": object(), "tokens": object(), "ner_tags": _Sequence(_ClassLabel(names))})
    records = hub_split_to_records(split, split_name="test", origin="hf:masakhane/masakhaner2:swa:test")
    assert [r.id for r in records] == ["test:0", "test:1"]
    assert records[0].tags == ["O", "B-PER", "I-PER"]
    # BasqueGLUE's shape: 'tags' column and 'idx'
    labels = _Sequence(_ClassLabel(["O", "B-PER", "I-PER", "B-LOC"]))
    split = _Split([{"idx": 7, "tokens": ["Bilbo"], "tags": [3]}],
                   {"idx": object(), "tokens": object(), "tags": labels})
    (rec,) = hub_split_to_records(split, split_name="val", origin="hf:x")
    assert (rec.id, rec.tags) == ("val:7", ["B-LOC"])


def test_hub_split_errors():
    split = _Split([{"tokens": ["a"], "ner_tags": [9]}],
                   {"tokens": object(), "ner_tags": _Sequence(_ClassLabel(["O"]))})
    with pytest.raises(XlnerError, match="out of range"):
        hub_split_to_records(split, split_name="test", origin="hf:x")
    with pytest.raises(XlnerError, match="expected columns"):
        hub_split_to_records(_Split([], {"text": object()}), split_name="test", origin="hf:x")


def test_hub_specs():
    assert parse_hub_spec("hf:masakhane/masakhaner2:swa:test") == ("masakhane/masakhaner2", "swa", "test")
    assert parse_hub_spec("hf:google/xtreme:PAN-X.eu:validation") == ("google/xtreme", "PAN-X.eu", "validation")
    assert parse_hub_spec("hf:conll2003:test") == ("conll2003", None, "test")
    with pytest.raises(XlnerError) as err:
        parse_hub_spec("hf:masakhane/masakhaner2")
    assert err.value.code == "E113"


def test_hub_without_datasets_fails_fast(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` raise ImportError
    with pytest.raises(XlnerError) as err:
        read_dataset("hf:masakhane/masakhaner2:swa:test")
    assert err.value.code == "E111"
    assert "xlner[hub]" in err.value.hint and "network" in err.value.hint


# --- the real datasets ---------------------------------------------------------------------------------

@needs_shared
@pytest.mark.parametrize("path", shared_files(), ids=lambda p: str(p.relative_to(SHARED)))
def test_reads_every_shared_file(path):
    ds = read_dataset(path)
    records, _ = read_records(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        expected = sum(1 for line in text.splitlines() if line.strip())
    else:  # independent count: blocks between blank lines
        expected = len([b for b in re.split(r"\n[ \t\r]*\n", text) if b.strip()])
    assert len(ds) == expected
    assert len({s.id for s in ds.sentences}) == len(ds)
    # entity count equals seqeval's own decoder on the raw tags
    assert sum(len(s.spans) for s in ds.sentences) == sum(len(get_entities(r.tags)) for r in records)
    assert all(sp.end <= len(s.tokens) for s in ds.sentences for sp in s.spans)
    assert set(ds.labels()) <= {"PER", "ORG", "LOC", "DATE", "MISC"}
    assert ds.lang != "und"


@needs_shared
def test_known_sizes_and_label_map_on_real_data():
    assert len(read_dataset(SHARED / "conll03-en" / "train.txt")) == 14041
    swa = read_dataset(SHARED / "masakhaner2" / "swa" / "dev.txt", label_map="masakhaner")
    assert swa.lang == "swa" and swa.labels() == ["LOC", "ORG", "PER"]
    assert read_dataset(SHARED / "basque-nerc" / "in_domain" / "val.jsonl").lang == "eu"
    # this file concatenates two sources whose idx both start at 0: the repeated ids get a suffix,
    # the others are kept as the file has them
    with pytest.warns(XlnerWarning, match=r"warning\[E141\].*repeats"):
        ood = read_dataset(SHARED / "basque-nerc" / "out_of_domain" / "train.jsonl")
    assert len({s.id for s in ood.sentences}) == len(ood) == 3553
    assert ood.sentences[0].id == "train:0" and sum("#" in s.id for s in ood.sentences) > 0


# --- CLI -------------------------------------------------------------------------------------------------

def _app() -> typer.Typer:
    from xlner.cli import data as data_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    data_cli.register(app)
    return app


def test_cli_info_and_convert(tmp_path):
    runner = CliRunner()
    res = runner.invoke(_app(), ["data", "info", str(FIXTURES / "bioes.conll"), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert (info["sentences"], info["entities"], info["scheme"]) == (1, 3, "bioes")
    out = tmp_path / "x.jsonl"
    res = runner.invoke(_app(), ["data", "convert", str(FIXTURES / "bioes.conll"), str(out), "--out-scheme", "bioes"])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text().splitlines()[0])["tags"][:2] == ["B-PER", "E-PER"]


def test_writer_refuses_empty_sentence_in_conll(tmp_path):
    with pytest.raises(XlnerError) as err:
        write_conll([Sentence("s:3", [])], tmp_path / "x.conll")
    assert err.value.code == "E116" and "s:3" in err.value.message


_TOKEN = st.text(st.characters(blacklist_characters=" \t\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(_TOKEN.filter(lambda t: t != "-DOCSTART-"), min_size=1, max_size=8),
                          st.data()), min_size=1, max_size=4),
       st.sampled_from(SCHEMES), st.sampled_from(["conll", "jsonl"]))
def test_file_roundtrip_any_tokens(tmp_path_factory, sents, scheme, fmt):
    sentences = []
    for i, (tokens, data) in enumerate(sents):
        spans, j = [], 0
        while j < len(tokens):
            if data.draw(st.booleans()):
                length = data.draw(st.integers(1, len(tokens) - j))
                spans.append(Span(j, j + length, data.draw(st.sampled_from(["PER", "LOC"]))))
                j += length
            else:
                j += 1
        sentences.append(Sentence(f"s:{i}", tokens, spans))
    path = tmp_path_factory.mktemp("rt") / f"x.{fmt}"
    (write_conll if fmt == "conll" else write_jsonl)(sentences, path, scheme=scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XlnerWarning)  # random text may look double-encoded
        back = read_dataset(path).sentences  # the format is sniffed
    assert [(s.tokens, s.spans) for s in back] == [(s.tokens, s.spans) for s in sentences]
