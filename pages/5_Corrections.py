"""Corrections: review projected entities one key at a time, with several annotators; every decision is kept.

The review queue walks the projected entities (run order, lowest score, error category, the errors of
one pipeline stage); A / X / F / Space accept, reject, fix or skip the current one and move to the next
undecided. Spans are marked by pointing at tokens. Each annotator's decisions are their own;
disagreements are conflicts that an adjudicator settles; agreement per pair; exports for training.

Speed: the review is a fragment. A key (or a picked span, or a button) is handled at the top of the
fragment's run, before anything is drawn, so one decision costs one run of the fragment only — not
of the page. The tabs are drawn lazily: only the open one runs.
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
from xlner.corrections.queue import (ORDERS, PAGE_ORDERS, Item, assigned_positions, next_undecided,
                                     order_sentences, progress, queue_items)
from xlner.corrections.resolve import annotator_view, by_annotator, conflicts, final
from xlner.corrections.store import added_key
from xlner.errors import XlnerError
from xlner.explorer import loading, ui
from xlner.explorer.components import pending_commands, span_picker
from xlner.explorer.corrections import (CorrectionStore, corrected_sentences, corrected_spans, default_db_path,
                                        describe, entity_key, entity_labels, picker_spans, to_conll, to_jsonl)
from xlner.explorer.figures import label_colour, text_direction, token_rows_html
from xlner.record import RunRecord

PAGE = "corrections"
SKEY, IKEY, ITEM_SID = f"{PAGE}_sid", f"{PAGE}_item", f"{PAGE}_item_sid"
FIX, PICKER, CMD_DONE = f"{PAGE}_fix", f"{PAGE}_picker", f"{PAGE}_cmd_done"
PRESSED, ADJUDICATE, OPEN_ITEM = f"{PAGE}_pressed", f"{PAGE}_adjudicate", f"{PAGE}_open_item"
TAB, SEEN, DRAWN_AT = f"{PAGE}_tab", f"{PAGE}_seen", f"{PAGE}_drawn_at"
REVIEWING, LAST_SAVED = f"{PAGE}_review_unfinished", f"{PAGE}_last_saved"
TABS = ["Review", "Conflicts", "Agreement", "My decisions", "Assignments", "Export"]
POLL_SECONDS = float(os.environ.get("XLNER_CORRECTIONS_POLL", "2"))  # 0: no live updates
RECENT_SECONDS = 120

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


who: str = st.sidebar.text_input("Your name (stored with each decision)", key="annotator",
                                 on_change=_keep_name).strip()
st.sidebar.caption("Remembered in the page address (`?annotator=`) and in this browser.")

top = st.columns([5, 4])
run = ui.run_picker(all_runs, PAGE, fresh, where=top[0])
if run is None:
    st.stop()
try:
    recs, index = ui.records(run)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()

# Orders from the gold standard (error category, per-stage attribution) only where the run has gold.
orders = PAGE_ORDERS if any(r.gold is not None for r in recs) else ["run", "score"]
order = top[1].selectbox("Review order", orders, format_func=ORDERS.get, key=f"{PAGE}_order")


@st.cache_data(show_spinner="Ordering the queue…", max_entries=64)
def _ordered(path: str, fingerprint: tuple, order: str, _records: list[RunRecord]) -> list[str]:
    return order_sentences(_records, order)  # per-stage attribution runs over every record: once per run


# An assignment limits an annotator's queue to their sentence ranges (positions in the run's order).
allowed = assigned_positions(store.assignments(run.key), who) if who else None
position = {r.id: i for i, r in enumerate(recs)}
ids = [s for s in _ordered(str(run.path), loading.records_fingerprint(run.path), order, recs)
       if allowed is None or position[s] in allowed] or [r.id for r in recs]
items = queue_items(recs, ids)

wanted = st.session_state.get("sel_sentence")
if st.session_state.get(f"{PAGE}_order_seen", order) != order:  # a new order starts at its first undecided
    first_open = next_undecided(items, annotator_view(store.history(run.key), who) if who else {})
    wanted = first_open[0] if first_open else ids[0]
    fresh = True
st.session_state[f"{PAGE}_order_seen"] = order
if wanted in index and wanted not in ids:  # a deep link always opens its sentence
    ids = [wanted, *ids]
if fresh or st.session_state.get(SKEY) not in ids:
    st.session_state[SKEY] = wanted if wanted in ids else ids[0]


# --- decisions -------------------------------------------------------------------------------------

def _message(text: str) -> None:
    st.session_state["corrections_msg"] = text


def decide(sentence: str, entity: str, action: str, span: dict[str, Any] | None = None, *,
           role: str = "annotate") -> bool:
    """Store one decision (committed before this returns) and say so: the acknowledgement names the row."""
    # A rerun that interrupts the run a key press started can replay that press; the same decision
    # from this session within a second is that replay, not a second decision.
    request = (run.key, sentence, entity, action, json.dumps(span, sort_keys=True, default=int), role)
    last = st.session_state.get(f"{PAGE}_last_request")
    if last is not None and last[0] == request and time.monotonic() - last[1] < 1.0:
        st.session_state[LAST_SAVED] = last[2]
        return True
    try:
        row = store.record(run=run.key, sentence=sentence, entity=entity, action=action, annotator=who, span=span,
                           n_tokens=len(recs[index[sentence]].tgt_tokens), role=role)
    except XlnerError as exc:
        _message(f"error[{exc.code}]: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else ""))
        return False
    saved = f"Saved: {action} {entity} in {sentence}" + (" (adjudication)" if role == "adjudicate" else "") + f" · #{row}"
    st.session_state[LAST_SAVED] = saved  # shown until the next decision: an acknowledgement cannot be missed
    st.session_state[f"{PAGE}_last_request"] = (request, time.monotonic(), saved)
    return True


def _go(item: Item | None) -> None:
    """Make ``item`` current and its sentence the shown one (called before the sentence box is drawn)."""
    st.session_state.pop(FIX, None)
    if item is not None:
        st.session_state[SKEY], st.session_state[IKEY] = item
        st.session_state[ITEM_SID] = item[0]


def _press(action: str, entity: str | None = None) -> None:
    """A button's click: handled at the top of the review's next run, like a key."""
    st.session_state[PRESSED] = {"command": action, "entity": entity}


def _commands() -> list[dict[str, Any]]:
    """The keys pressed (or spans picked) in this browser and not handled yet, oldest first."""
    try:
        state = st.session_state[PICKER]
    except (KeyError, AttributeError):
        return []
    return pending_commands(state, st.session_state.get(CMD_DONE))


def _mark_handled(commands: list[dict[str, Any]]) -> None:
    if commands:
        st.session_state[CMD_DONE] = (str(commands[-1]["token"]), int(commands[-1]["seq"]))


def _take_inputs() -> list[dict[str, Any]]:
    """This run's inputs: the picker's commands, else a button's click."""
    commands = _commands()
    if commands:
        return commands
    pressed = st.session_state.pop(PRESSED, None)
    return [pressed] if pressed is not None else []


