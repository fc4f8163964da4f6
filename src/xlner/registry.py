"""One registry of the pipeline's components: translators, NER taggers, aligners, projection methods.

A component is registered by kind and name with a *parameter dataclass*: its fields, their types and
their defaults are the component's parameters, and constraints are part of the type
(``Annotated[int, Ge(1)]``, ``Literal["word", "bpe"]``)::

    @dataclass(frozen=True, kw_only=True)
    class IdentityParams:
        min_prefix: Annotated[Int, Ge(1)] = 4
        punctuation: bool = False

    register("aligner", "identity", IdentityParams, "xlner.align.identity:IdentityAligner")

One function, :func:`validate`, checks a mapping of parameters against that dataclass (with pydantic,
strictly: ``"8"`` is not an integer and ``1`` is not ``true``), so every kind refuses an unknown
parameter, a wrong type or an out-of-range value with the same error, E761, naming the component,
the parameter and where the value was written (:class:`Origin`: a profile file and key, a ``--set``
override, or nothing for a call from Python). :func:`build` validates and constructs.

A kind's components are registered by its provider module (``xlner.align`` for aligners...), which
the registry imports on the first lookup of that kind, so looking a name up costs no model import.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import importlib
import os
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Callable, Literal, Mapping, Sequence

import annotated_types as at
from pydantic import BeforeValidator, ConfigDict, ValidationError, create_model

from xlner.errors import XlnerError

__all__ = ["Component", "Origin", "ParamProblem", "register", "register_composite", "names", "lookup",
           "validate", "resolve", "build", "describe", "Int", "PathText", "KINDS"]

#: Each kind, the module that registers its components and how messages call it.
KINDS: dict[str, tuple[str, str]] = {
    "translator": ("xlner.translate", "translator"),
    "tagger": ("xlner.ner", "NER tagger"),
    "aligner": ("xlner.align", "aligner"),
    "projection": ("xlner.project", "projection method"),
}


# --- parameter types --------------------------------------------------------------------------

def _integral(value: Any) -> Any:
    """``2.0`` -> ``2`` (YAML and JSON users write whole numbers either way); anything else as is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


#: An integer parameter; a float with no fractional part is accepted, a bool is not.
Int = Annotated[int, BeforeValidator(_integral)]
#: A path or model name parameter: a string, or a ``pathlib.Path`` given from Python.
PathText = Annotated[str, BeforeValidator(_fspath)]


# --- where parameters were written ---------------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    """Where a component's parameters were written, for error messages.

    ``path``: the profile file (or how settings given as a mapping are called; None: a call from
    Python);
    ``key``: the dotted key of the mapping that holds the parameters (``aligner``,
    ``projection.options``); ``overrides``: dotted key -> how an override that set it was written
    (``--set aligner.layer=6``), so that an error names the override rather than the file.
    """

    path: str | None = None
    key: str = ""
    overrides: Mapping[str, str] = field(default_factory=dict)

    def child(self, key: str) -> Origin:
        return dataclasses.replace(self, key=self.join(key))

    def join(self, key: str | None) -> str:
        return ".".join(k for k in (self.key, key) if k)

    def source(self, key: str | None = None) -> str:
        """``"--set aligner.layer=6: "``, ``"profile FILE, key aligner.layer: "`` or ``""``."""
        full = self.join(key)
        parts = full.split(".") if full else []
        for n in range(len(parts), 0, -1):  # the override that set this key or a section above it
            written = self.overrides.get(".".join(parts[:n]))
            if written is not None:
                return f"{written}: "
        if self.path is None:  # a call from Python: the message names the parameter itself
            return ""
        return f"profile {self.path}, key {full}: " if full else f"profile {self.path}: "


class ParamProblem(Exception):
    """Raised by a parameter dataclass's ``check(origin)`` hook: ``param`` is wrong because ``problem``
    (turned into E761 with the component and the origin)."""

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"{param} {problem}")
        self.param, self.problem = param, problem


# --- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Component:
    """One registered component: its kind, name, parameter dataclass and constructor."""

    kind: str
    name: str
    params: type
    factory: str  # "module:attribute", imported when the component is built

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind][1]} {self.name!r}"

    def constructor(self) -> Callable[..., Any]:
        module, _, attribute = self.factory.partition(":")
        return typing.cast(Callable[..., Any], getattr(importlib.import_module(module), attribute))

    def defaults(self) -> dict[str, Any]:
        """Each parameter's default (a required parameter, such as ``precomputed``'s ``path``, has none)."""
        out = {}
        for f in dataclasses.fields(self.params):
            if f.init and f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.init and f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
        return out


#: kind -> a function that splits a composite name (``simalign+identity``) into its parts'
#: ``(name, params, key)``, or returns None for a plain name.
Splitter = Callable[[str, Mapping[str, Any], "Origin"], "list[tuple[str, dict[str, Any], Origin]] | None"]

_COMPONENTS: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
_SPLITTERS: dict[str, Splitter] = {}


def register(kind: str, name: str, params: type, factory: str) -> None:
    """Register component ``name`` of ``kind`` with its parameter dataclass and its constructor
    (``"module:attribute"``, called as ``constructor(*context, **params)``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}")
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"the parameters of {kind} {name!r} must be declared as a dataclass")
    _COMPONENTS[kind][name] = Component(kind, name, params, factory)


