"""Gold vs projected spans of one sentence, and the entity-level table behind the Errors page.

Categories (one per gold/projected pair, in the spirit of the SemEval-2013 scheme the evaluation
uses, but named for what an annotator sees on screen):
  correct        same tokens, same label
  type           same tokens, other label
  boundary       overlapping tokens, same label
  boundary+type  overlapping tokens, other label
  missed         a gold entity nothing projected overlaps
  spurious       a projected entity that overlaps no gold entity
Matching is one-to-one: exact matches first, then overlapping pairs with the same label, then
the largest overlap.
"""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

CATEGORIES = ("correct", "type", "boundary", "boundary+type", "missed", "spurious", "not projected")
# What each category is drawn as; the two token rows use the same colours as the tables.
CATEGORY_COLOURS = {
    "correct": "#2e7d32", "type": "#ef6c00", "boundary": "#1565c0", "boundary+type": "#ad1457",
    "missed": "#d50000", "spurious": "#6a1b9a", "not projected": "#546e7a",
}


def _key(s: dict[str, Any]) -> tuple[int, int]:
    return int(s["start"]), int(s["end"])


def compare_spans(gold: Iterable[dict[str, Any]], pred: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pair gold and projected spans and give each pair (or single span) a category."""
    gold = sorted(gold, key=_key)
    pred = sorted(pred, key=_key)
    free_pred = set(range(len(pred)))
    out: list[dict[str, Any]] = []
    unmatched_gold = []
    by_span = {}
    for j, p in enumerate(pred):
        by_span.setdefault(_key(p), []).append(j)
    for g in gold:
        js = [j for j in by_span.get(_key(g), []) if j in free_pred]
        if js:
            j = next((j for j in js if pred[j]["label"] == g["label"]), js[0])
            free_pred.discard(j)
            out.append({"category": "correct" if pred[j]["label"] == g["label"] else "type",
                        "gold": g, "pred": pred[j]})
        else:
            unmatched_gold.append(g)
    # Overlapping pairs, best first: same label, then larger overlap, then left to right.
    pairs = []
    for gi, g in enumerate(unmatched_gold):
        gs, ge = _key(g)
        for j in free_pred:
            ps, pe = _key(pred[j])
            overlap = min(ge, pe) - max(gs, ps)
            if overlap > 0:
                pairs.append((pred[j]["label"] != g["label"], -overlap, gs, ps, gi, j))
    matched_gold: set[int] = set()
    for _, _, _, _, gi, j in sorted(pairs):
        if gi in matched_gold or j not in free_pred:
            continue
        matched_gold.add(gi)
        free_pred.discard(j)
        g = unmatched_gold[gi]
        out.append({"category": "boundary" if pred[j]["label"] == g["label"] else "boundary+type",
                    "gold": g, "pred": pred[j]})
    out += [{"category": "missed", "gold": g, "pred": None}
            for gi, g in enumerate(unmatched_gold) if gi not in matched_gold]
    out += [{"category": "spurious", "gold": None, "pred": pred[j]} for j in sorted(free_pred)]
    out.sort(key=lambda d: _key(d["gold"] or d["pred"]))
    return out


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
