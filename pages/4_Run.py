"""Run: start `xlner pipeline translate-test` on a dataset or a typed sentence, watch it, find the result."""

from pathlib import Path

import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import jobs, loading, ui
from xlner.explorer.reproject import available_methods

PAGE = "run"
ui.page_setup("Run", "▶️")
ui.sidebar()

st.title("Run the pipeline")
runs_root = loading.user_runs_root()
st.caption(f"New runs are written to `{runs_root}` (set `XLNER_USER_RUNS` to change it) by a background "
           "`xlner pipeline translate-test` process: you can leave this page and come back.")

shared_data = loading.PROJECT_ROOT.parent / "shared" / "data"
data_files = jobs.known_data_files([loading.PROJECT_ROOT / "assets", shared_data])
methods = list(available_methods()) or ["match-greedy", "match-exact", "heuristic", "largest-group"]
methods.sort(key=lambda m: m != "match-greedy")  # the offline profile's default first

mode = st.radio("Input", ["Dataset file", "Custom sentence"], horizontal=True, key=f"{PAGE}_mode")
with st.form(f"{PAGE}_form"):
    if mode == "Dataset file":
        choice = st.selectbox("Known data files", [""] + [str(p) for p in data_files], key=f"{PAGE}_known",
                              format_func=lambda p: p or "(type a path below)")
        typed = st.text_input("…or a path to a CoNLL / JSON-lines file with gold tags", key=f"{PAGE}_path")
        text = None
    else:
        text = st.text_area("Sentence in the target language", key=f"{PAGE}_text",
                            placeholder="Bilboko alkatea Madrilera joan da.")
        choice = typed = ""
    c1, c2, c3 = st.columns(3)
    lang = c1.text_input("Language code", key=f"{PAGE}_lang", placeholder="eu, es, swa… (guessed from the path)")
    profile = c2.selectbox("Profile", jobs.profile_names(), key=f"{PAGE}_profile")
    method = c3.selectbox("Projection method", methods, key=f"{PAGE}_method")
    c4, c5 = st.columns([1, 2])
    limit = c4.number_input("First N sentences (0 = all)", 0, 1_000_000, 0, step=50, key=f"{PAGE}_limit")
    name = c5.text_input("Run name (optional)", key=f"{PAGE}_name", placeholder="e.g. eu-news-greedy")
    submitted = st.form_submit_button("Start run", type="primary")

if submitted:
    data = (typed or choice or "").strip()
    lang_code = lang.strip() or (jobs.guess_lang(data) if data else "")
    try:
        job_id = jobs.start_job(runs_root=runs_root, data=data or None, lang=lang_code, profile=profile,
                                method=method, custom_text=text, name=name.strip() or None,
                                limit=int(limit) or None)
    except XlnerError as exc:
        ui.show_error(exc)
    else:
        st.session_state["run_last_job"] = job_id
        st.query_params["job"] = job_id
        st.success(f"Started run `{job_id}`.")


@st.fragment(run_every=1.0)
def job_list() -> None:
    """Polls the jobs on disk once a second; a finished run is picked up by every page."""
    ids = jobs.list_jobs(runs_root)
    focus = st.query_params.get("job")
    if focus in ids:  # the job this link points at first
        ids.remove(focus)
        ids.insert(0, focus)
    if not ids:
        st.caption("No runs started from here yet.")
        return
    for job_id in ids[:10]:
        try:
            status = jobs.job_status(runs_root, job_id)
        except XlnerError as exc:
            ui.show_error(exc)
            continue
        meta = status.meta
        what = f"**{job_id}** · {meta.get('lang')} · {meta.get('profile')} · {meta.get('method')} · started {meta.get('started')}"
        with st.container(border=True):
            st.markdown(what)
            if status.state == "running":
                st.progress(status.fraction, text=f"{status.step or 'starting'}: {status.fraction:.0%}")
                st.caption(status.message[-200:])
            elif status.state == "finished":
                st.success(f"Finished: `{status.run_dir}`")
                st.page_link("pages/2_Sentences.py", label="Open its sentences", icon=":material/translate:",
                             query_params={"run": Path(status.run_dir).name})
            else:
                st.error(f"Run {status.state}:\n\n```\n{status.message}\n```")


st.subheader("Runs started here")
job_list()
