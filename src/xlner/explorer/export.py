"""One sentence view as a self-contained HTML file, for slides and bug reports (Sentences page, *Share*).

The file holds everything inline: the token rows with gold and projected spans, the English
translation with its entities, the entity and candidate tables, the alignment as lines (inline SVG)
and as a matrix (HTML). No script, no font, no stylesheet and no image is fetched from anywhere, so
it opens offline and looks the same in a mail attachment years later. Pure function: no Streamlit.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Sequence

from xlner.datamodel import ProjectionResult, Span
from xlner.explorer.diff import compare_spans, sentence_summary
from xlner.explorer.figures import (MATRIX_WINDOW, AlignedSide, alignment_lines_svg, alignment_matrix_html,
                                    candidate_table, entities_html, matrix_window, source_entity_table,
                                    table_html, text_direction, token_rows_html)
from xlner.record import RunRecord

__all__ = ["sentence_html", "export_file_name"]

PAGE_CSS = """
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:22px 0 6px} .meta{color:#666;font-size:13px}
</style>
"""


def export_file_name(run_key: str, sentence: str, method: str) -> str:
    """A file name that says what it holds, safe on every file system."""
    raw = f"xlner-{run_key}-{sentence}-{method}.html"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)


def sentence_html(record: RunRecord, projection: ProjectionResult, method: str, side: AlignedSide | None, *,
                  run_key: str = "", aligner: str = "", matrix_entity: int | None = None) -> str:
    """The whole view of one sentence under ``method`` as one HTML document (see the module doc).

    ``side`` is what the alignment pairs the sentence with (the English side, or the
    back-translation; None: nothing to draw). The matrix is the whole sentence when both sides have
    at most :data:`MATRIX_WINDOW` words, else the window around ``matrix_entity`` (or the start).
    """
    projected: Sequence[Span] = projection.spans()
    gold = record.gold
    esc = html.escape
    if gold is None:
        scored = "no gold: projections are shown, not scored"
    else:
        counts = sentence_summary(compare_spans(gold, projected))
        scored = " · ".join(f"{k}: {v}" for k, v in counts.items() if v) or "no entities"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>", f'<html lang="{esc(record.lang or "und")}"><head><meta charset="utf-8">',
        f"<title>{esc(f'xlner · {record.id} · {method}')}</title>", PAGE_CSS, "</head><body>",
        f"<h1>{esc(record.id)} · {esc(record.lang)} · {esc(method)}</h1>",
        f'<p class="meta">run {esc(run_key)} · {esc(scored)} · exported from the xlner explorer, {stamp}</p>',
        "<h2>Target sentence: gold and projected entities</h2>",
        token_rows_html(record.tgt_tokens, gold, projected, projected_name=f"projected ({method})"),
        "<h2>English translation (source entities from the English NER)</h2>",
        f'<p dir="{text_direction(record.src_tokens)}">{esc(record.translation)}</p>',
        entities_html(record.src_tokens, record.src_spans, [e.score for e in record.src_entities]),
    ]
    if record.src_entities:
        parts += ["<h2>Source entities: choice and reason</h2>",
                  table_html(source_entity_table(record, projection).drop(columns=["candidates (best first)"]))]
    cands = candidate_table(record, projection)
    if len(cands):
        parts += ["<h2>Candidates (best first)</h2>", table_html(cands)]
    if side is not None and side.tokens and record.src_tokens:
        parts += [f"<h2>Word alignment{(' · aligner: ' + esc(aligner)) if aligner else ''}</h2>",
                  f'<p class="meta">Top: {esc(side.name)} words · bottom: target words · coloured lines: '
                  "links of entity words · grey dots: unaligned words</p>",
                  alignment_lines_svg(side, record.tgt_tokens, projected)]
        rows, cols = matrix_window(side, len(record.tgt_tokens), entity=matrix_entity, projected=[
            p.span for p in projection.projected if p.source == matrix_entity] if matrix_entity is not None else ())
        whole = len(rows) == len(side.tokens) and len(cols) == len(record.tgt_tokens)
        parts += [f'<p class="meta">Matrix{"" if whole else f" (words {cols.start}–{cols.stop - 1} of the target, {rows.start}–{rows.stop - 1} of the other side; at most {MATRIX_WINDOW} each)"}: '
                  "heat = word similarity (darker = more similar), ✖ = link, rows shaded = source entities, "
                  "columns filled = projected spans, dotted = gold spans</p>",
                  alignment_matrix_html(side, record.tgt_tokens, gold, projected, rows=rows, cols=cols,
                                        sentence=record.id)]
    parts.append("</body></html>")
    return "\n".join(parts)
