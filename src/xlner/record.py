"""The run record: one sentence of a run with every layer the pipeline produced for it.

A :class:`RunRecord` holds the target sentence and its gold entities (or None: no gold), the English
side (translation, words, unknown-word flags, entities with scores), the word alignment as one
:class:`~xlner.datamodel.Alignment`, the projection (method, projected entities, unprojected
entities with their :class:`~xlner.datamodel.Reason`, scored candidates) and, optionally, the
back-translation. The pipeline produces records, the explorer, ``xlner compare``, the corrections
and the experiments consume them, and ``xlner project`` reads a subset of the same format.

``RunRecord.from_json`` is the one validation of the JSON form (docs/run-format.md): every problem is
an :class:`~xlner.errors.XlnerError` with a catalogued code naming ``file:line (sentence ID)``.
``iter_json_lines`` is the one reader of JSON-lines bytes (records.jsonl, ``xlner project`` input).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

import numpy as np

from xlner.datamodel import (CANDIDATE_ORIGINS, Alignment, Candidate, ProjectedEntity, ProjectionResult,
                             Reason, ScoredSpan, Sentence, Span, Unprojected)
from xlner.errors import XlnerError, where

__all__ = ["RunRecord", "BackTranslation", "RUN_FIELDS", "PROJECT_FIELDS", "iter_json_lines", "open_json_lines",
           "evaluation_sentences", "check_span_range", "check_pairs", "parse_spans", "short_repr"]

#: Fields every line of a run's records.jsonl has.
RUN_FIELDS = ("id", "tgt_tokens")
#: Fields every line of ``xlner project`` input has (the rest of the record is optional there).
PROJECT_FIELDS = ("src_tokens", "tgt_tokens", "src_entities", "alignment")

_REASONS = ", ".join(r.value for r in Reason)


@dataclass
class BackTranslation:
    """The English sentence with its entities in ``[ ]`` translated back into the target language.

    ``entities`` are the bracketed spans recovered on ``tokens`` (``source`` = the English entity,
    ``score`` = how much the span resembles that entity translated alone); ``lost`` are the English
    entities that got no span; ``alignment`` pairs are ``[bt_i, tgt_j]`` (back-translation ->
    sentence); ``method`` projects from the back-translation onto the sentence.
    """

    text: str
    entity_texts: list[str]
    tokens: list[str]
    entities: list[ProjectedEntity]
    lost: list[Unprojected]
    alignment: Alignment
    method: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "entity_texts": list(self.entity_texts), "tokens": list(self.tokens),
                "entities": [e.to_dict() for e in self.entities], "lost": [u.to_dict() for u in self.lost],
                "alignment": self.alignment.pairs.tolist(),
                "alignment_scores": None if self.alignment.scores is None else self.alignment.scores.tolist(),
                "method": self.method}


@dataclass
class RunRecord:
    """One sentence of a run: gold, English side, alignment, projection (docs/run-format.md).

    ``gold`` is None when the sentence has no gold (typed or plain-text input, translate-train's
    target side): never read it as "no entities". ``source`` is where the sentence came from
    (``path:line``). ``projection`` is the result of ``method`` (its ``projected`` entities name
    the English entity they came from by index into ``src_entities``).
    """

    id: str
    tgt_tokens: list[str]
    gold: list[Span] | None
    lang: str = ""
    source: str = ""
    translation: str = ""
    src_tokens: list[str] = field(default_factory=list)
    src_unknown: list[bool] | None = None
    src_entities: list[ScoredSpan] = field(default_factory=list)
    alignment: Alignment = field(default_factory=Alignment.empty)
    method: str = ""
    projection: ProjectionResult = field(default_factory=ProjectionResult)
    back_translation: BackTranslation | None = None

    @property
    def src_spans(self) -> list[Span]:
        """The English entities as spans (without their NER scores)."""
        return [e.span for e in self.src_entities]

    def projected_spans(self) -> list[Span]:
        """The projected target spans, sorted."""
        return self.projection.spans()

    # --- the JSON form ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The records.jsonl object (keys in the documented order; ``back_translation`` only when
        stored)."""
        a = self.alignment
        out: dict[str, Any] = {
            "id": self.id, "lang": self.lang, "source": self.source, "tgt_tokens": list(self.tgt_tokens),
            "gold_entities": None if self.gold is None else [s.to_dict() for s in self.gold],
            "translation": self.translation, "src_tokens": list(self.src_tokens),
            "src_unknown": None if self.src_unknown is None else list(self.src_unknown),
            "src_entities": [e.to_dict() for e in self.src_entities],
            "alignment": a.pairs.tolist(),
            "alignment_scores": None if a.scores is None else a.scores.tolist(),
            "similarity": None if a.similarity is None else np.asarray(a.similarity).tolist(),
            "method": self.method,
            "tgt_entities": [p.to_dict() for p in self.projection.projected],
            "unprojected": [u.to_dict() for u in self.projection.unprojected],
            "candidates": [c.to_dict() for c in self.projection.candidates],
        }
        if self.back_translation is not None:
            out["back_translation"] = self.back_translation.to_json()
        return out

    @classmethod
    def from_json(cls, obj: Any, *, path: str | Path = "record", line: int | None = None,
                  required: Sequence[str] = RUN_FIELDS) -> "RunRecord":
        """The record of one JSON object, validated; errors name ``path:line (sentence ID)``.

        ``required`` lists the keys that must be present (a run's records need ``id`` and
        ``tgt_tokens``; ``xlner project`` input needs :data:`PROJECT_FIELDS`); every other key
        is optional. A missing ``gold_entities`` (or null) means the sentence has no gold. Keys the
        format does not know are ignored.
        """
        return _Reader(obj, path, line).record(required)


