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
        """IOB2 tags for this sentence (spans must not overlap: :class:`~xlner.tagging.TagError`)."""
        from xlner.tagging import spans_to_tags

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


@dataclass(eq=False)
class Alignment:
    """Word alignment between a source and a target token sequence.

    ``pairs`` is an ``(n, 2)`` int array of ``(src_index, tgt_index)``; ``scores`` (optional) is
    a per-link confidence aligned with ``pairs``; ``similarity`` (optional) is the full
    ``(len(src), len(tgt))`` word-similarity matrix the links were extracted from. The same object
    goes from the aligner through the run record to the explorer's figures.
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

    def __eq__(self, other: object) -> bool:
        # numpy arrays have no truth value: compare them element-wise, None only with None
        if not isinstance(other, Alignment):
            return NotImplemented
        return all(a is b if a is None or b is None else bool(np.array_equal(a, b))
                   for a, b in ((self.pairs, other.pairs), (self.scores, other.scores),
                                (self.similarity, other.similarity)))

    @classmethod
    def empty(cls) -> "Alignment":
        """No links (a sentence with no words on one side, or a record without an English side)."""
        return cls(np.zeros((0, 2), dtype=np.int64))

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
    REJECTED_BY_TARGET_MODEL = "rejected_by_target_model"  # match-fused+ensemble: the target tagger says O
    LOWERCASE_START = "lowercase_start"      # fused methods with drop_lowercase: not a name in a cased script
    MERGED = "merged"                        # fused methods with merge_adjacent: part of the span before it


@dataclass(frozen=True)
class ScoredSpan:
    """An entity span with the confidence of what found it (the English NER's entity score);
    ``score`` is None when the tagger gives none."""

    span: Span
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = self.span.to_dict()
        if self.score is not None:
            out["score"] = float(self.score)
        return out


@dataclass(frozen=True)
class ProjectedEntity:
    """A target span produced from source entity number ``source``.

    ``source`` is -1 for an entity predicted on the target side by a model (the experiments'
    model-transfer runs), which no source entity stands behind.
    """

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


#: Where a candidate span came from: every n-gram of the target, or a target-side NER prediction.
CANDIDATE_ORIGINS = ("ngram", "ner")


@dataclass(frozen=True)
class Candidate:
    """A scored target candidate for one source entity (kept for inspection in the explorer).

    ``components`` (optional) are the parts of a fused score, e.g. ``{"align": .., "ner": ..,
    "nmt": .., "cap": ..}``; ``origin`` (optional) is one of :data:`CANDIDATE_ORIGINS`. Both are
    written to a run's records only when present.
    """

    source: int
    start: int
    end: int
    score: float
    components: dict[str, float] | None = field(default=None, hash=False)
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


# --- IOB tags ---------------------------------------------------------------------------------

def __getattr__(name: str) -> Any:
    # The one IOB codec is xlner.tagging (IOB1/IOB2/BIOES, validated tags). These two names are
    # forwarded for modules that still import them from here; import them from xlner.tagging.
    # Lazily, because xlner.tagging imports Span from this module.
    if name in ("spans_to_tags", "tags_to_spans"):
        from xlner import tagging

        return getattr(tagging, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
