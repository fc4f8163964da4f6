"""What the Sentence page draws, as pure functions: HTML token rows and plotly figures.

Nothing here touches Streamlit, so each function is tested on its own and reused by the pages.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from xlner.datamodel import Alignment, ProjectionResult, Span
from xlner.explorer.diff import CATEGORY_COLOURS, compare_spans
from xlner.project import BACK_TRANSLATION
from xlner.record import RunRecord

# Pastel fills for labels; the error categories use strong colours (diff.CATEGORY_COLOURS) on top.
LABEL_COLOURS = {"PER": "#a9def9", "ORG": "#ffe5a3", "LOC": "#c7f0bd", "MISC": "#e4c1f9", "DATE": "#fcd5ce"}
OTHER_LABEL_COLOUR = "#d9d9d9"
# Darker versions for lines and outlines, which pastel colours would make invisible.
LABEL_DARK = {"PER": "#0077b6", "ORG": "#c98a00", "LOC": "#2d6a4f", "MISC": "#7b2cbf", "DATE": "#e76f51"}
CELL_PX = 28  # heatmap cell size: long sentences grow the figure, the page scrolls it
TICK_FONT_PX = 11
# Width of one character of an 11 px tick label, generously (East Asian wide characters count twice).
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
.xl-rows{overflow-x:auto;padding-bottom:4px}
.xl-rows table{border-collapse:separate;border-spacing:2px 3px;font-size:15px}
.xl-rows td{padding:2px 5px;white-space:nowrap;border-radius:4px;text-align:center;vertical-align:top}
.xl-rows th{font-weight:600;font-size:12px;color:#555;padding-right:8px;text-align:end;white-space:nowrap}
.xl-rows .lab{display:block;font-size:10px;font-weight:700;opacity:.85}
.xl-rows .idx{font-size:10px;color:#999}
.xl-legend span{display:inline-block;margin:0 8px 4px 0;padding:1px 6px;border-radius:4px;font-size:12px}
</style>
"""


def token_rows_html(tokens: Sequence[str], gold: Sequence[Span] | None, projected: Sequence[Span],
                    *, gold_name: str = "gold", projected_name: str = "projected") -> str:
    """Gold and projected spans as two rows under the same token columns, differences outlined.

    Two rows instead of one because gold and projected spans overlap (st-annotated-text cannot draw
    that). Each entity cell is filled with its label's colour; a cell whose entity is not
    ``correct`` gets a thick outline in the category's colour and the category in its tooltip.
    Without gold (None) the gold row says so and projected entities are not categorised.
    """
    n = len(tokens)
    direction = text_direction(list(tokens))
    diffs = compare_spans(gold, projected) if gold is not None else []
    category_of: dict[tuple[str, int], str] = {}
    for d in diffs:
        if d.gold_index is not None:
            category_of[("gold", d.gold_index)] = d.category
        if d.pred_index is not None:
            category_of[("pred", d.pred_index)] = d.category

    def row(name: str, side: str, spans: Sequence[Span]) -> str:
        owner = _span_of_token(spans, n)
        cells = []
        i = 0
        while i < n:
            k = owner[i]
            if k is None:
                cells.append(f'<td dir="auto">{html.escape(tokens[i])}</td>')
                i += 1
                continue
            s = spans[k]
            j = i  # one cell spanning the entity's tokens (colspan keeps the columns aligned)
            while j < n and owner[j] == k:
                j += 1
            cat = category_of.get((side, k), "correct" if gold is not None else "no gold")
            style = f"background:{label_colour(s.label)};"
            if cat != "correct":
                colour = CATEGORY_COLOURS[cat]
                style += f"outline:2px dashed {colour};outline-offset:-2px;box-shadow:inset 0 -5px 0 {colour};"
            title = f"{s.label} [{s.start}, {s.end}) — {cat}"
            cells.append(f'<td dir="auto" colspan="{j - i}" style="{style}" title="{html.escape(title)}" '
                         f'data-category="{cat}">{html.escape(" ".join(tokens[i:j]))}'
                         f'<span class="lab">{html.escape(s.label)}</span></td>')
            i = j
        return f'<tr><th>{html.escape(name)}</th>{"".join(cells)}</tr>'

    index_row = "<tr><th></th>" + "".join(f'<td class="idx">{i}</td>' for i in range(n)) + "</tr>"
    if gold is None:
        legend = '<span style="border:2px solid #9e9e9e">no gold: nothing to compare with</span>'
        gold_row = f'<tr><th>{html.escape(gold_name)}</th><td colspan="{max(n, 1)}">(no gold)</td></tr>'
    else:
        legend = "".join(
            f'<span style="border:2px solid {CATEGORY_COLOURS[c]}">{c}: {sum(d.category == c for d in diffs)}</span>'
            for c in ("correct", "type", "boundary", "boundary+type", "missed", "spurious"))
        gold_row = row(gold_name, "gold", gold)
    return (ROW_CSS + f'<div class="xl-legend">{legend}</div>'
            f'<div class="xl-rows" dir="{direction}"><table dir="{direction}">{index_row}'
            f'{gold_row}{row(projected_name, "pred", projected)}</table></div>')


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


