"""Corrections: review projected entities one key at a time, with several annotators; every decision is kept.

The review queue walks the projected entities (run order, lowest score, error category); A / X / F /
Space accept, reject, fix or skip the current one and move to the next undecided. Spans are marked
by pointing at tokens. Each annotator's decisions are their own; disagreements are conflicts that an
adjudicator settles; agreement per pair; exports for training.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import streamlit as st

from xlner.corrections.agreement import agreement
from xlner.corrections.export import decisions_for
from xlner.corrections.queue import (ORDERS, assigned_positions, next_undecided, order_sentences, progress,
                                     queue_items)
from xlner.corrections.resolve import annotator_view, by_annotator, conflicts, final
from xlner.corrections.store import added_key
from xlner.errors import XlnerError
from xlner.explorer import ui
from xlner.explorer.components import pending_command, span_picker
from xlner.explorer.corrections import (CorrectionStore, corrected_sentences, corrected_spans, default_db_path,
                                        entity_key, to_conll, to_jsonl)
from xlner.explorer.figures import label_colour, text_direction, token_rows_html

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

# --- who is annotating: remembered by the URL (?annotator=) and by this browser (localStorage) ---
if "annotator_name" not in st.session_state:
    st.session_state["annotator_name"] = st.query_params.get("annotator", "")
st.session_state["annotator"] = st.session_state["annotator_name"]  # widget values are dropped on page switches


def _keep_name() -> None:
    st.session_state["annotator_name"] = st.session_state["annotator"].strip()


who = st.sidebar.text_input("Your name (stored with each decision)", key="annotator", on_change=_keep_name).strip()
st.sidebar.caption("Remembered in the page address (`?annotator=`) and in this browser.")

top = st.columns([4, 3, 3])
run = ui.run_picker(all_runs, PAGE, fresh, where=top[0])
try:
    recs, index = ui.records(run)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()

order = top[1].selectbox("Review order", list(ORDERS)[:3], format_func=ORDERS.get, key=f"{PAGE}_order")
rows = store.history(run.key)
mine = annotator_view(rows, who) if who else {}
finals = final(rows)
# An assignment limits an annotator's queue to their sentence ranges (positions in the run's order).
allowed = assigned_positions(store.assignments(run.key), who) if who else None
position = {str(r["id"]): i for i, r in enumerate(recs)}
ids = [s for s in order_sentences(recs, order) if allowed is None or position[s] in allowed] or [
    r["id"] for r in recs]
items = queue_items(recs, ids)

skey, ikey = f"{PAGE}_sid", f"{PAGE}_item"
wanted = st.session_state.get("sel_sentence")
if st.session_state.get(f"{PAGE}_order_seen", order) != order:  # a new order starts at its first undecided
    first_open = next_undecided(items, mine)
    wanted = first_open[0] if first_open else ids[0]
    fresh = True
st.session_state[f"{PAGE}_order_seen"] = order
if wanted in index and wanted not in ids:  # a deep link always opens its sentence
    ids = [wanted, *ids]
if fresh or st.session_state.get(skey) not in ids:
    st.session_state[skey] = wanted if wanted in ids else ids[0]
if (goto := st.session_state.pop(f"{PAGE}_goto", None)) is not None and goto[0] in ids:
    st.session_state[skey], st.session_state[ikey] = goto
    st.session_state[f"{PAGE}_item_sid"] = goto[0]


def _go(item: tuple[str, str] | None) -> None:
    """Make ``item`` current (and its sentence the shown one) from the next run on (widget keys can
    only be set before their widget exists)."""
    if item is not None:
        st.session_state[f"{PAGE}_goto"] = item
    st.session_state.pop(f"{PAGE}_fix", None)


def _first_open(sid: str) -> str | None:
    keys = [e for s, e in items if s == sid]
    return next((e for e in keys if (sid, e) not in mine), keys[0] if keys else None)


sid = top[2].selectbox(f"Sentence ({len(ids)} in the queue)", ids, key=skey,
                       format_func=lambda s: f"{s} — {' '.join(recs[index[s]]['tgt_tokens'])[:60]}")
if st.session_state.get(f"{PAGE}_item_sid") != sid:  # another sentence: its first undecided entity is current
    st.session_state[ikey] = _first_open(sid)
    st.session_state[f"{PAGE}_item_sid"] = sid
    st.session_state.pop(f"{PAGE}_fix", None)
current: str | None = st.session_state.get(ikey)
st.session_state["sel_sentence"] = sid
ui.write_url(PAGE, {"run": run.key, "dataset": run.dataset, "sentence": sid, "annotator": who})

done, total = progress(items, mine)
final_done, _ = progress(items, finals)
open_conflicts = [c for c in conflicts(rows, include_resolved=False)]
st.progress(done / total if total else 1.0,
            text=f"**{done} of {total}** entities reviewed by {who or 'you (type your name in the sidebar)'} · "
                 f"{final_done} final · {len(open_conflicts)} open conflicts"
                 + (" · your assigned sentences only" if allowed is not None else ""))



def describe(d: dict[str, Any]) -> str:
    fix = f" → {d['label']} [{d['start']}–{d['end']})" if d["action"] == "fix" else ""
    return f"{d['action']}{fix} by {d['annotator']}"


def _command() -> dict[str, Any] | None:
    """A decision key pressed in this browser and not handled yet (see the picker's COMMAND_KEYS)."""
    try:
        state = st.session_state[f"{PAGE}_picker"]
    except (KeyError, AttributeError):
        return None
    return pending_command(state, st.session_state.get(f"{PAGE}_cmd_done"))


# Other annotators' decisions appear within seconds: a fragment polls the store and lists what others
# decided in this run in the last two minutes (this sentence first). It reruns only itself while you
# annotate, and the whole page when something changed and you have been idle for a few seconds.
st.session_state[f"{PAGE}_seen"] = seen = store.change_counter()
st.session_state[f"{PAGE}_drawn_at"] = time.monotonic()

POLL_SECONDS = float(os.environ.get("XLNER_CORRECTIONS_POLL", "2"))  # 0: no live updates
RECENT_SECONDS = 120


def _age(d: dict[str, Any]) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(d["created"])).total_seconds()


