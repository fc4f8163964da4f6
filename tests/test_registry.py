"""xlner.registry: one registry of components, one parameter validation for every kind; and
xlner.devices, the one device lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pytest
from annotated_types import Ge, Interval

from xlner import registry
from xlner.errors import XlnerError
from xlner.registry import Int, Origin


@pytest.mark.parametrize("kind,names", [
    ("translator", {"apertium", "hf", "precomputed", "lexicon"}),
    ("tagger", {"spacy", "hf", "mt-marks"}),
    ("aligner", {"simalign", "awesome", "eflomal", "identity"}),
    ("projection", {"heuristic", "largest-group", "match-greedy", "match-exact", "match-fused",
                    "match-fused+ensemble"}),
])
def test_every_kind_is_registered_in_one_place(kind, names):
    assert set(registry.names(kind)) == names
    for name in names:
        component = registry.lookup(kind, name)
        assert component.kind == kind and component.name == name
        required = {"path": "t.jsonl"} if name == "precomputed" else {}  # its one required parameter
        filled = registry.fields_of(component.params(**required))
        assert component.defaults() == {k: v for k, v in filled.items() if k not in required}
        assert registry.validate(kind, name, required) == component.params(**required)  # defaults valid


def test_one_error_for_every_kind_naming_component_parameter_and_origin():
    """An unknown parameter, a wrong type and a value out of range: the same code everywhere."""
    cases = [("translator", "apertium", {"batch_size": "10"}), ("tagger", "spacy", {"batch_size": -1}),
             ("aligner", "simalign", {"bacth_tokens": 1}), ("projection", "heuristic", {"top_k": 1.5})]
    for kind, name, params in cases:
        with pytest.raises(XlnerError) as err:
            registry.validate(kind, name, params, Origin("p.yaml", "section", {}))
        param = next(iter(params))
        assert err.value.code == "E761", (kind, err.value.message)
        assert err.value.message.startswith(f"profile p.yaml, key section.{param}: ")
        assert repr(name) in err.value.message and param in err.value.message
        with pytest.raises(XlnerError) as err:
            registry.validate(kind, "no-such-" + kind, {}, Origin("p.yaml", "section", {}))
        assert err.value.code == "E760" and "key section.name" in err.value.message


def test_an_override_is_named_instead_of_the_file():
    origin = Origin("p.yaml", "aligner", {"aligner.layer": "--set aligner.layer=x"})
    assert origin.source("layer") == "--set aligner.layer=x: "
    assert origin.source("method") == "profile p.yaml, key aligner.method: "
    whole = Origin("p.yaml", "tagger", {"tagger": "--set tagger={name: spacy}"})
    assert whole.source("model") == "--set tagger={name: spacy}: "
    assert Origin().source("layer") == ""  # a call from Python: the message names the parameter


@dataclass(kw_only=True)
class _Toy:
    count: Annotated[Int, Ge(1)] = 2
    ratio: Annotated[float, Interval(ge=0, lt=1)] = 0.5
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    label: str | None = None


@pytest.mark.parametrize("given,ok", [
    ({"count": 3}, True), ({"count": 3.0}, True), ({"count": True}, False), ({"count": "3"}, False),
    ({"count": 0}, False), ({"ratio": 0}, True), ({"ratio": 1}, False), ({"ratio": "0.5"}, False),
    ({"flag": True}, True), ({"flag": 1}, False), ({"flag": "yes"}, False),
    ({"mode": "b"}, True), ({"mode": "c"}, False), ({"label": None}, True), ({"label": 3}, False),
])
def test_validation_is_strict(given, ok):
    """``2.0`` is an integer, but ``"3"``, ``1`` for a flag and ``True`` for a count are refused."""
    if ok:
        checked = registry.check_params("toy", _Toy, given, Origin())
        assert all(getattr(checked, k) == v for k, v in given.items())
        assert type(checked.count) is int
    else:
        with pytest.raises(XlnerError) as err:
            registry.check_params("toy", _Toy, given, Origin())
        assert err.value.code == "E761" and next(iter(given)) in err.value.message


def test_describe_says_what_a_value_must_be():
    assert registry.describe(Annotated[Int, Ge(1)]) == "be an integer >= 1"
    assert registry.describe(Annotated[float, Interval(ge=0, lt=1)]) == "be a number in [0, 1)"
    assert registry.describe(Literal["a", "b"] | None) == "be one of a, b, or be null"


def test_device_lookup_is_one_function():
    torch = pytest.importorskip("torch")
    from xlner.devices import resolve_device, resolve_dtype

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(XlnerError) as err:
            resolve_device("cuda:0")
        assert err.value.code == "E772"
    assert resolve_dtype("float32", "cpu") == "float32"
    with pytest.raises(XlnerError) as err:
        resolve_dtype("int4", "cpu")
    assert err.value.code == "E773"