def alignment_heatmap(side: AlignedSide, tgt_tokens: Sequence[str], gold: Sequence[Span] | None,
                      projected: Sequence[Span]) -> go.Figure:
    """Similarity as heat (rows: the side's words, columns: target words), links as markers,
    entities shaded (gold dotted, projected solid; no gold: none drawn)."""
    src, tgt = list(side.tokens), list(tgt_tokens)
    z, heat_name = similarity_matrix(side, len(tgt))
    # Categorical axes labelled "index·word": hover then names both words with no per-cell text
    # arrays (which made the figure ten times slower to build and to send).
    xs = [f"{j}·{w}" for j, w in enumerate(tgt)]
    ys = [f"{i}·{w}" for i, w in enumerate(src)]
    # No colour bar: it is a second axis for plotly to lay out and measure on every sentence (a third
    # of the drawing time); the hover gives each cell's score and the page's caption says darker = higher.
    fig = go.Figure(go.Heatmap(z=z, x=xs, y=ys, hovertemplate=f"%{{y}} ↔ %{{x}}<br>{heat_name}: %{{z:.3f}}<extra></extra>",
                               colorscale="Blues", showscale=False,
                               # the colour range follows the data: e5 similarities sit in 0.5-1
                               zmin=float(z.min()) if z.size else 0.0, zmax=float(z.max()) if z.size else 1.0,
                               xgap=1, ygap=1,
                               # see-through, so that the entity shading drawn below it shows
                               opacity=0.8))
    pairs, sc = side.alignment.pairs, _link_scores(side.alignment)
    if len(pairs):
        fig.add_trace(go.Scatter(x=[xs[j] for j in pairs[:, 1]], y=[ys[i] for i in pairs[:, 0]], mode="markers",
                                 name="alignment link", customdata=np.where(np.isnan(sc), -1.0, sc),
                                 marker={"symbol": "x", "size": 11, "color": "#d62828", "line": {"width": 1}},
                                 hovertemplate="link %{y} ↔ %{x}" + (
                                     "" if np.isnan(sc).all() else "<br>link score %{customdata:.3f}")
                                 + "<extra></extra>"))
    shapes = []
    for s in side.entities:
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": s.start - 0.5, "y1": s.end - 0.5, "line": {"width": 0},
                       "fillcolor": label_colour(s.label), "opacity": 0.9, "layer": "below"})
    for spans, dash in ((gold or [], "dot"), (projected, "solid")):
        for s in spans:
            shapes.append({"type": "rect", "yref": "paper", "y0": 0, "y1": 1, "xref": "x",
                           "x0": s.start - 0.5, "x1": s.end - 0.5,
                           "line": {"width": 2, "dash": dash, "color": label_dark(s.label)},
                           "fillcolor": label_colour(s.label), "opacity": 0.8 if dash == "solid" else 0.5,
                           "layer": "below"})
    # Margins computed here instead of plotly's automargin, which measures every tick label and then
    # draws the whole figure a second time with the margins it found. x labels stand at -60°.
    top = int(label_px(xs) * 0.87 + TICK_FONT_PX + 12)
    left = int(label_px(ys) + 12)
    fig.update_layout(
        shapes=shapes, width=left + 10 + CELL_PX * len(tgt), height=top + 10 + CELL_PX * max(len(src), 1),
        margin={"l": left, "r": 10, "t": top, "b": 10, "autoexpand": False},
        showlegend=False, plot_bgcolor="white",
        xaxis={"type": "category", "side": "top", "tickangle": -60, "showgrid": False, "automargin": False,
               "tickfont": {"size": TICK_FONT_PX}},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "automargin": False,
               "tickfont": {"size": TICK_FONT_PX}})
    return fig