def _handle(cmd: dict[str, Any], mine: dict[Item, dict[str, Any]]) -> None:
    """Apply one key, span or button to the store and the selection, before anything is drawn."""
    # the current entity's own sentence, not the sentence box's value: a rerun the browser asked for
    # before the last run's result arrived carries the box's previous value
    sid: str = st.session_state.get(ITEM_SID) or st.session_state[SKEY]
    current: str | None = st.session_state.get(IKEY)
    rec = recs[index[sid]]
    projected = {entity_key(p.span): p.span for p in rec.projection.projected}
    action = str(cmd.get("command"))
    entity = cmd.get("entity") or current
    if action == "next":
        _go(next_undecided(items, mine, after=(sid, current) if current else None))
    elif action == "skip":
        _go(next_undecided(items, {*mine, (sid, current)}, after=(sid, current)) if current else None)
    elif action == "span":
        span = cmd.get("span") or {}
        new = {"start": int(span["start"]), "end": int(span["end"]), "label": str(span["label"])}
        target = span.get("target")
        if target in projected:
            if decide(sid, target, "fix", new) and target == current:
                _go(next_undecided(items, {*mine, (sid, target)}, after=(sid, target)))
        else:
            decide(sid, added_key(new["start"], new["end"], new["label"]), "add", new)
        st.session_state.pop(FIX, None)
    elif entity is None or entity not in projected:
        _message("Nothing to decide here: no projected entity is current.")
    elif action == "fix":
        st.session_state[FIX] = st.session_state[IKEY] = entity
    elif action in ("accept", "reject"):
        span_kept = projected[entity].to_dict() if action == "accept" else None
        if decide(sid, entity, action, span_kept):
            if cmd.get("entity") is None:  # a key (or its bar button): the queue moves on to the next undecided
                _go(next_undecided(items, {*mine, (sid, entity)}, after=(sid, entity)))
            else:  # an entity's own button: stay on this sentence
                st.session_state.pop(FIX, None)


