"""Projection as matching source entities to target candidates (method.md §4).

Three small pieces, each a pure function on numpy arrays:

- candidates: every n-gram of the target sentence (``ngram_candidates``; ranges holding a ``!`` or
  ``?`` token are skipped, as in the paper's code) or a given list of spans (e.g. an NER model's
  predictions on the target sentence). Candidates are always ordered by start, then end: that order
  is part of the greedy solver's tie rule.
- scores: the Dice alignment score ``2 * links(s, t) / (len(s) + len(t))`` for all entities x all
  candidates at once from 2-D prefix sums over the alignment matrix (``dice_scores``), fused with
  any extra scores by a weighted sum.
- solvers: ``greedy_match`` (the paper's argmax loop with its exact tie order) and ``exact_match``
  (maximum total score; at most one candidate per entity; chosen candidates never overlap): after
  optimum-preserving reductions, a dynamic programme over (set of placed entities, position), with
  scipy ``milp`` for groups of many interacting entities.

The alignment is a set: a duplicated pair counts once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Mapping

import numpy as np

from xlner.datamodel import Candidate, ProjectedEntity, Reason, Span
from xlner.errors import XlnerError

STOP_TOKENS = frozenset({"!", "?"})
EXACT_SOLVERS = ("auto", "dp", "milp")
# Above this many interacting entities the DP's 2**k tables get large; milp takes over.
MAX_DP_ENTITIES = 10

ExtraScore = np.ndarray | Callable[..., np.ndarray]


# --- candidates ------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _all_ngrams(n: int, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of every n-gram of a length-``n`` sentence, ordered by start then end."""
    width = n if max_length <= 0 else min(n, max_length)
    starts = np.repeat(np.arange(n), width)
    ends = starts + np.tile(np.arange(1, width + 1), n)
    keep = ends <= n
    starts, ends = starts[keep], ends[keep]
    starts.flags.writeable = False
    ends.flags.writeable = False
    return starts, ends


def _stop_mask(tgt_tokens: list[str], stop_tokens: frozenset[str]) -> np.ndarray | None:
    """Prefix counts of stop tokens, or ``None`` when the sentence has none (the common case)."""
    if not stop_tokens:
        return None
    hits = [i for i, t in enumerate(tgt_tokens) if t in stop_tokens]
    if not hits:
        return None
    marks = np.zeros(len(tgt_tokens) + 1, dtype=np.int64)
    marks[np.asarray(hits) + 1] = 1
    return np.cumsum(marks)


def ngram_candidates(tgt_tokens: list[str], max_length: int = 0,
                     stop_tokens: frozenset[str] = STOP_TOKENS) -> np.ndarray:
    """All ``[start, end)`` n-grams of ``tgt_tokens`` up to ``max_length`` words (0 = unlimited).

    Ranges that contain a token from ``stop_tokens`` are skipped. Returns an ``(n, 2)`` int array
    ordered by start, then end: the column order of extra score arrays for n-gram candidates.
    """
    starts, ends = _all_ngrams(len(tgt_tokens), int(max_length))
    stops = _stop_mask(tgt_tokens, frozenset(stop_tokens))
    if stops is not None:
        keep = stops[ends] == stops[starts]
        starts, ends = starts[keep], ends[keep]
    return np.stack([starts, ends], axis=1)


# --- scores ----------------------------------------------------------------------------------

def entity_link_counts(links: np.ndarray, ent_starts: np.ndarray, ent_ends: np.ndarray) -> np.ndarray:
    """``(n_entities, n_tgt)`` number of links from each entity's words to each target word."""
    prefix = np.zeros((links.shape[0] + 1, links.shape[1]), dtype=np.int64)
    np.cumsum(links, axis=0, out=prefix[1:])
    return prefix[ent_ends] - prefix[ent_starts]


def dice_scores(ent_counts: np.ndarray, ent_lengths: np.ndarray,
                cand_starts: np.ndarray, cand_ends: np.ndarray) -> np.ndarray:
    """Dice alignment score of every entity against every candidate, ``(n_entities, n_cand)``.

    ``ent_counts`` comes from :func:`entity_link_counts`; a second prefix sum along the target axis
    gives the links inside each candidate in one fancy-index.
    """
    k, n_tgt = ent_counts.shape
    prefix = np.zeros((k, n_tgt + 1), dtype=np.int64)
    np.cumsum(ent_counts, axis=1, out=prefix[:, 1:])
    inside = prefix[:, cand_ends] - prefix[:, cand_starts]
    return 2.0 * inside / (ent_lengths[:, None] + (cand_ends - cand_starts)[None, :])


