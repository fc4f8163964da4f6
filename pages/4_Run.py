"""Run: project typed sentences (the app's worker, models kept loaded) or a dataset file (a background
`xlner pipeline translate-test`), watch it at the top of the page, open the result."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import jobs, loading, ui
from xlner.explorer.inspect import ROWS_CSS, marked_html
from xlner.explorer.reproject import available_methods
from xlner.runs import read_records

PAGE = "run"
TYPED, FILE = "Typed sentence", "Dataset file"
ui.page_setup("Run", "▶️")
ui.sidebar()
ss = st.session_state

st.title("Run the pipeline")
runs_root = loading.user_runs_root()
shared_data = loading.PROJECT_ROOT.parent / "shared" / "data"
methods = list(available_methods()) or ["match-greedy", "match-exact", "heuristic", "largest-group"]
methods.sort(key=lambda m: m != "match-greedy")  # the offline profile's default first
profiles = jobs.profile_names()


def _escape(text: str) -> str:
    """Plain text for st.error / st.caption: markdown characters escaped, line breaks kept, so an
    error wraps like prose instead of scrolling sideways in a code box."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~$])", r"\\\1", text).replace("\n", "  \n")


def _error_box(exc: XlnerError) -> None:
    st.error(_escape(exc.render()), icon=":material/error:")


def _start() -> None:
    """The form's submit callback: runs before the page is drawn, so the new job shows at the top."""
    ss.pop(f"{PAGE}_error", None)
    profile = ss.get(f"{PAGE}_profile") or "offline"
    method = ss.get(f"{PAGE}_method") or methods[0]
    name = (ss.get(f"{PAGE}_name") or "").strip() or None
    try:
        if ss.get(f"{PAGE}_mode", TYPED) == TYPED:
            job_id = jobs.start_typed_job(runs_root=runs_root, text=ss.get(f"{PAGE}_text") or "",
                                          lang=ss.get(f"{PAGE}_lang") or "", profile=profile, method=method, name=name)
        else:
            data = ((ss.get(f"{PAGE}_path") or "").strip() or ss.get(f"{PAGE}_known") or "").strip()
            lang = (ss.get(f"{PAGE}_file_lang") or "").strip() or (jobs.guess_lang(data) if data else "")
            limit = int(ss.get(f"{PAGE}_limit") or 0) or None
            job_id = jobs.start_job(runs_root=runs_root, data=data or None, lang=lang, profile=profile,
                                    method=method, name=name, limit=limit)
    except XlnerError as exc:
        ss[f"{PAGE}_error"] = exc
        return
    ss[f"{PAGE}_job"] = job_id
    st.query_params["job"] = job_id


def _focus() -> str | None:
    job_id = st.query_params.get("job") or ss.get(f"{PAGE}_job")
    return job_id if job_id in jobs.list_jobs(runs_root) else None


def _describe(status: jobs.JobStatus) -> str:
    meta = status.meta
    what = "typed sentence" if meta.get("worker") else Path(str(meta.get("data") or "")).name
    return f"**{status.id}** · {what} · {meta.get('lang')} · {meta.get('profile')} · {meta.get('method')}"


def _typed_result(status: jobs.JobStatus) -> None:
    """The projection of each typed sentence, right where the user is looking (no gold: no scores)."""
    try:
        records = read_records(Path(status.run_dir) / "records.jsonl")
    except XlnerError as exc:
        _error_box(exc)
        return
    rows = []
    for r in records[:10]:
        rows.append(f'<div class="xl-ctx xl-typed" dir="auto">{marked_html(r.tgt_tokens, r.projected_spans())}'
                    f'<div dir="ltr" style="color:#6b7280;font-size:0.9em">English: '
                    f'{marked_html(r.src_tokens, r.src_spans)}</div></div>')
    more = f"<p>… and {len(records) - 10} more on the Sentences page.</p>" if len(records) > 10 else ""
    st.html(ROWS_CSS + '<div class="xl-typed-projection">' + "".join(rows) + more + "</div>")


def _show(status: jobs.JobStatus, *, top: bool) -> None:
    """One job: progress while it runs, the error when it failed, the link to its sentences when done."""
    if status.state == "running":
        worker = jobs.worker_state(runs_root) if status.meta.get("worker") else None
        step = status.step or ("loading the models (first run)" if worker and worker.get("busy") == "loading models"
                               else "starting")
        st.progress(status.fraction, text=f"{_describe(status)} — {step}: {status.fraction:.0%}")
        if top and status.message:
            st.caption(_escape(status.message[-300:]))
    elif status.state == "finished":
        st.success(f"{_describe(status)} — finished.", icon=":material/check_circle:")
        if top and status.meta.get("worker"):
            _typed_result(status)
        st.page_link("pages/2_Sentences.py", label=f"Open the sentences of {status.id}", icon=":material/translate:",
                     query_params={"run": Path(status.run_dir).name})
    else:
        st.error(f"{_describe(status)} — {status.state}:  \n" + _escape(status.message), icon=":material/error:")


def _announce(status: jobs.JobStatus) -> None:
    """A toast once when a job this session watches ends (also when the user looks elsewhere)."""
    told = ss.setdefault(f"{PAGE}_told", set())
    if status.done and status.id not in told:
        told.add(status.id)
        st.toast(f"Run {status.id} {status.state}",
                 icon=":material/check_circle:" if status.state == "finished" else ":material/error:")


