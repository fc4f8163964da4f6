"""Writers: CoNLL and JSON lines, atomic, refusing what the format cannot hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from xlner.datamodel import Dataset, Sentence
from xlner.errors import XlnerError
from xlner.tagging import TagError, spans_to_tags

WRITE_FORMATS = ("conll", "jsonl")


# --- writers ------------------------------------------------------------------------------------

def _sentences(sentences: Any) -> list[Sentence]:
    return list(sentences.sentences if isinstance(sentences, Dataset) else sentences)


def _write(path: str | Path, text: str) -> None:
    """Atomic: a reader never sees half a file, and an interrupted write leaves no file behind."""
    from xlner.cache import atomic_write_text
    from xlner.paths import output_file

    atomic_write_text(output_file(path), text)


def _tags_for_writing(sent: Sentence, scheme: str) -> list[str]:
    try:
        return spans_to_tags(sent.spans, len(sent.tokens), scheme)
    except TagError as exc:
        raise XlnerError("E138", sentence=sent.id, problem=str(exc)) from None


def write_conll(sentences: Any, path: str | Path, *, scheme: str = "iob2", sep: str = " ") -> None:
    """Write ``token TAG`` lines with a blank line after each sentence."""
    out = []
    for sent in _sentences(sentences):
        if not sent.tokens:
            raise XlnerError("E116", sentence=sent.id)
        tags = _tags_for_writing(sent, scheme)
        for tok, tag in zip(sent.tokens, tags):
            if not tok or re.search(r"[ \t\n\r]", tok) or tok == "-DOCSTART-":
                raise XlnerError("E139", sentence=sent.id, token=tok)
            out.append(f"{tok}{sep}{tag}\n")
        out.append("\n")
    _write(path, "".join(out))


def write_jsonl(sentences: Any, path: str | Path, *, scheme: str = "iob2") -> None:
    """Write ``{"id", "tokens", "tags"}`` per line (UTF-8, not ASCII-escaped)."""
    _write(path, "".join(json.dumps({"id": sent.id, "tokens": sent.tokens,
                                     "tags": _tags_for_writing(sent, scheme)}, ensure_ascii=False) + "\n"
                         for sent in _sentences(sentences)))