# --- solvers ---------------------------------------------------------------------------------

def greedy_match(scores: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 min_score: float = 0.0) -> list[tuple[int, int]]:
    """The paper's greedy: repeatedly take the highest score above ``min_score``.

    Ties go to the lowest entity index, then the lowest candidate index (``argmax`` over the
    row-major matrix returns the first maximum). After a pick the entity's row and every
    candidate overlapping the picked one are removed. Returns ``(entity_row, candidate)`` pairs
    in pick order.
    """
    k, c = scores.shape
    if k == 0 or c == 0:
        return []
    s = scores.astype(np.float64, copy=True)
    picks = []
    for _ in range(min(k, c)):
        flat = int(s.argmax())
        row, col = divmod(flat, c)
        if not s[row, col] > min_score:
            break
        picks.append((row, col))
        s[row] = -np.inf
        s[:, (starts < ends[col]) & (starts[col] < ends)] = -np.inf
    return picks


def exact_match(scores: np.ndarray, starts: np.ndarray, ends: np.ndarray, min_score: float = 0.0,
                solver: str = "auto", certify: bool = True) -> list[tuple[int, int]]:
    """Maximum-total-score assignment: each entity at most one candidate, no two overlapping.

    Only scores above ``min_score`` may be picked. Reductions that keep the optimum, then a solver:

    1. if the greedy solution gives every entity its best candidate it is optimal (it reaches the
       trivial upper bound; skipped with ``certify=False`` by callers that already checked);
    2. a candidate is dropped for an entity when one of its sub-intervals scores at least as much
       (swapping to the sub-interval never creates a conflict), which leaves few candidates;
    3. an entity whose best candidate overlaps no usable candidate of another entity takes it;
    4. the remaining entities split into groups whose candidates' hulls do not overlap, each
       solved by :func:`_dp_match` (or scipy ``milp`` above ``MAX_DP_ENTITIES`` entities).
    """
    k, c = scores.shape
    if k == 0 or c == 0:
        return []
    usable = scores > min_score
    rows = np.flatnonzero(usable.any(axis=1))
    if rows.size == 0:
        return []
    if solver == "auto" and certify:
        greedy = greedy_match(scores, starts, ends, min_score)
        rowmax = scores.max(axis=1)
        if len(greedy) == rows.size:
            picked = np.array(greedy, dtype=np.int64).reshape(-1, 2)
            if (scores[picked[:, 0], picked[:, 1]] == rowmax[picked[:, 0]]).all():
                return greedy  # every entity got its best score: the trivial upper bound is met

    usable &= ~_dominated(scores, starts, ends)
    masked = np.where(usable, scores, -np.inf)
    best = masked.argmax(axis=1)
    # Words covered by each entity's usable candidates (difference arrays, one cumsum).
    n = int(ends.max())
    er, ec = np.nonzero(usable)
    # +1 at each usable candidate's start, -1 at its end, per entity row (bincount: np.add.at is slow)
    flat = er * (n + 1)
    diff = (np.bincount(flat + starts[ec], minlength=k * (n + 1))
            - np.bincount(flat + ends[ec], minlength=k * (n + 1))).reshape(k, n + 1)
    covered = np.cumsum(diff, axis=1)[:, :n] > 0
    total_cover = covered.sum(axis=0)
    fixed: list[int] = []
    rest: list[int] = []
    for row in rows:
        b = best[row]
        others = total_cover[starts[b]:ends[b]] - covered[row, starts[b]:ends[b]]
        (rest if others.any() else fixed).append(int(row))
    picks = [(row, int(best[row])) for row in fixed]
    for group in _interacting_groups(rest, covered):
        if len(group) == 1:
            picks.append((group[0], int(best[group[0]])))
            continue
        sub = masked[group]
        keep = np.flatnonzero(np.isfinite(sub).any(axis=0))
        use_milp = solver == "milp" or (solver == "auto" and len(group) > MAX_DP_ENTITIES)
        solved = (_milp_match if use_milp else _dp_match)(sub[:, keep], starts[keep], ends[keep], n)
        picks += [(group[r], int(keep[col])) for r, col in solved]
    return picks


