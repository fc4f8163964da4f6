"""eflomal (Östling & Tiedemann, 2016): a Bayesian IBM1/HMM/fertility aligner trained, on each call,
on the batch's own sentence pairs plus an optional parallel corpus, and the symmetrisation
heuristics that turn its two directional alignments into one (the package offers none)."""

from __future__ import annotations

import os
import re
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence

import numpy as np
from annotated_types import Ge, Gt, Interval

from xlner.align.base import Aligner
from xlner.datamodel import Alignment
from xlner.errors import XlnerError, where
from xlner.registry import Int, PathText, fields_of

Symmetrisation = Literal["intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and",
                         "forward", "reverse"]
SYMMETRISATIONS = typing.get_args(Symmetrisation)
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def symmetrise(fwd: np.ndarray, rev: np.ndarray, method: str = "grow-diag-final-and") -> np.ndarray:
    """Combine two directional boolean ``(n_src, n_tgt)`` link matrices (Koehn et al., 2003)."""
    if method not in SYMMETRISATIONS:
        raise XlnerError("E521", method=method, choices=", ".join(SYMMETRISATIONS))
    fwd, rev = fwd.astype(bool), rev.astype(bool)
    if method == "forward":
        return fwd
    if method == "reverse":
        return rev
    if method == "intersection":
        return fwd & rev
    union = fwd | rev
    if method == "union":
        return union
    links = fwd & rev
    n, m = links.shape
    grown = True
    while grown:  # grow-diag: add union neighbours of links that cover an unaligned word
        grown = False
        for i, j in zip(*np.nonzero(links)):
            for di, dj in _NEIGHBOURS:
                a, b = i + di, j + dj
                if 0 <= a < n and 0 <= b < m and union[a, b] and not links[a, b] \
                        and (not links[a].any() or not links[:, b].any()):
                    links[a, b] = grown = True
    if method == "grow-diag":
        return links
    both = method == "grow-diag-final-and"
    for direction in (fwd, rev):  # final(-and): unaligned words take their directional links
        for a, b in zip(*np.nonzero(direction)):
            src_free, tgt_free = not links[a].any(), not links[:, b].any()
            if (src_free and tgt_free) if both else (src_free or tgt_free):
                links[a, b] = True
    return links


def _clean(token: str, strip_marks: bool) -> str:
    """One whitespace-free, non-empty token (eflomal reads space-separated lines)."""
    if strip_marks and len(token) > 1:
        token = token.lstrip("*@#") or token
    token = re.sub(r"\s+", "_", token)
    return token or "_"


