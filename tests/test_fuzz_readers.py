"""Property tests of every reader in xlner.data: whatever the bytes or the JSON, a reader either
returns sentences or raises an XlnerError with a catalogued code; warnings are catalogued too.
Never another exception (a traceback for the user)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlner.data import LabelMap, load_label_map, read_dataset, read_records
from xlner.errors import XlnerError, XlnerWarning, catalogue

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Lines that look like the real formats, so that the fuzzing reaches past the first check.
_TAGS = st.sampled_from(["O", "B-PER", "I-PER", "B-loc", "I-ORG", "E-LOC", "S-MISC", "B_PER", "X-LOC", "I-"])
_WORD = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=6)
_CONLL_LINE = st.one_of(
    st.builds(lambda w, t: f"{w} {t}", _WORD, _TAGS),
    st.builds(lambda w, t: f"{w}\t{t}", _WORD, _TAGS),
    st.builds(lambda w, t: f"en:{w}\t{t}", _WORD, _TAGS),
    st.just(""), st.just("-DOCSTART- O"), _WORD,
)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _WORD,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_WORD, inner, max_size=4),
                     max_leaves=12)
_RECORD = st.fixed_dictionaries(
    {}, optional={"id": _JSON, "idx": _JSON, "tokens": st.lists(_WORD, max_size=4) | _JSON,
                  "tags": st.lists(_TAGS, max_size=4) | _JSON, "ner_tags": _JSON,
                  "spans": st.lists(st.fixed_dictionaries({"start": st.integers(-1, 5), "end": st.integers(-1, 5),
                                                           "label": _WORD}), max_size=3) | _JSON,
                  "tgt_tokens": _JSON, "gold_entities": _JSON})


def _either(read: Callable[[], Any]) -> None:
    """``read()`` succeeds or fails with a catalogued error; its warnings are catalogued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            read()
        except XlnerError as exc:
            assert exc.code in catalogue(), exc.code
            assert catalogue()[exc.code].kind == "error"
    for w in caught:
        assert isinstance(w.message, XlnerWarning), f"uncatalogued warning: {w.message!r}"
        assert catalogue()[w.message.code].kind == "warning"


def _file(tmp_path_factory: Any, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    return path


@FAST
@given(data=st.binary(max_size=300), name=st.sampled_from(["x.conll", "x.jsonl", "x.tsv", "x.txt"]),
       fmt=st.sampled_from(["auto", "conll", "jsonl", "panx"]))
def test_random_bytes(tmp_path_factory, data, name, fmt):
    path = _file(tmp_path_factory, name, data)
    _either(lambda: read_dataset(path, format=fmt))


@FAST
@given(lines=st.lists(_CONLL_LINE, max_size=12), fmt=st.sampled_from(["auto", "conll", "panx"]),
       scheme=st.sampled_from(["auto", "iob1", "iob2", "bioes", "bilou", "nope"]))
def test_random_column_files(tmp_path_factory, lines, fmt, scheme):
    path = _file(tmp_path_factory, "x.conll", "\n".join(lines).encode("utf-8"))
    _either(lambda: read_dataset(path, format=fmt, scheme=scheme))


@FAST
@given(rows=st.lists(st.one_of(_RECORD, _JSON), min_size=1, max_size=6))
def test_random_json_lines(tmp_path_factory, rows):
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    path = _file(tmp_path_factory, "x.jsonl", text.encode("utf-8"))
    _either(lambda: read_dataset(path))
    _either(lambda: read_records(path, format="jsonl"))


@FAST
@given(spec=_JSON)
def test_random_label_maps(tmp_path_factory, spec):
    _either(lambda: LabelMap.from_dict(spec, origin="fuzz.yaml"))
    path = _file(tmp_path_factory, "map.yaml", json.dumps(spec).encode("utf-8"))  # JSON is YAML
    _either(lambda: load_label_map(path))


@FAST
@given(data=st.binary(max_size=200))
def test_random_label_map_bytes(tmp_path_factory, data):
    path = _file(tmp_path_factory, "map.yaml", data)
    _either(lambda: load_label_map(path))