# --- validation --------------------------------------------------------------------------------

def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def short_repr(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it (JSON), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_span_range(start: int, end: int, n: int, *, where: str, field: str, tokens: str) -> None:
    """``[start, end)`` must be a span of ``n`` tokens (E201)."""
    if not 0 <= start < end <= n:
        raise XlnerError("E201", where=where, field=field, start=start, end=end, n=n, tokens=tokens)


def check_pairs(pairs: np.ndarray, n_src: int, n_tgt: int, *, where: str, field: str) -> None:
    """Every ``(src_i, tgt_j)`` pair must index the two token sequences (E202 names the first that
    does not)."""
    if not len(pairs):
        return
    bad = (pairs[:, 0] < 0) | (pairs[:, 0] >= n_src) | (pairs[:, 1] < 0) | (pairs[:, 1] >= n_tgt)
    if bad.any():
        k = int(np.argmax(bad))
        i, j = (int(x) for x in pairs[k])
        raise XlnerError("E202", where=where, field=f"{field}[{k}]", i=i, j=j, n_src=n_src, n_tgt=n_tgt)


class _Reader:
    """Reads one JSON object into typed parts; each error names the file, line and sentence."""

    def __init__(self, obj: Any, path: str | Path, line: int | None) -> None:
        self.obj, self.path, self.line = obj, path, line
        self.sid: object = None

    @property
    def where(self) -> str:
        return where(self.path, self.line, self.sid)

    def bad(self, field_name: str, expected: str, value: Any) -> XlnerError:
        return XlnerError("E218", where=self.where, field=field_name, expected=expected, value=short_repr(value))

    # small typed parts

    def text(self, key: str, value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(key, "a string", value)
        return value

    def words(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise self.bad(key, "a list of strings", value)
        return value

    def items(self, key: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(key, "a list", value)
        return value

    def number(self, key: str, value: Any) -> float:
        if not _is_number(value):
            raise self.bad(key, "a number", value)
        return float(value)

    def index(self, key: str, value: Any, n: int, low: int = 0) -> int:
        """An entity index in ``[low, n)`` (E220 when it names no entity)."""
        if not _is_int(value):
            raise self.bad(key, "an integer", value)
        if not low <= value < n:
            raise XlnerError("E220", where=self.where, field=key, source=int(value), n=n)
        return int(value)

    def span(self, key: str, value: Any, n: int, tokens: str, *, need_label: bool = True) -> Span:
        if not isinstance(value, dict) or not _is_int(value.get("start")) or not _is_int(value.get("end")):
            raise self.bad(key, "an object with integer start and end", value)
        label = value.get("label", "" if not need_label else None)
        if not isinstance(label, str) or (need_label and not label):
            raise self.bad(f"{key}.label", "a non-empty string", label)
        start, end = int(value["start"]), int(value["end"])
        check_span_range(start, end, n, where=self.where, field=key, tokens=tokens)
        return Span(start, end, label)

    def spans(self, key: str, value: Any, n: int, tokens: str, *, need_label: bool = True) -> list[Span]:
        return [self.span(f"{key}[{k}]", s, n, tokens, need_label=need_label)
                for k, s in enumerate(self.items(key, value))]

    def scored(self, key: str, value: Any, n: int, tokens: str) -> list[ScoredSpan]:
        out = []
        for k, s in enumerate(self.items(key, value)):
            span = self.span(f"{key}[{k}]", s, n, tokens)
            score = s.get("score")
            out.append(ScoredSpan(span, None if score is None else self.number(f"{key}[{k}].score", score)))
        return out

    def projected(self, key: str, value: Any, n: int, tokens: str, n_sources: int) -> list[ProjectedEntity]:
        out = []
        for k, p in enumerate(self.items(key, value)):
            span = self.span(f"{key}[{k}]", p, n, tokens)
            # -1: predicted on the target side by a model, no English entity behind it
            source = self.index(f"{key}[{k}].source", p.get("source"), n_sources, low=-1)
            score = p.get("score", 1.0)
            out.append(ProjectedEntity(span, source, self.number(f"{key}[{k}].score", score)))
        return out

    def unprojected(self, key: str, value: Any, n_sources: int) -> list[Unprojected]:
        out = []
        for k, u in enumerate(self.items(key, value)):
            if not isinstance(u, dict):
                raise self.bad(f"{key}[{k}]", "an object with source and reason", u)
            source = self.index(f"{key}[{k}].source", u.get("source"), n_sources)
            try:
                reason = Reason(u.get("reason"))
            except ValueError:
                raise self.bad(f"{key}[{k}].reason", f"one of {_REASONS}", u.get("reason")) from None
            out.append(Unprojected(source, reason))
        return out

    def candidates(self, key: str, value: Any, n: int, n_sources: int) -> list[Candidate]:
        out = []
        for k, c in enumerate(self.items(key, value)):
            span = self.span(f"{key}[{k}]", c, n, "tgt_tokens", need_label=False)
            source = self.index(f"{key}[{k}].source", c.get("source"), n_sources)
            score = self.number(f"{key}[{k}].score", c.get("score"))
            components = c.get("components")
            if components is not None and (not isinstance(components, dict) or not all(
                    isinstance(name, str) and _is_number(v) for name, v in components.items())):
                raise self.bad(f"{key}[{k}].components", "an object of score names and numbers", components)
            origin = c.get("origin")
            if origin is not None and origin not in CANDIDATE_ORIGINS:
                raise self.bad(f"{key}[{k}].origin", f"one of {', '.join(CANDIDATE_ORIGINS)}", origin)
            out.append(Candidate(source, span.start, span.end, score,
                                 None if components is None else {n_: float(v) for n_, v in components.items()},
                                 origin))
        return out

    def matrix(self, key: str, value: Any, shape: tuple[int, ...], expected: str, dtype: Any) -> np.ndarray:
        """A numeric array of ``shape`` (numbers only: booleans and strings are refused)."""
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise self.bad(key, expected, value) from None
        if arr.size == 0 and 0 in shape:
            return np.zeros(shape, dtype=dtype)
        if arr.shape != shape or arr.dtype.kind not in "iuf":
            raise self.bad(key, expected, value)
        return arr.astype(dtype)

    def pairs(self, key: str, value: Any, n_src: int, n_tgt: int) -> np.ndarray:
        value = self.items(key, value)
        try:
            arr = np.asarray(value) if value else np.zeros((0, 2), np.int64)
        except (TypeError, ValueError, OverflowError, RecursionError):
            arr = None
        if arr is None or arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
            for k, p in enumerate(value):  # name the first pair that is not two integers
                if not (isinstance(p, list) and len(p) == 2 and all(_is_int(x) for x in p)):
                    raise self.bad(f"{key}[{k}]", "a pair of integers [src_i, tgt_j]", p)
            raise self.bad(key, "a list of [src_i, tgt_j] pairs of small integers", value)
        arr = arr.astype(np.int64)
        check_pairs(arr, n_src, n_tgt, where=self.where, field=key)
        return arr

    def alignment(self, prefix: str, obj: dict, n_src: int, n_tgt: int, *, similarity: bool) -> Alignment:
        pairs = self.pairs(f"{prefix}alignment", obj.get("alignment"), n_src, n_tgt)
        scores = obj.get("alignment_scores")
        if scores is not None:
            scores = self.matrix(f"{prefix}alignment_scores", scores, (len(pairs),),
                                 f"a list of {len(pairs)} numbers (one per alignment pair)", np.float32)
        sim = obj.get("similarity") if similarity else None
        if sim is not None:
            sim = self.matrix(f"{prefix}similarity", sim, (n_src, n_tgt),
                              f"a {n_src} x {n_tgt} matrix of numbers (English x target words)", np.float64)
        return Alignment(pairs, scores, sim)

    # the record

    def record(self, required: Sequence[str]) -> RunRecord:
        obj = self.obj
        if not isinstance(obj, dict):
            raise XlnerError("E211", where=self.where, kind=type(obj).__name__)
        raw_id = obj.get("id")
        has_id = "id" in obj
        if has_id and not (isinstance(raw_id, str) or _is_int(raw_id)):
            raise self.bad("id", "a string or an integer", raw_id)
        self.sid = raw_id
        missing = [k for k in required if k not in obj]
        if missing:
            raise XlnerError("E217", where=self.where, keys=", ".join(missing), required=", ".join(required))
        # `xlner project` input may leave ids out: the line then names the sentence
        sid = str(raw_id) if has_id else (f"line {self.line}" if self.line is not None else "")
        tgt = self.words("tgt_tokens", obj.get("tgt_tokens"))
        src = self.words("src_tokens", obj.get("src_tokens", []))
        unknown = obj.get("src_unknown")
        if unknown is not None and (not isinstance(unknown, list) or len(unknown) != len(src)
                                    or not all(isinstance(u, bool) for u in unknown)):
            raise self.bad("src_unknown", f"a list of {len(src)} true/false flags (one per src_tokens word)",
                           unknown)
        gold = obj.get("gold_entities")
        src_entities = self.scored("src_entities", obj.get("src_entities"), len(src), "src_tokens")
        n_ent = len(src_entities)
        return RunRecord(
            id=sid, tgt_tokens=tgt,
            gold=None if gold is None else self.spans("gold_entities", gold, len(tgt), "tgt_tokens"),
            lang=self.text("lang", obj.get("lang")), source=self.text("source", obj.get("source")),
            translation=self.text("translation", obj.get("translation")),
            src_tokens=src, src_unknown=unknown, src_entities=src_entities,
            alignment=self.alignment("", obj, len(src), len(tgt), similarity=True),
            method=self.text("method", obj.get("method")),
            projection=ProjectionResult(
                projected=self.projected("tgt_entities", obj.get("tgt_entities"), len(tgt), "tgt_tokens", n_ent),
                unprojected=self.unprojected("unprojected", obj.get("unprojected"), n_ent),
                candidates=self.candidates("candidates", obj.get("candidates"), len(tgt), n_ent)),
            back_translation=self.back_translation(obj.get("back_translation"), len(tgt), n_ent))

    def back_translation(self, bt: Any, n_tgt: int, n_ent: int) -> BackTranslation | None:
        if bt is None:
            return None
        if not isinstance(bt, dict):
            raise self.bad("back_translation", "an object (docs/run-format.md)", bt)
        tokens = self.words("back_translation.tokens", bt.get("tokens", []))
        return BackTranslation(
            text=self.text("back_translation.text", bt.get("text")),
            entity_texts=self.words("back_translation.entity_texts", bt.get("entity_texts", [])),
            tokens=tokens,
            entities=self.projected("back_translation.entities", bt.get("entities"), len(tokens),
                                    "back_translation.tokens", n_ent),
            lost=self.unprojected("back_translation.lost", bt.get("lost"), n_ent),
            alignment=self.alignment("back_translation.", bt, len(tokens), n_tgt, similarity=False),
            method=self.text("back_translation.method", bt.get("method")) or None)


def parse_spans(value: Any, n: int, *, path: str | Path, line: int | None, sentence: object, field: str,
                tokens: str, need_label: bool = True) -> list[Span]:
    """A JSON list of ``{start, end, label}`` spans of ``n`` tokens, checked like a record's spans
    (for inputs beside the record, e.g. ``xlner project``'s ``tgt_candidates``)."""
    reader = _Reader(None, path, line)
    reader.sid = sentence
    return reader.spans(field, value, n, tokens, need_label=need_label)


# --- JSON lines --------------------------------------------------------------------------------

def iter_json_lines(stream: IO[bytes], path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of a JSON-lines byte stream.

    Lines are decoded one by one, so a line that is not UTF-8 (E215) or not JSON (E210) is named by
    its number even when reading from a pipe; a UTF-8 byte-order mark on the first line is skipped.
    """
    for n, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise XlnerError("E215", where=where(path, n),
                             detail=f"{exc.reason} at byte {exc.start} of the line") from None
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise XlnerError("E210", where=where(path, n), detail=f"{exc.msg} at column {exc.colno}") from None
        except RecursionError:
            raise XlnerError("E210", where=where(path, n), detail="nested too deeply") from None
        yield n, value


def open_json_lines(path: str | Path) -> IO[bytes]:
    """The byte stream of a JSON-lines file, ``-`` being standard input."""
    return sys.stdin.buffer if str(path) == "-" else open(path, "rb")


# --- scoring -------------------------------------------------------------------------------------

def evaluation_sentences(records: Sequence[RunRecord], what: str) -> tuple[list[Sentence], list[Sentence]]:
    """Gold and projected sentences of ``records`` for :func:`xlner.evaluate.evaluate`.

    A record without gold cannot be scored: E724 names ``what`` (the run) and the first such
    sentence, instead of counting its projections as spurious.
    """
    gold, pred = [], []
    for r in records:
        if r.gold is None:
            raise XlnerError("E724", what=what, sentence=r.id)
        gold.append(Sentence(r.id, list(r.tgt_tokens), sorted(r.gold), r.source))
        pred.append(Sentence(r.id, list(r.tgt_tokens), r.projected_spans(), r.source))
    return gold, pred
