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

from typing import Any, Iterable

import pandas as pd

from xlner.evaluate import sentence_categories

CATEGORIES = ("correct", "type", "boundary", "boundary+type", "missed", "spurious", "not projected")
# The evaluation's (nervaluate's) category of each explorer category.
SEMEVAL = {"correct": "correct", "type": "incorrect", "boundary": "partial", "boundary+type": "partial",
           "missed": "missing", "spurious": "spurious"}
# What each category is drawn as; the two token rows use the same colours as the tables.
CATEGORY_COLOURS = {
    "correct": "#2e7d32", "type": "#ef6c00", "boundary": "#1565c0", "boundary+type": "#ad1457",
    "missed": "#d50000", "spurious": "#6a1b9a", "not projected": "#546e7a",
}


def explorer_categories(semeval: str) -> list[str]:
    """The explorer categories that make up one SemEval category (``partial`` is two)."""
    return [c for c, s in SEMEVAL.items() if s == semeval]


def _key(s: dict[str, Any]) -> tuple[int, int]:
    return int(s["start"]), int(s["end"])


def compare_spans(gold: Iterable[dict[str, Any]], pred: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pair gold and projected spans (``[start, end)``) as the evaluation does and give each pair
    (or single span) a category; sorted by position."""
    # nervaluate's order and its (type, start, end_inclusive) entities
    gold = sorted(gold, key=lambda s: (*_key(s), s["label"]))
    pred = sorted(pred, key=lambda s: (*_key(s), s["label"]))
    as_entity = [(s["label"], int(s["start"]), int(s["end"]) - 1) for s in gold], \
        [(s["label"], int(s["start"]), int(s["end"]) - 1) for s in pred]
    out: list[dict[str, Any]] = []
    for cat, i, j in sentence_categories(*as_entity):
        g = gold[i] if i is not None else None
        p = pred[j] if j is not None else None
        if cat == "correct":
            name = "correct"
        elif cat == "incorrect":
            name = "type"
        elif cat == "partial":
            name = "boundary" if g is None or g["label"] == p["label"] else "boundary+type"
        else:
            name = "missed" if cat == "missing" else "spurious"
        out.append({"category": name, "gold": g, "pred": p})
    out.sort(key=lambda d: _key(d["gold"] or d["pred"]))
    return out


def evaluate_records(records: list[dict[str, Any]], **options: Any):
    """``xlner.evaluate.evaluate`` of a run's projection: ``gold_entities`` against ``tgt_entities``.

    The same numbers as ``xlner evaluate GOLD PRED`` on the run's gold and projected sentences
    (and as the pipeline's ``metrics.json``); the Overview shows these, never a count of its own.
    ``options`` go to :func:`xlner.evaluate.evaluate` (``mode``, ``ignore_labels``).
    """
    from xlner.datamodel import Sentence, Span
    from xlner.evaluate import evaluate

    def sentences(key: str) -> list[Sentence]:
        return [Sentence(r["id"], r["tgt_tokens"], sorted(Span(int(s["start"]), int(s["end"]), s["label"])
                                                          for s in r.get(key) or []))
                for r in records]

    return evaluate(sentences("gold_entities"), sentences("tgt_entities"), **options)


def sentence_summary(diffs: list[dict[str, Any]]) -> dict[str, int]:
    counts = {c: 0 for c in CATEGORIES[:-1]}
    for d in diffs:
        counts[d["category"]] += 1
    return counts


def _text(tokens: list[str], span: dict[str, Any] | None) -> str:
    return "" if span is None else " ".join(tokens[int(span["start"]):int(span["end"])])


def _span_str(span: dict[str, Any] | None) -> str:
    return "" if span is None else f"{span['start']}–{span['end']}"


ENTITY_COLUMNS = ["run", "dataset", "lang", "method", "sentence", "category", "label", "gold", "gold_text",
                  "projected", "projected_text", "length", "score", "source", "source_text",
                  "source_label", "ner_score", "reason"]


def entity_rows(record: dict[str, Any], *, run: str = "", dataset: str = "", lang: str = "",
                method: str = "") -> list[dict[str, Any]]:
    """One row per gold, projected or unprojected entity of a record (the Errors page's rows)."""
    tgt, src = record["tgt_tokens"], record.get("src_tokens") or []
    src_ents = record.get("src_entities") or []
    base = {"run": run, "dataset": dataset, "lang": lang or record.get("lang", ""),
            "method": method or record.get("method", ""), "sentence": record["id"]}

    def source_fields(i: int | None) -> dict[str, Any]:
        if i is None or not (0 <= int(i) < len(src_ents)):
            return {"source": None, "source_text": "", "source_label": "", "ner_score": None}
        s = src_ents[int(i)]
        return {"source": int(i), "source_text": _text(src, s), "source_label": s["label"],
                "ner_score": s.get("score")}

    rows = []
    for d in compare_spans(record.get("gold_entities") or [], record.get("tgt_entities") or []):
        g, p = d["gold"], d["pred"]
        span = p or g
        rows.append({**base, "category": d["category"], "label": (p or g)["label"],
                     "gold": f"{g['label']} {_span_str(g)}" if g else "", "gold_text": _text(tgt, g),
                     "projected": f"{p['label']} {_span_str(p)}" if p else "", "projected_text": _text(tgt, p),
                     "length": int(span["end"]) - int(span["start"]),
                     "score": None if p is None else p.get("score"),
                     **source_fields(None if p is None else p.get("source")),
                     "reason": "projected" if p else ""})
    for u in record.get("unprojected") or []:
        fields = source_fields(u.get("source"))
        s = src_ents[int(u["source"])] if fields["source"] is not None else None
        rows.append({**base, "category": "not projected", "label": fields["source_label"], "gold": "",
                     "gold_text": "", "projected": "", "projected_text": "",
                     "length": (int(s["end"]) - int(s["start"])) if s else 0, "score": None,
                     **fields, "reason": str(u.get("reason", ""))})
    return rows


def entity_table(records: list[dict[str, Any]], **meta: str) -> pd.DataFrame:
    """The entity rows of many records as a DataFrame with stable columns (empty runs included)."""
    rows = [r for rec in records for r in entity_rows(rec, **meta)]
    df = pd.DataFrame(rows, columns=ENTITY_COLUMNS)
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    df["ner_score"] = pd.to_numeric(df["ner_score"], errors="coerce")
    return df


def review_queue(table: pd.DataFrame) -> pd.DataFrame:
    """Projected entities, least confident first (matching score, then the English NER score)."""
    projected = table[table["projected"] != ""]
    return projected.sort_values(["score", "ner_score"], na_position="first", kind="stable")
