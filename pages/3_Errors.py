"""Errors: every gold, projected or unprojected entity of the chosen runs, filterable; a review queue."""

import pandas as pd
import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import ui
from xlner.explorer.diff import CATEGORIES, review_queue

PAGE = "errors"
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
rkey = f"{PAGE}_runs"
if fresh or rkey not in st.session_state:
    wanted = [k for k in qp.get("run", "").split(",") if k in by_key]
    if not wanted and qp.get("dataset"):
        wanted = [r.key for r in all_runs if qp["dataset"] in (r.dataset, r.key)]
    if qp.get("run") and not wanted:
        ui.notice(XlnerError("E904", run=qp["run"], instead="all runs"))
    st.session_state[rkey] = wanted or list(by_key)
chosen = st.multiselect("Runs", list(by_key), key=rkey, format_func=lambda k: by_key[k].label + f"  ({k})")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()

try:
    table = pd.concat([ui.entities(by_key[k]) for k in chosen], ignore_index=True)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()


def multi(col, label: str, column: str, param: str | None = None) -> list:
    options = sorted(x for x in table[column].dropna().unique() if x != "")
    key = f"{PAGE}_{column}"
    if fresh or key not in st.session_state:
        from_url = [x for x in qp.get(param or column, "").split(",") if x in options]
        st.session_state[key] = from_url
    st.session_state[key] = [x for x in st.session_state[key] if x in options]
    return col.multiselect(label, options, key=key, placeholder="all")


c1, c2, c3, c4 = st.columns(4)
langs = multi(c1, "Language", "lang")
cats = multi(c2, "Error category", "category")
reasons = multi(c3, "Projection reason", "reason")
labels = multi(c4, "Entity type", "label")
c5, c6 = st.columns(2)
max_len = int(table["length"].max() or 1) if len(table) else 1
length = c5.slider("Entity length (tokens)", 1, max(max_len, 2), (1, max(max_len, 2)), key=f"{PAGE}_length")
conf = c6.slider("Confidence (matching score)", 0.0, 2.0, (0.0, 2.0), step=0.05, key=f"{PAGE}_conf",
                 help="Dice matching score, up to 2 when one word aligns to several; entities without a "
                      "score (missed gold, unprojected) are kept.")

view = table
if langs:
    view = view[view["lang"].isin(langs)]
if cats:
    view = view[view["category"].isin(cats)]
if reasons:
    view = view[view["reason"].isin(reasons)]
if labels:
    view = view[view["label"].isin(labels)]
view = view[(view["length"] >= length[0]) & (view["length"] <= length[1])]
view = view[view["score"].isna() | ((view["score"] >= conf[0]) & (view["score"] <= conf[1]))]
view = view.reset_index(drop=True)

url = {"run": ",".join(chosen) if len(chosen) < len(by_key) else None,
       "category": ",".join(cats) or None, "lang": ",".join(langs) or None}
ui.write_url(PAGE, url)

counts = view["category"].value_counts()
st.caption(" · ".join(f"{c}: {int(counts.get(c, 0))}" for c in CATEGORIES) + f" · {len(view)} rows")

COLUMNS = ["sentence", "category", "gold_text", "gold", "projected_text", "projected", "score", "source_text",
           "source_label", "ner_score", "reason", "length", "label", "lang", "method", "run"]
config = {"score": st.column_config.NumberColumn("score", format="%.3f", help="matching / projection score"),
          "ner_score": st.column_config.NumberColumn("NER score", format="%.2f"),
          "gold_text": "gold", "gold": "gold label · span", "projected_text": "projected",
          "projected": "projected label · span", "source_text": "English entity", "source_label": "English label",
          "label": st.column_config.TextColumn("type", help="the projected label, else the gold one")}


def open_sentence(frame: pd.DataFrame, rows: list[int]) -> None:
    if rows:
        row = frame.iloc[rows[0]]
        st.switch_page("pages/2_Sentences.py", query_params={
            "run": row["run"], "dataset": by_key[row["run"]].dataset, "sentence": row["sentence"],
            "method": row["method"]})


tab_all, tab_queue = st.tabs(["All entities", "Review queue (lowest score first)"])
with tab_all:
    st.caption("Select a row to open its sentence.")
    event = st.dataframe(view[COLUMNS], hide_index=True, width="stretch", height=460, key=f"{PAGE}_table",
                         on_select="rerun", selection_mode="single-row", column_config=config)
    open_sentence(view, event.selection.rows)
with tab_queue:
    queue = review_queue(view).reset_index(drop=True)
    st.caption("Projected entities the matching was least sure of: review these first.")
    q_event = st.dataframe(queue[COLUMNS], hide_index=True, width="stretch", height=460, key=f"{PAGE}_queue",
                           on_select="rerun", selection_mode="single-row", column_config=config)
    open_sentence(queue, q_event.selection.rows)
