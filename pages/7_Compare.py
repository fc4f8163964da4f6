"""Compare: two runs on the same sentences side by side (two methods, two profiles), or one run and its
sentences re-projected by another method: the paired F1 difference with its confidence interval
(``xlner compare``), the sentences where the projections differ, and both projections of a sentence
in one view. ``?a=RUN&b=RUN&sentence=ID`` (or ``&b_method=METHOD``) in the URL."""

import pandas as pd
import streamlit as st

from xlner.compare import differing_sentences
from xlner.errors import XlnerError
from xlner.explorer import inspect_ui, ui
from xlner.explorer.diff import compare_spans
from xlner.explorer.inspect import compare_rows_html
from xlner.explorer.reproject import BACK_TRANSLATION, available_methods

PAGE = "compare"
N_BOOT = 1000
ui.page_setup("Compare", "⚖️")
ui.sidebar()
fresh = ui.apply_url(PAGE)

st.title("Compare two runs")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()
by_key = {r.key: r for r in all_runs}
qp = {k: st.query_params[k] for k in st.query_params}


def _default_pair() -> tuple[str, str]:
    """Run A: the selected run, else the first one with gold; run B: another run of the same
    dataset and language (the same sentences), else any other run."""
    a = st.session_state.get("sel_run")
    if a not in by_key:  # the offline profile's method first (match-greedy), then any run with gold
        scored = sorted((r for r in all_runs if inspect_ui.has_gold(r)), key=lambda r: r.method != "match-greedy")
        a = (scored or all_runs)[0].key
    ra = by_key[a]
    others = [r for r in all_runs if r.key != a]
    same = sorted((r for r in others if (r.dataset, r.lang) == (ra.dataset, ra.lang)),
                  key=lambda r: r.method != "heuristic")  # the paper's baseline method
    return a, (same or others or [ra])[0].key


default_a, default_b = _default_pair()
MODES = ("another run", "another projection method")
mode_key = f"{PAGE}_mode"
if fresh or mode_key not in st.session_state:
    st.session_state[mode_key] = MODES[1] if qp.get("b_method") and not qp.get("b") else MODES[0]
for side, default in (("a", default_a), ("b", default_b)):
    key = f"{PAGE}_{side}"
    if fresh or key not in st.session_state:
        wanted = qp.get(side)
        if wanted and wanted not in by_key:
            ui.notice(XlnerError("E904", run=wanted, instead=default))
        st.session_state[key] = wanted if wanted in by_key else default
labels = {r.key: f"{r.label}  ({r.key})" for r in all_runs}
c1, c2 = st.columns(2)
key_a = c1.selectbox("Run A", list(by_key), key=f"{PAGE}_a", format_func=labels.get)
run_a = by_key[key_a]
mode = c2.radio("Compare run A with", MODES, key=mode_key, horizontal=True,
                help="another run on the same sentences (another profile, another method), or run A's own "
                     "sentences projected by another method (as the Sentences page's method switch does)")

try:
    recs_a, index_a = ui.records(run_a)
    if mode == MODES[0]:
        key_b = c2.selectbox("Run B (the baseline)", list(by_key), key=f"{PAGE}_b", format_func=labels.get)
        run_b = by_key[key_b]
        recs_b, index_b = ui.records(run_b)
        url_b = {"b": key_b}
    else:
        methods = [m for m in available_methods() if m != run_a.method]
        if ui.back_translation(run_a)[0]:
            methods.append(BACK_TRANSLATION)
        mkey = f"{PAGE}_b_method"
        if fresh or st.session_state.get(mkey) not in methods:
            wanted = qp.get("b_method")
            st.session_state[mkey] = wanted if wanted in methods else (
                "heuristic" if "heuristic" in methods else methods[0])
        method_b = c2.selectbox("Method B (run A re-projected)", methods, key=mkey)
        run_b, key_b = run_a, f"{method_b} (re-projected)"
        recs_b = inspect_ui.reprojected_run(run_a, method_b)
        index_b = {r.id: i for i, r in enumerate(recs_b)}
        url_b = {"b_method": method_b}
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()

# The paired bootstrap of F1(A) - F1(B) over sentences, as `xlner compare A B` prints it.
result = None
try:
    result = (inspect_ui.compare(run_a, run_b, N_BOOT) if mode == MODES[0]
              else inspect_ui.compare_methods(run_a, method_b, N_BOOT))
except XlnerError as exc:
    if exc.code == "E724":
        st.info(f"No F1 to compare: {exc.message} (no gold). The projections are compared below all the same.")
    else:
        ui.notice(exc)