def register_composite(kind: str, splitter: Splitter) -> None:
    """Let ``kind`` accept composite names (aligner combinations); see :data:`Splitter`."""
    _SPLITTERS[kind] = splitter


def _components(kind: str) -> dict[str, Component]:
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}")
    importlib.import_module(KINDS[kind][0])  # registers the kind's components on first import
    return _COMPONENTS[kind]


def names(kind: str) -> tuple[str, ...]:
    """The registered names of ``kind``, in registration order."""
    return tuple(_components(kind))


def lookup(kind: str, name: str, origin: Origin | None = None, *, name_key: str = "name") -> Component:
    """The component ``name`` of ``kind``; E760 naming the choices if there is none."""
    found = _components(kind).get(name) if isinstance(name, str) else None
    if found is None:
        note = " (or a combination such as simalign+identity)" if kind in _SPLITTERS else ""
        raise XlnerError("E760", source=(origin or Origin()).source(name_key), kind=KINDS[kind][1],
                         name=name, choices=", ".join(_COMPONENTS[kind]) + note)
    return found


# --- validation --------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _checker(params: type) -> Any:
    """A strict pydantic model with the dataclass's fields (built once per dataclass)."""
    hints = typing.get_type_hints(params, include_extras=True)
    fields = {}
    for f in dataclasses.fields(params):
        if not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else ...)
        fields[f.name] = (hints[f.name], default)
    config = ConfigDict(strict=True, extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{params.__name__}Check", __config__=config, **fields)


def fields_of(params: Any) -> dict[str, Any]:
    """A parameter dataclass instance as a flat ``{name: value}`` dict (values not copied)."""
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(params) if f.init}


