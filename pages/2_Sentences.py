"""Sentence explorer: gold vs projected on the target, the English side, the alignment, the candidates."""

import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import loading, ui
from xlner.explorer.diff import compare_spans, sentence_summary
from xlner.explorer.figures import aligned_side, entities_html, source_entity_table, token_rows_html
from xlner.record import RunRecord

PAGE = "sentences"
ui.page_setup("Sentences", "🔤")
ui.sidebar()
fresh = ui.apply_url(PAGE)
timer = ui.Timer()

st.title("Sentence explorer")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()

top = st.columns([4, 3])
run = ui.run_picker(all_runs, PAGE, fresh, where=top[0])
try:
    recs, index = ui.records(run)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()
if not recs:
    st.warning(f"Run `{run.key}` has no sentences.")
    st.stop()

# Projection method: the run's own, or any other one re-projected from the stored alignment.
methods = ui.method_options(run)
bt_ok, bt_why = ui.back_translation(run)
mkey = f"{PAGE}_method"
wanted = st.session_state.get("sel_method")
if fresh or st.session_state.get(mkey) not in methods:
    if wanted and wanted not in methods:
        ui.notice(XlnerError("E911", method=wanted, methods=", ".join(methods)))
    st.session_state[mkey] = wanted if wanted in methods else run.method
method = top[1].radio("Projection method", methods, key=mkey, horizontal=True,
                      format_func=lambda m: ui.method_label(m, bt_ok),
                      help=f"The run used **{run.method}**; any other method re-projects this sentence "
                           "from the stored alignment with xlner.project. **back-translation** "
                           "re-projects the stored back-translation (English entities in [ ] translated "
                           "back, aligned with this sentence) where the run has it.")
st.session_state["sel_method"] = method

# Sentence: search, error filter, then pick by id or step with next / previous (N / P keys).
f1, f2, f3 = st.columns([4, 2, 2])
query = f1.text_input("Search (words, translation or id)", key=f"{PAGE}_search",
                      placeholder="e.g. Madrid")
only_errors = f2.toggle("Only sentences with errors", key=f"{PAGE}_only_errors")


def _matches(rec: RunRecord, q: str) -> bool:
    q = q.lower()
    return q in rec.id.lower() or q in " ".join(rec.tgt_tokens).lower() or q in rec.translation.lower()


ids = [r.id for r in recs if (not query or _matches(r, query))]
if only_errors:  # from the run's cached entity table, not a diff of every sentence on every rerun
    with_errors = ui.error_sentences(run)
    ids = [i for i in ids if i in with_errors]
if not ids:
    st.info("No sentence matches the search.")
    st.stop()

skey = f"{PAGE}_sid"
wanted_sid = st.session_state.get("sel_sentence")
if wanted_sid and wanted_sid not in index and fresh:
    ui.notice(XlnerError("E912", sentence=wanted_sid, run=run.key))
if fresh or st.session_state.get(skey) not in ids:
    st.session_state[skey] = wanted_sid if wanted_sid in ids else ids[0]




def _preview(sid: str) -> str:
    words = " ".join(recs[index[sid]].tgt_tokens)
    return f"{sid} — {words[:70]}{'…' if len(words) > 70 else ''}"


sid = f3.selectbox(f"Sentence ({len(ids)})", ids, key=skey, format_func=_preview)
pos = ids.index(sid)
b1, b2, b3 = st.columns([1, 1, 6])
b1.button("◀ Previous", key=f"{PAGE}_prev", on_click=ui.step_selection, args=(skey, ids, -1), shortcut="P", disabled=pos == 0,
          help="keyboard: P")
b2.button("Next ▶", key=f"{PAGE}_next", on_click=ui.step_selection, args=(skey, ids, 1), shortcut="N", disabled=pos == len(ids) - 1,
          help="keyboard: N")
b3.caption(f"{pos + 1} / {len(ids)}")
st.session_state["sel_sentence"] = sid
ui.write_url(PAGE, {"run": run.key, "dataset": run.dataset, "sentence": sid, "method": method})

rec = recs[index[sid]]
shown = method
if method == ui.BACK_TRANSLATION and not bt_ok:
    st.info(bt_why + f"\n\nShowing the run's own method, **{run.method}**.", icon=":material/block:")
    shown = run.method
try:
    proj = ui.projection(run, sid, shown)
except XlnerError as exc:
    ui.show_error(exc)
    proj, shown = rec.projection, rec.method
projected = proj.spans()
gold = rec.gold

st.subheader(f"{sid} · {rec.lang or run.lang}")
if gold is None:
    st.caption("no gold for this sentence: projections are shown, not scored")
else:
    counts = sentence_summary(compare_spans(gold, projected))
    st.caption(" · ".join(f"{k}: {v}" for k, v in counts.items() if v) or "no entities")
st.html(token_rows_html(rec.tgt_tokens, gold, projected, projected_name=f"projected ({shown})"))

st.markdown("**English translation** (source entities from the English NER)")
if rec.translation:
    st.caption(rec.translation)
st.html(entities_html(rec.src_tokens, rec.src_spans, [e.score for e in rec.src_entities]))

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

st.markdown("**Source entities: candidates, choice, reason**")
st.dataframe(source_entity_table(rec, proj), hide_index=True, width="stretch",
             column_config={"NER score": st.column_config.NumberColumn(format="%.2f"),
                            "score": st.column_config.NumberColumn(format="%.3f")})

comp = run.config.get("components") or {}
st.markdown("**Word alignment** " + (f"· aligner: `{loading.component_text(comp['aligner'])}`"
                                     if comp.get("aligner") else ""))
side = aligned_side(rec, shown)
if not rec.src_tokens:
    st.info("This record has no English tokens, so there is no alignment to draw.")
elif side is None or not side.tokens:
    st.info("This sentence has no back-translation, so there is no alignment to draw.")
else:
    # One view at a time (not tabs, which would draw both on every sentence switch).
    view = st.radio("Alignment view", ["Heatmap", "Lines"], horizontal=True, key=f"{PAGE}_view",
                    label_visibility="collapsed")
    # With back-translation the other side is the back-translated sentence, not the English one.
    if shown == ui.BACK_TRANSLATION:
        other, marked = "back-translation words", "its recovered spans shaded"
        st.caption("Back-translation: the sentence is aligned with its **back-translation** by the same "
                   "aligner, and the spans are projected from there.")
    else:
        other, marked = "English words", "source entities shaded"
    if view == "Heatmap":
        st.caption(f"Rows: {other} ({marked}) · columns: target words (gold spans dotted, "
                   "projected spans solid) · heat: word similarity, darker = more similar · ✖: alignment link. "
                   "Hover a cell for both words and the score.")
    else:
        st.caption(f"Top: {other} · bottom: target words · coloured lines: links of entity words; "
                   "grey dots: unaligned words. Hover the middle of a line for its words and score.")
    fig = ui.alignment_figure(run, sid, shown, "heatmap" if view == "Heatmap" else "lines")
    # Fixed cell size: a 100-token sentence gives a wide figure. Streamlit fits charts to their
    # container, so the container's inner box is given the figure's width and the box scrolls.
    st.html(f"<style>.st-key-alignment-scroll{{overflow-x:auto}}"
            f".st-key-alignment-scroll>div{{min-width:{int(fig.layout.width)}px;width:{int(fig.layout.width)}px}}"
            "</style>")
    with st.container(key="alignment-scroll"):
        st.plotly_chart(fig, width="content", key="alignment", config={"displaylogo": False})

st.caption(f"run `{run.key}` · {run.path} · page built in {timer.ms():.0f} ms")
