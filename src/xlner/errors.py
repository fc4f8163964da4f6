"""One catalogue of coded, greppable errors and warnings (in the manner of spaCy's ``Errors``).

The catalogue is data: ``errors.yaml`` beside this module holds, for every code, one message
template, one hint and its kind (error or warning). Code raises by code and fields only::

    raise XlnerError("E101", path=path)              # message and hint come from the catalogue
    warn("E120", where=where(path, 3), id="s1")       # printed as ``warning[E120]: ...``

The CLI prints ``error[E###]: message`` plus ``hint: ...`` and exits with status 2 instead of
showing a traceback; warnings print as ``warning[E###]: message``. ``docs/errors.md`` is generated
from the catalogue (``xlner errors --markdown``), and a test checks that every code raised in the
source is catalogued with the fields its template names, and that every catalogued code is raised.

Codes are grouped by stage (the first digit):
  E1xx data reading · E2xx projection input · E3xx evaluation · E4xx translation ·
  E5xx encoders and alignment · E6xx NER backends · E7xx pipeline, profiles, cache and runs ·
  E8xx training and experiments · E9xx explorer and corrections
"""

from __future__ import annotations

import string
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

__all__ = ["XlnerError", "XlnerWarning", "Entry", "catalogue", "entry", "warn", "where", "STAGES",
           "catalogue_markdown", "describe"]

STAGES = {
    "1": "data reading",
    "2": "projection input",
    "3": "evaluation",
    "4": "translation",
    "5": "encoders and alignment",
    "6": "NER backends",
    "7": "pipeline, profiles, cache and runs",
    "8": "training and experiments",
    "9": "explorer and corrections",
}


@dataclass(frozen=True)
class Entry:
    """One catalogued code: its message template, its hint template and whether it is a warning."""

    code: str
    message: str
    hint: str = ""
    kind: Literal["error", "warning"] = "error"

    @property
    def fields(self) -> frozenset[str]:
        """The names the templates need (``{path}`` -> ``path``)."""
        return frozenset(name for text in (self.message, self.hint)
                         for _, name, _, _ in string.Formatter().parse(text) if name)

    @property
    def stage(self) -> str:
        return STAGES.get(self.code[1:2], "other")

    def render(self, fields: dict[str, Any]) -> tuple[str, str | None]:
        """``(message, hint)`` with ``fields`` filled in; a missing field is a bug at the raise site."""
        missing = self.fields - fields.keys()
        if missing:
            raise TypeError(f"{self.code} needs the fields {sorted(missing)}")
        message = self.message.format(**fields)
        hint = self.hint.format(**fields) if self.hint else None
        return message, hint


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Entry]:
    """Every catalogued code, read once from ``errors.yaml``."""
    import yaml

    text = resources.files("xlner").joinpath("errors.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(text, Loader=loader) or {}
    entries = {}
    for code, spec in raw.items():
        entries[str(code)] = Entry(code=str(code), message=str(spec["message"]),
                                   hint=str(spec.get("hint") or ""), kind=spec.get("kind", "error"))
    return entries


def entry(code: str) -> Entry:
    """The catalogue entry of ``code`` (a KeyError names an uncatalogued code: a bug)."""
    try:
        return catalogue()[code]
    except KeyError:
        raise KeyError(f"{code} is not in xlner/errors.yaml") from None


class XlnerError(Exception):
    """A user-facing error: bad input, a missing component, a broken cache.

    ``XlnerError(code, **fields)`` renders the catalogue's message and hint with ``fields``.
    """

    def __init__(self, code: str, message: str | None = None, /, *, hint: str | None = None,
                 **fields: Any) -> None:
        self.code = code
        self.fields = fields
        if message is None:
            message, hint = entry(code).render(fields)
        # else: the uncatalogued form ``XlnerError(code, message, hint=...)``, kept only while
        # modules move to the catalogue; the catalogue test lists every remaining use.
        self.message = message
        self.hint = hint
        super().__init__(f"[{code}] {message}" + (f"\n  hint: {hint}" if hint else ""))

    def render(self, kind: str = "error") -> str:
        """The text the CLI prints: ``error[E###]: message`` and an indented hint line."""
        return f"{kind}[{self.code}]: {self.message}" + (f"\n  hint: {self.hint}" if self.hint else "")


class XlnerWarning(UserWarning):
    """A catalogued warning; ``str()`` is ``warning[E###]: message`` (plus the hint)."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        self.code, self.message, self.hint = code, message, hint
        super().__init__(f"warning[{code}]: {message}" + (f"\n  hint: {hint}" if hint else ""))


def warn(code: str, /, *, stacklevel: int = 2, **fields: Any) -> None:
    """Emit the catalogued warning ``code`` (kind ``warning`` in the catalogue)."""
    spec = entry(code)
    if spec.kind != "warning":
        raise TypeError(f"{code} is catalogued as an error, not a warning")
    message, hint = spec.render(fields)
    warnings.warn(XlnerWarning(code, message, hint), stacklevel=stacklevel + 1)


def format_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                   line: str | None = None) -> str:
    """``warnings.formatwarning`` for the CLI: catalogued warnings without Python's source line."""
    if isinstance(message, XlnerWarning):
        return str(message) + "\n"
    return f"warning: {message}\n"


def describe(code: str) -> str:
    """One catalogue entry as text (``xlner errors CODE``); an unknown code is an error E718."""
    key = code.strip().upper()
    if key not in catalogue():
        raise XlnerError("E718", code=code)
    e = catalogue()[key]
    return (f"{e.code} ({e.kind}, {e.stage})\n  message: {e.message}"
            + (f"\n  hint: {e.hint}" if e.hint else ""))


def where(path: object, line: int | None = None, sentence: object | None = None) -> str:
    """Format a location as ``path:line (sentence ID)`` for error messages."""
    loc = str(path)
    if line is not None:
        loc += f":{line}"
    if sentence is not None:
        loc += f" (sentence {sentence})"
    return loc


def catalogue_markdown() -> str:
    """``docs/errors.md``: every code, grouped by stage, with its message and hint."""
    lines = ["# Error and warning codes", "",
             "Generated from `src/xlner/errors.yaml` by `xlner errors --markdown > docs/errors.md`;",
             "do not edit by hand. `xlner errors CODE` prints one entry. Fields in `{braces}` are",
             "filled in where the error is raised (file, line, sentence id, value).", ""]
    by_stage: dict[str, list[Entry]] = {}
    for e in sorted(catalogue().values(), key=lambda e: e.code):
        by_stage.setdefault(e.stage, []).append(e)
    for digit, stage in STAGES.items():
        group = [e for e in by_stage.get(stage, [])]
        if not group:
            continue
        lines += [f"## E{digit}xx — {stage}", "", "| code | kind | message | hint |", "|---|---|---|---|"]
        for e in group:
            cells = [e.message, e.hint]
            cells = [c.replace("|", "\\|").replace("\n", " ") for c in cells]
            lines.append(f"| {e.code} | {e.kind} | {cells[0]} | {cells[1]} |")
        lines.append("")
    return "\n".join(lines)
