"""Errors: the entities of a run that projection got wrong, each inside its sentence, with the stage
that caused it; filterable, every filter in the URL (shareable, and the browser's Back restores it)."""

import math

import pandas as pd
import streamlit as st

from xlner.attribution import STAGES
from xlner.datamodel import Span
from xlner.errors import XlnerError
from xlner.explorer import inspect_ui, ui
from xlner.explorer.diff import CATEGORIES, review_queue
from xlner.explorer.inspect import STAGE_NAMES, entity_in_sentence_html, score_text

PAGE = "errors"
CARDS_PER_PAGE = 15
ui.page_setup("Errors", "🐞")
ui.sidebar()
fresh = ui.apply_url(PAGE)

st.title("Errors")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()

by_key = {r.key: r for r in all_runs}
qp = {k: st.query_params[k] for k in st.query_params}


def url_list(name: str) -> list[str]:
    return [x for x in qp.get(name, "").split(",") if x]


# Runs: one unless more are asked for (each entity would otherwise repeat once per run).
rkey = f"{PAGE}_runs"
if fresh or rkey not in st.session_state:
    wanted = [k for k in url_list("run") if k in by_key]
    if not wanted and qp.get("dataset"):
        wanted = [r.key for r in all_runs if qp["dataset"] in (r.dataset, r.key)][:1]
    if qp.get("run") and not wanted:
        ui.notice(XlnerError("E904", run=qp["run"], instead="one run"))
    if not wanted:  # the run chosen on another page, else the first run with gold
        current = st.session_state.get("sel_run")
        wanted = [current] if current in by_key else [
            next((r.key for r in all_runs if inspect_ui.has_gold(r)), all_runs[0].key)]
    st.session_state[rkey] = wanted
chosen = st.multiselect("Runs", list(by_key), key=rkey, format_func=lambda k: by_key[k].label + f"  ({k})",
                        help="One run by default; add runs to see their entities together (one row per run).")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()

try:
    table = pd.concat([inspect_ui.stage_entities(by_key[k]) for k in chosen], ignore_index=True)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()


def multi(col, label: str, column: str, param: str | None = None, options: list[str] | None = None,
          names: dict[str, str] | None = None) -> list[str]:
    """A multiselect over a column's values, set from the URL when the URL changed."""
    if options is None:
        options = sorted(x for x in table[column].dropna().unique() if x != "")
    key = f"{PAGE}_{column}"
    if fresh or key not in st.session_state:
        st.session_state[key] = [x for x in url_list(param or column) if x in options]
    st.session_state[key] = [x for x in st.session_state[key] if x in options]
    return col.multiselect(label, options, key=key, placeholder="all",
                           format_func=(names.get if names else str))


def range_from_url(name: str, low: float, high: float, cast: type) -> tuple:
    try:
        a, b = (cast(x) for x in qp[name].split("-", 1))
        return (max(low, min(a, high)), max(low, min(b, high)))
    except (KeyError, ValueError):
        return (low, high)


show_correct_key = f"{PAGE}_correct"
if fresh or show_correct_key not in st.session_state:
    st.session_state[show_correct_key] = qp.get("correct") == "1"
several_langs = table["lang"].nunique() > 1
columns = st.columns(5 if several_langs else 4)
langs = multi(columns[0], "Language", "lang") if several_langs else []
c2, c3, c4, c5 = columns[-4:]
cats = multi(c2, "Error category", "category", options=[c for c in CATEGORIES if c in set(table["category"])])
stages = multi(c3, "Stage that caused it", "stage", options=[s for s in STAGES if s in set(table["stage"])],
               names=STAGE_NAMES)
reasons = multi(c4, "Projection reason", "reason")
labels = multi(c5, "Entity type", "label")
c6, c7, c8 = st.columns([2, 2, 1])
max_len = max(int(table["length"].max() or 1) if len(table) else 1, 2)
# Dice reaches 2 when one word aligns to several; fused scores add NER (and NMT) parts on top of it
top_score = float(table["score"].max()) if len(table) and table["score"].notna().any() else 0.0
max_conf = max(2.0, math.ceil(top_score * 20) / 20)
for key, name, low, high, cast in ((f"{PAGE}_length", "length", 1, max_len, int),
                                   (f"{PAGE}_conf", "conf", 0.0, max_conf, float)):
    stored = st.session_state.get(key)
    if fresh or stored is None or not (low <= stored[0] <= stored[1] <= high):
        st.session_state[key] = range_from_url(name, low, high, cast)
length = c6.slider("Entity length (tokens)", 1, max_len, key=f"{PAGE}_length")
conf = c7.slider("Confidence (matching score)", 0.0, max_conf, step=0.05, key=f"{PAGE}_conf",
                 help="Dice matching score, up to 2 when one word aligns to several (fused methods add the "
                      "NER and NMT parts); entities without a score (missed gold, unprojected) are kept.")
show_correct = c8.toggle("Show correct entities", key=show_correct_key,
                         help="Correct entities are hidden by default: this page is about what went wrong.")

view = table
if not show_correct and "correct" not in cats:
    view = view[view["category"] != "correct"]
if langs:
    view = view[view["lang"].isin(langs)]
if cats:
    view = view[view["category"].isin(cats)]
if stages:
    view = view[view["stage"].isin(stages)]
if reasons:
    view = view[view["reason"].isin(reasons)]
if labels:
    view = view[view["label"].isin(labels)]
