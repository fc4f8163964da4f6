"""Gold vs projected spans of one sentence, and the entity-level table behind the Errors page.

The pairing is the evaluation's own (:func:`xlner.evaluate.sentence_categories`, nervaluate's
SemEval-2013 matching), so what a sentence highlights always adds up to what ``xlner evaluate`` and
the Overview count. The categories keep the names an annotator sees on screen, one finer than
SemEval's ``partial`` (``SEMEVAL`` maps them):
  correct        same tokens, same label                      (SemEval: correct)
  type           same tokens, other label                     (incorrect)
  boundary       overlapping tokens, same label               (partial)
  boundary+type  overlapping tokens, other label              (partial)
  missed         a gold entity no projection claimed          (missing)
  spurious       a projected entity that claimed no gold one  (spurious)
Matching is nervaluate's, one to one and first come: projected entities from left to right each
claim the first free gold entity they overlap, so a second projection inside one gold entity is
spurious. ``not projected`` rows (an English entity without a projection) come from the record's
``unprojected`` list and are not part of the SemEval scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from xlner.datamodel import ProjectionResult, Span
from xlner.evaluate import sentence_categories
from xlner.record import RunRecord, evaluation_sentences

CATEGORIES = ("correct", "type", "boundary", "boundary+type", "missed", "spurious", "not projected", "no gold")
# The evaluation's (nervaluate's) category of each explorer category.
SEMEVAL = {"correct": "correct", "type": "incorrect", "boundary": "partial", "boundary+type": "partial",
           "missed": "missing", "spurious": "spurious"}
# What each category is drawn as; the two token rows use the same colours as the tables.
CATEGORY_COLOURS = {
    "correct": "#2e7d32", "type": "#ef6c00", "boundary": "#1565c0", "boundary+type": "#ad1457",
    "missed": "#d50000", "spurious": "#6a1b9a", "not projected": "#546e7a", "no gold": "#9e9e9e",
}


def explorer_categories(semeval: str) -> list[str]:
    """The explorer categories that make up one SemEval category (``partial`` is two)."""
    return [c for c, s in SEMEVAL.items() if s == semeval]


@dataclass(frozen=True)
class Pairing:
    """One gold span paired with one projected span (or either alone), with its category;
    ``gold_index`` / ``pred_index`` index the lists given to :func:`compare_spans`."""

    category: str
    gold: Span | None
    pred: Span | None
    gold_index: int | None
    pred_index: int | None


def compare_spans(gold: Sequence[Span], pred: Sequence[Span]) -> list[Pairing]:
    """Pair gold and projected spans (``[start, end)``) as the evaluation does and give each pair
    (or single span) a category; sorted by position."""
    # nervaluate's order and its (type, start, end_inclusive) entities
    g_order = sorted(range(len(gold)), key=lambda i: (gold[i].start, gold[i].end, gold[i].label))
    p_order = sorted(range(len(pred)), key=lambda j: (pred[j].start, pred[j].end, pred[j].label))
    as_entity = ([(gold[i].label, gold[i].start, gold[i].end - 1) for i in g_order],
                 [(pred[j].label, pred[j].start, pred[j].end - 1) for j in p_order])
    out: list[Pairing] = []
    for cat, i, j in sentence_categories(*as_entity):
        gi = g_order[i] if i is not None else None
        pj = p_order[j] if j is not None else None
        g = gold[gi] if gi is not None else None
        p = pred[pj] if pj is not None else None
        if cat == "correct":
            name = "correct"
        elif cat == "incorrect":
            name = "type"
        elif cat == "partial":
            name = "boundary" if g is None or p is None or g.label == p.label else "boundary+type"
        else:
            name = "missed" if cat == "missing" else "spurious"
        out.append(Pairing(name, g, p, gi, pj))
    out.sort(key=lambda d: ((d.gold or d.pred).start, (d.gold or d.pred).end))  # type: ignore[union-attr]
    return out


def evaluate_records(records: Sequence[RunRecord], what: str = "the run", **options: Any) -> Any:
    """``xlner.evaluate.evaluate`` of a run's projection: gold against projected entities.

    The same numbers as ``xlner evaluate GOLD PRED`` on the run's gold and projected sentences
    (and as the pipeline's ``metrics.json``); the Overview shows these, never a count of its own.
    ``options`` go to :func:`xlner.evaluate.evaluate` (``mode``, ``ignore_labels``). A record
    without gold is an error (E724) naming ``what``.
    """
    from xlner.evaluate import evaluate

    return evaluate(*evaluation_sentences(records, what), **options)


def sentence_summary(diffs: Sequence[Pairing]) -> dict[str, int]:
    counts = {c: 0 for c in CATEGORIES[:6]}
    for d in diffs:
        counts[d.category] += 1
    return counts


def _text(tokens: Sequence[str], span: Span | None) -> str:
    return "" if span is None else " ".join(tokens[span.start:span.end])


def _span_str(span: Span | None) -> str:
    return "" if span is None else f"{span.start}–{span.end}"


ENTITY_COLUMNS = ["run", "dataset", "lang", "method", "sentence", "category", "label", "gold", "gold_text",
                  "projected", "projected_text", "length", "score", "source", "source_text",
                  "source_label", "ner_score", "reason"]


def entity_rows(record: RunRecord, projection: ProjectionResult | None = None, *, run: str = "",
                dataset: str = "", lang: str = "", method: str = "") -> list[dict[str, Any]]:
    """One row per gold, projected or unprojected entity of a record (the Errors page's rows);
    ``projection`` defaults to the record's own. A sentence without gold has its projected
    entities as ``no gold`` rows (nothing to compare them with)."""
    projection = projection or record.projection
    tgt, src = record.tgt_tokens, record.src_tokens
    base = {"run": run, "dataset": dataset, "lang": lang or record.lang,
            "method": method or record.method, "sentence": record.id}

    def source_fields(i: int | None) -> dict[str, Any]:
        if i is None or not (0 <= i < len(record.src_entities)):
            return {"source": None, "source_text": "", "source_label": "", "ner_score": None}
        s = record.src_entities[i]
        return {"source": i, "source_text": _text(src, s.span), "source_label": s.span.label,
                "ner_score": s.score}

    projected = projection.projected
    if record.gold is None:
        pairs = [Pairing("no gold", None, p.span, None, j) for j, p in enumerate(projected)]
    else:
        pairs = compare_spans(record.gold, [p.span for p in projected])
    rows = []
    for d in pairs:
        g, p = d.gold, d.pred
        entity = projected[d.pred_index] if d.pred_index is not None else None
        span = p or g
        assert span is not None
        rows.append({**base, "category": d.category, "label": span.label,
                     "gold": f"{g.label} {_span_str(g)}" if g else "", "gold_text": _text(tgt, g),
                     "projected": f"{p.label} {_span_str(p)}" if p else "", "projected_text": _text(tgt, p),
                     "length": len(span), "score": None if entity is None else entity.score,
                     **source_fields(None if entity is None else entity.source),
                     "reason": "projected" if p else ""})
    for u in projection.unprojected:
        fields = source_fields(u.source)
        s = record.src_entities[u.source].span if fields["source"] is not None else None
        rows.append({**base, "category": "not projected", "label": fields["source_label"], "gold": "",
                     "gold_text": "", "projected": "", "projected_text": "",
                     "length": len(s) if s else 0, "score": None, **fields, "reason": u.reason.value})
    return rows


def entity_table(records: Sequence[RunRecord], **meta: str) -> pd.DataFrame:
    """The entity rows of many records as a DataFrame with stable columns (empty runs included)."""
    rows = [r for rec in records for r in entity_rows(rec, None, **meta)]
    df = pd.DataFrame(rows, columns=ENTITY_COLUMNS)
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    df["ner_score"] = pd.to_numeric(df["ner_score"], errors="coerce")
    return df


def review_queue(table: pd.DataFrame) -> pd.DataFrame:
    """Projected entities, least confident first (matching score, then the English NER score)."""
    projected = table[table["projected"] != ""]
    return projected.sort_values(["score", "ner_score"], na_position="first", kind="stable")


def featured_sentence(records: Sequence[RunRecord], max_words: int = 20) -> RunRecord | None:
    """The sentence that shows the most of what projection does, for the Home page: the most
    different outcomes (error categories, plus an English entity left unprojected), then the most
    entities, then the shortest; only sentences with gold and at most ``max_words`` words (a short
    one reads at a glance). None when no sentence qualifies."""
    def score(rec: RunRecord) -> tuple[int, int, int]:
        kinds = {d.category for d in compare_spans(rec.gold or [], rec.projected_spans())}
        if rec.projection.unprojected:
            kinds.add("not projected")
        return len(kinds), len(rec.gold or []) + len(rec.projection.projected), -len(rec.tgt_tokens)

    pool = [r for r in records if r.gold is not None and len(r.tgt_tokens) <= max_words]
    return max(pool, key=score) if pool else None
