"""Sentence explorer: gold vs projected on the target, the English side, the alignment, the candidates.

The first controls are the core flow, language -> dataset -> sentence; the run and its projection
method are a secondary choice (default: the offline profile's method). The sentence view and its
previous/next buttons are one ``st.fragment``: N / P rerun only the fragment, so the controls above
it are neither rebuilt nor redrawn on a sentence switch. Everything in the view is plain HTML/SVG
(xlner.explorer.figures), which the browser draws in milliseconds.
"""

import html

import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import loading, ui
from xlner.explorer.diff import compare_spans, sentence_summary
from xlner.explorer.export import export_file_name, sentence_html
from xlner.explorer.figures import (MATRIX_WINDOW, aligned_side, alignment_lines_svg, alignment_matrix_html,
                                    candidate_table, entities_html, matrix_window, source_entity_table,
                                    table_html, token_rows_html)
from xlner.record import RunRecord

PAGE = "sentences"
SENTENCE_CSS = "<style>.xl-note{color:#666;font-size:14px;margin:2px 0 8px}</style>"
ui.page_setup("Sentences", "🔤")
ui.sidebar()
fresh = ui.apply_url(PAGE)

st.title("Sentence explorer")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()
run = ui.sentence_run(all_runs)
assert run is not None
ss = st.session_state

# --- the core flow: language -> dataset -> (sentence, in the fragment below) -----------------------
top = st.columns([2, 3, 5])
langs = sorted({r.lang for r in all_runs})
if fresh or ss.get(f"{PAGE}_lang") not in langs:
    ss[f"{PAGE}_lang"] = run.lang
lang = top[0].selectbox("Language", langs, key=f"{PAGE}_lang")
datasets = sorted({r.dataset for r in all_runs if r.lang == lang})
if fresh or ss.get(f"{PAGE}_dataset") not in datasets:
    ss[f"{PAGE}_dataset"] = run.dataset if run.dataset in datasets else datasets[0]
dataset = top[1].selectbox("Dataset", datasets, key=f"{PAGE}_dataset")

# --- secondary: which run of the dataset, which projection method ------------------------------
pool = [r for r in all_runs if r.lang == lang and r.dataset == dataset]
keys = [r.key for r in pool]
if fresh or ss.get(f"{PAGE}_run") not in keys:
    ss[f"{PAGE}_run"] = run.key if run.key in keys else ui.preferred_run(pool, ss.get("sel_method")).key
by_key = {r.key: r for r in pool}
second = st.columns([3, 7])
run = by_key[second[0].selectbox(
    "Run", keys, key=f"{PAGE}_run", format_func=lambda k: f"{by_key[k].method} · {by_key[k].profile}  ({k})",
    help="The runs of this dataset; each stored the projection of the method it ran with.")]
ss["sel_run"], ss["sel_dataset"], ss["sel_lang"] = run.key, dataset, lang
try:
    recs, index = ui.records(run)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()
if not recs:
    st.warning(f"Run `{run.key}` has no sentences.")
    st.stop()

bt_ok, bt_why = ui.back_translation(run)
methods = ui.method_options(run, with_back_translation=bt_ok)
mkey = f"{PAGE}_method"
wanted = ss.get("sel_method")
bt_asked = wanted == ui.BACK_TRANSLATION and not bt_ok
if fresh or ss.get(mkey) not in methods:
    if wanted and wanted not in methods and not bt_asked:
        ui.notice(XlnerError("E911", method=wanted, methods=", ".join(methods)))
    ss[mkey] = wanted if wanted in methods else run.method
method = second[1].radio("Projection method", methods, key=mkey, horizontal=True,
                         help=f"The run used **{run.method}**; any other method re-projects this sentence "
                              "from the stored alignment with xlner.project. **back-translation** re-projects "
                              "the stored back-translation (English entities in [ ] translated back, aligned "
                              "with this sentence): offered where the run stores it.")
if not bt_ok:  # said once, quietly: the reason and how to get it are in the tooltip
    second[1].caption("Back-translation: not stored in this run." + (" Showing its own method." if bt_asked else ""),
                      help=bt_why)
ss["sel_method"] = method

# --- which sentences: search and error filter, then the fragment picks one -----------------------
f1, f2 = st.columns([5, 3])
query = f1.text_input("Search (words, translation or id)", key=f"{PAGE}_search", placeholder="e.g. Madrid")
has_gold = any(r.gold is not None for r in recs)
only_errors = f2.toggle("Only sentences with errors", key=f"{PAGE}_only_errors", disabled=not has_gold,
                        help=None if has_gold else "This run has no gold: nothing is scored.")


