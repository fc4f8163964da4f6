"""The one interface every word aligner implements, and the input checks they share."""

from __future__ import annotations

from typing import Any, Sequence

from xlner.datamodel import Alignment
from xlner.errors import XlnerError


class Aligner:
    """Aligns batches of tokenised sentence pairs.

    ``align(src, tgt)`` takes two equally long lists of token lists and returns one
    :class:`~xlner.datamodel.Alignment` per pair, links as ``(src_index, tgt_index)``, with
    per-link ``scores`` and, where the method has one, the word ``similarity`` matrix.
    An empty sentence gives an empty alignment (its similarity has a zero-length side).
    """

    name: str = "aligner"

    def __init__(self, **params: Any) -> None:
        self.params = params

    def config(self) -> dict[str, Any]:
        """Name and parameters: what a cache key must depend on."""
        return {"name": self.name, **{k: _plain(v) for k, v in sorted(self.params.items())}}

    def align(self, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]]) -> list[Alignment]:
        src, tgt = check_batch(src, tgt)
        return self._align(src, tgt)

    def _align(self, src: list[list[str]], tgt: list[list[str]]) -> list[Alignment]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _plain(value: Any) -> Any:
    if isinstance(value, Aligner):
        return value.config()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None), dict)) else str(value)


def check_batch(src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """Validate a batch: same number of sentences, each a list of strings."""
    if isinstance(src, str) or isinstance(tgt, str):
        raise XlnerError("E512")
    for side, batch in (("source", src), ("target", tgt)):
        for i, sent in enumerate(batch):
            if isinstance(sent, str):
                raise XlnerError("E522", side=side, index=i, text=f"{sent!r:.80}")
    src_lists: list[list[str]] = [list(s) for s in src]
    tgt_lists: list[list[str]] = [list(t) for t in tgt]
    if len(src_lists) != len(tgt_lists):
        raise XlnerError("E523", n_src=len(src_lists), n_tgt=len(tgt_lists))
    for side, batch in (("source", src_lists), ("target", tgt_lists)):
        for i, sent in enumerate(batch):
            if not all(isinstance(tok, str) for tok in sent):
                raise XlnerError("E524", side=side, index=i, text=f"{sent!r:.80}")
    return src_lists, tgt_lists
