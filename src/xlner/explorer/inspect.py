"""What the Overview, Errors and Compare pages show beyond the entity table: the stage each error is
attributed to, each entity inside its sentence, and two projections of one sentence side by side.

Pure functions of run records (no Streamlit): the pages cache and draw them. The stages are
``xlner.attribution``'s (docs/attribution.md), so a page's counts are what ``xlner evaluate RUN_DIR``
prints.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from xlner.attribution import STAGES, Attribution, RunAttribution, SpanRef, attribute_record, attribute_run
from xlner.datamodel import Span
from xlner.explorer.diff import CATEGORY_COLOURS, compare_spans, entity_table
from xlner.explorer.figures import label_colour, text_direction
from xlner.record import RunRecord

__all__ = ["STAGE_NAMES", "STAGE_COLOURS", "stage_entity_table", "run_attribution", "context_text",
           "entity_in_sentence_html", "compare_rows_html", "score_text", "marked_html", "ROWS_CSS"]

#: How the pages name the stages (``xlner.attribution.STAGES``).
STAGE_NAMES = {"translation": "translation", "english_ner": "English NER", "alignment": "alignment",
               "projection": "projection"}
STAGE_COLOURS = {"translation": "#8e24aa", "english_ner": "#ef6c00", "alignment": "#1e88e5",
                 "projection": "#43a047"}
# The attribution's error kind of each explorer category (docs/explorer.md).
_KIND = {"type": "type", "boundary": "boundary", "boundary+type": "boundary", "missed": "missed",
         "spurious": "spurious"}
_CONTEXT_WORDS = 6  # words shown on each side of an entity in the table's context column


def _span_str(s: Span | SpanRef | None) -> str:
    """As the entity table writes spans (``LOC 3–5``), to match an attribution to its row."""
    return "" if s is None else f"{s.label} {s.start}–{s.end}"


def run_attribution(records: Sequence[RunRecord]) -> RunAttribution:
    """The run's errors with their stages (``xlner.attribution.attribute_run``)."""
    return attribute_run(records)


def _stage_of_rows(rows: pd.DataFrame, found: list[Attribution]) -> list[tuple[str, str, str]]:
    """(stage, rule, why) for each entity row of one sentence; empty for rows that are no error."""
    free = list(found)
    out = []
    for row in rows.itertuples(index=False):
        kind = _KIND.get(str(row.category))
        match = None
        if kind is not None:
            for a in free:  # the same error kind on the same gold / projected span
                if a.error != kind:
                    continue
                if row.projected and _span_str(a.pred) != row.projected:
                    continue
                if row.gold and _span_str(a.gold) != row.gold:
                    continue
                match = a
                break
        if match is None:
            out.append(("", "", ""))
            continue
        free.remove(match)
        out.append((match.stage, match.rule, match.why))
    return out


def stage_entity_table(records: Sequence[RunRecord], **meta: str) -> pd.DataFrame:
    """The Errors page's table: :func:`xlner.explorer.diff.entity_table` plus the ``stage``, ``rule``
    and ``why`` of each error (empty for correct, not projected and no-gold rows) and ``context``,
    the entity's words in their sentence (gold span, else projected, else the English entity's
    sentence without a mark)."""
    table = entity_table(records, **meta)
    if table.empty:
        return table.assign(stage=pd.Series(dtype=str), rule=pd.Series(dtype=str), why=pd.Series(dtype=str),
                            context=pd.Series(dtype=str))
    by_id = {r.id: r for r in records}
    parts = []
    for sid, rows in table.groupby("sentence", sort=False):
        record = by_id[str(sid)]
        found = attribute_record(record) if record.gold is not None else []
        stages = _stage_of_rows(rows, found)
        rows = rows.assign(stage=[s[0] for s in stages], rule=[s[1] for s in stages], why=[s[2] for s in stages])
        rows["context"] = [context_text(record.tgt_tokens, _parse_span(g) or _parse_span(p))
                           for g, p in zip(rows["gold"], rows["projected"])]
        parts.append(rows)
    return pd.concat(parts).sort_index()


