"""Links between identical or near-identical tokens.

Names usually pass through translation unchanged (Apertium even marks the words it does not know
with ``*``), so equal tokens on both sides are strong evidence, and inflected names share a
prefix with their base form (Basque ``Frankfurteko`` ~ ``Frankfurt``). Each token is linked at
most once (a one-to-one assignment that prefers higher scores, then nearby relative positions).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from annotated_types import Ge

from xlner.align.base import Aligner
from xlner.datamodel import Alignment
from xlner.registry import Int, fields_of

#: Apertium's marks: * unknown word, @ no bilingual entry, # cannot generate.
APERTIUM_MARKS = "*@#"
_WORDLIKE = re.compile(r"\w", re.UNICODE)


def normalise(token: str) -> str:
    """Lower-cased, accent-free form with Apertium's marks stripped (``*Frankfurteko`` → ``frankfurteko``)."""
    token = token.lstrip(APERTIUM_MARKS) if len(token) > 1 else token
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def token_similarity(a: str, b: str, *, min_prefix: int = 4, max_suffix: int = 6) -> float:
    """1.0 for equal normalised tokens; ``len(shorter)/len(longer)`` when the shorter (at least
    ``min_prefix`` characters) starts the longer and the rest is at most ``max_suffix`` characters
    (an inflectional ending); else 0."""
    if a == b:
        return 1.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= min_prefix and len(long_) - len(short) <= max_suffix and long_.startswith(short):
        return len(short) / len(long_)
    return 0.0


@dataclass(kw_only=True)
class IdentityParams:
    """``min_prefix`` (shortest prefix that counts as the same word), ``max_suffix`` (longest ending
    it may differ by), ``min_length`` (shorter alphabetic tokens are ignored), ``punctuation`` (link
    punctuation too), ``capitalized_only`` (prefix matches only between capitalised tokens)."""

    min_prefix: Annotated[Int, Ge(1)] = 4
    max_suffix: Annotated[Int, Ge(0)] = 6
    min_length: Annotated[Int, Ge(1)] = 2
    punctuation: bool = False
    capitalized_only: bool = False


class IdentityAligner(Aligner):
    """Links identical / prefix-matching tokens (case- and accent-insensitive).

    Tokens without a letter or digit are ignored unless ``punctuation=True``; alphabetic tokens
    shorter than ``min_length`` (e.g. ``a``) are ignored because they coincide across languages by
    chance; ``capitalized_only=True`` restricts prefix matches to tokens that start with a capital
    on both sides (names), keeping exact matches for all.
    """

    name = "identity"

    def __init__(self, **params: Any) -> None:
        p = IdentityParams(**params)
        super().__init__(**fields_of(p))
        self.min_prefix, self.max_suffix, self.min_length = p.min_prefix, p.max_suffix, p.min_length
        self.punctuation, self.capitalized_only = p.punctuation, p.capitalized_only

    def _eligible(self, raw: str, norm: str) -> bool:
        if not norm:
            return False
        if not _WORDLIKE.search(norm):
            return self.punctuation
        return len(norm) >= self.min_length or norm.isdigit()

    def similarity(self, src: list[str], tgt: list[str]) -> np.ndarray:
        """``(len(src), len(tgt))`` matrix of :func:`token_similarity` over eligible tokens."""
        sim = np.zeros((len(src), len(tgt)), np.float32)
        s_norm = [normalise(t) for t in src]
        t_norm = [normalise(t) for t in tgt]
        # Bucket target tokens by their first characters: only those can match.
        buckets: dict[str, list[int]] = {}
        for j, (raw, norm) in enumerate(zip(tgt, t_norm)):
            if self._eligible(raw, norm):
                buckets.setdefault(norm[:self.min_prefix], []).append(j)
        for i, (raw, norm) in enumerate(zip(src, s_norm)):
            if not self._eligible(raw, norm):
                continue
            for j in buckets.get(norm[:self.min_prefix], ()):
                score = token_similarity(norm, t_norm[j], min_prefix=self.min_prefix, max_suffix=self.max_suffix)
                if score < 1.0 and self.capitalized_only and not (src[i].lstrip(APERTIUM_MARKS)[:1].isupper()
                                                                  and tgt[j].lstrip(APERTIUM_MARKS)[:1].isupper()):
                    score = 0.0
                sim[i, j] = score
        return sim

    def _align_one(self, src: list[str], tgt: list[str]) -> Alignment:
        from scipy.optimize import linear_sum_assignment

        sim = self.similarity(src, tgt)
        if not sim.any():
            return Alignment(np.zeros((0, 2), np.int64), np.zeros(0, np.float32), sim)
        rows, cols = np.nonzero(sim.any(axis=1))[0], np.nonzero(sim.any(axis=0))[0]
        sub = sim[np.ix_(rows, cols)]
        # Ties between repeated tokens go to the pair with the closest relative position.
        rel = np.abs(rows[:, None] / max(len(src), 1) - cols[None, :] / max(len(tgt), 1))
        r, c = linear_sum_assignment(np.where(sub > 0, sub - 1e-3 * rel, -1.0), maximize=True)
        keep = sub[r, c] > 0
        pairs = np.stack([rows[r[keep]], cols[c[keep]]], axis=1)
        return Alignment(pairs, sim[pairs[:, 0], pairs[:, 1]], sim)

    def _align(self, src: list[list[str]], tgt: list[list[str]]) -> list[Alignment]:
        return [self._align_one(s, t) for s, t in zip(src, tgt)]

