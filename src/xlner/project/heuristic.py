"""Alignment-based heuristic projection (method.md §3).

One algorithm, three published variants as parameter settings:

=====================  ==============  ================  =====  ======  ==========  ===========  ==========
variant                merge_distance  min_length_ratio  top_k  only_i  order       collision    drop_punct
=====================  ==============  ================  =====  ======  ==========  ===========  ==========
paper (``heuristic``)  1               0.8 (strict >)    0=all  False   input       overwrite    False
García-Ferrero 2022    1 (gap fill)    0.0               1      False   input       merge        True
(``largest-group``)
thesis generalisation  d               thr               k      only_i  shortest    skip         False
=====================  ==============  ================  =====  ======  ==========  ===========  ==========

For one source entity: take every target word aligned to any of its words (optionally dropping
pure-punctuation targets), split them into maximal contiguous ranges, merge ranges separated by at
most ``merge_distance`` unaligned words, keep the ranges whose length / entity length is strictly
above ``min_length_ratio``, and of those the ``top_k`` longest (ties: leftmost). Then the entities' ranges are written
onto the target sentence under one of three collision rules:

- ``overwrite`` (paper): later entities overwrite earlier ones word by word; what survives of an
  earlier range stays (split where it was cut).
- ``skip`` (thesis): a range is dropped if any of its words is already labelled.
- ``merge`` (García-Ferrero): an overlapping projection of the same type is merged into one span
  (credited to the lower source index); of different types the longer one wins (ties: the one
  already placed).

Each projected span is scored with the Dice alignment score of method.md §4 so that heuristic and
matching projections can be compared in the explorer; every range considered for an entity (after
merging, before the ratio and top-k filters) is listed in ``ProjectionResult.candidates``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from xlner.datamodel import Candidate, ProjectedEntity, ProjectionResult, Reason, Span, Unprojected

ORDERS = ("input", "shortest")
COLLISIONS = ("overwrite", "skip", "merge")


@lru_cache(maxsize=65536)
def is_punctuation(token: str) -> bool:
    """A token made only of Unicode punctuation characters (``,``, ``«``, ``--``, ``...``)."""
    return bool(token) and all(unicodedata.category(ch).startswith("P") for ch in token)


def _runs(positions: np.ndarray) -> list[list[int]]:
    """Maximal contiguous ``[start, end)`` ranges of a sorted array of distinct positions."""
    if len(positions) == 0:
        return []
    breaks = np.flatnonzero(np.diff(positions) > 1)
    starts = np.concatenate(([positions[0]], positions[breaks + 1]))
    ends = np.concatenate((positions[breaks], [positions[-1]])) + 1
    return [[int(a), int(b)] for a, b in zip(starts, ends)]


def _merge(ranges: list[list[int]], merge_distance: int, first_word_targets: np.ndarray | None
           ) -> list[list[int]]:
    """Merge ranges whose gap is at most ``merge_distance`` words.

    ``first_word_targets`` (the ``only_i`` rule) is a boolean mask over target words aligned to the
    entity's first word: a range starting on such a word looks like a second mention of the entity,
    so it is not glued to the range before it.
    """
    if merge_distance <= 0 or len(ranges) < 2:
        return ranges
    merged = [ranges[0]]
    for a, b in ranges[1:]:
        gap = a - merged[-1][1]
        starts_new_mention = first_word_targets is not None and bool(first_word_targets[a])
        if gap <= merge_distance and not starts_new_mention:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return merged


def _dice(link_counts_prefix: np.ndarray, ent_len: int, a: int, b: int) -> float:
    """Dice alignment score of a target range against the entity (method.md §4)."""
    return 2.0 * float(link_counts_prefix[b] - link_counts_prefix[a]) / (ent_len + (b - a))


def heuristic_project(
    tgt_tokens: list[str],
    entities: list[tuple[int, Span]],
    links: np.ndarray,
    *,
    merge_distance: int = 1,
    min_length_ratio: float = 0.8,
    top_k: int = 0,
    only_i: bool = False,
    order: str = "input",
    collision: str = "overwrite",
    drop_punctuation: bool = False,
) -> ProjectionResult:
    """Project ``entities`` (pairs of source index and span) with a dense ``links`` matrix.

    ``links`` is the ``(n_src, n_tgt)`` boolean alignment matrix. Returns projected spans (several
    per entity are possible when ``top_k != 1``) and a reason for every entity left unprojected.
    Validation of the arguments happens in :func:`xlner.project.project`.
    """
    n_tgt = links.shape[1]
    punct = (np.fromiter((is_punctuation(t) for t in tgt_tokens), dtype=bool, count=n_tgt)
             if drop_punctuation else None)
    if order == "shortest":  # thesis: short entities first, so long ones cannot swallow them
        entities = sorted(entities, key=lambda e: (len(e[1]), e[0]))

    unprojected: dict[int, Reason] = {}
    considered: list[Candidate] = []
    wanted: list[tuple[int, Span, list[list[int]], np.ndarray]] = []  # (source, span, ranges, prefix)
    for source, span in entities:
        per_word = links[span.start:span.end]
        aligned_mask = per_word.any(axis=0)
        if not aligned_mask.any():
            unprojected[source] = Reason.UNALIGNED
            continue
        if punct is not None:
            aligned_mask = aligned_mask & ~punct
            if not aligned_mask.any():
                unprojected[source] = Reason.PUNCTUATION_ONLY
                continue
        ranges = _runs(np.flatnonzero(aligned_mask))
        ranges = _merge(ranges, merge_distance, per_word[0] if only_i else None)
        n = len(span)
        prefix = np.concatenate(([0], np.cumsum(per_word.sum(axis=0))))
        # Every range considered is kept as a scored candidate, so the explorer can show why one
        # was filtered out.
        considered += [Candidate(source, a, b, _dice(prefix, n, a, b)) for a, b in ranges]
        kept = [r for r in ranges if (r[1] - r[0]) / n > min_length_ratio]
        if not kept:
            # A range that would pass if its pieces were contiguous is reported as discontinuous.
            total = sum(b - a for a, b in ranges)
            gapped = len(ranges) > 1 and total / n > min_length_ratio
            unprojected[source] = Reason.DISCONTINUOUS if gapped else Reason.LENGTH_RATIO
            continue
        if top_k and len(kept) > top_k:
            kept = sorted(kept, key=lambda r: (r[0] - r[1], r[0]))[:top_k]  # longest, then leftmost
            kept.sort()
        wanted.append((source, span, kept, prefix))

    if collision == "overwrite":
        projected = _place_overwrite(wanted, n_tgt)
    elif collision == "skip":
        projected = _place_skip(wanted, n_tgt)
    else:
        projected = _place_merge(wanted)
    placed = {p.source for p in projected}
    for source, _, _, _ in wanted:
        if source not in placed:
            unprojected[source] = Reason.COLLISION
    return ProjectionResult(
        projected=sorted(projected, key=lambda p: (p.span.start, p.span.end)),
        unprojected=[Unprojected(s, r) for s, r in sorted(unprojected.items())],
        candidates=sorted(considered, key=lambda c: c.source),
    )


def _place_overwrite(wanted, n_tgt: int) -> list[ProjectedEntity]:
    owner = np.full(n_tgt, -1, dtype=np.int64)  # index into `wanted`
    begins = np.zeros(n_tgt, dtype=bool)
    for w, (_, _, ranges, _) in enumerate(wanted):
        for a, b in ranges:
            owner[a:b] = w
            begins[a] = True
            begins[a + 1:b] = False
    # A span is a maximal run of one owner, cut where a range began (two ranges of one entity can
    # touch after an overwrite between them).
    out = []
    t = 0
    while t < n_tgt:
        w = owner[t]
        if w < 0:
            t += 1
            continue
        end = t + 1
        while end < n_tgt and owner[end] == w and not begins[end]:
            end += 1
        source, span, _, prefix = wanted[w]
        out.append(ProjectedEntity(Span(t, end, span.label), source, _dice(prefix, len(span), t, end)))
        t = end
    return out


def _place_skip(wanted, n_tgt: int) -> list[ProjectedEntity]:
    taken = np.zeros(n_tgt, dtype=bool)
    out = []
    for source, span, ranges, prefix in wanted:
        for a, b in ranges:
            if taken[a:b].any():
                continue
            taken[a:b] = True
            out.append(ProjectedEntity(Span(a, b, span.label), source, _dice(prefix, len(span), a, b)))
    return out


def _place_merge(wanted) -> list[ProjectedEntity]:
    # accepted: list of [start, end, label, source, score]
    accepted: list[list] = []
    for source, span, ranges, prefix in wanted:
        for a, b in ranges:
            x = [a, b, span.label, source, _dice(prefix, len(span), a, b)]
            rejected = False
            while True:
                hit = next((y for y in accepted if y[0] < x[1] and x[0] < y[1]), None)
                if hit is None:
                    break
                accepted.remove(hit)
                if hit[2] == x[2]:  # same type: one span covering both, credited to the lower source
                    keep = hit if hit[3] < x[3] else x
                    x = [min(x[0], hit[0]), max(x[1], hit[1]), x[2], keep[3], max(x[4], hit[4])]
                elif (hit[1] - hit[0]) >= (x[1] - x[0]):  # different type: the longer one wins
                    accepted.append(hit)
                    rejected = True
                    break
            if not rejected:
                accepted.append(x)
    return [ProjectedEntity(Span(a, b, label), source, score) for a, b, label, source, score in accepted]
