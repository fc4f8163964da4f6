"""Evaluation: seqeval P/R/F1, projection ratio, SemEval-2013 categories and bootstrap intervals.

- ``mode="default"`` is seqeval's default (conlleval-compatible, lenient) mode; entities are
  decoded and scores divided by seqeval's own functions, so the numbers equal seqeval's exactly.
  ``mode="strict"`` is seqeval's strict IOB2 mode: an entity must start with ``B-``. Spans
  always give well-formed IOB2 tags, so strict mode only differs from default on raw tags
  (``evaluate_tags``; ``xlner evaluate`` passes a prediction file's own IOB2 tags), where stray
  ``I-`` starts are not counted as entities.
- ``ignore_labels``: these types are set to O in gold *and* prediction before scoring
  (the MasakhaNER2 protocol drops DATE; method.md §6).
- ``proj_ratio``: mean over sentences of ``#pred / #gold`` entities. 0 gold and 0 predicted
  counts 1 (nothing to project, nothing projected). With 0 gold and ``k > 0`` predicted the
  ratio is undefined; we count ``1 + k`` (as if the sentence had one virtual entity that was
  projected, plus ``k`` extra), so spurious output raises the ratio above 1 instead of being
  ignored or dividing by zero.
- Categories (SemEval-2013 / MUC): each predicted entity is ``correct`` (same boundaries, same
  type), ``incorrect`` (same boundaries, other type), ``partial`` (overlapping boundaries) or
  ``spurious``; each unmatched gold entity is ``missing``. Matching is nervaluate's.
- Bootstrap: per-sentence true/false positive and false negative counts are computed once;
  each resample of the sentences is one ``bincount`` and a matrix product (percentile intervals).

Gold and prediction must hold the same sentences with the same tokens, in the same order.
With no gold entity at all, recall and F1 are undefined: the report says so (``xlner evaluate``
prints "undefined (no gold entities)", its JSON has null) instead of seqeval's 0.0. A gold type
that the prediction never has (``GPE`` against a PER/ORG/LOC tagger) is warned about (E311).
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from xlner.datamodel import Dataset, Sentence
from xlner.errors import XlnerError, warn, where

MODES = ("default", "strict")
CATEGORIES = ("correct", "incorrect", "partial", "missing", "spurious")
UNDEFINED = "undefined (no gold entities)"


@dataclass
class EvalReport:
    overall: dict[str, float]
    per_type: dict[str, dict[str, float]]
    proj_ratio: float
    n_sentences: int
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "default"
    ignore_labels: list[str] = field(default_factory=list)

    @property
    def defined(self) -> bool:
        """False when the gold has no entity: recall and F1 (and the P/R/F1 triple) are undefined."""
        return int(self.overall["support"]) > 0

    def to_dict(self, *, undefined_as_none: bool = False) -> dict[str, Any]:
        """The report as plain data; ``undefined_as_none`` writes null for the overall P/R/F1
        when there is no gold entity (seqeval's own numbers are 0.0)."""
        out = asdict(self)
        if undefined_as_none and not self.defined:
            out["overall"].update(precision=None, recall=None, f1=None)
        return out

    def table(self, max_ids: int = 5) -> str:
        """A readable report: overall and per-type P/R/F1, projection ratio, categories."""
        rows = [f"{'':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
        for name, m in sorted(self.per_type.items()):
            rows.append(f"{name:<10}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
                        f"{m['support']:>9d}")
        o = self.overall
        if self.defined:
            rows.append(f"{'overall':<10}{o['precision']:>10.4f}{o['recall']:>10.4f}{o['f1']:>10.4f}"
                        f"{o['support']:>9d}")
        else:
            rows.append(f"{'overall':<10}{UNDEFINED:>30}{o['support']:>9d}")
        rows.append("")
        rows.append(f"mode: {self.mode}   sentences: {self.n_sentences}   predicted entities: "
                    f"{o['n_pred']}   proj_ratio: {self.proj_ratio:.4f}"
                    + (f"   ignored: {','.join(self.ignore_labels)}" if self.ignore_labels else ""))
        if self.categories:
            rows.append("")
            for cat in CATEGORIES:
                c = self.categories[cat]
                ids = ", ".join(c["ids"][:max_ids]) + (" ..." if len(c["ids"]) > max_ids else "")
                rows.append(f"{cat:<10}{c['count']:>7d}   {ids}")
        return "\n".join(rows)


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



def check_label_names(names: Iterable[str], present: Iterable[str], *, option: str) -> list[str]:
    """``names`` (given in ``option``) in upper case, as xlner reads types; an error E312 names
    those that no input has, with the types present (a typo must not pass unnoticed)."""
    wanted = [n.strip().upper() for n in names if n.strip()]
    have = set(present)
    unknown = sorted(set(wanted) - have)
    if unknown:
        raise XlnerError("E312", option=option, unknown=", ".join(unknown),
                         present=", ".join(sorted(have)) or "none")
    return wanted


def unpredicted_types(gold: Sequence[Sentence], pred: Sequence[Sentence],
                      ignore: Iterable[str] = ()) -> list[str]:
    """Gold entity types that the prediction never has (a tagger that cannot emit ``GPE``)."""
    skip = set(ignore)
    predicted = {sp.label for s in pred for sp in s.spans}
    return sorted({sp.label for s in gold for sp in s.spans} - predicted - skip)


def evaluate_files(gold_path: str, pred_path: str, *, mode: str = "default",
                   ignore_labels: Iterable[str] = (), format: str = "auto",
                   label_map: Any = None) -> tuple[list[Sentence], list[Sentence], EvalReport]:
    """Read and score two files (``xlner evaluate``); in strict mode the prediction's own B/I tags
    are scored. ``ignore_labels`` must name types that the files have (E312); gold types that the
    prediction never has are warned about (E311)."""
    from xlner.data import (check_mojibake, load_label_map, map_type, read_dataset, read_records,
                            to_sentences)
    from xlner.tagging import parse_tag

    _check_mode(mode)
    lmap = load_label_map(label_map)
    gold = read_dataset(gold_path, format=format, label_map=lmap).sentences
    records, _ = read_records(pred_path, format=format)
    check_mojibake(records, pred_path)
    pred, scheme = to_sentences(records, label_map=lmap)
    check_same_tokens(gold, pred)
    present = {sp.label for s in (*gold, *pred) for sp in s.spans}
    ignore = check_label_names(ignore_labels, present, option="--ignore-labels")
    missing = unpredicted_types(gold, pred, ignore)
    if missing:
        warn("E311", where=where(pred_path), types=", ".join(missing))
    if mode == "strict" and scheme != "bioes":
        # Strict IOB2 must see the raw tags: normalising would repair the I- starts it penalises.
        def mapped(tag: str) -> str:
            prefix, typ = parse_tag(tag)
            new = None if prefix == "O" else map_type(typ, lmap)
            return "O" if new is None else f"{prefix}-{new}"

        pred_tags = [[mapped(t) for t in r.tags] for r in records]
    else:
        pred_tags = [s.tags() for s in pred]
    return gold, pred, evaluate_tags([s.id for s in gold], [s.tags() for s in gold], pred_tags,
                                     mode=mode, ignore_labels=ignore)

# --- bootstrap ------------------------------------------------------------------------------------

def _f1(counts: np.ndarray) -> np.ndarray:
    """Micro F1 from summed ``(..., 3)`` tp/fp/fn counts: 2tp / (2tp + fp + fn), 0 when empty."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _resampled_sums(per_sentence: np.ndarray, n_boot: int, seed: int, chunk: int = 64) -> np.ndarray:
    """``(n_boot, ...)`` sums of ``per_sentence`` rows over bootstrap resamples of the sentences.

    Each resample is turned into per-sentence multiplicities with one ``bincount`` and the sums
    are a matrix product (3-4x faster than gathering and summing the rows); counts stay exact.
    """
    if n_boot < 1:
        raise XlnerError("E304", n_boot=n_boot)
    n = len(per_sentence)
    if n == 0:
        raise XlnerError("E308")
    flat = per_sentence.reshape(n, -1).astype(np.float64)
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, flat.shape[1]), dtype=np.float64)
    for lo in range(0, n_boot, chunk):  # chunks bound the (chunk, n) matrices' memory
        rows = min(chunk, n_boot - lo)
        idx = rng.integers(0, n, size=(rows, n))
        offsets = np.arange(rows)[:, None] * n
        weights = np.bincount((idx + offsets).ravel(), minlength=rows * n).reshape(rows, n)
        out[lo:lo + rows] = weights @ flat
    return out.reshape((n_boot,) + per_sentence.shape[1:])


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise XlnerError("E309", alpha=alpha)


def _prepared(gold: Any, pred: Any, mode: str, ignore_labels: Iterable[str]) -> np.ndarray:
    _check_mode(mode)
    gold, pred = _as_list(gold), _as_list(pred)
    check_same_tokens(gold, pred)
    ignore = frozenset(ignore_labels)
    return _counts(span_entities(gold, ignore), span_entities(pred, ignore))


def bootstrap_f1_ci(gold: Any, pred: Any, n_boot: int = 1000, seed: int = 0, *, alpha: float = 0.05,
                    mode: str = "default", ignore_labels: Iterable[str] = ()) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` interval of micro F1, resampling sentences."""
    _check_alpha(alpha)
    f1 = _f1(_resampled_sums(_prepared(gold, pred, mode, ignore_labels), n_boot, seed))
    low, high = np.quantile(f1, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


@dataclass
class PairedDiff:
    """F1(a) - F1(b) on the same sentences, with a paired percentile bootstrap interval.

    ``p_value`` is the share of resamples where A is not better than B (one-sided, diff <= 0).
    """

    diff: float
    mean: float
    low: float
    high: float
    p_value: float
    n_boot: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def paired_bootstrap_diff(gold: Any, pred_a: Any, pred_b: Any, n_boot: int = 1000, seed: int = 0, *,
                          alpha: float = 0.05, mode: str = "default",
                          ignore_labels: Iterable[str] = ()) -> PairedDiff:
    """Paired bootstrap of the micro-F1 difference between two systems (same resampled sentences)."""
    _check_alpha(alpha)
    a = _prepared(gold, pred_a, mode, ignore_labels)
    b = _prepared(gold, pred_b, mode, ignore_labels)
    sums = _resampled_sums(np.stack([a, b], axis=1), n_boot, seed)  # (n_boot, 2, 3)
    diffs = _f1(sums[:, 0]) - _f1(sums[:, 1])
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    observed = float(_f1(a.sum(0)) - _f1(b.sum(0)))
    return PairedDiff(observed, float(diffs.mean()), float(low), float(high),
                      float((diffs <= 0).mean()), n_boot)


# --- reading the errors ------------------------------------------------------------------------------

def mismatch_blocks(gold: Any, pred: Any, *, limit: int = 20, ignore_labels: Iterable[str] = ()) -> str:
    """Token / gold / prediction columns for the first ``limit`` sentences where they disagree.

    Rows that differ are marked ``<<<``; this is the quickest way to read what a system gets wrong.
    """
    gold, pred = _as_list(gold), _as_list(pred)
    check_same_tokens(gold, pred)
    ignore = frozenset(ignore_labels)
    blocks: list[str] = []
    for g, p in zip(gold, pred):
        g_tags, p_tags = _drop_labels(g.tags(), ignore), _drop_labels(p.tags(), ignore)
        if g_tags == p_tags:
            continue
        if len(blocks) == limit:
            blocks.append("...")
            break
        width = max(len(t) for t in g.tokens)
        rows = [f"# {g.id}" + (f"  ({g.source})" if g.source else "")]
        rows += [f"{tok:<{width}}  {gt:<10} {pt:<10}" + ("  <<<" if gt != pt else "")
                 for tok, gt, pt in zip(g.tokens, g_tags, p_tags)]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


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


def scores_from_counts(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro precision, recall and F1 from summed ``(..., 3)`` tp/fp/fn counts.

    0 where undefined (seqeval's zero-division rule); F1 is the bootstrap's own definition.
    """
    sums = np.asarray(sums)
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
    return precision, recall, _f1(sums)


def resampled_f1(counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Micro F1 under ``n_boot`` bootstrap resamples of the sentences (axis 0 of ``counts``).

    ``counts`` is ``(n_sentences, ..., 3)`` (e.g. several systems or seeds stacked on axis 1); the
    result is ``(n_boot, ...)``. The same ``seed`` draws the same resamples whatever the other
    axes hold, so systems scored on one test set are paired.
    """
    return _f1(_resampled_sums(np.asarray(counts), n_boot, seed))


def percentile_interval(samples: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """The ``1 - alpha`` percentile interval of bootstrap ``samples``."""
    _check_alpha(alpha)
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
