"""Scoring: seqeval P/R/F1, the projection ratio, SemEval categories and per-sentence counts.

The checks that gold and prediction hold the same sentences live here too, since every score
starts with them. See :mod:`xlner.evaluate` for the definitions.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from xlner.datamodel import Dataset, Sentence
from xlner.errors import XlnerError
from xlner.evaluate.report import CATEGORIES, MODES, EvalReport


# --- input checks -------------------------------------------------------------------------------

def _as_list(sentences: Any) -> list[Sentence]:
    return list(sentences.sentences if isinstance(sentences, Dataset) else sentences)


def _first_unmatched(gold: Sequence[Any], pred: Sequence[Any]) -> tuple[str, Any]:
    """The first sentence that one side has and the other lacks, by tokens (ids differ between
    files: they carry the file name). Returns the side lacking it and that sentence."""
    g_keys = [tuple(s.tokens) for s in gold]
    p_keys = [tuple(s.tokens) for s in pred]
    matcher = difflib.SequenceMatcher(None, g_keys, p_keys, autojunk=False)
    for op, g0, _, p0, _ in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "insert":
            return "gold", pred[p0]
        return "prediction", gold[g0]  # delete, or replace: gold's sentence is not at its place
    longer, side = (gold, "prediction") if len(gold) > len(pred) else (pred, "gold")
    return side, longer[min(len(gold), len(pred))]


def _name(sentence: Any) -> str:
    """``path:line (sentence ID)`` when the sentence knows where it came from, else its id."""
    source = getattr(sentence, "source", "")
    return f"{source} (sentence {sentence.id})" if source else f"sentence {sentence.id}"


def check_same_tokens(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    """Refuse to score files that do not hold the same sentences (count, then tokens)."""
    if len(gold) != len(pred):
        side, sentence = _first_unmatched(gold, pred)
        words = " ".join(sentence.tokens[:8]) + (" ..." if len(sentence.tokens) > 8 else "")
        raise XlnerError("E301", n_gold=len(gold), n_pred=len(pred), side=side,
                         sentence=_name(sentence), words=words)
    for g, p in zip(gold, pred):
        if g.tokens != p.tokens:
            n = min(len(g.tokens), len(p.tokens))
            i = next((k for k in range(n) if g.tokens[k] != p.tokens[k]), n)
            if i < n:
                what = f"token {i} is {g.tokens[i]!r} in gold but {p.tokens[i]!r} in the prediction"
            else:
                what = f"gold has {len(g.tokens)} tokens, the prediction {len(p.tokens)}"
            where_ = f" ({g.source} vs {p.source})" if getattr(g, "source", "") else ""
            raise XlnerError("E302", sentence=g.id, pred_sentence=p.id, difference=what,
                             sources=where_)


def _drop_labels(tags: Sequence[str], ignore: frozenset[str]) -> list[str]:
    if not ignore:
        return list(tags)
    return ["O" if t != "O" and t.split("-", 1)[-1] in ignore else t for t in tags]


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise XlnerError("E303", mode=mode, modes=", ".join(MODES))


# --- entity extraction (seqeval's own decoders) -------------------------------------------------

def sentence_entities(tag_seqs: Sequence[Sequence[str]], mode: str = "default") -> list[set[tuple[str, int, int]]]:
    """Per sentence, the set of ``(type, start, end_inclusive)`` entities as seqeval sees them."""
    if mode == "strict":
        from seqeval.scheme import IOB2, Entities

        ents = Entities([list(t) for t in tag_seqs], IOB2).entities
        return [{(e.tag, e.start, e.end - 1) for e in sent} for sent in ents]
    from seqeval.metrics.sequence_labeling import get_entities

    return [set(get_entities(list(t))) for t in tag_seqs]


def _counts(g_ents: Sequence[set], p_ents: Sequence[set]) -> np.ndarray:
    out = np.zeros((len(g_ents), 3), dtype=np.int64)
    for k, (gs, ps) in enumerate(zip(g_ents, p_ents)):
        tp = len(gs & ps)
        out[k] = (tp, len(ps) - tp, len(gs) - tp)
    return out


def sentence_counts(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]],
                    mode: str = "default") -> np.ndarray:
    """``(n_sentences, 3)`` int array of true positives, false positives, false negatives."""
    return _counts(sentence_entities(gold_tags, mode), sentence_entities(pred_tags, mode))


# --- the metrics ----------------------------------------------------------------------------------

def _seqeval_scores(g_ents: Sequence[set], p_ents: Sequence[set]) -> tuple[dict, dict]:
    """Overall (micro) and per-type P/R/F1 by seqeval's own arithmetic.

    seqeval's scorer takes the per-type (predicted, true-positive, gold) counts from a hook,
    ``extract_tp_actual_correct``. We hand it the counts of the entities that seqeval's decoders
    found sentence by sentence (the same entities as decoding the concatenated corpus, which is
    what seqeval does), so the divisions, zero-division rule and F formula are seqeval's own and
    every entity is decoded once for all the numbers in the report.
    """
    from seqeval.metrics.v1 import _precision_recall_fscore_support

    n_pred: dict[str, int] = {}
    n_true: dict[str, int] = {}
    n_tp: dict[str, int] = {}
    for gs, ps in zip(g_ents, p_ents):
        for e in gs:
            n_true[e[0]] = n_true.get(e[0], 0) + 1
        for e in ps:
            n_pred[e[0]] = n_pred.get(e[0], 0) + 1
        for e in gs & ps:
            n_tp[e[0]] = n_tp.get(e[0], 0) + 1
    types = sorted(set(n_true) | set(n_pred))  # seqeval's own (sorted) label order
    sums = [np.array([d.get(t, 0) for t in types], dtype=np.int64) for d in (n_pred, n_tp, n_true)]

    def prfs(average: str | None) -> tuple:  # y_true/y_pred are placeholders: the hook gives the counts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UndefinedMetricWarning: seqeval counts zero division as 0
            return _precision_recall_fscore_support(
                [[]], [[]], average=average, extract_tp_actual_correct=lambda *_: tuple(x.copy() for x in sums))

    p, r, f, s = prfs("micro")
    pt, rt, ft, st = prfs(None)
    per_type = {t: {"precision": float(pt[i]), "recall": float(rt[i]), "f1": float(ft[i]),
                    "support": int(st[i])} for i, t in enumerate(types)}
    overall = {"precision": float(np.asarray(p).item()), "recall": float(np.asarray(r).item()),
               "f1": float(np.asarray(f).item()), "support": int(np.asarray(s).item())}
    return overall, per_type


def sentence_proj_ratios(n_gold: np.ndarray, n_pred: np.ndarray) -> np.ndarray:
    """Per-sentence ``#pred / #gold``; 0/0 is 1 and k/0 is 1 + k (see module docstring)."""
    n_gold = np.asarray(n_gold, dtype=np.float64)
    n_pred = np.asarray(n_pred, dtype=np.float64)
    return np.where(n_gold > 0, n_pred / np.maximum(n_gold, 1), 1.0 + n_pred)