def check_params(label: str, params_type: type, given: Mapping[str, Any], origin: Origin,
                 what: str = "parameter") -> Any:
    """``params_type(**given)`` after checking every value against its declared type (E761);
    ``what`` is how messages call a field (``parameter``, or ``key`` for a profile section)."""
    if not isinstance(given, Mapping):
        raise XlnerError("E761", source=origin.source(), component=label,
                         problem=f"parameters must be a mapping of names to values, got {given!r}",
                         accepted=_accepted(params_type))
    try:
        checked = _checker(params_type).model_validate(dict(given))
    except ValidationError as exc:
        _refuse(label, params_type, given, exc, origin, what)
    values = {k: getattr(checked, k) for k in given}
    instance = params_type(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check(origin)
        except ParamProblem as problem:
            raise XlnerError("E761", source=origin.source(problem.param), component=label,
                             problem=f"{problem.param} {problem.problem}",
                             accepted=_accepted(params_type)) from None
    return instance


def _refuse(label: str, params_type: type, given: Mapping[str, Any], exc: ValidationError,
            origin: Origin, what: str = "parameter") -> typing.NoReturn:
    hints = typing.get_type_hints(params_type, include_extras=True)
    problems: list[str] = []
    first = None
    for err in exc.errors():
        if not err["loc"]:
            continue
        param = str(err["loc"][0])
        first = first or param
        if err["type"] == "extra_forbidden":
            text = f"has no {what} {param!r}"
        elif err["type"] == "missing":
            text = f"needs {what} {param}, which must {describe(hints[param])}"
        elif err["type"] == "sequence_str":
            text = f"{param} must be a list, not one string: {given[param]!r}"
        else:
            text = f"{param} must {describe(hints[param])}, got {given[param]!r}"
        if text not in problems:
            problems.append(text)
    raise XlnerError("E761", source=origin.source(first), component=label, problem="; ".join(problems),
                     accepted=_accepted(params_type)) from None


def _accepted(params_type: type) -> str:
    return ", ".join(f.name for f in dataclasses.fields(params_type) if f.init) or "none"


def validate(kind: str, name: str, params: Mapping[str, Any] | None = None,
             origin: Origin | None = None) -> Any:
    """The component's parameter dataclass filled from ``params`` (E760, E761); for a composite
    name (an aligner combination) a list of its parts' ``(name, params dataclass)``."""
    origin = origin or Origin()
    params = {} if params is None else params
    _components(kind)  # the provider registers its splitter too
    splitter = _SPLITTERS.get(kind)
    parts = splitter(name, params, origin) if splitter is not None and isinstance(name, str) else None
    if parts is not None:
        return [(part, validate(kind, part, part_params, part_origin))
                for part, part_params, part_origin in parts]
    component = lookup(kind, name, origin)
    return check_params(component.label, component.params, params, origin)


def resolve(kind: str, name: str, params: Mapping[str, Any] | None = None,
            origin: Origin | None = None) -> dict[str, Any]:
    """Validated parameters with the defaults filled in, as a dict."""
    return fields_of(validate(kind, name, params, origin))


def build(kind: str, name: str, *context: Any, origin: Origin | None = None, **params: Any) -> Any:
    """Validate ``params`` and construct the component: ``constructor(*context, **params)``."""
    component = lookup(kind, name, origin)
    checked = check_params(component.label, component.params, params, origin or Origin())
    return component.constructor()(*context, **fields_of(checked))


# --- describing types in messages ----------------------------------------------------------------

_NONE = type(None)


def describe(annotation: Any) -> str:
    """What a value of this type must do, for messages: ``be an integer >= 1``, ``be one of a, b``."""
    options = _alternatives(annotation)
    nullable = any(o is _NONE for o in options)
    texts = [_describe_one(o) for o in options if o is not _NONE]
    text = " or ".join(dict.fromkeys(texts))
    return f"{text}, or be null" if nullable and text else text or "be null"


def _alternatives(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _alternatives(arg)]
    return [annotation]


def _bounds(metadata: Sequence[Any]) -> str:
    low = high = ""
    for m in metadata:
        if isinstance(m, at.Interval):
            low = f"[{m.ge}" if m.ge is not None else f"({m.gt}" if m.gt is not None else low
            high = f"{m.le}]" if m.le is not None else f"{m.lt})" if m.lt is not None else high
        elif isinstance(m, at.Ge):
            low = f"[{m.ge}"
        elif isinstance(m, at.Gt):
            low = f"({m.gt}"
        elif isinstance(m, at.Le):
            high = f"{m.le}]"
        elif isinstance(m, at.Lt):
            high = f"{m.lt})"
    if low and high:
        return f" in {low}, {high}"
    if low:
        return f" {'>=' if low[0] == '[' else '>'} {low[1:]}"
    if high:
        return f" {'<=' if high[-1] == ']' else '<'} {high[:-1]}"
    return ""


def _describe_one(annotation: Any) -> str:
    metadata: Sequence[Any] = ()
    while typing.get_origin(annotation) is Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata = [*metadata, *extra]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    bounds = _bounds(metadata)
    if annotation is bool:
        return "be true or false"
    if annotation is int:
        return f"be an integer{bounds}"
    if annotation is float:
        return f"be a number{bounds}"
    if annotation is str:
        return "be a non-empty string" if any(isinstance(m, at.MinLen) for m in metadata) else "be a string"
    if origin is Literal:
        return "be one of " + ", ".join(str(a) for a in args)
    if origin in (dict, abc.Mapping) or annotation is dict:
        values = f" to {_noun(args[1])}" if len(args) == 2 and args[1] is not Any else ""
        return f"map names{values}" if values else "be a mapping"
    if origin in (list, tuple, abc.Sequence, abc.Collection, abc.Set, set, frozenset):
        least = next((m.min_length for m in metadata if isinstance(m, at.MinLen)), 0)
        item = _noun(args[0]) if args else "values"
        return f"be a {'non-empty ' if least else ''}list of {item}"
    return f"be {getattr(annotation, '__name__', str(annotation))}"


def _noun(annotation: Any) -> str:
    text = describe(annotation)
    if text.startswith("be a ") or text.startswith("be an "):
        text = text.split(" ", 2)[2]
    elif text.startswith("be "):
        text = text[3:]
    return {"number": "numbers", "string": "strings", "integer": "integers",
            "non-empty string": "non-empty strings"}.get(text, text)