# --- the review: one fragment, one run per decision -------------------------------------------------

def _first_open(sid: str, mine: dict[Item, dict[str, Any]]) -> str | None:
    keys = [e for s, e in items if s == sid]
    return next((e for e in keys if (sid, e) not in mine), keys[0] if keys else None)


@st.fragment
def review() -> None:
    # Another fragment's rerun (the live poll) can preempt this run at any element; a run that handled a
    # key but was cut off before drawing leaves this flag set, and the poll then redraws the page.
    st.session_state[REVIEWING] = True
    rows = store.history(run.key)
    mine = annotator_view(rows, who) if who else {}
    for cmd in _take_inputs():  # keys pressed faster than the page runs come together, in order
        if "seq" in cmd:  # a picker command: handled at most once, even if this run is cut short
            _mark_handled([cmd])
        _handle(cmd, mine)
        rows = store.history(run.key)
        mine = annotator_view(rows, who) if who else {}
    st.session_state[SEEN] = max(int(d["id"]) for d in rows) if rows else 0
    finals = final(rows)

    sid = st.selectbox(f"Sentence ({len(ids)} in the queue)", ids, key=SKEY,
                       format_func=lambda s: f"{s} — {' '.join(recs[index[s]].tgt_tokens)[:60]}")
    if st.session_state.get(ITEM_SID) != sid:  # another sentence: its first undecided entity is current
        st.session_state[IKEY] = _first_open(sid, mine)
        st.session_state[ITEM_SID] = sid
        st.session_state.pop(FIX, None)
    current: str | None = st.session_state.get(IKEY)
    st.session_state["sel_sentence"] = sid
    ui.write_url(PAGE, {"run": run.key, "dataset": run.dataset, "sentence": sid, "annotator": who})

    done, total = progress(items, mine)
    final_done, _ = progress(items, finals)
    n_open = len(conflicts(rows, include_resolved=False))
    st.progress(done / total if total else 1.0,
                text=f"**{done} of {total}** entities reviewed by {who or 'you (type your name in the sidebar)'} · "
                     f"{final_done} final · {n_open} open conflicts"
                     + (" · your assigned sentences only" if allowed is not None else ""))
    # A refusal or a note shows until a run of the review has been drawn to its end; the last saved
    # decision (the acknowledgement, with its row number) stays until the next one.
    if msg := st.session_state.get("corrections_msg"):
        (st.error if msg.startswith("error[") else st.info)(msg)
    elif saved := st.session_state.get(LAST_SAVED):
        st.success(saved)

    rec = recs[index[sid]]
    tokens = rec.tgt_tokens
    projected = {entity_key(p.span): p for p in rec.projection.projected}
    st.html(token_rows_html(tokens, rec.gold or [], corrected_spans(rec, mine if who else finals),
                            projected_name="corrected"))
    if rec.translation:
        st.caption(f"English: {rec.translation}")

    labels = entity_labels(rec, run.config.get("labels") or [])
    fixing = st.session_state.get(FIX)
    fixing_text = " ".join(tokens[projected[fixing].span.start:projected[fixing].span.end]) if fixing in projected else ""
    picked = span_picker(tokens=tokens, spans=picker_spans(rec, mine, current), labels=labels,
                         colours={lab: label_colour(lab) for lab in labels}, direction=text_direction(tokens),
                         annotator=who, key=PICKER, nonce=f"{run.key}|{sid}|{fixing}", target=fixing,
                         target_text=fixing_text, acked=st.session_state.get(CMD_DONE))
    if getattr(picked, "remembered", None) and not who:
        st.session_state["annotator_name"] = str(picked.remembered)
        st.rerun(scope="app")

    # One key per decision on the current entity; text labels and Material icons (served by
    # Streamlit itself), because a glyph such as ⏭ has no font in a bare Debian chromium.
    bar = st.container(horizontal=True)
    bar.button("Accept · A", key=f"{PAGE}_key_a", icon=":material/check:", on_click=_press, args=("accept",),
               help="accept the current entity and go to the next undecided")
    bar.button("Reject · X", key=f"{PAGE}_key_x", icon=":material/close:", on_click=_press, args=("reject",),
               help="reject the current entity and go to the next undecided")
    bar.button("Fix · F", key=f"{PAGE}_key_f", icon=":material/edit:", on_click=_press, args=("fix",),
               help="fix the current entity: click its new first and last token, then press 1-9 for its type")
    bar.button("Skip · Space", key=f"{PAGE}_key_skip", icon=":material/redo:", on_click=_press, args=("skip",),
               help="skip: leave it undecided and go to the next undecided")
    bar.button("Next undecided · U", key=f"{PAGE}_next_open", on_click=_press, args=("next",))
    bar.button("Previous · P", key=f"{PAGE}_prev", on_click=ui.step_selection, args=(SKEY, ids, -1), shortcut="P")
    bar.button("Next · N", key=f"{PAGE}_next", on_click=ui.step_selection, args=(SKEY, ids, 1), shortcut="N")
    if fixing in projected:
        st.info(f"Fixing **{fixing_text}**: click the new first token, then the last, then press its type's number.")
    else:
        st.caption("**A** accept · **X** reject · **F** fix · **Space** skip — each moves to the next undecided · "
                   "**U** next undecided · **P/N** sentence · click tokens, then **1–9**, to add or adjust a span")

    st.subheader("Projected entities")
    if not projected:
        st.caption("Nothing was projected in this sentence: click its tokens above and press 1–9 to add one.")
    per = by_annotator(rows)
    for k, (key, p) in enumerate(projected.items()):
        said = {name: states[(sid, key)] for name, states in per.items() if (sid, key) in states}
        state = " · ".join(describe(d) for d in said.values()) or "undecided"
        fin = finals.get((sid, key))
        if fin is not None and fin.get("role") == "adjudicate":
            state += f" · **final: {describe(fin)} (adjudicated)**"
        elif len({(d["action"], d["start"], d["end"], d["label"]) for d in said.values()}) > 1:
            state += " · ⚠ **conflict**"
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            marker = "▶ " if key == current else ""
            st.markdown(f"{marker}**{' '.join(tokens[p.span.start:p.span.end])}** · {p.span.label} "
                        f"[{p.span.start}–{p.span.end}) · score {p.score:.3f}  \n*{state}*", width="stretch")
            st.button("Accept", key=f"acc_{sid}_{k}", on_click=_press, args=("accept", key))
            st.button("Reject", key=f"rej_{sid}_{k}", on_click=_press, args=("reject", key))
            st.button("Fix", key=f"fix_{sid}_{k}", on_click=_press, args=("fix", key),
                      help="then click the new first and last token and press the type's number")

    history = [d for d in rows if d["sentence"] == sid]
    with st.expander(f"History of this sentence ({len(history)} decisions)"):
        if history:
            st.dataframe(pd.DataFrame(history)[["id", "created", "annotator", "role", "entity", "action", "start",
                                                "end", "label"]], hide_index=True, width="stretch")
        else:
            st.caption("Nothing decided on this sentence yet.")
    st.session_state[DRAWN_AT] = time.monotonic()  # idleness counts from the end of this run
    st.session_state[REVIEWING] = False
    st.session_state.pop("corrections_msg", None)


