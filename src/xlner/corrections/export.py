"""Corrected sentences out of the store, in the formats training code reads.

``conll`` (``token TAG``, IOB2 — what ``xlner train`` reads), ``jsonl`` (``id``, ``tokens``,
``tags``), ``hf`` (a Hugging Face ``datasets`` folder for ``load_from_disk``, ``ner_tags`` as a
ClassLabel) and ``spacy`` (a ``DocBin`` file for ``spacy train``). The sentences come from the final
decisions (agreed or adjudicated) or from one annotator's own decisions.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from xlner.corrections.resolve import Key, annotator_view, final
from xlner.datamodel import Sentence
from xlner.record import RunRecord
from xlner.errors import XlnerError
from xlner.record import RunRecord

FORMATS = {"conll": ".conll", "jsonl": ".jsonl", "hf": "", "spacy": ".spacy"}


def decisions_for(rows: list[dict[str, Any]], annotator: str | None = None) -> dict[Key, dict[str, Any]]:
    """The final decisions (``annotator=None``) or one annotator's own."""
    return final(rows) if annotator is None else annotator_view(rows, annotator)


def corrected(records: Iterable[RunRecord], rows: list[dict[str, Any]], *, annotator: str | None = None,
              reviewed_only: bool = True) -> list[Sentence]:
    """Sentences with corrected target spans (see ``xlner.explorer.corrections.corrected_sentences``)."""
    from xlner.explorer.corrections import corrected_sentences

    return corrected_sentences(records, decisions_for(rows, annotator), reviewed_only=reviewed_only)


def iob2_names(sentences: list[Sentence]) -> list[str]:
    """``O`` then ``B-T``/``I-T`` for every type present, in type order (the HF ClassLabel)."""
    types = sorted({s.label for sent in sentences for s in sent.spans})
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def write_hf(sentences: list[Sentence], out: Path) -> None:
    try:
        import datasets
    except ImportError:
        raise XlnerError("E960", path=out) from None
    from xlner.datamodel import spans_to_tags

    names = iob2_names(sentences)
    features = datasets.Features({"id": datasets.Value("string"),
                                  "tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    table = {"id": [s.id for s in sentences], "tokens": [list(s.tokens) for s in sentences],
             "ner_tags": [[names.index(t) for t in spans_to_tags(s.spans, len(s.tokens))] for s in sentences]}
    datasets.Dataset.from_dict(table, features=features).save_to_disk(str(out))


def write_spacy(sentences: list[Sentence], out: Path) -> None:
    import spacy
    from spacy.tokens import Doc, DocBin
    from spacy.tokens import Span as SpacySpan

    vocab = spacy.blank("xx").vocab
    docs = DocBin(store_user_data=True)  # keeps each sentence's id in doc.user_data
    for s in sentences:
        doc = Doc(vocab, words=list(s.tokens))
        doc.ents = [SpacySpan(doc, sp.start, sp.end, label=sp.label) for sp in s.spans]
        doc.user_data["id"] = s.id
        docs.add(doc)
    docs.to_disk(out)


def write(sentences: list[Sentence], out: str | Path, fmt: str) -> Path:
    """Write ``sentences`` to ``out`` in ``fmt``; refuses to write nothing (E961)."""
    from xlner.data import write_conll, write_jsonl

    out = Path(out)
    if fmt not in FORMATS:
        raise XlnerError("E962", fmt=fmt, formats=", ".join(FORMATS))
    if not sentences:
        raise XlnerError("E961", path=out)
    if not out.parent.is_dir():
        raise XlnerError("E963", path=out, parent=out.parent)
    if fmt == "conll":
        write_conll(sentences, out)
    elif fmt == "jsonl":
        write_jsonl(sentences, out)
    elif fmt == "hf":
        write_hf(sentences, out)
    else:
        write_spacy(sentences, out)
    return out


def file_name(annotator: str) -> str:
    """A file name for one annotator's export (names are free text)."""
    return re.sub(r"[^\w.-]+", "_", annotator).strip("._") or "annotator"


def _text(writer: Callable[[list[Sentence], Path], None], sentences: list[Sentence]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out"
        writer(sentences, path)
        return path.read_text(encoding="utf-8")


def to_conll(sentences: list[Sentence]) -> str:
    """``token TAG`` lines (IOB2), a blank line between sentences (xlner.data's writer)."""
    from xlner.data import write_conll

    return _text(write_conll, sentences)


def to_jsonl(sentences: list[Sentence]) -> str:
    """One JSON object per sentence: ``id``, ``tokens``, ``tags`` (IOB2; xlner.data's writer)."""
    from xlner.data import write_jsonl

    return _text(write_jsonl, sentences)
