"""Candidate matching for many sentences at once (the engine behind ``project_batch``).

Sentences of similar length are stacked into padded ``(batch, entities, candidates)`` score
tensors so that scoring, the greedy solver and the top-candidate lists run as a handful of numpy
operations per chunk instead of per sentence. The per-sentence code in :mod:`.matching` is the
reference: this module must give exactly the same results (tests compare them), so it uses the
same candidate grid order (start, then end), the same float operations for the Dice score and
the same tie rule (the first maximum of the row-major score matrix).
"""

from __future__ import annotations

import operator
from functools import lru_cache

import numpy as np

from xlner.datamodel import Candidate, ProjectedEntity, ProjectionResult, Reason, Span, Unprojected
from xlner.project.matching import exact_match
from xlner.record import check_pairs

_span_start = operator.attrgetter("span.start")
_source = operator.attrgetter("source")

# Larger sentences or entity counts go through the per-sentence path.
MAX_BATCH_TGT = 128
MAX_BATCH_ENTITIES = 16
# Upper bound on the elements of one (batch, entities, candidates) tensor.
CHUNK_ELEMENTS = 1 << 20


@lru_cache(maxsize=512)
def _grid(n_tgt: int, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """A rectangular n-gram grid: every start x every length 1..L, ordered by start then end.

    Unlike :func:`~xlner.project.matching.ngram_candidates` it keeps ranges running past the
    sentence end (they are masked out later): the rectangle lets the link counts of all
    candidates of one length be computed with one slice instead of a gather.
    """
    width = n_tgt if max_length <= 0 else min(n_tgt, max_length)
    starts = np.repeat(np.arange(n_tgt), width)
    ends = starts + np.tile(np.arange(1, width + 1), n_tgt)
    starts.flags.writeable = False
    ends.flags.writeable = False
    return starts, ends


def _greedy(scores: np.ndarray, starts: np.ndarray, ends: np.ndarray, min_score: float) -> np.ndarray:
    """Vectorised greedy over a batch; returns the chosen candidate per entity (-1: none).

    Same rule as :func:`~xlner.project.matching.greedy_match`, one step for every sentence at
    once: each sentence takes its first highest score, then loses that entity's row and every
    candidate overlapping the pick.
    """
    b_n, k_n, c_n = scores.shape
    work = scores.copy()
    flat = work.reshape(b_n, k_n * c_n)
    chosen = np.full((b_n, k_n), -1, dtype=np.int64)
    rows = np.arange(b_n)
    for _ in range(min(k_n, c_n)):
        idx = flat.argmax(axis=1)
        ok = flat[rows, idx] > min_score
        if not ok.any():
            break
        b, i = rows[ok], idx[ok]
        k, c = i // c_n, i % c_n
        chosen[b, k] = c
        work[b, k, :] = -np.inf
        removed = np.zeros((b_n, c_n), dtype=bool)
        removed[b] = (starts[None, :] < ends[c][:, None]) & (starts[c][:, None] < ends[None, :])
        np.copyto(work, -np.inf, where=removed[:, None, :])
    return chosen


def match_items(items: list[dict], *, solver: str, max_candidate_length: int, min_score: float,
                w_align: float, restrict: bool, n_candidates: int, stop_tokens: frozenset[str],
                exact_solver: str) -> list[ProjectionResult]:
    """Solve the matching for prepared sentences (see ``project_batch``), in input order.

    Each item holds ``id``, ``tgt_tokens``, ``n_src``, ``entities`` (all source Spans), ``active``
    (indices of the entities to project), ``dropped`` (indices outside the target label set) and
    ``pairs`` (an ``(n, 2)`` array). Returns one :class:`ProjectionResult` per item.
    """
    n = len(items)
    n_src = np.fromiter((it["n_src"] for it in items), np.int64, n)
    n_tgt = np.fromiter((len(it["tgt_tokens"]) for it in items), np.int64, n)
    n_act = np.fromiter((len(it["active"]) for it in items), np.int64, n)
    s_max, t_max, k_max = int(n_src.max()), int(n_tgt.max()), max(1, int(n_act.max()))

    # All links at once, validated; the alignment is a set, so duplicates go via unique keys.
    lens = [len(it["pairs"]) for it in items]
    pairs = np.concatenate([it["pairs"] for it in items]) if sum(lens) else np.zeros((0, 2), np.int64)
    bi = np.repeat(np.arange(n), lens)
    bad = (pairs[:, 0] < 0) | (pairs[:, 0] >= n_src[bi]) | (pairs[:, 1] < 0) | (pairs[:, 1] >= n_tgt[bi])
    if bad.any():
        it = items[bi[int(np.argmax(bad))]]
        check_pairs(it["pairs"], it["n_src"], len(it["tgt_tokens"]), where=f"sentence {it['id']}",
                    field="alignment")
    key = np.sort((bi * s_max + pairs[:, 0]) * t_max + pairs[:, 1])
    key = key[np.concatenate((key[:1] >= 0, key[1:] != key[:-1]))]
    bi, src_i, tgt_j = key // (s_max * t_max), key // t_max % s_max, key % t_max

    ent_s = np.zeros((n, k_max), np.int64)
    ent_e = np.zeros((n, k_max), np.int64)
    for b, it in enumerate(items):
        ents = it["entities"]
        for k, src in enumerate(it["active"]):
            ent_s[b, k] = ents[src].start
            ent_e[b, k] = ents[src].end
    # One record per (link, entity containing its source word).
    member = (ent_s[bi] <= src_i[:, None]) & (src_i[:, None] < ent_e[bi])
    link_n, link_k = np.nonzero(member)
    link_b, link_j = bi[link_n], tgt_j[link_n]

    # With the alignment score alone only sub-ranges of [leftmost, rightmost] target word linked to
    # some entity can score above 0, and a range sticking out is beaten by its trimmed version; so
    # each sentence is scored on that window only (same candidates, same order as per sentence).
    if restrict:
        lo = np.full(n, t_max, np.int64)
        hi = np.zeros(n, np.int64)
        np.minimum.at(lo, link_b, link_j)
        np.maximum.at(hi, link_b, link_j + 1)
        lo = np.where(hi > 0, lo, 0)
    else:
        lo, hi = np.zeros(n, np.int64), n_tgt.copy()
    width = hi - lo

    out: list = [None] * n
    groups = chunks(width, n_act, max_candidate_length)
    group_of = np.empty(n, np.int64)
    for g, idx in enumerate(groups):
        group_of[idx] = g
    by_group = np.argsort(group_of[link_b], kind="stable")
    bounds = np.searchsorted(group_of[link_b][by_group], np.arange(len(groups) + 1))
    for g, idx in enumerate(groups):
        sel = by_group[bounds[g]:bounds[g + 1]]
        res = _match_group(items, idx, lo[idx], width[idx], n_tgt[idx], n_act[idx],
                           ent_s[idx], ent_e[idx], link_b[sel], link_k[sel], link_j[sel],
                           solver=solver, max_candidate_length=max_candidate_length,
                           min_score=min_score, w_align=w_align, n_candidates=n_candidates,
                           stop_tokens=stop_tokens, exact_solver=exact_solver)
        for b, r in zip(idx, res):
            out[b] = r
    return out


def _match_group(items, idx, lo, width, n_tgt, n_act, ent_s, ent_e, link_b, link_k, link_j, *,
                 solver, max_candidate_length, min_score, w_align, n_candidates, stop_tokens,
                 exact_solver):
    b_n = len(idx)
    w_n = max(1, int(width.max()))
    k_n = max(1, int(n_act.max()))
    ent_s, ent_e = ent_s[:, :k_n], ent_e[:, :k_n]
    starts, ends = _grid(w_n, max_candidate_length)  # relative to each sentence's window
    row_of = np.empty(int(idx.max()) + 1, np.int64)
    row_of[idx] = np.arange(b_n)
    rows = row_of[link_b]
    # counts[b, k, j]: links from entity k's words to window word j (one bincount).
    counts = np.bincount((rows * k_n + link_k) * w_n + (link_j - lo[rows]),
                         minlength=b_n * k_n * w_n).reshape(b_n, k_n, w_n)
    # inside[b, k, s, l-1]: links inside [s, s + l); ranges past the end are clipped (masked below).
    per_start = len(starts) // w_n
    prefix = np.zeros((b_n, k_n, w_n + per_start + 1), np.int64)
    np.cumsum(counts, axis=2, out=prefix[:, :, 1:w_n + 1])
    prefix[:, :, w_n + 1:] = prefix[:, :, w_n:w_n + 1]
    inside = np.empty((b_n, k_n, w_n, per_start), np.int64)
    for length in range(1, per_start + 1):
        np.subtract(prefix[:, :, length:length + w_n], prefix[:, :, :w_n], out=inside[:, :, :, length - 1])
    dice = 2.0 * inside.reshape(b_n, k_n, w_n * per_start)
    dice /= (ent_e - ent_s)[:, :, None] + (ends - starts)[None, None, :]
    if w_align != 1.0:
        dice *= w_align

    valid = ends[None, :] <= width[:, None]
    if stop_tokens:
        stop_hits = [(b, i - lo[b]) for b, it in enumerate(items[i] for i in idx)
                     if not stop_tokens.isdisjoint(it["tgt_tokens"])
                     for i, t in enumerate(it["tgt_tokens"]) if t in stop_tokens and lo[b] <= i < lo[b] + w_n]
        if stop_hits:
            marks = np.zeros((b_n, w_n + 1), np.int64)
            hb, hi = np.asarray(stop_hits).T
            marks[hb, hi + 1] = 1
            np.cumsum(marks, axis=1, out=marks)
            valid &= marks[:, np.minimum(ends, w_n)] == marks[:, starts]
    ent_ok = np.arange(k_n)[None, :] < n_act[:, None]
    scores = np.where(valid[:, None, :] & ent_ok[:, :, None], dice, -np.inf)

    chosen = _greedy(scores, starts, ends, min_score)
    rowmax = scores.max(axis=2)
    has_cand = rowmax > min_score
    if solver == "exact":
        picked = np.where(chosen >= 0, np.take_along_axis(scores, np.maximum(chosen, 0)[:, :, None], 2)[:, :, 0],
                          -np.inf)
        # Greedy reaching every entity's best score meets the upper bound: it is optimal.
        redo = (has_cand & (picked != rowmax)).any(axis=1) if exact_solver == "auto" else np.ones(b_n, bool)
        for b in np.flatnonzero(redo):
            cols = np.flatnonzero(valid[b])
            sub = dice[b, :n_act[b]][:, cols]
            chosen[b] = -1
            for r, c in exact_match(sub, starts[cols], ends[cols], min_score, exact_solver,
                                      certify=False):
                chosen[b, r] = cols[c]
    chosen_score = np.take_along_axis(scores, np.maximum(chosen, 0)[:, :, None], 2)[:, :, 0]

    top_pos = top_val = None
    if n_candidates:
        work = scores.copy()
        tops, vals = [], []
        bb, kk = np.indices((b_n, k_n))
        for _ in range(min(n_candidates, work.shape[2])):
            pos = work.argmax(axis=2)
            tops.append(pos)
            vals.append(work[bb, kk, pos])
            work[bb, kk, pos] = -np.inf
        top_pos = np.stack(tops, axis=2).tolist()
        top_val = np.stack(vals, axis=2).tolist()

    has_link = counts.any(axis=2).tolist()
    chosen_l, score_l, has_cand_l = chosen.tolist(), chosen_score.tolist(), has_cand.tolist()
    starts_l, ends_l, lo_l = starts.tolist(), ends.tolist(), lo.tolist()
    collision, no_candidate, unaligned = Reason.COLLISION, Reason.NO_CANDIDATE, Reason.UNALIGNED
    out = []
    for b, i in enumerate(idx.tolist()):
        it = items[i]
        ents, off = it["entities"], lo_l[b]
        chosen_b, has_cand_b = chosen_l[b], has_cand_l[b]
        projected, unprojected, candidates = [], [], []
        for k, src in enumerate(it["active"]):
            c = chosen_b[k]
            if c >= 0:
                projected.append(ProjectedEntity(Span(off + starts_l[c], off + ends_l[c], ents[src].label),
                                                 src, score_l[b][k]))
            else:
                reason = collision if has_cand_b[k] else no_candidate if has_link[b][k] else unaligned
                unprojected.append(Unprojected(src, reason))
            if top_pos is not None:
                for c, v in zip(top_pos[b][k], top_val[b][k]):
                    if v > min_score:
                        candidates.append(Candidate(src, off + starts_l[c], off + ends_l[c], v))
        if len(projected) > 1:
            projected.sort(key=_span_start)  # chosen spans never overlap: the start orders them
        if it["dropped"]:
            unprojected += [Unprojected(src, Reason.LABEL_NOT_IN_TARGET) for src in it["dropped"]]
            unprojected.sort(key=_source)
        out.append(ProjectionResult(projected, unprojected, candidates))
    return out


def chunks(width: np.ndarray, n_act: np.ndarray, max_candidate_length: int) -> list[np.ndarray]:
    """Item indices grouped by window width so that padding stays small."""
    order = np.argsort(width, kind="stable")
    groups: list[np.ndarray] = []
    first, max_k, first_w = 0, 1, 1
    for pos, i in enumerate(order.tolist()):
        w = max(1, int(width[i]))
        per_start = w if max_candidate_length <= 0 else min(w, max_candidate_length)
        k = max(max_k, int(n_act[i]))
        # Items are sorted by width, so the current one sets the group's padded width; a new group
        # starts when the tensor would get too big or the padding too wasteful.
        if pos > first and ((pos - first + 1) * k * w * per_start > CHUNK_ELEMENTS or w > 1.15 * first_w + 1):
            groups.append(order[first:pos])
            first, k, first_w = pos, max(1, int(n_act[i])), w
        max_k = k
    groups.append(order[first:])
    return groups