# --- other annotators: a polling line, and a redraw once idle -----------------------------------------

def _age(d: dict[str, Any]) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(d["created"])).total_seconds()


@st.fragment(run_every=POLL_SECONDS or None)
def live() -> None:
    """Other annotators' decisions in this run in the last two minutes (this sentence first), polled
    every few seconds; the open tab redraws once something changed and you have been idle for 6 s."""
    if st.session_state.get(TAB, TABS[0]) == TABS[0] and (_commands() or st.session_state.get(REVIEWING)):
        st.rerun(scope="app")  # a key press whose run a poll swallowed or cut short: run and draw it now
    rows = store.history(run.key)
    sid = st.session_state.get(SKEY)
    recent = [d for d in rows if d["annotator"] != who and _age(d) < RECENT_SECONDS]
    if recent:
        recent.reverse()  # newest first; this sentence's before the rest
        shown_rows = ([d for d in recent if d["sentence"] == sid] + [d for d in recent if d["sentence"] != sid])[:6]
        n_open = len(conflicts(rows, include_resolved=False))
        st.caption(f":material/sensors: Live: {len(recent)} decisions by others in this run in the last {RECENT_SECONDS // 60} "
                   f"minutes · open conflicts now: {n_open}"
                   + "".join(f"  \n{d['sentence']} · {d['entity']}: {describe(d)}"
                             + (" (adjudication)" if d["role"] == "adjudicate" else "")
                             + f" at {d['created'][11:23]}" for d in shown_rows))
    newest = max(int(d["id"]) for d in rows) if rows else 0
    if newest != st.session_state.get(SEEN) and time.monotonic() - st.session_state.get(DRAWN_AT, 0.0) > 6:
        st.rerun(scope="app")  # idle: redraw with the new decisions