view = view[(view["length"] >= length[0]) & (view["length"] <= length[1])]
view = view[view["score"].isna() | ((view["score"] >= conf[0]) & (view["score"] <= conf[1]))]
view = view.reset_index(drop=True)

url = {"run": ",".join(chosen), "category": ",".join(cats), "stage": ",".join(stages), "lang": ",".join(langs),
       "reason": ",".join(reasons), "label": ",".join(labels), "correct": "1" if show_correct else None,
       "length": f"{length[0]}-{length[1]}" if tuple(length) != (1, max_len) else None,
       "conf": f"{conf[0]:g}-{conf[1]:g}" if tuple(conf) != (0.0, max_conf) else None}
ui.write_url(PAGE, url)
st.session_state["sel_run"] = chosen[0]

counts = view["category"].value_counts()
hidden = int((table["category"] == "correct").sum()) if not show_correct and "correct" not in cats else 0
st.caption(" · ".join(f"{c}: {int(counts.get(c, 0))}" for c in CATEGORIES if c != "correct" or not hidden)
           + f" · {len(view)} rows" + (f" · {hidden} correct entities hidden" if hidden else ""))
stage_counts = view.loc[view["stage"] != "", "stage"].value_counts()
if len(stage_counts):
    st.caption("Caused by: " + " · ".join(f"{STAGE_NAMES[s]}: {int(stage_counts.get(s, 0))}" for s in STAGES))

# Text cells only where a number can be missing: an empty cell, never "None".
shown = view.assign(score=[score_text(x) for x in view["score"]],
                    ner_score=[score_text(x, 2) for x in view["ner_score"]],
                    stage=[STAGE_NAMES.get(s, "") for s in view["stage"]])
COLUMNS = ["sentence", "category", "stage", "context", "gold", "projected", "score", "source_text", "source_label",
           "ner_score", "reason", "why", "length", "label"] + (["run"] if len(chosen) > 1 else [])
config = {"score": st.column_config.TextColumn("score", help="matching / projection score"),
          "ner_score": st.column_config.TextColumn("NER score"),
          "stage": st.column_config.TextColumn("stage", help="the stage the error is attributed to "
                                                             "(docs/attribution.md)"),
          "context": st.column_config.TextColumn("in its sentence", help="the entity ⟦marked⟧ in its sentence "
                                                 "(gold span, else the projected one)", width="large"),
          "gold": "gold label · span", "projected": "projected label · span", "source_text": "English entity",
          "source_label": "English label", "why": st.column_config.TextColumn("why", width="large"),
          "label": st.column_config.TextColumn("type", help="the projected label, else the gold one")}


def open_sentence(frame: pd.DataFrame, rows: list[int]) -> None:
    if rows:
        row = frame.iloc[rows[0]]
        st.switch_page("pages/2_Sentences.py", query_params={
            "run": row["run"], "dataset": by_key[row["run"]].dataset, "sentence": row["sentence"],
            "method": row["method"]})


def _span(text: str) -> Span | None:
    """``LOC 3–5`` (the table's form) -> Span."""
    if not text:
        return None
    label, rng = text.rsplit(" ", 1)
    start, end = rng.split("–")
    return Span(int(start), int(end), label)


tab_all, tab_sent, tab_queue = st.tabs(["Table", "In their sentences", "Review queue (lowest score first)"])
with tab_sent:
    n_pages = max(1, -(-len(view) // CARDS_PER_PAGE))
    page_no = st.number_input(f"Page (of {n_pages}, {CARDS_PER_PAGE} entities each)", 1, n_pages, 1,
                              key=f"{PAGE}_cards_page") if n_pages > 1 else 1
    start = (int(page_no) - 1) * CARDS_PER_PAGE
    for k, row in view.iloc[start:start + CARDS_PER_PAGE].iterrows():
        recs, index = ui.records(by_key[row["run"]])
        record = recs[index[row["sentence"]]]
        head = f"**{row['sentence']}** · {row['category']}"
        if row["stage"]:
            head += f" · caused by **{STAGE_NAMES[row['stage']]}** — {row['why']}"
        elif row["category"] == "not projected":
            head += f" · English entity *{row['source_text']}* ({row['source_label']}) not projected: {row['reason']}"
        if len(chosen) > 1:
            head += f" · `{row['run']}`"
        with st.container(border=True, key=f"{PAGE}_card_{k}"):
            st.markdown(head)
            st.html(entity_in_sentence_html(record.tgt_tokens, record.gold, record.projected_spans(),
                                            focus_gold=_span(row["gold"]), focus_pred=_span(row["projected"]),
                                            projected_name=f"projected ({row['method']})"))
            if st.button("Open in Sentences", key=f"{PAGE}_open_{k}"):
                open_sentence(view, [int(k)])
    if view.empty:
        st.info("No entity matches these filters.")
with tab_all:
    st.caption("Select a row to open its sentence.")
    event = st.dataframe(shown[COLUMNS], hide_index=True, width="stretch", height=460, key=f"{PAGE}_table",
                         on_select="rerun", selection_mode="single-row", column_config=config)
    open_sentence(view, event.selection.rows)
with tab_queue:
    queue_rows = review_queue(view)
    queue = shown.loc[queue_rows.index].reset_index(drop=True)
    st.caption("Projected entities the matching was least sure of: review these first.")
    q_event = st.dataframe(queue[COLUMNS], hide_index=True, width="stretch", height=460, key=f"{PAGE}_queue",
                           on_select="rerun", selection_mode="single-row", column_config=config)
    open_sentence(queue, q_event.selection.rows)
