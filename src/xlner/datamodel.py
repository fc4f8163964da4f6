"""The small typed data model shared by every stage of xlner.

Conventions used everywhere:
- Token indices are 0-based; spans are half-open ``[start, end)``.
- In a projection, ``src`` is the side whose entities are known (the English side in
  translate-test, the English gold in translate-train) and ``tgt`` is the side the entities are
  projected onto. Alignment pairs are always ``(src_index, tgt_index)``.
- Labels are bare types (``PER``, ``ORG``, ``LOC``, ``MISC``); the IOB2 tags are derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Sequence

import numpy as np


@dataclass(frozen=True, order=True)
class Span:
    """An entity span ``tokens[start:end]`` with a bare type label."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ValueError(f"invalid span [{self.start}, {self.end}) for label {self.label!r}")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Span":
        return cls(int(d["start"]), int(d["end"]), str(d["label"]))


@dataclass
class Sentence:
    """A tokenised sentence with its (gold or predicted) entity spans.

    ``source`` says where it came from (``path:line``) so that errors can point at it.
    """

    id: str
    tokens: list[str]
    spans: list[Span] = field(default_factory=list)
    source: str = ""

    def tags(self) -> list[str]:
        """IOB2 tags for this sentence (spans must not overlap)."""
        return spans_to_tags(self.spans, len(self.tokens))


@dataclass
class Dataset:
    """A named list of sentences in one language."""

    name: str
    lang: str
    sentences: list[Sentence]
    path: str = ""
    scheme: str = ""  # the tagging scheme the file was written in (IOB1, IOB2, BIOES, ...)

    def __len__(self) -> int:
        return len(self.sentences)

    def labels(self) -> list[str]:
        return sorted({s.label for sent in self.sentences for s in sent.spans})


@dataclass
class Alignment:
    """Word alignment between a source and a target token sequence.

    ``pairs`` is an ``(n, 2)`` int array of ``(src_index, tgt_index)``; ``scores`` (optional) is
    a per-link confidence aligned with ``pairs``; ``similarity`` (optional) is the full
    ``(len(src), len(tgt))`` word-similarity matrix the links were extracted from.
    """

    pairs: np.ndarray
    scores: np.ndarray | None = None
    similarity: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
            if len(self.scores) != len(self.pairs):
                raise ValueError("alignment scores must have one value per pair")

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[int]], scores: Iterable[float] | None = None) -> "Alignment":
        return cls(np.array(list(pairs), dtype=np.int64).reshape(-1, 2),
                   None if scores is None else np.array(list(scores), dtype=np.float32))

    def matrix(self, n_src: int, n_tgt: int) -> np.ndarray:
        """Dense boolean ``(n_src, n_tgt)`` link matrix."""
        m = np.zeros((n_src, n_tgt), dtype=bool)
        if len(self.pairs):
            m[self.pairs[:, 0], self.pairs[:, 1]] = True
        return m

    def to_list(self) -> list[list[int]]:
        return self.pairs.tolist()


class Reason(str, Enum):
    """Why a source entity was not projected (method.md §6)."""

    UNALIGNED = "unaligned"
    PUNCTUATION_ONLY = "punctuation_only"
    DISCONTINUOUS = "discontinuous"
    LENGTH_RATIO = "length_ratio"
    COLLISION = "collision"
    NO_CANDIDATE = "no_candidate"
    MARKER_LOST = "marker_lost"              # back-translation: the entity's [ ] did not come back
    MARKER_UNBALANCED = "marker_unbalanced"  # ... markers came back unpaired or nested
    MARKER_MOVED = "marker_moved"            # ... markers came back around words unlike the entity
    LABEL_NOT_IN_TARGET = "label_not_in_target"


@dataclass(frozen=True)
class ProjectedEntity:
    """A target span produced from source entity number ``source``."""

    span: Span
    source: int
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.span.to_dict(), "source": self.source, "score": float(self.score)}


@dataclass(frozen=True)
class Unprojected:
    source: int
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason.value}


@dataclass(frozen=True)
class Candidate:
    """A scored target candidate for one source entity (kept for inspection in the explorer)."""

    source: int
    start: int
    end: int
    score: float
    # What the score is made of when it fuses several scores (raw, unweighted values such as
    # {"align": 0.8, "ner": 0.6}) and where the candidate came from ("ngram" or "ner").
    components: dict[str, float] | None = None
    origin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "start": self.start, "end": self.end,
                               "score": float(self.score)}
        if self.components is not None:
            out["components"] = {k: float(v) for k, v in self.components.items()}
        if self.origin is not None:
            out["origin"] = self.origin
        return out


@dataclass
class ProjectionResult:
    """Every source entity ends in exactly one of ``projected`` or ``unprojected``."""

    projected: list[ProjectedEntity] = field(default_factory=list)
    unprojected: list[Unprojected] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    def spans(self) -> list[Span]:
        return sorted(p.span for p in self.projected)


# --- IOB2 helpers used by every stage --------------------------------------------------------

def spans_to_tags(spans: Iterable[Span], n_tokens: int) -> list[str]:
    tags = ["O"] * n_tokens
    for s in sorted(spans):
        if s.end > n_tokens:
            raise ValueError(f"span [{s.start}, {s.end}) beyond sentence length {n_tokens}")
        tags[s.start] = f"B-{s.label}"
        for i in range(s.start + 1, s.end):
            tags[i] = f"I-{s.label}"
    return tags


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Spans from IOB2 tags; a stray ``I-X`` starts a new entity (conlleval behaviour)."""
    spans: list[Span] = []
    start, label = -1, ""
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, typ = tag.partition("-")
        continues = prefix == "I" and typ == label and start >= 0
        if start >= 0 and not continues:
            spans.append(Span(start, i, label))
            start, label = -1, ""
        if prefix in ("B", "I") and not continues:
            start, label = i, typ
    return spans