# --- the tabs: only the open one runs ------------------------------------------------------------------

@st.fragment
def conflicts_tab() -> None:
    if (choice := st.session_state.pop(ADJUDICATE, None)) is not None:
        if decide(*choice, role="adjudicate"):
            st.success(st.session_state[LAST_SAVED])
    if msg := st.session_state.pop("corrections_msg", None):
        st.error(msg)
    if st.session_state.pop(OPEN_ITEM, None):
        st.rerun(scope="app")  # the Review tab with that entity current
    rows = store.history(run.key)
    st.session_state[SEEN] = max(int(d["id"]) for d in rows) if rows else 0
    open_conflicts = conflicts(rows, include_resolved=False)
    st.markdown(f"**{len(open_conflicts)} open conflicts** in this run")
    if not open_conflicts:
        st.caption("No open conflict: every entity decided by several annotators got the same decision, "
                   "or was adjudicated.")
    for n, c in enumerate(open_conflicts[:30]):
        r = recs[index[c.sentence]] if c.sentence in index else None
        s, e = (int(x) for x in c.entity.split("-")[-3:-1])
        with st.container(border=True):
            st.markdown(f"**{c.sentence}** · `{c.entity}` {' '.join(r.tgt_tokens[s:e]) if r else ''}")
            cols = st.columns(len(c.decisions) + 1)
            for j, (name, d) in enumerate(c.decisions.items()):
                span = None if d["action"] == "reject" else {x: d[x] for x in ("start", "end", "label")}
                cols[j].markdown(f"{d['action']}" + (f" {d['label']} [{d['start']}–{d['end']})" if span else "")
                                 + f"  \nby {name} · {d['created'][11:23]}")
                cols[j].button(f"Choose {name}'s", key=f"adj_{n}_{j}", on_click=st.session_state.__setitem__,
                               args=(ADJUDICATE, (c.sentence, c.entity, d["action"], span)))
            cols[-1].button("Open", key=f"adj_open_{n}", on_click=_open, args=((c.sentence, c.entity),))
    st.session_state[DRAWN_AT] = time.monotonic()


