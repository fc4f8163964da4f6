"""Property-based fuzzing of the run-record readers: random bytes and random JSON lines, given to
``xlner project`` as input and to a run's records.jsonl, either succeed or fail with a catalogued
error code, never another exception; no temporary file is left behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlner.errors import XlnerError, catalogue
from xlner.explorer import loading
from xlner.project.io import project_file
from xlner.record import RunRecord
from xlner.runs import read_records

# Raised by modules other helpers are moving to the catalogue (xlner.project.matching's extra-score
# checks); catalogued there, not yet on this branch.
NOT_YET_CATALOGUED = {"E205"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_catalogued(exc: XlnerError) -> None:
    assert exc.code in catalogue() or exc.code in NOT_YET_CATALOGUED, exc.code


# Any JSON value (finite floats: NaN never equals itself, which the round trip below compares).
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 8) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


index = st.integers(-1, 6)
words = st.lists(st.sampled_from(["Ana", "Bilbao", ",", "[", "ż", ""]), min_size=1, max_size=7)
span = st.fixed_dictionaries({"start": index, "end": index, "label": st.sampled_from(["PER", "LOC"])},
                             optional={"score": st.floats(0, 2), "source": index})
spans = st.lists(span, max_size=3)
pairs = st.lists(st.lists(index, min_size=2, max_size=2), max_size=6)
# Record-shaped objects whose values are plausible (so that the deep checks run: spans, pairs and
# sources near the edges of the sentence)...
plausible = st.fixed_dictionaries(
    {"src_tokens": words, "tgt_tokens": words, "src_entities": spans, "alignment": pairs},
    optional={"id": st.text(max_size=3) | st.integers(0, 5), "gold_entities": spans, "tgt_entities": spans,
              "unprojected": st.lists(st.fixed_dictionaries(
                  {"source": index, "reason": st.sampled_from(["unaligned", "collision", "x"])}), max_size=3),
              "candidates": st.lists(span, max_size=3),
              "alignment_scores": st.lists(st.floats(-1, 2), max_size=6),
              "tgt_candidates": spans,
              "back_translation": st.fixed_dictionaries(
                  {"tokens": words, "entities": spans, "alignment": pairs},
                  optional={"lost": st.lists(st.fixed_dictionaries(
                      {"source": index, "reason": st.sampled_from(["marker_lost", "x"])}), max_size=2)})})
FIELDS = ["id", "src_tokens", "tgt_tokens", "src_entities", "alignment", "gold_entities", "tgt_entities",
          "unprojected", "candidates", "alignment_scores", "similarity", "src_unknown", "tgt_candidates",
          "extra_scores", "back_translation", "lang", "method"]


@st.composite
def record(draw: st.DrawFn) -> dict:
    """...with, half of the time, one field replaced by any JSON value (or removed)."""
    obj = dict(draw(plausible))
    if draw(st.booleans()):
        key = draw(st.sampled_from(FIELDS))
        if draw(st.integers(0, 5)) == 0:
            obj.pop(key, None)
        else:
            obj[key] = draw(json_value)
    return obj


lines = st.lists(st.one_of(record(), record(), record(), json_value), min_size=1, max_size=3).map(
    lambda objs: "".join(json.dumps(o) + "\n" for o in objs).encode("utf-8"))
raw_bytes = st.binary(max_size=300) | lines.map(lambda b: b[:len(b) // 2] + b"\xff" + b[len(b) // 2:])


def _project(data: bytes, method: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_bytes(data)
        try:
            counts = project_file(str(src), str(out), method, {}, with_candidates=True, progress=False)
        except XlnerError as exc:
            assert_catalogued(exc)
            assert sorted(p.name for p in Path(tmp).iterdir()) == ["in.jsonl"]  # no output, no temp file
        else:
            rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
            assert len(rows) == counts["sentences"]


def _read_run(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        path.write_bytes(data)
        for read in (read_records, loading.read_records):
            try:
                records = read(path)
            except XlnerError as exc:
                assert_catalogued(exc)
            else:
                for r in records:  # whatever loads, writes back and loads again to the same record
                    assert RunRecord.from_json(json.loads(json.dumps(r.to_json()))) == r


@FUZZ
@given(lines, st.sampled_from(["heuristic", "largest-group", "match-greedy", "match-exact"]))
def test_random_json_lines_as_project_input(data, method):
    _project(data, method)


@FUZZ
@given(raw_bytes)
def test_random_bytes_as_project_input(data):
    _project(data, "match-greedy")


@FUZZ
@given(lines)
def test_random_json_lines_as_a_runs_records(data):
    _read_run(data)


@FUZZ
@given(raw_bytes)
def test_random_bytes_as_a_runs_records(data):
    _read_run(data)
