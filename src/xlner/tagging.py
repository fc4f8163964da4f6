"""Tagging schemes (IOB1, IOB2, BIOES) declared as data, and conversion between tags and spans.

Every reader turns tags into :class:`~xlner.datamodel.Span` objects with :func:`tags_to_spans`
and every writer turns spans back into tags with :func:`spans_to_tags`; the rest of xlner only
ever sees spans (and IOB2 tags derived from them).

Decoding is lenient in the conlleval manner: an ``I-X`` that does not continue an ``X`` entity
opens a new one (that is what IOB1 means, and what seqeval's default mode does with stray
``I-`` tags in IOB2). Under that rule IOB1 and IOB2 decode identically; they differ only in how
spans are *encoded*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from xlner.datamodel import Span


@dataclass(frozen=True)
class PrefixRule:
    """How one tag prefix behaves while decoding."""

    opens: bool  # always starts a new entity, even right after one of the same type
    closes: bool  # the entity ends with this token


# The prefixes each scheme may use, and what each prefix means. BILOU's L/U are BIOES's E/S.
PREFIX_RULES: dict[str, PrefixRule] = {
    "B": PrefixRule(opens=True, closes=False),
    "I": PrefixRule(opens=False, closes=False),
    "E": PrefixRule(opens=False, closes=True),
    "S": PrefixRule(opens=True, closes=True),
}
PREFIX_ALIASES: dict[str, str] = {"L": "E", "U": "S"}
SCHEME_PREFIXES: dict[str, frozenset[str]] = {
    "iob1": frozenset("BI"),
    "iob2": frozenset("BI"),
    "bioes": frozenset("BIES"),
}
SCHEMES: tuple[str, ...] = tuple(SCHEME_PREFIXES)
SCHEME_ALIASES: dict[str, str] = {"iob": "iob2", "bio": "iob2", "iobes": "bioes", "bilou": "bioes"}

# ``O`` or ``PREFIX-TYPE``; the type may itself contain hyphens (``B-WORK-OF-ART``) but no spaces.
_TAG_RE = re.compile(r"^(?:O|([A-Za-z])-(\S+))$")


class TagError(ValueError):
    """An ill-formed tag; readers turn it into an XlnerError that names file, line and sentence."""


def normalise_scheme(scheme: str) -> str:
    s = scheme.lower()
    s = SCHEME_ALIASES.get(s, s)
    if s not in SCHEME_PREFIXES and s != "auto":
        raise TagError(f"unknown tagging scheme {scheme!r}; use one of auto, {', '.join(SCHEMES)}")
    return s


@lru_cache(maxsize=8192)  # a corpus has a handful of distinct tags and millions of tokens
def parse_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``. Raises :class:`TagError`."""
    if tag == "O":
        return "O", ""
    m = _TAG_RE.match(tag)
    if m is None:
        raise TagError(f"ill-formed tag {tag!r}: expected 'O' or PREFIX-TYPE such as 'B-PER'")
    prefix = PREFIX_ALIASES.get(m.group(1), m.group(1))
    if prefix not in PREFIX_RULES:
        raise TagError(f"unknown tag prefix {m.group(1)!r} in {tag!r}: expected one of B, I, E, S (or L, U)")
    return prefix, m.group(2)


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of tags.

    Any E/S (or L/U) prefix means BIOES. IOB1 if most entities start with ``I-``; a few stray
    ``I-`` starts in an otherwise B-initial file are annotation slips in IOB2 (MasakhaNER has
    some), which lenient decoding treats exactly as IOB1 would anyway.
    """
    i_starts = b_starts = 0
    for tags in tag_sequences:
        prev_type = ""
        for tag in tags:
            prefix, typ = parse_tag(tag)
            if prefix in ("E", "S"):
                return "bioes"
            if prefix == "B":
                b_starts += 1
            elif prefix == "I" and typ != prev_type:
                i_starts += 1
            prev_type = typ if prefix in ("B", "I") else ""
    return "iob1" if i_starts > b_starts else "iob2"


def check_scheme(tags: Sequence[str], scheme: str) -> None:
    """Raise :class:`TagError` if a tag uses a prefix the scheme does not have (e.g. E- in IOB2)."""
    allowed = SCHEME_PREFIXES[scheme]
    for tag in tags:
        prefix, _ = parse_tag(tag)
        if prefix != "O" and prefix not in allowed:
            raise TagError(f"tag {tag!r} is not valid in the {scheme.upper()} scheme")


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Decode tags of any supported scheme into spans (lenient, conlleval-style)."""
    spans: list[Span] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, typ = parse_tag(tag)
        if prefix == "O":
            if start >= 0:
                spans.append(Span(start, i, label))
            start, label = -1, ""
            continue
        rule = PREFIX_RULES[prefix]
        if start >= 0 and (rule.opens or typ != label):
            spans.append(Span(start, i, label))
            start = -1
        if start < 0:
            start, label = i, typ
        if rule.closes:
            spans.append(Span(start, i + 1, label))
            start, label = -1, ""
    if start >= 0:
        spans.append(Span(start, len(tags), label))
    return spans


def spans_to_tags(spans: Iterable[Span], n_tokens: int, scheme: str = "iob2") -> list[str]:
    """Encode non-overlapping spans as tags in ``scheme``."""
    scheme = normalise_scheme(scheme)
    if scheme == "auto":
        scheme = "iob2"
    tags = ["O"] * n_tokens
    prev: Span | None = None
    for s in sorted(spans):
        if s.end > n_tokens:
            raise TagError(f"span [{s.start}, {s.end}) beyond sentence length {n_tokens}")
        if prev is not None and s.start < prev.end:
            raise TagError(f"spans {prev} and {s} overlap; tags cannot express that")
        if scheme == "iob2":
            tags[s.start:s.end] = [f"B-{s.label}"] + [f"I-{s.label}"] * (len(s) - 1)
        elif scheme == "iob1":
            # IOB1 uses B- only where an entity directly follows one of the same type.
            touches = prev is not None and prev.end == s.start and prev.label == s.label
            tags[s.start:s.end] = [f"{'B' if touches else 'I'}-{s.label}"] + [f"I-{s.label}"] * (len(s) - 1)
        else:  # bioes
            if len(s) == 1:
                tags[s.start] = f"S-{s.label}"
            else:
                tags[s.start:s.end] = [f"B-{s.label}"] + [f"I-{s.label}"] * (len(s) - 2) + [f"E-{s.label}"]
        prev = s
    return tags