def _parse_span(text: str) -> tuple[int, int] | None:
    """``LOC 3–5`` -> (3, 5)."""
    if not text:
        return None
    start, end = text.rsplit(" ", 1)[1].split("–")
    return int(start), int(end)


def context_text(tokens: Sequence[str], span: tuple[int, int] | None, width: int = _CONTEXT_WORDS) -> str:
    """The span's words marked ``⟦…⟧`` with ``width`` words either side (``…`` where cut)."""
    if span is None:
        return " ".join(tokens[: 2 * width]) + (" …" if len(tokens) > 2 * width else "")
    start, end = span
    left, right = max(0, start - width), min(len(tokens), end + width)
    return " ".join([*(["…"] if left else []), *tokens[left:start], "⟦" + " ".join(tokens[start:end]) + "⟧",
                     *tokens[end:right], *(["…"] if right < len(tokens) else [])])


def score_text(value: Any, digits: int = 3) -> str:
    """A score for a table cell: the number, or empty where there is none (never "None" / "nan")."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{v:.{digits}f}"


ROWS_CSS = """<style>
.xl-ctx{line-height:2.1;font-size:15px;margin:2px 0}
.xl-ctx .who{display:inline-block;min-width:150px;font-size:12px;font-weight:600;color:#555}
.xl-ctx mark{border-radius:4px;padding:1px 4px}
.xl-ctx mark.focus{outline:3px solid #212121;outline-offset:1px}
.xl-ctx mark b{font-size:10px;margin-left:3px}
.xl-cmp{overflow-x:auto}
.xl-cmp table{border-collapse:separate;border-spacing:2px 3px;font-size:15px;margin-bottom:10px}
.xl-cmp td{padding:2px 5px;white-space:nowrap;border-radius:4px;text-align:center}
.xl-cmp th{font-size:12px;color:#555;padding-right:8px;text-align:end;white-space:nowrap}
.xl-cmp .lab{display:block;font-size:10px;font-weight:700}
</style>"""


def marked_html(tokens: Sequence[str], spans: Sequence[Span], focus: Span | None = None) -> str:
    """The sentence with ``spans`` as coloured marks, each followed by its label, wrapping like text;
    ``focus`` (one of them) outlined. Styled by :data:`ROWS_CSS` inside an ``xl-ctx`` element."""
    parts, i = [], 0
    starts = {s.start: s for s in sorted(spans, key=lambda s: (s.start, -s.end))}
    while i < len(tokens):
        s = starts.get(i)
        if s is None:
            parts.append(html.escape(tokens[i]))
            i += 1
            continue
        cls = ' class="focus"' if focus is not None and (s.start, s.end, s.label) == (focus.start, focus.end,
                                                                                         focus.label) else ""
        parts.append(f'<mark{cls} style="background:{label_colour(s.label)}">'
                     f'{html.escape(" ".join(tokens[s.start:s.end]))}<b>{html.escape(s.label)}</b></mark>')
        i = max(s.end, i + 1)
    return " ".join(parts)


def entity_in_sentence_html(tokens: Sequence[str], gold: Sequence[Span] | None, projected: Sequence[Span], *,
                            focus_gold: Span | None, focus_pred: Span | None, projected_name: str = "projected") -> str:
    """One entity inside its sentence: the gold line and the projected line, every entity coloured
    by type and the entity in question outlined (on both lines where it has both sides)."""
    direction = text_direction(list(tokens))
    gold_line = ("<i>no gold</i>" if gold is None else marked_html(tokens, gold, focus_gold))
    return (ROWS_CSS + f'<div class="xl-ctx" dir="{direction}"><span class="who">gold</span>{gold_line}</div>'
            f'<div class="xl-ctx" dir="{direction}"><span class="who">{html.escape(projected_name)}</span>'
            f'{marked_html(tokens, projected, focus_pred)}</div>')


LINE_CHARS = 90  # characters of words per block of the Compare view before it wraps


def line_breaks(tokens: Sequence[str], spans: Sequence[Span], limit: int = LINE_CHARS) -> list[tuple[int, int]]:
    """``[start, end)`` token blocks of at most ``limit`` characters, so that a long sentence wraps into
    several blocks of aligned rows instead of one row that runs off the screen. A block ends between
    entities where it can (the last such place before the limit), inside one only when an entity
    alone is longer than a block."""
    inside: set[int] = set()
    for s in spans:
        inside.update(range(s.start + 1, s.end))  # a break before these tokens would cut an entity
    blocks, start, width, last_free = [], 0, 0, None
    for i, tok in enumerate(tokens):
        if i > start and width + len(tok) + 1 > limit:
            cut = last_free if last_free is not None and last_free > start else i
            blocks.append((start, cut))
            start, last_free = cut, None
            width = sum(len(t) + 1 for t in tokens[start:i])
        if i > start and i not in inside:
            last_free = i
        width += len(tok) + 1
    blocks.append((start, len(tokens)))
    return blocks


def compare_rows_html(tokens: Sequence[str], gold: Sequence[Span] | None, rows: Sequence[tuple[str, Sequence[Span]]],
                      *, limit: int = LINE_CHARS) -> str:
    """Gold and several projections of one sentence under the same token columns (the Compare page).

    Each projected entity is coloured by type; one that is not correct against gold is outlined in
    its category's colour, with the category as tooltip and ``data-category``. Without gold nothing
    is categorised. A long sentence wraps into blocks (:func:`line_breaks`), each with every row,
    so the rows stay aligned word for word at any length; right-to-left text runs right to left.
    """
    n = len(tokens)
    direction = text_direction(list(tokens))
    every = [*(gold or []), *(s for _, spans in rows for s in spans)]
    categories: list[dict[int, str]] = [
        {d.pred_index: d.category for d in (compare_spans(gold, spans) if gold is not None else [])
         if d.pred_index is not None} for _, spans in rows]

    def row(name: str, spans: Sequence[Span], cats: dict[int, str], lo: int, hi: int) -> str:
        owner: list[int | None] = [None] * n
        for m, s in enumerate(spans):
            for t in range(max(s.start, lo), min(s.end, hi)):
                if owner[t] is None:
                    owner[t] = m
        cells, i = [], lo
        while i < hi:
            k = owner[i]
            if k is None:
                cells.append(f"<td>{html.escape(tokens[i])}</td>")
                i += 1
                continue
            j = i
            while j < hi and owner[j] == k:
                j += 1
            s, cat = spans[k], cats.get(k, "correct" if gold is not None else "no gold")
            style = f"background:{label_colour(s.label)};"
            if cat != "correct":
                style += f"outline:2px dashed {CATEGORY_COLOURS[cat]};outline-offset:-2px;"
            cells.append(f'<td colspan="{j - i}" style="{style}" title="{html.escape(f"{s.label} — {cat}")}" '
                         f'data-category="{cat}">{html.escape(" ".join(tokens[i:j]))}'
                         f'<span class="lab">{html.escape(s.label)}</span></td>')
            i = j
        return f'<tr><th>{html.escape(name)}</th>{"".join(cells)}</tr>'

    blocks = []
    for lo, hi in line_breaks(tokens, every, limit) if n else [(0, 0)]:
        gold_row = (f'<tr><th>gold</th><td colspan="{max(hi - lo, 1)}">(no gold)</td></tr>' if gold is None
                    else row("gold", gold, {}, lo, hi))
        body = "".join(row(name, spans, cats, lo, hi) for (name, spans), cats in zip(rows, categories))
        blocks.append(f'<table dir="{direction}">{gold_row}{body}</table>')
    return ROWS_CSS + f'<div class="xl-cmp" dir="{direction}">{"".join(blocks)}</div>'


def stage_frame(per_run: dict[str, RunAttribution]) -> pd.DataFrame:
    """One row per run and stage with the number of errors attributed to it (the Overview's chart)."""
    rows = [{"run": key, "stage": st, "stage name": STAGE_NAMES[st], "errors": result.counts()["total"][st]}
            for key, result in per_run.items() if result.has_gold for st in STAGES]
    return pd.DataFrame(rows, columns=["run", "stage", "stage name", "errors"])
