"""What the Sentence page draws, as pure functions: HTML token rows and plotly figures.

Nothing here touches Streamlit, so each function is tested on its own and reused by the pages.
"""

from __future__ import annotations

import html
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from xlner.explorer.diff import CATEGORY_COLOURS, compare_spans

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


def _span_of_token(spans: list[dict[str, Any]], n: int) -> list[dict[str, Any] | None]:
    owner: list[dict[str, Any] | None] = [None] * n
    for s in spans:
        for i in range(int(s["start"]), min(int(s["end"]), n)):
            owner[i] = s
    return owner


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


def token_rows_html(tokens: list[str], gold: list[dict[str, Any]], projected: list[dict[str, Any]],
                    *, gold_name: str = "gold", projected_name: str = "projected") -> str:
    """Gold and projected spans as two rows under the same token columns, differences outlined.

    Two rows instead of one because gold and projected spans overlap (st-annotated-text cannot draw
    that). Each entity cell is filled with its label's colour; a cell whose entity is not
    ``correct`` gets a thick outline in the category's colour and the category in its tooltip.
    """
    n = len(tokens)
    direction = text_direction(tokens)
    diffs = compare_spans(gold, projected)
    category_of: dict[tuple[str, int, int], str] = {}
    for d in diffs:
        for side in ("gold", "pred"):
            if d[side] is not None:
                category_of[(side, int(d[side]["start"]), int(d[side]["end"]))] = d["category"]

    def row(name: str, side: str, spans: list[dict[str, Any]]) -> str:
        owner = _span_of_token(spans, n)
        cells = []
        i = 0
        while i < n:
            s = owner[i]
            if s is None:
                cells.append(f'<td dir="auto">{html.escape(tokens[i])}</td>')
                i += 1
                continue
            j = i  # one cell spanning the entity's tokens (colspan keeps the columns aligned)
            while j < n and owner[j] is s:
                j += 1
            cat = category_of.get((side, int(s["start"]), int(s["end"])), "correct")
            style = f"background:{label_colour(s['label'])};"
            if cat != "correct":
                colour = CATEGORY_COLOURS[cat]
                style += f"outline:2px dashed {colour};outline-offset:-2px;box-shadow:inset 0 -5px 0 {colour};"
            title = f"{s['label']} [{s['start']}, {s['end']}) — {cat}"
            cells.append(f'<td dir="auto" colspan="{j - i}" style="{style}" title="{html.escape(title)}" '
                         f'data-category="{cat}">{html.escape(" ".join(tokens[i:j]))}'
                         f'<span class="lab">{html.escape(s["label"])}</span></td>')
            i = j
        return f'<tr><th>{html.escape(name)}</th>{"".join(cells)}</tr>'

    index_row = "<tr><th></th>" + "".join(f'<td class="idx">{i}</td>' for i in range(n)) + "</tr>"
    legend = "".join(
        f'<span style="border:2px solid {CATEGORY_COLOURS[c]}">{c}: {sum(d["category"] == c for d in diffs)}</span>'
        for c in ("correct", "type", "boundary", "boundary+type", "missed", "spurious"))
    return (ROW_CSS + f'<div class="xl-legend">{legend}</div>'
            f'<div class="xl-rows" dir="{direction}"><table dir="{direction}">{index_row}'
            f'{row(gold_name, "gold", gold)}{row(projected_name, "pred", projected)}</table></div>')


def entities_html(tokens: list[str], spans: list[dict[str, Any]]) -> str:
    """One sentence with its entities marked inline (the English side), direction detected."""
    owner = _span_of_token(spans, len(tokens))
    parts = []
    i = 0
    while i < len(tokens):
        s = owner[i]
        if s is None:
            parts.append(html.escape(tokens[i]))
            i += 1
            continue
        text = html.escape(" ".join(tokens[int(s["start"]):int(s["end"])]))
        score = f" {float(s['score']):.2f}" if s.get("score") is not None else ""
        parts.append(f'<mark style="background:{label_colour(s["label"])};border-radius:4px;padding:1px 4px">'
                     f'{text} <b style="font-size:11px">{html.escape(s["label"])}{score}</b></mark>')
        i = int(s["end"])
    direction = text_direction(tokens)
    return f'<div dir="{direction}" style="line-height:2;font-size:15px">{" ".join(parts)}</div>'


