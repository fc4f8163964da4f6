"""Combining aligners: union, intersection, or priority (earlier aligners' words win)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xlner.align.base import Aligner
from xlner.datamodel import Alignment
from xlner.errors import XlnerError

MODES = ("union", "intersection", "priority")


def combine_alignments(alignments: Sequence[Alignment], n_src: int, n_tgt: int, mode: str = "union") -> Alignment:
    """One alignment from several of the same sentence pair.

    ``union``: every link; ``intersection``: links all agree on; ``priority``: a word linked by an
    earlier alignment takes no links from later ones (e.g. identity links first, then SimAlign
    for the remaining words). A link's score is the highest score any alignment gave it (1.0
    where an alignment has none); the similarity is the first one available.
    """
    if mode not in MODES:
        raise XlnerError("E517", mode=mode, choices=", ".join(MODES))
    score = np.zeros((n_src, n_tgt), np.float32)
    linked = np.zeros((n_src, n_tgt), bool)
    votes = np.zeros((n_src, n_tgt), np.int32)
    for k, al in enumerate(alignments):
        mat = al.matrix(n_src, n_tgt)
        s = np.zeros((n_src, n_tgt), np.float32)
        if len(al.pairs):
            s[al.pairs[:, 0], al.pairs[:, 1]] = 1.0 if al.scores is None else al.scores
        if mode == "priority" and k > 0:
            src_linked = np.asarray(linked.any(axis=1))
            tgt_linked = np.asarray(linked.any(axis=0))
            mat &= ~src_linked[:, None] & ~tgt_linked[None, :]
        votes += mat
        linked |= mat
        score = np.where(mat, np.maximum(score, s), score)
    if mode == "intersection":
        linked = votes == len(alignments)
    i, j = np.nonzero(linked)
    similarity = next((al.similarity for al in alignments if al.similarity is not None), None)
    return Alignment(np.stack([i, j], axis=1), score[i, j], similarity)


class CombinedAligner(Aligner):
    """Runs each aligner on the whole batch, then combines per sentence (see :func:`combine_alignments`)."""

    name = "combine"

    def __init__(self, aligners: Sequence[Aligner], mode: str = "union") -> None:
        if mode not in MODES:
            raise XlnerError("E517", mode=mode, choices=", ".join(MODES))
        if not aligners:
            raise XlnerError("E518")
        super().__init__(mode=mode, aligners=list(aligners))
        self.aligners, self.mode = list(aligners), mode

    def _align(self, src: list[list[str]], tgt: list[list[str]]) -> list[Alignment]:
        results = [a._align(src, tgt) for a in self.aligners]
        return [combine_alignments([r[k] for r in results], len(s), len(t), self.mode)
                for k, (s, t) in enumerate(zip(src, tgt))]


def combine(aligners: Sequence[Aligner], mode: str = "union") -> CombinedAligner:
    """An aligner whose links are the ``mode`` combination of ``aligners``' links."""
    return CombinedAligner(aligners, mode)