def proj_ratio(gold: Any, pred: Any) -> float:
    """Mean over sentences of #predicted / #gold entities (spans; see the module docstring)."""
    gold, pred = _as_list(gold), _as_list(pred)
    if len(gold) != len(pred):
        check_same_tokens(gold, pred)
    if not gold:
        raise XlnerError("E310")
    ratios = sentence_proj_ratios(np.array([len(s.spans) for s in gold]),
                                  np.array([len(s.spans) for s in pred]))
    return float(ratios.mean())


def _ordered(ents: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """``(type, start, end_inclusive)`` entities in the order nervaluate is given them."""
    return sorted(ents, key=lambda x: (x[1], x[2], x[0]))


def sentence_categories(gold: Sequence[tuple[str, int, int]], pred: Sequence[tuple[str, int, int]]
                        ) -> list[tuple[str, int | None, int | None]]:
    """The SemEval category of every entity of one sentence, as ``(category, gold_i, pred_j)``.

    ``gold``/``pred`` are ``(type, start, end_inclusive)`` in nervaluate's order (:func:`_ordered`);
    the indices point into them. Categories are nervaluate's: its strict scenario decides
    ``correct`` (same boundaries and type), its partial scenario the rest — ``incorrect`` (same
    boundaries, other type), ``partial`` (overlap), ``spurious`` (a prediction that overlaps no free
    gold entity) and ``missing`` (a gold entity nothing claimed). nervaluate reports only the
    prediction's index; the gold partner is the entity with the same boundaries, or for
    ``partial`` the first overlapping gold entity not claimed before (nervaluate's own choice
    for flat entities, which is all this module scores). This is the matching that the counts
    in :attr:`EvalReport.categories` sum, and that the explorer highlights.
    """
    from nervaluate.entities import Entity
    from nervaluate.strategies import PartialEvaluation, StrictEvaluation

    true = [Entity(t, s, e) for t, s, e in gold]
    found = [Entity(t, s, e) for t, s, e in pred]
    _, si = StrictEvaluation().evaluate(true, found, [], 0)
    _, pi = PartialEvaluation().evaluate(true, found, [], 0)
    strict_ok = {j for _, j in si.correct_indices}
    missed = {i for _, i in pi.missed_indices}
    out: list[tuple[str, int | None, int | None]] = []
    claimed: set[int] = set()
    for _, j in pi.correct_indices:  # same boundaries: correct, or incorrect when the type differs
        i = next((i for i, g in enumerate(gold) if g[1:] == pred[j][1:] and i not in claimed), None)
        if i is not None:
            claimed.add(i)
        out.append(("correct" if j in strict_ok else "incorrect", i, j))
    for _, j in sorted(pi.partial_indices):
        _, ps, pe = pred[j]
        i = next((i for i, (_, gs, ge) in enumerate(gold) if i not in claimed and i not in missed
                  and gs <= pe and ps <= ge), None)
        if i is not None:
            claimed.add(i)
        out.append(("partial", i, j))
    out += [("spurious", None, j) for _, j in pi.spurious_indices]
    out += [("missing", i, None) for _, i in pi.missed_indices]
    return out


def _categories(ids: Sequence[str], g_ents: Sequence[set], p_ents: Sequence[set]) -> dict[str, dict[str, Any]]:
    found: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    counts = dict.fromkeys(CATEGORIES, 0)
    for k, (gs, ps) in enumerate(zip(g_ents, p_ents)):
        if not gs and not ps:
            continue
        per_sentence = dict.fromkeys(CATEGORIES, 0)
        for cat, _, _ in sentence_categories(_ordered(gs), _ordered(ps)):
            per_sentence[cat] += 1
        for cat, n in per_sentence.items():
            if n > 0:
                counts[cat] += n
                found[cat].append(ids[k])
    return {c: {"count": counts[c], "ids": found[c]} for c in CATEGORIES}


def _score(ids: Sequence[str], g_ents: list[set], p_ents: list[set], *, mode: str,
           ignore: frozenset[str], categories: bool) -> EvalReport:
    if not ids:
        raise XlnerError("E306")
    overall, per_type = _seqeval_scores(g_ents, p_ents)
    counts = _counts(g_ents, p_ents)
    n_pred = counts[:, 0] + counts[:, 1]
    n_gold = counts[:, 0] + counts[:, 2]
    overall.update(n_pred=int(n_pred.sum()), n_correct=int(counts[:, 0].sum()))
    ratio = float(sentence_proj_ratios(n_gold, n_pred).mean())
    cats = _categories(ids, g_ents, p_ents) if categories else {}
    return EvalReport(overall, per_type, ratio, len(ids), cats, mode, sorted(ignore))


def evaluate_tags(ids: Sequence[str], gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]],
                  *, mode: str = "default", ignore_labels: Iterable[str] = (),
                  categories: bool = True) -> EvalReport:
    """Score IOB2 tag sequences (the tokens already checked to be the same) with seqeval's decoders."""
    _check_mode(mode)
    ignore = frozenset(ignore_labels)
    gold_tags = [_drop_labels(t, ignore) for t in gold_tags]
    pred_tags = [_drop_labels(t, ignore) for t in pred_tags]
    for k, (g, p) in enumerate(zip(gold_tags, pred_tags)):
        if len(g) != len(p):
            raise XlnerError("E307", sentence=ids[k], n_gold=len(g), n_pred=len(p))
    return _score(ids, sentence_entities(gold_tags, mode), sentence_entities(pred_tags, mode),
                  mode=mode, ignore=ignore, categories=categories)