def _matches(rec: RunRecord, q: str) -> bool:
    q = q.lower()
    return q in rec.id.lower() or q in " ".join(rec.tgt_tokens).lower() or q in rec.translation.lower()


ids = [r.id for r in recs if (not query or _matches(r, query))]
if only_errors and has_gold:  # from the run's cached entity table, not a diff of every sentence
    with_errors = ui.error_sentences(run)
    ids = [i for i in ids if i in with_errors]
if not ids:
    st.info("No sentence matches the search.")
    st.stop()
skey = f"{PAGE}_sid"
wanted_sid = ss.get("sel_sentence")
if wanted_sid and wanted_sid not in index and fresh:
    ui.notice(XlnerError("E912", sentence=wanted_sid, run=run.key))
if fresh or ss.get(skey) not in ids:
    ss[skey] = wanted_sid if wanted_sid in ids else ids[0]
comp = run.config.get("components") or {}
aligner = loading.component_text(comp["aligner"]) if comp.get("aligner") else ""


def _preview(sid: str) -> str:
    words = " ".join(recs[index[sid]].tgt_tokens)
    return f"{sid} — {words[:70]}{'…' if len(words) > 70 else ''}"


@st.fragment
def sentence_view() -> None:
    """One sentence: N / P and the sentence box rerun only this (see the module doc)."""
    timer = ui.Timer()
    c1, c2, c3, c4 = st.columns([5, 1.5, 1.5, 2], vertical_alignment="bottom")
    sid = c1.selectbox(f"Sentence ({len(ids)})", ids, key=skey, format_func=_preview)
    pos = ids.index(sid)
    c2.button("◀ Previous", key=f"{PAGE}_prev", on_click=ui.step_selection, args=(skey, ids, -1), shortcut="P",
              disabled=pos == 0, help="keyboard: P", width="stretch")
    c3.button("Next ▶", key=f"{PAGE}_next", on_click=ui.step_selection, args=(skey, ids, 1), shortcut="N",
              disabled=pos == len(ids) - 1, help="keyboard: N", width="stretch")
    ss["sel_sentence"] = sid
    ui.write_url(PAGE, {"lang": lang, "dataset": dataset, "run": run.key, "sentence": sid, "method": method})
    rec = recs[index[sid]]
    shown = method
    try:
        proj = ui.projection(run, sid, shown)
    except XlnerError as exc:
        ui.show_error(exc)
        proj, shown = rec.projection, rec.method
    projected = proj.spans()
    side = aligned_side(rec, shown)
    focus = ss.get(f"{PAGE}_focus")
    c4.download_button(
        "Share (HTML)", key=f"{PAGE}_export", on_click="ignore", mime="text/html", icon=":material/share:",
        file_name=export_file_name(run.key, sid, shown), width="stretch",
        data=lambda: sentence_html(rec, proj, shown, side, run_key=run.key, aligner=aligner,
                                   matrix_entity=focus if isinstance(focus, int) and focus >= 0 else None),
        help="This sentence's view as one self-contained HTML file (spans, translation, tables, alignment): "
             "opens offline, for slides and bug reports.")

    # The sentence and its English side as one HTML element, the tables as another: each element is
    # one more thing for the browser to reconcile and draw on every switch.
    where = f"{pos + 1} / {len(ids)}"
    if rec.gold is None:
        scored = "no gold for this sentence: projections are shown, not scored"
    else:
        counts = sentence_summary(compare_spans(rec.gold, projected))
        scored = " · ".join(f"{k}: {v}" for k, v in counts.items() if v) or "no entities"
    english = (f'<p class="xl-note">{html.escape(rec.translation)}</p>' if rec.translation else "") + \
        entities_html(rec.src_tokens, rec.src_spans, [e.score for e in rec.src_entities])
    st.html(SENTENCE_CSS + f"<h3>{html.escape(f'{sid} · {rec.lang or run.lang}')}</h3>"
            f'<p class="xl-note">{html.escape(where)} · {html.escape(scored)}</p>'
            + token_rows_html(rec.tgt_tokens, rec.gold, projected, projected_name=f"projected ({shown})")
            + "<p><b>English translation</b> (source entities from the English NER)</p>" + english)
    if shown == ui.BACK_TRANSLATION:
        bt = rec.back_translation
        st.markdown("**Back-translation** (the English with its entities in [ ], translated back; each "
                    "bracketed span takes the class of the entity whose lone translation it resembles)")
        if bt is not None and bt.text:
            st.caption(bt.text)
            st.html(entities_html(bt.tokens, [e.span for e in bt.entities], [e.score for e in bt.entities]))
            alone = [f"{' '.join(rec.src_tokens[e.span.start:e.span.end])} → {t}"
                     for e, t in zip(rec.src_entities, bt.entity_texts)]
            if alone:
                st.caption("Entities translated alone: " + " · ".join(alone))
        else:
            st.caption("No English entity in this sentence: nothing was back-translated.")

    if rec.src_entities:
        tables = ("<p><b>Source entities: choice and reason</b></p>" +
                  table_html(source_entity_table(rec, proj).drop(columns=["candidates (best first)"]),
                             css_class="xl-table xl-entities"))
        cands = candidate_table(rec, proj)
        if len(cands):
            tables += ("<p><b>Candidates</b> (best first; ✔ chosen" +
                       ("; score parts and origin as the run stored them)" if len(cands.columns) > 6 else ")") +
                       "</p>" + table_html(cands, css_class="xl-table xl-candidates"))
        st.html(tables)

    st.markdown("**Word alignment** " + (f"· aligner: `{aligner}`" if aligner else ""))
    if not rec.src_tokens:
        st.info("This record has no English tokens, so there is no alignment to draw.")
    elif side is None or not side.tokens:
        st.info("This sentence has no back-translation, so there is no alignment to draw.")
    else:
        alignment_view(rec, side, projected, shown, sid)
    st.caption(f"run `{run.key}` · {run.path} · page built in {timer.ms():.0f} ms")