@st.fragment(run_every=POLL_SECONDS or None)
def _live() -> None:
    if _command() is not None:  # a key press whose page run a fragment run swallowed: run it now
        st.rerun(scope="app")
    recent = [d for d in store.history(run.key) if d["annotator"] != who and _age(d) < RECENT_SECONDS]
    if recent:
        recent.reverse()  # newest first; this sentence's before the rest
        shown_rows = ([d for d in recent if d["sentence"] == sid] + [d for d in recent if d["sentence"] != sid])[:6]
        n_open = len(conflicts(store.history(run.key), include_resolved=False))
        st.caption(f"🔴 Live: {len(recent)} decisions by others in this run in the last {RECENT_SECONDS // 60} "
                   f"minutes · open conflicts now: {n_open}"
                   + "".join(f"  \n{d['sentence']} · {d['entity']}: {describe(d)}"
                             + (" (adjudication)" if d["role"] == "adjudicate" else "")
                             + f" at {d['created'][11:23]}" for d in shown_rows))
    if store.change_counter() != seen and time.monotonic() - st.session_state.get(f"{PAGE}_drawn_at", 0.0) > 6:
        st.rerun(scope="app")  # idle: redraw everything with the new decisions


rec = recs[index[sid]]
tokens = rec["tgt_tokens"]
projected = {entity_key(p): p for p in rec.get("tgt_entities") or []}
labels = sorted({*(run.config.get("labels") or []), *(s["label"] for s in rec.get("gold_entities") or []),
                 *(s["label"] for s in rec.get("tgt_entities") or []), "PER", "ORG", "LOC", "MISC"})

if msg := st.session_state.pop("corrections_msg", None):
    (st.error if msg.startswith("error[") else st.success)(msg)


