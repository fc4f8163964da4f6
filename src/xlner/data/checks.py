"""Tags read leniently but never silently: type case (E143), ``B-PER I-ORG`` crossings (E144),
mojibake (E142), the label map, and the scheme decoding that turns raw tags into spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from xlner.datamodel import Sentence, Span
from xlner.data.readers import TaggedSentence
from xlner.errors import XlnerError, warn, where
from xlner.labelmap import LabelMap
from xlner.tagging import (SCHEMES, TagError, check_scheme, detect_scheme, normalise_scheme,
                           parse_tag, tags_to_spans)


def check_mojibake(sentences: Sequence[TaggedSentence], path: str) -> None:
    """Warn (never fail) when tokens look like UTF-8 decoded as Latin-1/cp1252 (``EspaÃ±a``)."""
    suspects = []
    for sent in sentences:
        for i, tok in enumerate(sent.tokens):
            if "Ã" in tok or "Â" in tok or "â€" in tok:
                for codec in ("cp1252", "latin-1"):
                    try:
                        fixed = tok.encode(codec).decode("utf-8")
                    except UnicodeError:
                        continue
                    if fixed != tok:
                        suspects.append((sent, i, tok, fixed))
                        break
        if len(suspects) >= 3:
            break
    if suspects:
        sent, i, tok, fixed = suspects[0]
        warn("E142", where=where(path, sent.line_of(i), sent.id), token=tok, fixed=fixed,
             count=len(suspects))


@dataclass
class _TagNotes:
    """What the lenient reading of tags changed, reported once per call (warnings E143, E144)."""

    cased: dict[str, str] = field(default_factory=dict)  # type as written -> upper case
    first_cased: str = ""
    crossed: int = 0  # I- tags continuing an entity of another type
    first_crossed: tuple[str, str, str] = ("", "", "")  # where, previous tag, tag

    def report(self) -> None:
        if self.cased:
            warn("E143", where=self.first_cased,
                 types=", ".join(f"{k} -> {v}" for k, v in sorted(self.cased.items())))
        if self.crossed:
            loc, prev, tag = self.first_crossed
            warn("E144", where=loc, previous=prev, tag=tag, type=parse_tag(tag)[1],
                 count=self.crossed)


def _crossings(rec: TaggedSentence, notes: _TagNotes) -> None:
    """Count ``I-X`` tags right after a ``Y`` entity (``B-PER I-ORG``): not a continuation."""
    prev_prefix, prev_type = "O", ""
    for i, tag in enumerate(rec.tags):
        prefix, typ = parse_tag(tag)
        if prefix == "I" and prev_prefix in ("B", "I") and typ != prev_type:
            if not notes.crossed:
                notes.first_crossed = (where(rec.path, rec.line_of(i), rec.id), rec.tags[i - 1], tag)
            notes.crossed += 1
        prev_prefix, prev_type = prefix, typ


def _mapped_as_written(raw: str, label_map: LabelMap | None) -> bool:
    return label_map is not None and (raw in label_map.map or raw in label_map.drop)


def map_type(raw: str, label_map: LabelMap | None) -> str | None:
    """The type xlner reads for the type ``raw`` of a file: the label map's for the type as
    written if the map names it (a map may rename ``person``), else for its upper case (xlner's
    types are ``PER``, ``LOC``...); None when the map drops it."""
    if _mapped_as_written(raw, label_map):
        return label_map.label(raw)  # type: ignore[union-attr]
    upper = raw.upper()
    return upper if label_map is None else label_map.label(upper)


def _typed(spans: list[Span], label_map: LabelMap | None, rec: TaggedSentence,
           notes: _TagNotes) -> list[Span]:
    """Apply the label map and read every type in upper case (:func:`map_type`), noting the
    types that were upper-cased."""
    out = []
    for s in spans:
        raw, upper = s.label, s.label.upper()
        new = map_type(raw, label_map)
        if new is None:
            continue
        if raw != upper and not _mapped_as_written(raw, label_map):
            if not notes.cased:
                notes.first_cased = where(rec.path, rec.line_of(s.start), rec.id)
            notes.cased[raw] = upper
        out.append(s if new == s.label else Span(s.start, s.end, new))
    return out


def to_sentences(records: Sequence[TaggedSentence], *, scheme: str = "auto",
                 label_map: LabelMap | None = None) -> tuple[list[Sentence], str]:
    """Validate raw tags, decode them with the scheme, apply the label map."""
    try:
        scheme = normalise_scheme(scheme)
    except TagError:
        raise XlnerError("E123", scheme=scheme, schemes=", ".join(SCHEMES)) from None
    # Validate every tag first so that the error names the exact line.
    for rec in records:
        for i, tag in enumerate(rec.tags):
            try:
                parse_tag(tag)
            except TagError as exc:
                raise XlnerError("E105", where=where(rec.path, rec.line_of(i), rec.id),
                                 problem=str(exc)) from None
    if scheme == "auto":
        scheme = detect_scheme(r.tags for r in records)
    sentences = []
    notes = _TagNotes()
    for rec in records:
        try:
            check_scheme(rec.tags, scheme)
        except TagError:
            bad = next(i for i, t in enumerate(rec.tags) if parse_tag(t)[0] not in ("O", "B", "I"))
            raise XlnerError("E106", where=where(rec.path, rec.line_of(bad), rec.id),
                             tag=rec.tags[bad], scheme=scheme.upper()) from None
        if scheme != "iob1":  # in IOB1, I-ORG right after a PER entity is how an ORG entity starts
            _crossings(rec, notes)
        spans = _typed(tags_to_spans(rec.tags), label_map, rec, notes)
        sentences.append(Sentence(rec.id, list(rec.tokens), spans, rec.source))
    notes.report()
    return sentences, scheme