def alignment_view(rec: RunRecord, side, projected, shown: str, sid: str) -> None:
    """The matrix (focused on an entity or a window of at most MATRIX_WINDOW words per axis, labels
    sticky) or the whole sentence as lines (an SVG that fits the page's width)."""
    view = st.radio("Alignment view", ["Matrix", "Lines"], horizontal=True, key=f"{PAGE}_view",
                    label_visibility="collapsed")
    if shown == ui.BACK_TRANSLATION:
        other, marked = "back-translation words", "its recovered spans shaded"
        st.caption("Back-translation: the sentence is aligned with its **back-translation** by the same "
                   "aligner, and the spans are projected from there.")
    else:
        other, marked = "English words", "source entities shaded"
    if view == "Lines":
        st.caption(f"Top: {other} · bottom: target words · coloured lines: links of entity words; "
                   "grey dots: unaligned words. Hover a line for its words and score.")
        # st.markdown, not st.html: st.html's sanitiser keeps HTML only and drops inline SVG
        st.markdown(alignment_lines_svg(side, rec.tgt_tokens, projected), unsafe_allow_html=True)
        return
    st.caption(f"Rows: {other} ({marked}) · columns: target words (projected spans filled, gold spans "
               "dotted) · heat: word similarity, darker = more similar · ✖: alignment link. "
               "Hover a cell for both words and the score.")
    n_tgt = len(rec.tgt_tokens)
    entity, start = None, 0
    if max(len(side.tokens), n_tgt) > MATRIX_WINDOW:
        choices = [-1] + list(range(len(side.entities)))

        def name(k: int) -> str:
            if k < 0:
                return "a window of words"
            e = side.entities[k]
            return f"{e.label}: {' '.join(side.tokens[e.start:e.end])}"

        fkey = f"{PAGE}_focus"
        if ss.get(fkey) not in choices:
            ss[fkey] = 0 if side.entities else -1
        a, b = st.columns([3, 5])
        k = a.selectbox(f"Focus (long sentence: at most {MATRIX_WINDOW}×{MATRIX_WINDOW} cells)", choices,
                        key=fkey, format_func=name)
        if k >= 0:
            entity = k
        elif n_tgt > MATRIX_WINDOW:
            start = b.slider("First target word", 0, n_tgt - MATRIX_WINDOW, key=f"{PAGE}_window", step=1)
        st.caption("Lines shows the whole sentence at once.")
    mine = [p.span for p in ui.projection(run, sid, shown).projected if p.source == entity] if entity is not None else []
    rows, cols = matrix_window(side, n_tgt, entity=entity, start=start, projected=mine)
    st.html(alignment_matrix_html(side, rec.tgt_tokens, rec.gold, projected, rows=rows, cols=cols, sentence=sid))


sentence_view()