def decide(entity: str, action: str, span: dict[str, Any] | None = None, *, advance: bool = False,
           role: str = "annotate", sentence: str | None = None) -> bool:
    """Store one decision (committed before this returns); optionally move to the next undecided."""
    target = sentence or sid
    n = len(recs[index[target]]["tgt_tokens"])
    # A rerun that interrupts the run a key press started can replay that press's callback; the same
    # decision from this session within a second is that replay, not a second decision.
    request = (run.key, target, entity, action, json.dumps(span, sort_keys=True, default=int), role)
    last = st.session_state.get(f"{PAGE}_last_request")
    if last is not None and last[0] == request and time.monotonic() - last[1] < 1.0:
        st.session_state["corrections_msg"] = last[2]  # the interrupted run may have eaten the first message
        return True
    try:
        row = store.record(run=run.key, sentence=target, entity=entity, action=action, annotator=who, span=span,
                           n_tokens=n, role=role)
    except XlnerError as exc:
        st.session_state["corrections_msg"] = f"error[{exc.code}]: {exc.message}" + (
            f" (hint: {exc.hint})" if exc.hint else "")
        return False
    st.session_state["corrections_msg"] = (f"Saved: {action} {entity} in {target}"
                                           + (" (adjudication)" if role == "adjudicate" else "") + f" · #{row}")
    st.session_state[f"{PAGE}_last_request"] = (request, time.monotonic(), st.session_state["corrections_msg"])
    st.session_state.pop(f"{PAGE}_fix", None)
    if advance:
        now_mine = {*mine, (target, entity)}
        _go(next_undecided(items, now_mine, after=(target, entity)))
    else:  # stay on this sentence; its next undecided entity becomes current
        rest = [e for s, e in items if s == target and (s, e) not in mine and e != entity]
        if rest:
            st.session_state[ikey] = rest[0]
    return True


def act(action: str) -> None:
    """A / X / F / Space on the current entity."""
    if current is None or current not in projected:
        st.session_state["corrections_msg"] = "Nothing to decide here: no projected entity is current."
        return
    if action == "skip":
        _go(next_undecided(items, {*mine, (sid, current)}, after=(sid, current)))
    elif action == "fix":
        st.session_state[f"{PAGE}_fix"] = current
    else:
        decide(current, action, projected[current] if action == "accept" else None, advance=True)


if (cmd := _command()) is not None:
    st.session_state[f"{PAGE}_cmd_done"] = (str(cmd.get("token")), int(cmd["seq"]))
    if cmd.get("command") == "next":
        _go(next_undecided(items, mine, after=(sid, current) if current else None))
    elif cmd.get("command") in ("accept", "reject", "fix", "skip"):
        act(str(cmd["command"]))
    st.rerun()

_live()  # after the pending key is handled: the fragment must not see it (it would rerun the page forever)

# --- the sentence: gold vs corrected, and the span picker (the current entity outlined) ---------------
view = corrected_spans(rec, mine if who else finals)  # without a name: the final decisions
st.html(token_rows_html(tokens, rec.gold or [], view, projected_name="corrected"))
if rec.get("translation"):
    st.caption(f"English: {rec['translation']}")

shown = []
for p in rec.get("tgt_entities") or []:
    k = entity_key(p)
    d = mine.get((sid, k))
    if d is not None and d["action"] == "reject":
        continue
    span = p if d is None or d["action"] == "accept" else d
    shown.append({"start": int(span["start"]), "end": int(span["end"]), "label": span["label"], "key": k,
                  "state": "" if d is None else d["action"], "current": k == current, "added": False})
shown += [{"start": d["start"], "end": d["end"], "label": d["label"], "key": e, "state": "add", "current": False,
           "added": True} for (s, e), d in mine.items() if s == sid and d["action"] == "add"]
fixing = st.session_state.get(f"{PAGE}_fix")
picked = span_picker(tokens=tokens, spans=shown, labels=labels, colours={lab: label_colour(lab) for lab in labels},
                     direction=text_direction(tokens), annotator=who, key=f"{PAGE}_picker",
                     nonce=f"{run.key}|{sid}|{fixing}", target=fixing,
                     target_text=" ".join(tokens[projected[fixing]["start"]:projected[fixing]["end"]])
                     if fixing in projected else "")
if getattr(picked, "remembered", None) and not who:
    st.session_state["annotator_name"] = str(picked.remembered)
    st.rerun()
if span := getattr(picked, "span", None):
    new = {"start": int(span["start"]), "end": int(span["end"]), "label": str(span["label"])}
    target = span.get("target")
    if target in projected:
        decide(target, "fix", new, advance=target == current)
    else:
        decide(added_key(new["start"], new["end"], new["label"]), "add", new)
    st.rerun()

# --- one key per decision on the current entity -------------------------------------------------------
bar = st.container(horizontal=True)
bar.button("✓ A", key=f"{PAGE}_key_a", on_click=act, args=("accept",),
           help="accept the current entity and go to the next undecided")
bar.button("✗ X", key=f"{PAGE}_key_x", on_click=act, args=("reject",),
           help="reject the current entity and go to the next undecided")
