"""Marker-preserving back-translation (method.md §5): English entities wrapped in ``[ ]``, the
sentence translated back into the target language, and the typed spans recovered from the markers
(with the reason each entity that got none got none)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Sequence

from xlner.datamodel import Reason, Span, Unprojected
from xlner.text import detokenize, split_words
from xlner.translate.base import Translator

MARKERS = ("[", "]")


def _escape_markers(token: str, markers: tuple[str, str]) -> str:
    """A marker character that is part of the sentence itself becomes a parenthesis, so that every
    marker in the translation was put there for an entity."""
    return token.replace(markers[0], "(").replace(markers[1], ")")


def wrap_entities(tokens: Sequence[str], spans: Sequence[Span], markers: tuple[str, str] = MARKERS) -> str:
    """Detokenized text with each entity wrapped in markers: ``[Barack Obama] visited [Paris]``
    (marker characters already in the words are written as parentheses)."""
    opens = {s.start for s in spans}
    closes = {s.end - 1 for s in spans}
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if i in opens:
            out.append(markers[0])
        out.append(_escape_markers(tok, markers))
        if i in closes:
            out.append(markers[1])
    return detokenize(out)


def mark_entities(sentences: Sequence[Sequence[str]], entities: Sequence[Sequence[Span]],
                  markers: tuple[str, str] = MARKERS) -> tuple[list[str], list[list[str]]]:
    """The marked text of each sentence (``""`` for a sentence without entities: nothing to
    back-translate) and the surface string of each of its entities, to be translated alone."""
    texts, surfaces = [], []
    for toks, ents in zip(sentences, entities):
        texts.append(wrap_entities(toks, ents, markers) if ents else "")
        surfaces.append([detokenize([_escape_markers(t, markers) for t in toks[s.start:s.end]])
                         for s in ents])
    return texts, surfaces


def recover_marked_spans(text: str, markers: tuple[str, str] = MARKERS) -> tuple[list[str], list[tuple[int, int]], int]:
    """Split a translated marked sentence into words without markers and the word ranges that were
    bracketed. Returns ``(words, ranges, n_broken)``; ``n_broken`` counts unmatched or nested
    markers and empty brackets, whose content is kept as plain words."""
    words: list[str] = []
    ranges: list[tuple[int, int]] = []
    broken = 0
    start: int | None = None
    for w in split_words(text):
        if w == markers[0]:
            if start is not None:
                broken += 1  # nested or unclosed: the earlier open marker is lost
            start = len(words)
        elif w == markers[1]:
            if start is None or start == len(words):
                broken += 1
            else:
                ranges.append((start, len(words)))
            start = None
        else:
            words.append(w)
    if start is not None:
        broken += 1
    return words, ranges, broken


def _similarities(words: Sequence[str], ranges: Sequence[tuple[int, int]],
                  entity_translations: Sequence[str]) -> list[tuple[float, int, int]]:
    """``(ratio, range index, entity index)`` for every pair, by ``difflib.SequenceMatcher``."""
    out = []
    for r, (s, e) in enumerate(ranges):
        surface = " ".join(words[s:e]).lower()
        for k, trans in enumerate(entity_translations):
            other = " ".join(split_words(trans)).lower()
            out.append((difflib.SequenceMatcher(None, surface, other).ratio(), r, k))
    return out


def _best_pairs(scored: list[tuple[float, int, int]], min_ratio: float | None) -> list[tuple[float, int, int]]:
    """Best pairs first, one range per entity and one entity per range (ties: lower range, then
    lower entity index); only ratios above ``min_ratio`` when it is given."""
    chosen, used_r, used_k = [], set(), set()
    for ratio, r, k in sorted(scored, key=lambda x: (-x[0], x[1], x[2])):
        if (min_ratio is not None and ratio <= min_ratio) or r in used_r or k in used_k:
            continue
        used_r.add(r)
        used_k.add(k)
        chosen.append((ratio, r, k))
    return chosen


def assign_marked_classes(words: Sequence[str], ranges: Sequence[tuple[int, int]],
                          entity_translations: Sequence[str], labels: Sequence[str],
                          *, min_ratio: float = 0.5) -> tuple[list[Span], list[int]]:
    """Give each bracketed range the class of the entity whose separate translation it resembles.

    Each range goes to the most similar entity by ``difflib.SequenceMatcher`` ratio (> ``min_ratio``),
    best pairs first, one range per entity. Returns the spans and, for each, the entity index.
    """
    chosen = _best_pairs(_similarities(words, ranges, entity_translations), min_ratio)
    pairs = sorted((Span(ranges[r][0], ranges[r][1], labels[k]), k) for _, r, k in chosen)
    return [s for s, _ in pairs], [k for _, k in pairs]


@dataclass
class MarkedTranslation:
    """A back-translated sentence with the entities recovered from markers."""

    text: str
    words: list[str]
    spans: list[Span]
    sources: list[int]              # entity index each span came from
    lost: list[Unprojected]         # entities not recovered: marker_lost / _unbalanced / _moved
    broken_markers: int = 0
    scores: list[float] = field(default_factory=list)  # difflib ratio of each span to its entity

    def to_dict(self) -> dict[str, Any]:
        scores = self.scores or [1.0] * len(self.spans)
        return {"text": self.text, "words": self.words,
                "spans": [{**s.to_dict(), "source": k, "score": sc}
                          for s, k, sc in zip(self.spans, self.sources, scores)],
                "lost": [u.to_dict() for u in self.lost], "broken_markers": self.broken_markers}


def recover_back_translation(text: str, entity_translations: Sequence[str], labels: Sequence[str], *,
                             min_ratio: float = 0.5, markers: tuple[str, str] = MARKERS) -> MarkedTranslation:
    """Typed spans of one marked back-translation, and why each entity that got none got none.

    A bracketed range takes the class of the entity whose separate translation it resembles
    (ratio > ``min_ratio``, best pairs first). An entity left over is ``marker_moved`` when a
    bracketed range is left over too (its markers came back around other words: the leftovers are
    paired best first), else ``marker_unbalanced`` when the text has unpaired or nested markers,
    else ``marker_lost`` (its markers were dropped).
    """
    words, ranges, broken = recover_marked_spans(text, markers)
    scored = _similarities(words, ranges, entity_translations)
    chosen = _best_pairs(scored, min_ratio)
    pairs = sorted((Span(ranges[r][0], ranges[r][1], labels[k]), k, ratio) for ratio, r, k in chosen)
    used_r = {r for _, r, _ in chosen}
    used_k = {k for _, _, k in chosen}
    moved = {k for _, _, k in _best_pairs([x for x in scored if x[1] not in used_r and x[2] not in used_k], None)}
    lost = []
    for k in range(len(labels)):
        if k in used_k:
            continue
        reason = (Reason.MARKER_MOVED if k in moved else
                  Reason.MARKER_UNBALANCED if broken else Reason.MARKER_LOST)
        lost.append(Unprojected(k, reason))
    return MarkedTranslation(text, words, [s for s, _, _ in pairs], [k for _, k, _ in pairs], lost,
                             broken, [float(r) for _, _, r in pairs])


def back_translate_with_markers(translator: Translator, sentences: Sequence[Sequence[str]],
                                entities: Sequence[Sequence[Span]], *,
                                markers: tuple[str, str] = MARKERS, min_ratio: float = 0.5,
                                ids: Sequence[str] | None = None) -> list[MarkedTranslation]:
    """Translate English sentences with marked entities back into the target language (one batch),
    translate every entity string alone (one more batch), and recover the typed target spans.
    Sentences without entities are not sent (their result is empty)."""
    marked, surfaces = mark_entities(sentences, entities, markers)
    todo = [i for i, t in enumerate(marked) if t]
    out = translator.translate([marked[i] for i in todo],
                               ids=None if ids is None else [ids[i] for i in todo]) if todo else []
    translated = [""] * len(marked)
    for i, t in zip(todo, out):
        translated[i] = t
    flat = [x for xs in surfaces for x in xs]
    entity_trans = translator.translate(flat) if flat else []
    results = []
    k0 = 0
    for text, ents in zip(translated, entities):
        results.append(recover_back_translation(text, entity_trans[k0:k0 + len(ents)],
                                                [s.label for s in ents], min_ratio=min_ratio,
                                                markers=markers))
        k0 += len(ents)
    return results