def _link_arrays(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.asarray(record.get("alignment") or [], dtype=np.int64).reshape(-1, 2)
    scores = record.get("alignment_scores")
    sc = np.asarray(scores, dtype=float) if scores is not None and len(scores) == len(pairs) \
        else np.full(len(pairs), np.nan)
    return pairs, sc


def similarity_matrix(record: dict[str, Any]) -> tuple[np.ndarray, str]:
    """The heat of the heatmap: the stored similarity, else the link scores, else 1 per link."""
    n_src, n_tgt = len(record.get("src_tokens") or []), len(record["tgt_tokens"])
    sim = record.get("similarity")
    if sim is not None:
        m = np.asarray(sim, dtype=float)
        if m.shape == (n_src, n_tgt):
            return m, "similarity"
    m = np.zeros((n_src, n_tgt))
    pairs, sc = _link_arrays(record)
    ok = (pairs[:, 0] < n_src) & (pairs[:, 1] < n_tgt) if len(pairs) else np.zeros(0, bool)
    vals = np.where(np.isnan(sc), 1.0, sc)
    m[pairs[ok, 0], pairs[ok, 1]] = vals[ok]
    return m, "link score" if not np.isnan(sc).all() else "link"


def alignment_heatmap(record: dict[str, Any], projected: list[dict[str, Any]] | None = None) -> go.Figure:
    """Similarity as heat (English rows x target columns), links as markers, entities shaded."""
    src, tgt = list(record.get("src_tokens") or []), list(record["tgt_tokens"])
    projected = record.get("tgt_entities", []) if projected is None else projected
    z, heat_name = similarity_matrix(record)
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
    pairs, sc = _link_arrays(record)
    if len(pairs):
        keep = (pairs[:, 0] < len(src)) & (pairs[:, 1] < len(tgt))
        pairs, sc = pairs[keep], sc[keep]
        fig.add_trace(go.Scatter(x=[xs[j] for j in pairs[:, 1]], y=[ys[i] for i in pairs[:, 0]], mode="markers",
                                 name="alignment link", customdata=np.where(np.isnan(sc), -1.0, sc),
                                 marker={"symbol": "x", "size": 11, "color": "#d62828", "line": {"width": 1}},
                                 hovertemplate="link %{y} ↔ %{x}" + (
                                     "" if np.isnan(sc).all() else "<br>link score %{customdata:.3f}")
                                 + "<extra></extra>"))
    shapes = []
    for s in record.get("src_entities") or []:
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": int(s["start"]) - 0.5, "y1": int(s["end"]) - 0.5, "line": {"width": 0},
                       "fillcolor": label_colour(s["label"]), "opacity": 0.9, "layer": "below"})
    for spans, dash in ((record.get("gold_entities") or [], "dot"), (projected, "solid")):
        for s in spans:
            shapes.append({"type": "rect", "yref": "paper", "y0": 0, "y1": 1, "xref": "x",
                           "x0": int(s["start"]) - 0.5, "x1": int(s["end"]) - 0.5,
                           "line": {"width": 2, "dash": dash, "color": label_dark(s["label"])},
                           "fillcolor": label_colour(s["label"]), "opacity": 0.8 if dash == "solid" else 0.5,
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


def alignment_lines(record: dict[str, Any], projected: list[dict[str, Any]] | None = None) -> go.Figure:
    """English tokens on top, target tokens below, one line per link (entity links in colour)."""
    src, tgt = list(record.get("src_tokens") or []), list(record["tgt_tokens"])
    projected = record.get("tgt_entities", []) if projected is None else projected
    n = max(len(src), len(tgt), 1)
    # Spread both rows over the same width so that the lines stay short and mostly vertical.
    xs = np.linspace(0, n - 1, len(src)) if len(src) > 1 else np.zeros(len(src))
    xt = np.linspace(0, n - 1, len(tgt)) if len(tgt) > 1 else np.zeros(len(tgt))
    src_owner = _span_of_token(record.get("src_entities") or [], len(src))
    tgt_owner = _span_of_token(projected, len(tgt))
    pairs, sc = _link_arrays(record)
    fig = go.Figure()
    groups: dict[str, list[tuple[int, int, float]]] = {}
    for (i, j), s in zip(pairs.tolist(), sc):
        if i >= len(src) or j >= len(tgt):
            continue
        label = src_owner[i]["label"] if src_owner[i] else "other"
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

    def token_trace(tokens: list[str], x: np.ndarray, y: float, owner: list, aligned: set, side: str) -> go.Scatter:
        colours = [label_colour(o["label"]) if o else ("#ffffff" if k in aligned else "#9e9e9e")
                   for k, o in enumerate(owner)]
        return go.Scatter(
            x=x, y=[y] * len(tokens), mode="markers+text", text=tokens, textposition="top center"
            if y == 1 else "bottom center", showlegend=False, textfont={"size": 13},
            marker={"size": 12, "color": colours, "line": {"width": 1, "color": "#555"}},
            customdata=[f"{side} {k}: {t}" + ("" if k in aligned else " (unaligned)") for k, t in enumerate(tokens)],
            hovertemplate="%{customdata}<extra></extra>")

    fig.add_trace(token_trace(src, xs, 1, src_owner, aligned_src, "English"))
    fig.add_trace(token_trace(tgt, xt, 0, tgt_owner, aligned_tgt, "target"))
    fig.update_layout(width=160 + 64 * n, height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor="white", legend={"orientation": "h", "y": 1.12},
                      xaxis={"visible": False, "range": [-1, n]},
                      yaxis={"visible": False, "range": [-0.45, 1.45]})
    return fig


def source_entity_table(record: dict[str, Any], projection: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per English entity: its candidates with scores, the chosen one, or why none was chosen."""
    projection = projection or record
    src, tgt = record.get("src_tokens") or [], record["tgt_tokens"]
    chosen = {int(p["source"]): p for p in projection.get("tgt_entities") or [] if p.get("source") is not None}
    reasons = {int(u["source"]): u.get("reason", "") for u in projection.get("unprojected") or []}
    cands: dict[int, list[dict[str, Any]]] = {}
    for c in projection.get("candidates") or []:
        cands.setdefault(int(c["source"]), []).append(c)
    rows = []
    for k, s in enumerate(record.get("src_entities") or []):
        pick = chosen.get(k)
        ranked = sorted(cands.get(k, []), key=lambda c: -float(c.get("score", 0.0)))
        shown = "; ".join(
            f"{'✔ ' if pick and (int(c['start']), int(c['end'])) == (int(pick['start']), int(pick['end'])) else ''}"
            f"{' '.join(tgt[int(c['start']):int(c['end'])])} [{c['start']}–{c['end']}] {float(c.get('score', 0)):.3f}"
            for c in ranked[:6])
        rows.append({
            "#": k, "English entity": " ".join(src[int(s["start"]):int(s["end"])]), "label": s["label"],
            "NER score": s.get("score"),
            "projected to": (" ".join(tgt[int(pick["start"]):int(pick["end"])]) + f" [{pick['start']}–{pick['end']}]")
            if pick else "—",
            "score": pick.get("score") if pick else None,
            "reason (not projected)": "" if pick else reasons.get(k, "no outcome recorded"),
            "candidates (best first)": shown + (f" … +{len(ranked) - 6}" if len(ranked) > 6 else ""),
        })
    return pd.DataFrame(rows, columns=["#", "English entity", "label", "NER score", "projected to", "score",
                                       "reason (not projected)", "candidates (best first)"])
