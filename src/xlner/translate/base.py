"""The interface every translator implements, and the input check they share."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Sequence

from xlner.errors import XlnerError


class Translator(Protocol):
    name: ClassVar[str]
    src_lang: str
    tgt_lang: str

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]: ...

    def fingerprint(self) -> dict[str, Any]: ...


def check_texts(texts: Sequence[str], ids: Sequence[str] | None) -> list[str]:
    """The texts as a list, refused when they are not a list of strings with one id each."""
    if isinstance(texts, str):
        raise XlnerError("E411")
    texts = list(texts)
    if ids is not None and len(ids) != len(texts):
        raise XlnerError("E422", n_texts=len(texts), n_ids=len(ids))
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise XlnerError("E423", text=label(i, ids), type=type(t).__name__)
    return texts


def label(i: int, ids: Sequence[str] | None) -> str:
    """How messages name text ``i``: ``id 'val:7' (#7)``, or ``#7`` without ids."""
    return f"id {ids[i]!r} (#{i})" if ids is not None else f"#{i}"