def _poll(job_id: str) -> None:
    status = jobs.job_status(runs_root, job_id)
    if status.done:
        st.rerun(scope="app")
    _show(status, top=True)


@st.fragment(run_every=0.25)
def _live_typed(job_id: str) -> None:
    """A typed sentence takes seconds: polled four times a second, so its result shows at once."""
    _poll(job_id)


@st.fragment(run_every=1.0)
def _live(job_id: str) -> None:
    """Polls a dataset job once a second; the page reruns when it ends (then nothing polls)."""
    _poll(job_id)


# --- the top of the page: what was just started ---------------------------------------------------
top = st.container()
with top:
    if f"{PAGE}_error" in ss:
        _error_box(ss[f"{PAGE}_error"])
    focus = _focus()
    if focus is not None:
        try:
            current = jobs.job_status(runs_root, focus)
        except XlnerError as exc:
            _error_box(exc)
        else:
            if current.state == "running":
                ss.setdefault(f"{PAGE}_told", set()).discard(focus)
                (_live_typed if current.meta.get("worker") else _live)(focus)
            else:
                if current.id in ss.get(f"{PAGE}_watching", set()):
                    _announce(current)
                _show(current, top=True)
            ss.setdefault(f"{PAGE}_watching", set()).add(focus)

# --- the form -------------------------------------------------------------------------------------
mode = st.radio("Input", [TYPED, FILE], horizontal=True, key=f"{PAGE}_mode")
c1, c2 = st.columns(2)
profile = c1.selectbox("Profile", profiles, key=f"{PAGE}_profile")
method = c2.selectbox("Projection method", methods, key=f"{PAGE}_method")
try:
    languages = jobs.translator_languages(profile)
    limit = jobs.profile_settings(profile)["max_words"]
except XlnerError as exc:
    _error_box(exc)
    st.stop()

with st.form(f"{PAGE}_form", border=True):
    if mode == TYPED:
        st.text_area("Sentences in the target language, one per line (no gold: nothing is scored)",
                     key=f"{PAGE}_text", placeholder="Bilboko alkatea Madrilera joan da.",
                     help=f"At most {limit} words per sentence (the {profile} profile's limit)." if limit else None)
    else:
        data_files = jobs.known_data_files([loading.PROJECT_ROOT / "assets", shared_data])
        st.selectbox("Known data files", [""] + [str(p) for p in data_files], key=f"{PAGE}_known",
                     format_func=lambda p: p or "(type a path below)")
        st.text_input("…or a path to a CoNLL / JSON-lines file with gold tags", key=f"{PAGE}_path")
    c3, c4, c5 = st.columns([2, 1, 2])
    lang_key = f"{PAGE}_lang" if mode == TYPED else f"{PAGE}_file_lang"  # a file's is guessed from its path
    if languages is None:  # a model translator: any language it knows
        c3.text_input("Language code", key=lang_key, placeholder="eu, es, swa…")
    else:
        codes = ([""] if mode == FILE else []) + list(languages)
        if ss.get(lang_key) not in codes:  # the demo's language first
            ss[lang_key] = "" if mode == FILE else ("eu" if "eu" in codes else codes[0])
        c3.selectbox("Language (installed translators into English)", codes, key=lang_key,
                     format_func=lambda c: (f"{c} — {jobs.LANGUAGE_NAMES.get(c, c)} · {languages[c]}" if c
                                            else "(guess from the path)"))
    if mode == FILE:
        c4.number_input("First N sentences (0 = all)", 0, 1_000_000, 0, step=50, key=f"{PAGE}_limit")
    c5.text_input("Run name (optional)", key=f"{PAGE}_name", placeholder="e.g. eu-news-greedy")
    st.form_submit_button("Start", type="primary", on_click=_start)

if mode == TYPED:
    lang = ss.get(f"{PAGE}_lang") or ""
    state = jobs.worker_state(runs_root)
    if state is None:  # start the worker now and let it load this language's models while the user types
        jobs.ensure_worker(runs_root, warm={"lang": lang, "profile": profile} if lang else None)
        state = {}
    loaded = state.get("loaded") or {}
    ready = any(k.split()[:3] == ["translator", str(jobs.profile_settings(profile)["translator"].get("name")), lang]
                for k in loaded) and any(k.startswith("aligner") for k in loaded)
    if ready:
        st.caption(f"Models loaded ({state.get('load_seconds', 0):.0f} s when first loaded): a typed sentence "
                   "takes a few seconds.")
    else:
        busy = " (loading now)" if state.get("busy") == "loading models" else ""
        st.caption(f"The first run loads the models{busy} — translator, English NER and aligner, 10–40 s on this "
                   "machine; they stay loaded, so later runs take a few seconds.")
else:
    st.caption(f"Dataset runs are written to `{runs_root}` (set `XLNER_USER_RUNS` to change it) by a background "
               "`xlner pipeline translate-test` process: you can leave this page and come back.")

# --- earlier jobs ---------------------------------------------------------------------------------
earlier = [j for j in jobs.list_jobs(runs_root) if j != focus][:10]
if earlier:
    st.subheader("Runs started here")
    for job_id in earlier:
        try:
            status = jobs.job_status(runs_root, job_id)
        except XlnerError as exc:
            _error_box(exc)
            continue
        with st.container(border=True):
            _show(status, top=False)