def _open(item: Item) -> None:
    _go(item)
    st.session_state[TAB] = TABS[0]
    st.session_state[OPEN_ITEM] = True


def agreement_tab() -> None:
    pairs = agreement(store.history(run.key))
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


def mine_tab() -> None:
    mine = annotator_view(store.history(run.key), who) if who else {}
    if mine:
        counts = pd.Series([d["action"] for d in mine.values()]).value_counts()
        st.caption(f"{who}'s decisions on this run: {len(mine)} ("
                   + ", ".join(f"{n} {action}" for action, n in counts.items()) + "), the latest per entity")
        st.dataframe(pd.DataFrame([{"sentence": s, "entity": e, "decision": describe(d), "label": d["label"],
                                    "start": d["start"], "end": d["end"], "when": d["created"]}
                                   for (s, e), d in mine.items()]), hide_index=True, key=f"{PAGE}_mine")
    else:
        st.caption("Your decisions on this run show here.")


def assignments_tab() -> None:
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


def export_tab() -> None:
    rows = store.history(run.key)
    names = sorted(by_annotator(rows))
    source = st.selectbox("Decisions", ["final"] + names, key=f"{PAGE}_export_source",
                          format_func=lambda x: "final (agreed or adjudicated)" if x == "final" else f"{x}'s own")
    reviewed_only = st.checkbox("Only sentences whose projected entities all have a decision", value=True,
                                key=f"{PAGE}_reviewed_only")
    try:
        sentences = corrected_sentences(recs, decisions_for(rows, None if source == "final" else source),
                                        reviewed_only=reviewed_only)
    except XlnerError as exc:
        ui.show_error(exc)
        return
    st.caption(f"{len(sentences)} sentences · {len(rows)} decisions in `{store.path}` · Hugging Face datasets and "
               f"spaCy: `xlner corrections export {store.path} --run RUN_DIR --format hf|spacy -o OUT`")
    c1, c2 = st.columns(2)
    stem = run.key.replace("/", "_")
    # the files are built when a button is pressed, not on every run
    c1.download_button("CoNLL (token TAG)", (lambda: to_conll(sentences)) if sentences else "",
                       file_name=f"{stem}.corrected.conll", mime="text/plain", disabled=not sentences,
                       key=f"{PAGE}_dl_conll")
    c2.download_button("JSON lines (tokens, tags)", (lambda: to_jsonl(sentences)) if sentences else "",
                       file_name=f"{stem}.corrected.jsonl", mime="application/json", disabled=not sentences,
                       key=f"{PAGE}_dl_jsonl")


rows_now = store.history(run.key)
st.session_state[SEEN] = max(int(d["id"]) for d in rows_now) if rows_now else 0  # what this run draws
live_box = st.container()  # above the tabs, filled after them (a key press must be handled first)
tabs = st.tabs(TABS, key=TAB, on_change="rerun")
for tab, draw in zip(tabs, (review, conflicts_tab, agreement_tab, mine_tab, assignments_tab, export_tab)):
    if tab.open:
        with tab:
            draw()
if not tabs[0].open:  # keys meant for the review, pressed as the tab closed: dropped, not replayed later
    _mark_handled(_commands())
st.session_state[DRAWN_AT] = time.monotonic()
with live_box:
    live()