def span_entities(sentences: Sequence[Sentence], ignore: frozenset[str] = frozenset()) -> list[set]:
    """Per sentence, ``(type, start, end_inclusive)`` of its spans, without going through tags.

    Non-overlapping spans give well-formed IOB2 tags, from which seqeval (either mode) decodes
    exactly these entities (tested); overlapping spans cannot be written as tags and are refused.
    """
    out = []
    for sent in sentences:
        spans = sorted(sp for sp in sent.spans if sp.label not in ignore)
        for a, b in zip(spans, spans[1:]):
            if b.start < a.end:
                raise XlnerError("E305", sentence=_name(sent), first=str(a), second=str(b))
        out.append({(sp.label, sp.start, sp.end - 1) for sp in spans})
    return out


def evaluate(gold: Any, pred: Any, *, mode: str = "default", ignore_labels: Iterable[str] = (),
             categories: bool = True) -> EvalReport:
    """Score predicted sentences against gold sentences (same sentences, same tokens).

    Sentences hold spans, which are always well-formed, so ``strict`` and ``default`` agree
    here; use :func:`evaluate_tags` on raw tags for strict IOB2 scoring of a tagger's output.
    """
    _check_mode(mode)
    gold, pred = _as_list(gold), _as_list(pred)
    check_same_tokens(gold, pred)
    ignore = frozenset(ignore_labels)
    return _score([s.id for s in gold], span_entities(gold, ignore), span_entities(pred, ignore),
                  mode=mode, ignore=ignore, categories=categories)


# --- per-sentence counts and resampled F1 (the experiment runner's statistics) ---------------------

def type_counts(gold: Any, pred: Any, types: Sequence[str], *, mode: str = "default",
                ignore_labels: Iterable[str] = ()) -> np.ndarray:
    """``(n_sentences, 1 + len(types), 3)`` true positives, false positives, false negatives.

    Column 0 counts every entity type together (the micro average), then one column per type in
    ``types``. Entities are :func:`span_entities`, the ones every other score here uses.
    """
    _check_mode(mode)
    gold, pred = _as_list(gold), _as_list(pred)
    check_same_tokens(gold, pred)
    ignore = frozenset(ignore_labels)
    g_ents, p_ents = span_entities(gold, ignore), span_entities(pred, ignore)
    columns = [_counts(g_ents, p_ents)]
    for t in types:
        columns.append(_counts([{e for e in s if e[0] == t} for s in g_ents],
                               [{e for e in s if e[0] == t} for s in p_ents]))
    return np.stack(columns, axis=1)