def read_parallel_corpus(corpus: str | os.PathLike | Sequence[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Lines of a parallel corpus: one file of ``source ||| target`` lines, or two line-aligned
    files (source, target), whitespace-tokenised. Sides are in the same order as ``align()``."""
    if isinstance(corpus, (str, os.PathLike)):
        path = Path(corpus)
        src, tgt = [], []
        for lineno, line in enumerate(_read_lines(path), 1):
            parts = line.split(" ||| ")
            if len(parts) != 2:
                raise XlnerError("E515", where=where(path, lineno), line=line[:80])
            src.append(parts[0].strip())
            tgt.append(parts[1].strip())
        return src, tgt
    paths = [Path(p) for p in corpus]
    if len(paths) != 2:
        raise XlnerError("E528", n=len(paths))
    src, tgt = (_read_lines(p) for p in paths)
    if len(src) != len(tgt):
        raise XlnerError("E529", src=paths[0], n_src=len(src), tgt=paths[1], n_tgt=len(tgt))
    return [s.strip() for s in src], [t.strip() for t in tgt]


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise XlnerError("E530", path=path) from exc
    except UnicodeDecodeError as exc:
        raise XlnerError("E531", path=path, byte=exc.start) from exc


def _read_links(path: str, n_sent: int) -> list[list[tuple[int, int]]]:
    lines = Path(path).read_text().splitlines()
    lines += [""] * (n_sent - len(lines))
    def link(text: str) -> tuple[int, int]:
        i, j = text.split("-")
        return int(i), int(j)

    return [[link(x) for x in line.split()] for line in lines[:n_sent]]


@dataclass(kw_only=True)
class EflomalParams:
    """``corpus`` (extra training pairs: one ``src ||| tgt`` file or two line-aligned files),
    ``symmetrise``, ``eflomal_model`` (1 = IBM1, 2 = + HMM, 3 = + fertility), ``n_samplers``,
    ``rel_iterations``, ``null_prior``, ``source_prefix_len``/``target_prefix_len`` (stem words to
    their first N characters; 0 = whole words), ``strip_marks`` (drop Apertium's ``*@#``),
    ``max_corpus`` (use at most this many corpus pairs)."""

    corpus: PathText | Sequence[PathText] | None = None
    symmetrise: Symmetrisation = "grow-diag-final-and"
    eflomal_model: Literal[1, 2, 3] = 3
    n_samplers: Annotated[Int, Ge(1)] = 2
    rel_iterations: Annotated[float, Gt(0)] = 1.0
    null_prior: Annotated[float, Interval(ge=0, le=1)] = 0.2
    source_prefix_len: Annotated[Int, Ge(0)] = 0
    target_prefix_len: Annotated[Int, Ge(0)] = 0
    strip_marks: bool = True
    max_corpus: Annotated[Int, Ge(0)] | None = None


class EflomalAligner(Aligner):
    """Statistical alignment with the ``eflomal`` package.

    ``eflomal_model``: 1 = IBM1, 2 = + HMM, 3 = + fertility (eflomal's ``model``).
    Every ``align()`` call trains on the corpus (if any) followed by the batch and returns the
    batch's links, so give it the whole run at once. ``symmetrise`` combines the two directions;
    a link's score is the fraction of directions (of 2) that proposed it.
    ``source_prefix_len``/``target_prefix_len`` stem words to their first N characters
    (useful for agglutinative languages such as Basque).
    """

    name = "eflomal"

    def __init__(self, **params: Any) -> None:
        p = EflomalParams(**params)
        try:
            import eflomal  # noqa: F401
        except ImportError as exc:
            raise XlnerError("E514") from exc
        corpus = p.corpus
        corpus_key = None if corpus is None else (str(corpus) if isinstance(corpus, (str, os.PathLike))
                                                  else [str(c) for c in corpus])
        super().__init__(**{**fields_of(p), "corpus": corpus_key})
        self.symmetrisation, self.strip_marks = p.symmetrise, p.strip_marks
        self._options = dict(model=p.eflomal_model, n_samplers=p.n_samplers, rel_iterations=p.rel_iterations,
                             null_prior=p.null_prior, source_prefix_len=p.source_prefix_len,
                             target_prefix_len=p.target_prefix_len)
        self._corpus = read_parallel_corpus(corpus) if corpus is not None else ([], [])
        if p.max_corpus is not None:
            self._corpus = (self._corpus[0][:p.max_corpus], self._corpus[1][:p.max_corpus])

    def _align(self, src: list[list[str]], tgt: list[list[str]]) -> list[Alignment]:
        from eflomal import Aligner as Eflomal

        if not src:
            return []
        src_lines = self._corpus[0] + [" ".join(_clean(t, self.strip_marks) for t in s) for s in src]
        tgt_lines = self._corpus[1] + [" ".join(_clean(t, self.strip_marks) for t in s) for s in tgt]
        skip = len(self._corpus[0])
        with tempfile.TemporaryDirectory(prefix="xlner-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
            try:
                Eflomal(**self._options).align(src_lines, tgt_lines, links_filename_fwd=fwd_path,
                                               links_filename_rev=rev_path, quiet=True)
            except Exception as exc:  # noqa: BLE001 - the binary's failures come as assorted errors
                raise XlnerError("E527", n=len(src_lines), reason=str(exc)) from exc
            fwd_links = _read_links(fwd_path, len(src_lines))[skip:]
            rev_links = _read_links(rev_path, len(src_lines))[skip:]
        out = []
        for s, t, f, r in zip(src, tgt, fwd_links, rev_links):
            fwd = np.zeros((len(s), len(t)), bool)
            rev = np.zeros((len(s), len(t)), bool)
            for mat, links in ((fwd, f), (rev, r)):
                for i, j in links:
                    if i < len(s) and j < len(t):
                        mat[i, j] = True
            kept = symmetrise(fwd, rev, self.symmetrisation)
            rows, cols = np.nonzero(kept)
            votes = (fwd.astype(np.float32) + rev.astype(np.float32)) / 2
            out.append(Alignment(np.stack([rows, cols], axis=1), votes[rows, cols]))
        return out