if result is not None:
    significant = result["ci_low"] > 0 or result["ci_high"] < 0
    m1, m2, m3 = st.columns(3)
    m1.metric(f"F1 A · {key_a}", f"{100 * result['f1_a']:.1f}")
    m2.metric(f"F1 B · {key_b}", f"{100 * result['f1_b']:.1f}")
    m3.metric("A − B (95% CI)", f"{100 * result['diff']:+.1f}",
              help="paired bootstrap over sentences (xlner.compare, the numbers `xlner compare A B` prints)")
    st.markdown(f"**A − B = {100 * result['diff']:+.1f} F1, 95% CI [{100 * result['ci_low']:+.1f}, "
                f"{100 * result['ci_high']:+.1f}]** — "
                + ("significant: the interval excludes 0" if significant else "not significant: the interval "
                   "includes 0") + f" ({result['n_sentences']} sentences, {N_BOOT} paired bootstrap resamples).")

differ = differing_sentences(recs_a, recs_b)
common = [r.id for r in recs_a if r.id in index_b]
st.subheader(f"Sentences where the projections differ: {len(differ)} of {len(common)}")
if not common:
    st.warning("The two runs share no sentence id: choose two runs made on the same data.")
    st.stop()


def _summary(sid: str) -> dict:
    ra, rb = recs_a[index_a[sid]], recs_b[index_b[sid]]
    pa, pb = ra.projected_spans(), rb.projected_spans()
    row = {"sentence": sid, "text": " ".join(ra.tgt_tokens[:14]) + (" …" if len(ra.tgt_tokens) > 14 else ""),
           "only in A": "; ".join(f"{s.label} {' '.join(ra.tgt_tokens[s.start:s.end])}" for s in pa if s not in pb),
           "only in B": "; ".join(f"{s.label} {' '.join(rb.tgt_tokens[s.start:s.end])}" for s in pb if s not in pa)}
    if ra.gold is not None:
        row["correct A"] = sum(d.category == "correct" for d in compare_spans(ra.gold, pa))
        row["correct B"] = sum(d.category == "correct" for d in compare_spans(ra.gold, pb))
        row["gold"] = len(ra.gold)
    return row


skey = f"{PAGE}_sentence"
if fresh or st.session_state.get(skey) not in common:
    wanted = qp.get("sentence")
    st.session_state[skey] = wanted if wanted in common else (differ or common)[0]
if differ:
    table = pd.DataFrame([_summary(sid) for sid in differ])
    # the verdict first (correct entities of each), then what differs, then the words
    table = table[[c for c in ("sentence", "correct A", "correct B", "gold", "only in A", "only in B", "text")
                   if c in table.columns]]
    st.caption("Select a row to see both projections of the sentence. *correct*: entities equal to gold "
               "(same words, same type).")
    event = st.dataframe(table, hide_index=True, width="stretch", key=f"{PAGE}_table", on_select="rerun",
                         selection_mode="single-row", height=min(420, 38 + 35 * len(table)))
    if event.selection.rows:
        st.session_state[skey] = table.iloc[event.selection.rows[0]]["sentence"]
else:
    st.success("Both project the same entities in every shared sentence.")
differs = set(differ)
sid = st.selectbox("Sentence", common, key=skey, format_func=lambda x: f"{x}  ≠" if x in differs else x,
                   help="any sentence of both runs; ≠ marks those whose projections differ")

ra, rb = recs_a[index_a[sid]], recs_b[index_b[sid]]
st.markdown(f"#### {sid}" + ("" if sid in differs else " · same projection in A and B"))
st.html(compare_rows_html(ra.tgt_tokens, ra.gold, [(f"A: {key_a}", ra.projected_spans()),
                                                   (f"B: {key_b}", rb.projected_spans())]))
cols = st.columns(2)
for k, (col, run, rec) in enumerate(((cols[0], run_a, ra), (cols[1], run_b, rb))):
    col.caption(f"{'AB'[k]}: {run.key} ({rec.method}): English “{rec.translation}”")
    if col.button(f"Open {'AB'[k]} in Sentences", key=f"{PAGE}_open_{k}"):
        st.switch_page("pages/2_Sentences.py", query_params={"run": run.key, "dataset": run.dataset,
                                                             "sentence": sid, "method": rec.method})
st.session_state["sel_run"] = key_a  # the shared selection: run A holds this sentence
ui.write_url(PAGE, {"a": key_a, **url_b, "sentence": sid})