def _dominated(scores: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(k, c)`` mask: some listed proper sub-interval of candidate c scores >= it for entity k.

    ``best[:, s, l]`` is the best score of any listed candidate inside ``[s, s + l + 1)``; it is
    built by length, since a sub-interval of ``[s, e)`` lies in ``[s + 1, e)`` or ``[s, e - 1)``.
    """
    k = scores.shape[0]
    lengths = ends - starts
    n, width = int(ends.max()), int(lengths.max())
    best = np.full((k, n, width), -np.inf)
    np.maximum.at(best, (slice(None), starts, lengths - 1), scores)  # type: ignore[arg-type]  # numpy's stubs reject a slice in the index tuple
    for l in range(1, width):
        np.maximum(best[:, :-1, l], np.maximum(best[:, 1:, l - 1], best[:, :-1, l - 1]), out=best[:, :-1, l])
    proper = np.full(scores.shape, -np.inf)
    longer = np.flatnonzero(lengths > 1)
    s, l = starts[longer], lengths[longer]
    proper[:, longer] = np.maximum(best[:, s + 1, l - 2], best[:, s, l - 2])
    return scores <= proper


def _interacting_groups(rows: list[int], covered: np.ndarray) -> list[list[int]]:
    """Split entities into groups whose coverage hulls do not overlap (independent subproblems)."""
    if not rows:
        return []
    hull = []
    for r in rows:
        words = np.flatnonzero(covered[r])
        hull.append((int(words[0]), int(words[-1]) + 1, r))
    hull.sort()
    groups, reach = [[hull[0][2]]], hull[0][1]
    for a, b, r in hull[1:]:
        if a < reach:
            groups[-1].append(r)
            reach = max(reach, b)
        else:
            groups.append([r])
            reach = b
    return [sorted(g) for g in groups]


def _dp_match(sub: np.ndarray, starts: np.ndarray, ends: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Exact DP over (set of placed entities, position); unusable scores are ``-inf``.

    ``table[m, p]`` is the best total with exactly the entities in bit set ``m`` placed on
    candidates lying inside words ``[0, p)``. Candidates are intervals, so in any feasible solution
    they are ordered left to right and each one can be appended after the best prefix ending at its
    start. Masks are processed in increasing order, so every table row is final (prefix-maximised)
    before it is extended.
    """
    k = sub.shape[0]
    table = np.full((1 << k, n + 1), -np.inf)
    table[0] = 0.0
    for m in range(1 << k):
        row = np.maximum.accumulate(table[m])
        table[m] = row
        if row[-1] == -np.inf:
            continue
        from_start = row[starts]
        for e in range(k):
            if m >> e & 1:
                continue
            np.maximum.at(table[m | 1 << e], ends, from_start + sub[e])
    final = table[:, n]
    m = int(final.argmax())
    value, pos, picks = final[m], n, []
    while m:
        while pos > 0 and table[m, pos - 1] == value:
            pos -= 1
        for e in range(k):
            if not m >> e & 1:
                continue
            prev = table[m ^ 1 << e]
            hit = np.flatnonzero((ends == pos) & (prev[starts] + sub[e] == value))
            if hit.size:
                col = int(hit[0])
                picks.append((e, col))
                m ^= 1 << e
                pos = int(starts[col])
                value = prev[pos]
                break
        else:  # pragma: no cover - the table was built from exactly these sums
            raise AssertionError("exact matching back-tracking failed")
    return picks


def _milp_match(sub: np.ndarray, starts: np.ndarray, ends: np.ndarray, n: int) -> list[tuple[int, int]]:
    """The same problem as an integer programme (scipy HiGHS): one variable per usable pair."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    er, ec = np.nonzero(np.isfinite(sub))
    w = sub[er, ec]
    nv = len(w)
    per_entity = coo_matrix((np.ones(nv), (er, np.arange(nv))), shape=(sub.shape[0], nv))
    lengths = ends[ec] - starts[ec]
    var = np.repeat(np.arange(nv), lengths)
    word = np.concatenate([np.arange(a, b) for a, b in zip(starts[ec], ends[ec])])
    per_word = coo_matrix((np.ones(len(var)), (word, var)), shape=(n, nv))
    a = vstack([per_entity, per_word]).tocsr()
    res = milp(-w, integrality=np.ones(nv), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a, -np.inf, 1))
    if res.x is None:  # pragma: no cover - the all-zero vector is always feasible
        raise RuntimeError(f"milp failed: {res.message}")
    chosen = np.flatnonzero(res.x > 0.5)
    return [(int(er[v]), int(ec[v])) for v in chosen]


# --- the projection ---------------------------------------------------------------------------

def _extra_matrix(name: str, value: ExtraScore, rows: np.ndarray, n_entities: int, cand_cols: np.ndarray,
                  n_cols: int, call_args: tuple, every_cell: bool = False) -> np.ndarray:
    arr = value(*call_args) if callable(value) else value
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape == (n_entities, n_cols) and not np.isfinite(arr).all():
        raise XlnerError("E205", name=name)
    if arr.shape != (n_entities, n_cols):
        raise XlnerError("E291", name=name, shape=arr.shape, expected=(n_entities, n_cols))
    if every_cell and len(rows) == n_entities:  # rows: distinct and ascending, so all of them in order
        return arr  # the whole matrix (fused matching): no copy (no caller writes to it)
    return arr[np.ix_(rows, cand_cols)]


def match_project(
    src_tokens: list[str],
    tgt_tokens: list[str],
    src_entities: list[Span],
    active: list[int],
    links: np.ndarray,
    *,
    solver: str = "greedy",
    tgt_candidates: list[Span] | np.ndarray | None = None,
    extra_scores: Mapping[str, ExtraScore] | None = None,
    weights: Mapping[str, float] | None = None,
    max_candidate_length: int = 0,
    min_score: float = 0.0,
    restrict_to_aligned: bool = True,
    n_candidates: int = 3,
    stop_tokens: frozenset[str] = STOP_TOKENS,
    exact_solver: str = "auto",
    candidate_origins: list[str] | None = None,
    aligned_only: tuple[str, ...] = (),
) -> tuple[list[ProjectedEntity], dict[int, Reason], list[Candidate]]:
    """Score candidates for the ``active`` source entities and solve the matching.

    Returns projected entities, a reason for each active entity left unprojected and the top
    ``n_candidates`` scored candidates per entity (for inspection). Arguments are validated by
    :func:`xlner.project.project`. When extra scores are fused in, each listed candidate keeps
    its raw (unweighted) score components (``{"align": dice, name: value, ...}``);
    ``candidate_origins`` (one per ``tgt_candidates`` entry, e.g. ``"ngram"``/``"ner"``) is
    copied onto the listed candidates. ``tgt_candidates`` may also be an ``(n, 2)`` array of
    start/end pairs already ordered by start, then end (no Span objects per candidate).
    ``aligned_only`` names extra scores kept only on candidates holding a target word aligned to
    the entity (0 elsewhere; the fused methods' NER gate), components included.
    """
    weights = dict(weights or {})
    extra_scores = dict(extra_scores or {})
    unknown = sorted(set(weights) - {"align"} - set(extra_scores)) if extra_scores else []
    if unknown:
        raise XlnerError("E290", names=", ".join(unknown), given=", ".join(sorted(extra_scores)))
    rows = np.asarray(active, dtype=np.int64)
    ent_starts = np.fromiter((src_entities[i].start for i in active), dtype=np.int64, count=len(active))
    ent_ends = np.fromiter((src_entities[i].end for i in active), dtype=np.int64, count=len(active))
    counts = entity_link_counts(links, ent_starts, ent_ends)

    given_order = False
    if isinstance(tgt_candidates, np.ndarray):  # (n, 2) start/end pairs already in start, end order
        n_cols = len(tgt_candidates)
        cand_cols = np.arange(n_cols)
        starts, ends = tgt_candidates[:, 0].astype(np.int64), tgt_candidates[:, 1].astype(np.int64)
        given_order = True  # columns of extra scores are these candidates, in this order
    elif tgt_candidates is not None:
        n_cols = len(tgt_candidates)
        order = sorted(range(n_cols), key=lambda j: (tgt_candidates[j].start, tgt_candidates[j].end))
        cand_cols = np.asarray(order, dtype=np.int64)
        starts = np.fromiter((tgt_candidates[j].start for j in order), dtype=np.int64, count=n_cols)
        ends = np.fromiter((tgt_candidates[j].end for j in order), dtype=np.int64, count=n_cols)
    else:
        starts, ends = _all_ngrams(len(tgt_tokens), int(max_candidate_length))
        stops = _stop_mask(tgt_tokens, stop_tokens)
        keep = None if stops is None else stops[ends] == stops[starts]
        n_cols = len(starts) if keep is None else int(keep.sum())
        if restrict_to_aligned and not extra_scores and min_score >= 0 and weights.get("align", 1.0) > 0:
            # With the alignment score alone, only sub-ranges of [leftmost, rightmost] aligned word
            # can score above 0, and a candidate sticking out is beaten by its trimmed version.
            aligned = np.flatnonzero(counts.any(axis=0))
            lo, hi = (aligned[0], aligned[-1] + 1) if aligned.size else (0, 0)
            inside = (starts >= lo) & (ends <= hi)
            keep = inside if keep is None else keep & inside
        if keep is None:
            cand_cols = np.arange(n_cols)
        else:
            cand_cols = np.flatnonzero(keep)
            starts, ends = starts[keep], ends[keep]
            if extra_scores:  # extra score columns index the stop-filtered n-gram list
                cand_cols = np.arange(n_cols)

    ent_lengths = ent_ends - ent_starts
    dice = dice_scores(counts, ent_lengths, starts, ends)
    components = {"align": dice}
    w_align = float(weights.get("align", 1.0))
    fused = dice * w_align if w_align != 1.0 else dice.copy()
    if extra_scores:
        call_args = (src_tokens, tgt_tokens, src_entities, np.stack([starts, ends], axis=1))
        for name, value in extra_scores.items():
            components[name] = _extra_matrix(name, value, rows, len(src_entities), cand_cols, n_cols,
                                             call_args, every_cell=given_order)
            if name in aligned_only:  # Dice > 0 exactly where the candidate holds an aligned word
                components[name] = components[name] * (dice > 0)
            fused += float(weights.get(name, 1.0)) * components[name]

    if solver == "greedy":
        picks = greedy_match(fused, starts, ends, min_score)
    else:
        picks = exact_match(fused, starts, ends, min_score, exact_solver)

    projected = []
    placed = set()
    for r, c in picks:
        source = active[r]
        placed.add(r)
        projected.append(ProjectedEntity(Span(int(starts[c]), int(ends[c]), src_entities[source].label),
                                         source, float(fused[r, c])))
    reasons: dict[int, Reason] = {}
    has_candidate = np.asarray((fused > min_score).any(axis=1) if fused.size else np.zeros(len(active), bool))
    has_link = np.asarray(counts.any(axis=1))
    for r, source in enumerate(active):
        if r in placed:
            continue
        if has_candidate[r]:
            reasons[source] = Reason.COLLISION
        else:
            reasons[source] = Reason.NO_CANDIDATE if has_link[r] else Reason.UNALIGNED

    candidates = []
    if n_candidates and fused.size:
        top = np.argsort(-fused, axis=1, kind="stable")[:, :n_candidates]
        # the listed cells gathered into Python lists at once, not read one numpy scalar at a time
        at = (np.arange(len(active))[:, None], top)
        top_scores = fused[at].tolist()
        top_parts = {name: m[at].tolist() for name, m in components.items()} if extra_scores else None
        top_starts, top_ends, top_cols = starts[top].tolist(), ends[top].tolist(), cand_cols[top].tolist()
        for r, source in enumerate(active):
            for j, v in enumerate(top_scores[r]):
                if v > min_score:
                    parts = None if top_parts is None else {name: cells[r][j] for name, cells in top_parts.items()}
                    origin = None if candidate_origins is None else candidate_origins[top_cols[r][j]]
                    candidates.append(Candidate(source, top_starts[r][j], top_ends[r][j], v, parts, origin))
    return projected, reasons, candidates