bar.button("✎ F", key=f"{PAGE}_key_f", on_click=act, args=("fix",),
           help="fix the current entity: click its new first and last token, then press 1-9 for its type")
bar.button("⏭ Space", key=f"{PAGE}_key_skip", on_click=act, args=("skip",),
           help="skip: leave it undecided and go to the next undecided")
bar.button("Next undecided · U", key=f"{PAGE}_next_open",
           on_click=lambda: _go(next_undecided(items, mine, after=(sid, current) if current else None)))
bar.button("◀ Previous", key=f"{PAGE}_prev", on_click=ui.step_selection, args=(skey, ids, -1), shortcut="P")
bar.button("Next ▶", key=f"{PAGE}_next", on_click=ui.step_selection, args=(skey, ids, 1), shortcut="N")
if fixing:
    st.info(f"Fixing **{' '.join(tokens[projected[fixing]['start']:projected[fixing]['end']])}**: click the "
            "new first token, then the last, then press its type's number.")
else:
    st.caption("**A** accept · **X** reject · **F** fix · **Space** skip — each moves to the next undecided · "
               "**U** next undecided · **P/N** sentence · click tokens, then **1–9**, to add or adjust a span")

# --- the projected entities of this sentence, each with every annotator's decision -------------------
st.subheader("Projected entities")
if not rec.get("tgt_entities"):
    st.caption("Nothing was projected in this sentence.")
