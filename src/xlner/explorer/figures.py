"""What the Sentence page draws, as pure functions: HTML token rows, the alignment matrix (HTML) and
lines (inline SVG), and the entity and candidate tables. Plain HTML/SVG, no plotly: the browser draws
it in milliseconds, and an exported sentence (xlner.explorer.export) carries the same markup.

Nothing here touches Streamlit, so each function is tested on its own and reused by the pages.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from xlner.datamodel import Alignment, ProjectionResult, Span
from xlner.explorer.diff import CATEGORY_COLOURS, compare_spans
from xlner.project import BACK_TRANSLATION
from xlner.record import RunRecord

# Pastel fills for labels; the error categories use strong colours (diff.CATEGORY_COLOURS) on top.
LABEL_COLOURS = {"PER": "#a9def9", "ORG": "#ffe5a3", "LOC": "#c7f0bd", "MISC": "#e4c1f9", "DATE": "#fcd5ce"}
OTHER_LABEL_COLOUR = "#d9d9d9"
# Darker versions for lines and outlines, which pastel colours would make invisible.
LABEL_DARK = {"PER": "#0077b6", "ORG": "#c98a00", "LOC": "#2d6a4f", "MISC": "#7b2cbf", "DATE": "#e76f51"}
# Width of one character of an 11 px label, generously (East Asian wide characters count twice).
CHAR_PX = 6.2
MAX_LABEL_PX = 320  # a longer word (a URL, say) overflows its margin rather than widening the figure


def label_px(labels: list[str]) -> float:
    """Estimated width in pixels of the longest tick label (for margins set without plotly's automargin)."""
    def units(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)

    return min(max((units(t) for t in labels), default=1) * CHAR_PX, MAX_LABEL_PX)


def label_colour(label: str) -> str:
    return LABEL_COLOURS.get(label, OTHER_LABEL_COLOUR)


def label_dark(label: str) -> str:
    return LABEL_DARK.get(label, "#616161")


def text_direction(tokens: list[str]) -> str:
    """``rtl`` when most letters are from a right-to-left script (Arabic, Hebrew, ...), else ``ltr``."""
    rtl = ltr = 0
    for ch in "".join(tokens):
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            rtl += 1
        elif bidi == "L":
            ltr += 1
    return "rtl" if rtl > ltr else "ltr"


def _span_of_token(spans: Sequence[Span], n: int) -> list[int | None]:
    """For each token, the index of the span that covers it (the last one wins)."""
    owner: list[int | None] = [None] * n
    for k, s in enumerate(spans):
        for i in range(s.start, min(s.end, n)):
            owner[i] = k
    return owner


@dataclass(frozen=True)
class AlignedSide:
    """What an alignment figure draws against the target sentence: the English side, or for
    back-translation the back-translated sentence (its words, its recovered spans, its alignment
    with the sentence). ``alignment`` is the record's own :class:`Alignment`, as stored."""

    name: str
    tokens: list[str]
    entities: list[Span]
    alignment: Alignment


def aligned_side(record: RunRecord, method: str = "") -> AlignedSide | None:
    """The side ``method`` projects from (None: a back-translation the record does not store)."""
    if method == BACK_TRANSLATION:
        bt = record.back_translation
        if bt is None:
            return None
        return AlignedSide("back-translation", bt.tokens, [e.span for e in bt.entities], bt.alignment)
    return AlignedSide("English", record.src_tokens, record.src_spans, record.alignment)


ROW_CSS = """
<style>
.xl-rows{display:flex;flex-wrap:wrap;row-gap:8px;column-gap:0;font-size:15px;line-height:1.25}
.xl-rows .tok,.xl-rows .head{display:flex;flex-direction:column;align-items:stretch;text-align:center}
.xl-rows .head{text-align:end;padding-inline-end:8px;font-size:12px;font-weight:600;color:#555}
.xl-rows .head span{white-space:nowrap}
.xl-rows .idx{font-size:10px;color:#999;height:13px}
.xl-rows .w{padding:1px 4px;white-space:nowrap}
.xl-rows .c{height:18px;font-size:10px;font-weight:700;padding:0 4px;white-space:nowrap;opacity:.9}
.xl-rows .c.e{border-top:2px solid transparent;border-bottom:2px solid transparent}
.xl-rows .c.first{border-start-start-radius:5px;border-end-start-radius:5px}
.xl-rows .c.last{border-start-end-radius:5px;border-end-end-radius:5px}
.xl-legend span{display:inline-block;margin:0 8px 4px 0;padding:1px 6px;border-radius:4px;font-size:12px}
</style>
"""


def _row_cells(spans: Sequence[Span], n: int, category_of: dict[int, str] | None) -> list[tuple[str, str]]:
    """For each token, the (attributes, text) of its cell in one span row: filled with the label's
    colour, the label on the entity's first token, and an outline in the category's colour when the
    entity is not ``correct`` (``category_of`` None: no gold, nothing categorised)."""
    owner = _span_of_token(spans, n)
    cells: list[tuple[str, str]] = []
    for i in range(n):
        k = owner[i]
        if k is None:
            cells.append(('class="c"', ""))
            continue
        s = spans[k]
        first, last = i == s.start, i == min(s.end, n) - 1
        cat = "no gold" if category_of is None else category_of.get(k, "correct")
        style = f"background:{label_colour(s.label)};"
        if cat not in ("correct", "no gold"):
            colour = CATEGORY_COLOURS[cat]
            style += f"border-top:2px dashed {colour};border-bottom:2px dashed {colour};"
            if first:
                style += f"border-inline-start:2px dashed {colour};"
            if last:
                style += f"border-inline-end:2px dashed {colour};"
        classes = "c e" + (" first" if first else "") + (" last" if last else "")
        title = html.escape(f"{s.label} [{s.start}, {s.end}) — {cat}")
        # data-category once per entity (on its first token), so the page holds one mark per entity
        data = f' data-category="{cat}"' if first else ""
        cells.append((f'class="{classes}" style="{style}" title="{title}"{data}',
                      html.escape(s.label) if first else ""))
    return cells


def token_rows_html(tokens: Sequence[str], gold: Sequence[Span] | None, projected: Sequence[Span],
                    *, gold_name: str = "gold", projected_name: str = "projected") -> str:
    """Gold and projected spans under each word, differences outlined; the words wrap like text.

    Each word is one column (index, word, gold cell, projected cell), so however the line wraps the
    gold and projected cells of a word stay under it: a 100-token sentence needs no sideways scroll.
    Entity cells are filled with their label's colour (the label on the first word); an entity that
    is not ``correct`` gets a dashed outline in its category's colour and the category in its tooltip.
    Right-to-left sentences flow right to left (``dir``). Without gold (None) there is no gold row
    and nothing is categorised: the legend says "no gold".
    """
    n = len(tokens)
    direction = text_direction(list(tokens))
    diffs = compare_spans(gold, projected) if gold is not None else []
    gold_cat = {d.gold_index: d.category for d in diffs if d.gold_index is not None}
    pred_cat = {d.pred_index: d.category for d in diffs if d.pred_index is not None}
    gold_cells = _row_cells(gold, n, gold_cat) if gold is not None else None
    pred_cells = _row_cells(projected, n, pred_cat if gold is not None else None)
    head = ['<span class="idx"></span><span class="w">&nbsp;</span>']
    if gold_cells is not None:
        head.append(f'<span class="c">{html.escape(gold_name)}</span>')
    head.append(f'<span class="c">{html.escape(projected_name)}</span>')
    columns = [f'<div class="head">{"".join(head)}</div>']
    for i, tok in enumerate(tokens):
        parts = [f'<span class="idx">{i}</span><span class="w" dir="auto">{html.escape(tok)}</span>']
        for cells in (gold_cells, pred_cells):
            if cells is not None:
                attrs, text = cells[i]
                parts.append(f"<span {attrs}>{text}</span>")
        columns.append(f'<div class="tok">{"".join(parts)}</div>')
    if gold is None:
        legend = '<span style="border:2px solid #9e9e9e">no gold: projections are shown, not scored</span>'
    else:
        legend = "".join(
            f'<span style="border:2px solid {CATEGORY_COLOURS[c]}">{c}: {sum(d.category == c for d in diffs)}</span>'
            for c in ("correct", "type", "boundary", "boundary+type", "missed", "spurious"))
    return (ROW_CSS + f'<div class="xl-legend">{legend}</div>'
            f'<div class="xl-rows" dir="{direction}">{"".join(columns)}</div>')


def entities_html(tokens: Sequence[str], spans: Sequence[Span], scores: Sequence[float | None] | None = None) -> str:
    """One sentence with its entities marked inline (the English side), direction detected;
    ``scores`` (one per span, optional) are shown beside the labels."""
    owner = _span_of_token(spans, len(tokens))
    parts = []
    i = 0
    while i < len(tokens):
        k = owner[i]
        if k is None:
            parts.append(html.escape(tokens[i]))
            i += 1
            continue
        s = spans[k]
        text = html.escape(" ".join(tokens[s.start:s.end]))
        score = scores[k] if scores is not None else None
        shown = f" {float(score):.2f}" if score is not None else ""
        parts.append(f'<mark style="background:{label_colour(s.label)};border-radius:4px;padding:1px 4px">'
                     f'{text} <b style="font-size:11px">{html.escape(s.label)}{shown}</b></mark>')
        i = s.end
    direction = text_direction(list(tokens))
    return f'<div dir="{direction}" style="line-height:2;font-size:15px">{" ".join(parts)}</div>'


def _link_scores(alignment: Alignment) -> np.ndarray:
    """Each link's score, NaN where the aligner gives none."""
    if alignment.scores is None:
        return np.full(len(alignment.pairs), np.nan)
    return np.asarray(alignment.scores, dtype=float)


def similarity_matrix(side: AlignedSide, n_tgt: int) -> tuple[np.ndarray, str]:
    """The heat of the heatmap: the stored similarity, else the link scores, else 1 per link."""
    a = side.alignment
    if a.similarity is not None:
        return np.asarray(a.similarity, dtype=float), "similarity"
    m = np.zeros((len(side.tokens), n_tgt))
    sc = _link_scores(a)
    if len(a.pairs):
        m[a.pairs[:, 0], a.pairs[:, 1]] = np.where(np.isnan(sc), 1.0, sc)
    return m, "link score" if not np.isnan(sc).all() else "link"


MATRIX_CSS = """
<style>
.xl-matrix{overflow:auto;max-height:720px;max-width:100%;border:1px solid #eee}
.xl-heat{border-collapse:separate;border-spacing:1px;font-size:11px}
.xl-heat th{background:#fff;font-weight:500;white-space:nowrap;color:#333}
.xl-heat thead th{position:sticky;top:0;z-index:2;vertical-align:bottom;padding:2px 0}
.xl-heat thead th .v{writing-mode:vertical-rl;transform:rotate(180deg);max-height:140px;overflow:hidden;
  text-overflow:ellipsis;margin:auto}
.xl-heat tbody th{position:sticky;left:0;z-index:1;text-align:end;padding:0 6px;max-width:200px;overflow:hidden;
  text-overflow:ellipsis}
.xl-heat thead th.corner{left:0;z-index:3;font-size:10px;color:#777;text-align:start;vertical-align:bottom}
.xl-heat td{width:22px;min-width:22px;height:22px;text-align:center;color:#d62828;font-size:14px;line-height:1}
</style>
"""
MATRIX_WINDOW = 30  # cells per axis of the focused matrix: a 100-token sentence stays readable


def _window(lo: int, hi: int, n: int, size: int) -> range:
    """At most ``size`` indices of ``range(n)`` around ``[lo, hi)`` (centred on it, kept inside)."""
    if n <= size:
        return range(n)
    centre = (lo + hi) // 2
    start = max(0, min(n - size, centre - size // 2))
    return range(start, start + size)


def matrix_window(side: AlignedSide, n_tgt: int, *, entity: int | None = None, start: int = 0,
                  size: int = MATRIX_WINDOW, projected: Sequence[Span] = ()) -> tuple[range, range]:
    """The rows (side's words) and columns (target words) of a focused alignment matrix.

    ``entity`` (an index into ``side.entities``) centres the rows on that entity and the columns on
    the target words its words are linked to (or its projection); without it the columns are the
    window starting at ``start`` and the rows centre on the words linked to those columns.
    """
    n_src, pairs = len(side.tokens), side.alignment.pairs
    if entity is not None and 0 <= entity < len(side.entities):
        e = side.entities[entity]
        rows = _window(e.start, e.end, n_src, size)
        linked = [int(j) for i, j in pairs.tolist() if e.start <= i < e.end] if len(pairs) else []
        linked += [j for p in projected for j in range(p.start, p.end)]
        cols = _window(min(linked), max(linked) + 1, n_tgt, size) if linked else _window(e.start, e.end, n_tgt, size)
        return rows, cols
    first = max(0, min(start, max(n_tgt - size, 0)))
    cols = range(first, min(n_tgt, first + size))
    linked = [int(i) for i, j in pairs.tolist() if first <= j < cols.stop] if len(pairs) else []
    if linked:
        rows = _window(min(linked), max(linked) + 1, n_src, size)
    else:  # nothing linked there: the same relative place on the other side
        rel = int(first * n_src / max(n_tgt, 1))
        rows = _window(rel, rel + 1, n_src, size)
    return rows, cols


def alignment_matrix_html(side: AlignedSide, tgt_tokens: Sequence[str], gold: Sequence[Span] | None,
                          projected: Sequence[Span], *, rows: range | None = None, cols: range | None = None,
                          sentence: str = "") -> str:
    """The alignment as an HTML matrix (rows: the side's words, columns: target words).

    Heat = similarity (darker = more similar), ✖ = alignment link; the side's entity rows are shaded
    in their label's colour, projected target columns filled and gold ones underlined (dotted). The
    word labels are sticky: scrolling a large matrix keeps both axes in view. ``rows``/``cols``
    limit it to a window (:func:`matrix_window`). Plain HTML, so the browser draws it in a few
    milliseconds and an exported page carries it as is. Every cell's tooltip names both words.
    """
    src, tgt = list(side.tokens), list(tgt_tokens)
    rows = rows if rows is not None else range(len(src))
    cols = cols if cols is not None else range(len(tgt))
    z, heat_name = similarity_matrix(side, len(tgt))
    lo, hi = (float(z.min()), float(z.max())) if z.size else (0.0, 1.0)
    links = {(int(i), int(j)): s for (i, j), s in zip(side.alignment.pairs.tolist(), _link_scores(side.alignment))}
    src_owner = _span_of_token(side.entities, len(src))
    proj_owner = _span_of_token(projected, len(tgt))
    gold_owner = _span_of_token(gold or [], len(tgt))
    head = [f'<th class="corner">{html.escape(side.name)} ↓ · target →</th>']
    for j in cols:
        style, what = "", []
        pk, gk = proj_owner[j], gold_owner[j]
        if pk is not None:
            style += f"background:{label_colour(projected[pk].label)};"
            what.append(f"projected {projected[pk].label}")
        if gk is not None and gold:
            style += f"border-bottom:3px dotted {label_dark(gold[gk].label)};"
            what.append(f"gold {gold[gk].label}")
        title = html.escape(f"{j}·{tgt[j]}" + (f" ({', '.join(what)})" if what else ""))
        head.append(f'<th class="col" style="{style}" title="{title}"><div class="v" dir="auto">'
                    f"{html.escape(f'{j}·{tgt[j]}')}</div></th>")
    body = []
    for i in rows:
        k = src_owner[i]
        style = f"background:{label_colour(side.entities[k].label)};" if k is not None else ""
        cells = [f'<th style="{style}" title="{html.escape(f"{i}·{src[i]}")}">{html.escape(f"{i}·{src[i]}")}</th>']
        for j in cols:
            v = float(z[i, j]) if i < z.shape[0] and j < z.shape[1] else 0.0
            a = 0.05 + 0.75 * ((v - lo) / (hi - lo) if hi > lo else 0.0)
            link = links.get((i, j))
            tip = f"{src[i]} ↔ {tgt[j]} · {heat_name} {v:.3f}"
            if link is not None:
                tip += " · link" + ("" if np.isnan(link) else f" {link:.3f}")
            cells.append(f'<td style="background:rgba(33,113,181,{a:.2f})" title="{html.escape(tip)}">'
                         f'{"✖" if link is not None else ""}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (MATRIX_CSS + f'<div class="xl-matrix"><table class="xl-heat" data-sentence="{html.escape(sentence)}" '
            f'data-cols="{cols.start}-{cols.stop}" data-rows="{rows.start}-{rows.stop}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def alignment_lines_svg(side: AlignedSide, tgt_tokens: Sequence[str], projected: Sequence[Span], *,
                        width: int = 1200) -> str:
    """The whole sentence at a glance: the side's words on top, target words below, one line per
    link (entity links in their label's colour, others grey; unaligned words as grey dots).

    An inline SVG scaled to the page's width (``viewBox``), so even a 100-token sentence fits the
    screen; long sentences turn their words at -60° to fit. Target words run right to left for a
    right-to-left script. Each line's tooltip names both words and the score.
    """
    src, tgt = list(side.tokens), list(tgt_tokens)
    n = max(len(src), len(tgt), 1)
    tilted = n > 24
    font = 12 if not tilted else 10
    label_h = int(label_px(src + tgt) * (0.87 if tilted else 0) + font + 8)
    top, gap = label_h + 6, 110
    height = top + gap + label_h + 6
    pad = 30

    def xs(count: int, rtl: bool = False) -> list[float]:
        if count <= 1:
            return [width / 2] * count
        step = (width - 2 * pad) / (count - 1)
        pos = [pad + k * step for k in range(count)]
        return pos[::-1] if rtl else pos

    x_src, x_tgt = xs(len(src)), xs(len(tgt), text_direction(tgt) == "rtl")
    y_src, y_tgt = top, top + gap
    src_owner = _span_of_token(side.entities, len(src))
    tgt_owner = _span_of_token(projected, len(tgt))
    pairs, sc = side.alignment.pairs.tolist(), _link_scores(side.alignment)
    parts = []
    for (i, j), s in sorted(zip(pairs, sc), key=lambda p: src_owner[p[0][0]] is not None):  # entity links on top
        k = src_owner[i]
        colour, w = (label_dark(side.entities[k].label), 2.5) if k is not None else ("#9e9e9e", 1)
        tip = html.escape(f"{i}·{src[i]} ↔ {j}·{tgt[j]}" + ("" if np.isnan(s) else f" · score {s:.3f}"))
        parts.append(f'<line x1="{x_src[i]:.1f}" y1="{y_src}" x2="{x_tgt[j]:.1f}" y2="{y_tgt}" stroke="{colour}" '
                     f'stroke-width="{w}"><title>{tip}</title></line>')
    aligned_src = {i for i, _ in pairs}
    aligned_tgt = {j for _, j in pairs}

    def words(tokens: list[str], x: list[float], y: int, owner: list[int | None], spans: Sequence[Span],
              aligned: set[int], above: bool) -> None:
        for k, (t, xk) in enumerate(zip(tokens, x)):
            o = owner[k]
            fill = label_colour(spans[o].label) if o is not None else ("#ffffff" if k in aligned else "#9e9e9e")
            parts.append(f'<circle cx="{xk:.1f}" cy="{y}" r="5" fill="{fill}" stroke="#555"><title>'
                         f'{html.escape(f"{k}·{t}" + ("" if k in aligned else " (unaligned)"))}</title></circle>')
            ty = y - 9 if above else y + 9 + (0 if tilted else font)
            anchor = "start" if tilted else "middle"
            turn = f' transform="rotate({-60 if above else 60} {xk:.1f} {ty})"' if tilted else ""
            weight = ' font-weight="700"' if o is not None else ""
            parts.append(f'<text x="{xk:.1f}" y="{ty}" font-size="{font}" text-anchor="{anchor}"{turn}{weight}>'
                         f"{html.escape(t)}</text>")

    words(src, x_src, y_src, src_owner, side.entities, aligned_src, True)
    words(tgt, x_tgt, y_tgt, tgt_owner, projected, aligned_tgt, False)
    return (f'<svg class="xl-lines" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" style="max-height:{height}px;font-family:sans-serif">'
            + "".join(parts) + "</svg>")


def source_entity_table(record: RunRecord, projection: ProjectionResult | None = None) -> pd.DataFrame:
    """Per English entity: its candidates with scores, the chosen one, or why none was chosen."""
    projection = projection or record.projection
    src, tgt = record.src_tokens, record.tgt_tokens
    chosen = {p.source: p for p in projection.projected}
    reasons = {u.source: u.reason.value for u in projection.unprojected}
    cands: dict[int, list] = {}
    for c in projection.candidates:
        cands.setdefault(c.source, []).append(c)
    rows = []
    for k, e in enumerate(record.src_entities):
        pick = chosen.get(k)
        ranked = sorted(cands.get(k, []), key=lambda c: -c.score)
        shown = "; ".join(
            f"{'✔ ' if pick and (c.start, c.end) == (pick.span.start, pick.span.end) else ''}"
            f"{' '.join(tgt[c.start:c.end])} [{c.start}–{c.end}] {c.score:.3f}"
            for c in ranked[:6])
        rows.append({
            "#": k, "English entity": " ".join(src[e.span.start:e.span.end]), "label": e.span.label,
            "NER score": e.score,
            "projected to": (" ".join(tgt[pick.span.start:pick.span.end]) + f" [{pick.span.start}–{pick.span.end}]")
            if pick else "—",
            "score": pick.score if pick else None,
            "reason (not projected)": "" if pick else reasons.get(k, "no outcome recorded"),
            "candidates (best first)": shown + (f" … +{len(ranked) - 6}" if len(ranked) > 6 else ""),
        })
    return pd.DataFrame(rows, columns=["#", "English entity", "label", "NER score", "projected to", "score",
                                       "reason (not projected)", "candidates (best first)"])


def candidate_table(record: RunRecord, projection: ProjectionResult | None = None) -> pd.DataFrame:
    """One row per scored candidate, best first within each English entity: its words, span, score,
    whether it was chosen, its origin (n-gram or target NER) and the parts of a fused score
    (``Candidate.components``: one column each, e.g. align, ner, nmt, cap) when the run stored them."""
    projection = projection or record.projection
    src, tgt = record.src_tokens, record.tgt_tokens
    chosen = {(p.source, p.span.start, p.span.end) for p in projection.projected}
    parts = sorted({k for c in projection.candidates for k in (c.components or {})})
    has_origin = any(c.origin for c in projection.candidates)
    rows = []
    for c in sorted(projection.candidates, key=lambda c: (c.source, -c.score, c.start)):
        e = record.src_entities[c.source].span if 0 <= c.source < len(record.src_entities) else None
        row: dict[str, object] = {
            "#": c.source, "English entity": " ".join(src[e.start:e.end]) if e else "?",
            "candidate": " ".join(tgt[c.start:c.end]), "span": f"{c.start}–{c.end}", "score": round(c.score, 3),
            "chosen": "✔" if (c.source, c.start, c.end) in chosen else ""}
        if has_origin:
            row["origin"] = c.origin or ""
        for k in parts:
            v = (c.components or {}).get(k)
            row[k] = "" if v is None else round(float(v), 3)
        rows.append(row)
    columns = ["#", "English entity", "candidate", "span", "score", "chosen"] + \
        (["origin"] if has_origin else []) + parts
    return pd.DataFrame(rows, columns=columns)


TABLE_CSS = """
<style>
.xl-table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
.xl-table th{text-align:start;border-bottom:2px solid #ccc;padding:3px 8px;background:#fafafa;white-space:nowrap}
.xl-table td{border-bottom:1px solid #eee;padding:3px 8px;vertical-align:top}
</style>
"""


def table_html(table: pd.DataFrame, *, css_class: str = "xl-table") -> str:
    """A small table as plain HTML (escaped; empty cells stay empty, never "None" or "nan")."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return html.escape(f"{v:.3f}" if isinstance(v, float) else str(v))

    body = "".join("<tr>" + "".join(f'<td dir="auto">{cell(v)}</td>' for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return TABLE_CSS + f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
