"""Corrections: accept, fix or reject projected entities; every decision is kept; export for training."""

import pandas as pd
import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import ui
from xlner.explorer.corrections import (CorrectionStore, corrected_sentences, corrected_spans, default_db_path,
                                        entity_key, to_conll, to_jsonl)
from xlner.explorer.figures import token_rows_html

PAGE = "corrections"
ui.page_setup("Corrections", "✏️")
ui.sidebar()
fresh = ui.apply_url(PAGE)

st.title("Corrections")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()


@st.cache_resource(show_spinner=False)
def _store(path: str) -> CorrectionStore:
    return CorrectionStore(path)


try:
    store = _store(str(default_db_path()))
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()

# The annotator's name, kept for the whole session (widget values are dropped on page switches).
st.session_state["annotator"] = st.session_state.get("annotator_name", "")


def _keep_name() -> None:
    st.session_state["annotator_name"] = st.session_state["annotator"]


who = st.sidebar.text_input("Your name (stored with each decision)", key="annotator", on_change=_keep_name)

top = st.columns([4, 4])
run = ui.run_picker(all_runs, PAGE, fresh, where=top[0])
try:
    recs, index = ui.records(run)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()
ids = [r["id"] for r in recs if r.get("tgt_entities")] or [r["id"] for r in recs]
skey = f"{PAGE}_sid"
wanted = st.session_state.get("sel_sentence")
if fresh or st.session_state.get(skey) not in ids:
    st.session_state[skey] = wanted if wanted in ids else ids[0]




sid = top[1].selectbox(f"Sentence with projected entities ({len(ids)})", ids, key=skey,
                       format_func=lambda s: f"{s} — {' '.join(recs[index[s]]['tgt_tokens'])[:60]}")
b1, b2, _ = st.columns([1, 1, 6])
b1.button("◀ Previous", key=f"{PAGE}_prev", on_click=ui.step_selection, args=(skey, ids, -1), shortcut="P")
b2.button("Next ▶", key=f"{PAGE}_next", on_click=ui.step_selection, args=(skey, ids, 1), shortcut="N")
st.session_state["sel_sentence"] = sid
ui.write_url(PAGE, {"run": run.key, "dataset": run.dataset, "sentence": sid})

rec = recs[index[sid]]
tokens = rec["tgt_tokens"]
labels = sorted({*(run.config.get("labels") or []), *(s["label"] for s in rec.get("gold_entities") or []),
                 *(s["label"] for s in rec.get("tgt_entities") or []), "PER", "ORG", "LOC", "MISC"})

if msg := st.session_state.pop("corrections_msg", None):
    (st.error if msg.startswith("error[") else st.success)(msg)


def decide(entity: str, action: str, span: dict | None = None) -> None:
    """Store one decision (committed immediately); the message shows on the next run."""
    try:
        store.record(run=run.key, sentence=sid, entity=entity, action=action, annotator=who, span=span,
                     n_tokens=len(tokens))
    except XlnerError as exc:
        st.session_state["corrections_msg"] = f"error[{exc.code}]: {exc.message}" + (
            f" (hint: {exc.hint})" if exc.hint else "")
    else:
        st.session_state["corrections_msg"] = f"Saved: {action} {entity} in {sid}."


latest = store.latest(run.key, sid)
current = corrected_spans(rec, latest)
st.html(token_rows_html(tokens, rec.gold, current, projected_name="corrected"))
if rec.get("translation"):
    st.caption(f"English: {rec['translation']}")

st.subheader("Projected entities")
if not rec.get("tgt_entities"):
    st.caption("Nothing was projected in this sentence.")
for k, p in enumerate(rec.get("tgt_entities") or []):
    key = entity_key(p)
    d = latest.get((sid, key))
    state = "undecided" if d is None else d["action"] + (
        f" → {d['label']} [{d['start']}–{d['end']}) " if d["action"] == "fix" else "") + f" by {d['annotator']}"
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns([5, 1, 1, 3])
        c1.markdown(f"**{' '.join(tokens[p['start']:p['end']])}** · {p['label']} [{p['start']}–{p['end']}) · "
                    f"score {float(p.get('score', 0)):.3f}  \n*{state}*")
        c2.button("Accept", key=f"acc_{sid}_{k}", on_click=decide, args=(key, "accept", p))
        c3.button("Reject", key=f"rej_{sid}_{k}", on_click=decide, args=(key, "reject"))
        with c4.popover("Fix span / label"):
            with st.form(f"fix_{sid}_{k}"):
                s = st.number_input("start", 0, len(tokens) - 1, int(p["start"]), key=f"fs_{sid}_{k}")
                e = st.number_input("end (exclusive)", 1, len(tokens), int(p["end"]), key=f"fe_{sid}_{k}")
                lab = st.selectbox("label", labels, index=labels.index(p["label"]) if p["label"] in labels else 0,
                                   key=f"fl_{sid}_{k}")
                if st.form_submit_button("Save fix"):
                    decide(key, "fix", {"start": s, "end": e, "label": lab})
                    st.rerun()

with st.expander("Add an entity that projection missed"):
    with st.form(f"add_{sid}"):
        c1, c2, c3 = st.columns(3)
        s = c1.number_input("start", 0, len(tokens) - 1, 0, key=f"as_{sid}")
        e = c2.number_input("end (exclusive)", 1, len(tokens), 1, key=f"ae_{sid}")
        lab = c3.selectbox("label", labels, key=f"al_{sid}")
        if st.form_submit_button("Add entity"):
            decide(f"new-{int(s)}-{int(e)}-{lab}", "add", {"start": s, "end": e, "label": lab})
            st.rerun()

history = store.history(run.key, sid)
st.subheader("History of this sentence")
if history:
    st.dataframe(pd.DataFrame(history)[["id", "created", "annotator", "entity", "action", "start", "end", "label"]],
                 hide_index=True, width="stretch", key=f"{PAGE}_history")
else:
    st.caption("No decision yet.")

st.subheader("Export corrected data")
all_latest = store.latest(run.key)
reviewed_only = st.checkbox("Only sentences whose projected entities all have a decision", value=True,
                            key=f"{PAGE}_reviewed_only")
try:
    sentences = corrected_sentences(recs, all_latest, reviewed_only=reviewed_only)
except XlnerError as exc:
    ui.show_error(exc)
    sentences = None
if sentences is not None:
    st.caption(f"{len(sentences)} sentences · {len(store.history(run.key))} decisions in `{store.path}`")
    c1, c2 = st.columns(2)
    c1.download_button("CoNLL (token TAG)", to_conll(sentences), file_name=f"{run.key.replace('/', '_')}.corrected.conll",
                       mime="text/plain", disabled=not sentences, key=f"{PAGE}_dl_conll")
    c2.download_button("JSON lines (tokens, tags)", to_jsonl(sentences),
                       file_name=f"{run.key.replace('/', '_')}.corrected.jsonl", mime="application/json",
                       disabled=not sentences, key=f"{PAGE}_dl_jsonl")