per = by_annotator(rows)
for k, p in enumerate(rec.get("tgt_entities") or []):
    key = entity_key(p)
    said = {name: st_[(sid, key)] for name, st_ in per.items() if (sid, key) in st_}

    state = " · ".join(describe(d) for d in said.values()) or "undecided"
    fin = finals.get((sid, key))
    if fin is not None and fin.get("role") == "adjudicate":
        state += f" · **final: {describe(fin)} (adjudicated)**"
    elif len({(d["action"], d["start"], d["end"], d["label"]) for d in said.values()}) > 1:
        state += " · ⚠ **conflict**"
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns([5, 1, 1, 3])
        marker = "▶ " if key == current else ""
        c1.markdown(f"{marker}**{' '.join(tokens[p['start']:p['end']])}** · {p['label']} [{p['start']}–{p['end']}) · "
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

with st.expander("Add an entity that projection missed (or click its tokens above and press 1–9)"):
    with st.form(f"add_{sid}"):
        c1, c2, c3 = st.columns(3)
        s = c1.number_input("start", 0, len(tokens) - 1, 0, key=f"as_{sid}")
        e = c2.number_input("end (exclusive)", 1, len(tokens), 1, key=f"ae_{sid}")
        lab = c3.selectbox("label", labels, key=f"al_{sid}")
        if st.form_submit_button("Add entity"):
            decide(added_key(int(s), int(e), lab), "add", {"start": s, "end": e, "label": lab})
            st.rerun()

history = store.history(run.key, sid)
st.subheader("History of this sentence")
if history:
    st.dataframe(pd.DataFrame(history)[["id", "created", "annotator", "role", "entity", "action", "start", "end",
                                        "label"]], hide_index=True, width="stretch", key=f"{PAGE}_history")
else:
    st.caption("Nothing decided on this sentence yet.")

# --- several annotators: conflicts, adjudication, agreement, own decisions, assignments ------------
tabs = st.tabs([f"Conflicts ({len(open_conflicts)} open)", "Agreement", "My decisions", "Assignments"])
with tabs[0]:
    if not open_conflicts:
        st.caption("No open conflict: every entity decided by several annotators got the same decision, "
                   "or was adjudicated.")
    for n, c in enumerate(open_conflicts[:30]):
        r = recs[index[c.sentence]] if c.sentence in index else None
        words = " ".join(r["tgt_tokens"][int(c.entity.split("-")[-3]):int(c.entity.split("-")[-2])]) if r else ""
        with st.container(border=True):
            st.markdown(f"**{c.sentence}** · `{c.entity}` {words}")
            cols = st.columns(len(c.decisions) + 1)
            for j, (name, d) in enumerate(c.decisions.items()):
                span = None if d["action"] == "reject" else {x: d[x] for x in ("start", "end", "label")}
                cols[j].markdown(f"{d['action']}" + (f" {d['label']} [{d['start']}–{d['end']})" if span else "")
                                 + f"  \nby {name} · {d['created'][11:23]}")
                cols[j].button(f"Choose {name}'s", key=f"adj_{n}_{j}", on_click=decide,
                               args=(c.entity, d["action"], span), kwargs={"role": "adjudicate",
                                                                           "sentence": c.sentence})
            cols[-1].button("Open", key=f"adj_open_{n}", on_click=_go, args=((c.sentence, c.entity),))
with tabs[1]:
    pairs = agreement(rows)
    if pairs:
        st.dataframe(pd.DataFrame([{"annotators": f"{p.a} / {p.b}", "sentences": p.sentences,
                                    "span F1": None if p.span_f1 is None else round(100 * p.span_f1, 1),
                                    "entities": p.entities,
                                    "agreement %": None if p.observed is None else round(100 * p.observed, 1),
                                    "Cohen's kappa": None if p.kappa is None else round(p.kappa, 3)}
                                   for p in pairs]), hide_index=True, key=f"{PAGE}_agreement")
        st.caption("Span F1: the spans both kept, exactly, in sentences both reviewed. Kappa: keep (accept or fix) "
                   "vs reject on projected entities both decided; empty when undefined. "
                   f"Same as `xlner corrections agreement {store.path}`.")
    else:
        st.caption("Agreement needs two annotators with decisions on this run.")
with tabs[2]:
    if who and mine:
        st.dataframe(pd.DataFrame([{"sentence": s, "entity": e, "decision": f"{d['action']} by {d['annotator']}",
                                    "label": d["label"], "start": d["start"], "end": d["end"],
                                    "when": d["created"]} for (s, e), d in mine.items()]),
                     hide_index=True, key=f"{PAGE}_mine")
    else:
        st.caption("Your decisions on this run show here.")
with tabs[3]:
    current_assign = store.assignments(run.key)
    if current_assign:
        st.dataframe(pd.DataFrame(current_assign)[["annotator", "first", "last", "assigned_by", "created"]],
                     hide_index=True, key=f"{PAGE}_assignments")
    with st.form(f"{PAGE}_assign"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Annotator", key=f"{PAGE}_assign_name")
        first = c2.number_input("From sentence #", 1, len(recs), 1, key=f"{PAGE}_assign_first")
        last = c3.number_input("To sentence # (inclusive)", 1, len(recs), len(recs), key=f"{PAGE}_assign_last")
        if st.form_submit_button("Assign"):
            try:
                store.assign(run=run.key, annotator=name, first=int(first) - 1, last=int(last), assigned_by=who)
                st.rerun()
            except XlnerError as exc:
                ui.show_error(exc)

# --- export ---------------------------------------------------------------------------------------------
st.subheader("Export corrected data")
names = sorted(per)
source = st.selectbox("Decisions", ["final"] + names, key=f"{PAGE}_export_source",
                      format_func=lambda x: "final (agreed or adjudicated)" if x == "final" else f"{x}'s own")
reviewed_only = st.checkbox("Only sentences whose projected entities all have a decision", value=True,
                            key=f"{PAGE}_reviewed_only")
try:
    sentences = corrected_sentences(recs, decisions_for(rows, None if source == "final" else source),
                                    reviewed_only=reviewed_only)
except XlnerError as exc:
    ui.show_error(exc)
    sentences = None
if sentences is not None:
    st.caption(f"{len(sentences)} sentences · {len(rows)} decisions in `{store.path}` · Hugging Face datasets and "
               f"spaCy: `xlner corrections export {store.path} --run RUN_DIR --format hf|spacy -o OUT`")
    c1, c2 = st.columns(2)
    stem = run.key.replace("/", "_")
    # the files are built when a button is pressed, not on every rerun (every key press reruns the page)
    c1.download_button("CoNLL (token TAG)", (lambda: to_conll(sentences)) if sentences else "",
                       file_name=f"{stem}.corrected.conll", mime="text/plain", disabled=not sentences,
                       key=f"{PAGE}_dl_conll")
    c2.download_button("JSON lines (tokens, tags)", (lambda: to_jsonl(sentences)) if sentences else "",
                       file_name=f"{stem}.corrected.jsonl", mime="application/json", disabled=not sentences,
                       key=f"{PAGE}_dl_jsonl")

st.session_state[f"{PAGE}_drawn_at"] = time.monotonic()  # idleness counts from the end of this run