def alignment_lines(side: AlignedSide, tgt_tokens: Sequence[str], projected: Sequence[Span]) -> go.Figure:
    """The side's words on top, target words below, one line per link (entity links in colour)."""
    src, tgt = list(side.tokens), list(tgt_tokens)
    n = max(len(src), len(tgt), 1)
    # Spread both rows over the same width so that the lines stay short and mostly vertical.
    xs = np.linspace(0, n - 1, len(src)) if len(src) > 1 else np.zeros(len(src))
    xt = np.linspace(0, n - 1, len(tgt)) if len(tgt) > 1 else np.zeros(len(tgt))
    src_owner = [None if k is None else side.entities[k].label
                 for k in _span_of_token(side.entities, len(src))]
    tgt_owner = [None if k is None else projected[k].label for k in _span_of_token(projected, len(tgt))]
    pairs, sc = side.alignment.pairs, _link_scores(side.alignment)
    fig = go.Figure()
    groups: dict[str, list[tuple[int, int, float]]] = {}
    for (i, j), s in zip(pairs.tolist(), sc):
        label = src_owner[i] or "other"
        groups.setdefault(label, []).append((i, j, s))
    for label, links in groups.items():
        lx, ly = [], []
        for i, j, _ in links:
            lx += [xs[i], xt[j], None]
            ly += [1, 0, None]
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", hoverinfo="skip", name=label,
                                 line={"width": 3 if label != "other" else 1.2,
                                       "color": label_dark(label) if label != "other" else "#9e9e9e"}))
        # Invisible midpoints carry the hover text of each line (plotly cannot hover a line segment).
        fig.add_trace(go.Scatter(
            x=[(xs[i] + xt[j]) / 2 for i, j, _ in links], y=[0.5] * len(links), mode="markers",
            marker={"size": 8, "opacity": 0}, showlegend=False,
            text=[f"{src[i]} ↔ {tgt[j]}" + ("" if np.isnan(s) else f"<br>score {s:.3f}") for i, j, s in links],
            hovertemplate="%{text}<extra></extra>"))
    aligned_src = set(pairs[:, 0].tolist()) if len(pairs) else set()
    aligned_tgt = set(pairs[:, 1].tolist()) if len(pairs) else set()

    def token_trace(tokens: list[str], x: np.ndarray, y: float, owner: list[str | None], aligned: set,
                    who: str) -> go.Scatter:
        colours = [label_colour(o) if o else ("#ffffff" if k in aligned else "#9e9e9e")
                   for k, o in enumerate(owner)]
        return go.Scatter(
            x=x, y=[y] * len(tokens), mode="markers+text", text=tokens, textposition="top center"
            if y == 1 else "bottom center", showlegend=False, textfont={"size": 13},
            marker={"size": 12, "color": colours, "line": {"width": 1, "color": "#555"}},
            customdata=[f"{who} {k}: {t}" + ("" if k in aligned else " (unaligned)") for k, t in enumerate(tokens)],
            hovertemplate="%{customdata}<extra></extra>")

    fig.add_trace(token_trace(src, xs, 1, src_owner, aligned_src, side.name))
    fig.add_trace(token_trace(tgt, xt, 0, tgt_owner, aligned_tgt, "target"))
    fig.update_layout(width=160 + 64 * n, height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor="white", legend={"orientation": "h", "y": 1.12},
                      xaxis={"visible": False, "range": [-1, n]},
                      yaxis={"visible": False, "range": [-0.45, 1.45]})
    return fig


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
