"""Streamlit glue shared by the pages: cached loading, the sidebar, and URL <-> selection sync.

Selections live in plain session keys (``sel_run``, ``sel_sentence``, ``sel_method``) so that they
survive page switches; each page copies them into its own widgets, and writes the current selection
back to the URL (``st.query_params``) so that every view can be shared as a link. A URL that changes
from outside (a deep link, a click on another page) is applied once, then the widgets take over.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from xlner.datamodel import ProjectionResult
from xlner.errors import XlnerError
from xlner.explorer import loading
from xlner.explorer.diff import entity_table, evaluate_records
from xlner.explorer.reproject import BACK_TRANSLATION, available_methods, back_translation_status, reproject
from xlner.record import RunRecord

URL_KEYS = ("lang", "run", "dataset", "sentence", "method")


def page_setup(title: str, icon: str = "🔎") -> None:
    st.set_page_config(page_title=f"{title} · xlner explorer", page_icon=icon, layout="wide")


def navigation_pages() -> list[Any]:
    """The explorer's pages for st.navigation: Home, then every file in pages/ in file order."""
    from xlner.explorer.home import home

    folder = loading.PROJECT_ROOT / "pages"
    # a font icon: a bare Debian chromium has no emoji font (an emoji showed as an empty box)
    return [st.Page(home, title="Home", icon=":material/home:", default=True)] + \
        [st.Page(str(p)) for p in sorted(folder.glob("*.py"))]


def _leave_pages_directory_mode() -> None:
    """Leave Streamlit's old pages-directory mode for good, so the sidebar lists app.py's pages
    ("Home", ...) even when a fresh server's first visitor opened another page directly.

    Streamlit starts in that mode (this repository has pages/) and leaves it only when app.py calls
    st.navigation; a first visit to /Sentences runs the page file without app.py, and the sidebar
    names the entry point "app" for everyone until someone opens Home. Switching the mode off here
    makes every later run go through app.py (the first run keeps its sidebar). PagesManager is
    Streamlit's own switch (internal, no public API). Not a rerun and not a second st.navigation in
    the page: either changes the run's widgets and loses a form submission.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


# --- loading (cached) ----------------------------------------------------------------------

def _roots() -> tuple[str, ...]:
    # "extra_roots" is the sidebar widget (other pages may set it too, e.g. Experiments); the kept
    # copy survives page switches, which drop widget values of widgets not yet drawn.
    value = st.session_state.get("_extra_roots_kept") or st.session_state.get("extra_roots") or ""
    extra = tuple(p for p in str(value).split(os.pathsep) if p.strip())
    return tuple(str(r) for r in loading.run_roots(extra))


def _fingerprint(roots: tuple[str, ...]) -> tuple:
    """Changes whenever a run appears, disappears or is rewritten (cheap: one glob per root)."""
    items = []
    for r in roots:
        for p in Path(r).glob("**/records.jsonl"):
            try:
                items.append((str(p), p.stat().st_mtime_ns))
            except OSError:
                continue
    return tuple(sorted(items))


@st.cache_resource(show_spinner=False, max_entries=8)
def _discover(roots: tuple[str, ...], fingerprint: tuple) -> tuple[list[loading.RunInfo], list[tuple[Path, str]]]:
    paths = [Path(r) for r in roots]
    return loading.discover_runs(paths), loading.broken_runs(paths)


def runs() -> list[loading.RunInfo]:
    roots = _roots()
    return _discover(roots, _fingerprint(roots))[0]


def broken() -> list[tuple[Path, str]]:
    roots = _roots()
    return _discover(roots, _fingerprint(roots))[1]


@st.cache_resource(show_spinner="Reading records…", max_entries=32)
def _records(path: str, fingerprint: tuple) -> tuple[list[RunRecord], dict[str, int]]:
    # cache_resource, not cache_data: records are shared read-only, never copied per rerun (speed).
    recs = loading.load_run_records(Path(path))
    return recs, {r.id: i for i, r in enumerate(recs)}


def records(run: loading.RunInfo) -> tuple[list[RunRecord], dict[str, int]]:
    return _records(str(run.path), loading.records_fingerprint(run.path))


@st.cache_resource(show_spinner="Building the entity table…", max_entries=32)
def _entities(path: str, fingerprint: tuple, key: str, dataset: str, lang: str, method: str) -> pd.DataFrame:
    recs, _ = _records(path, fingerprint)
    return entity_table(recs, run=key, dataset=dataset, lang=lang, method=method)


def entities(run: loading.RunInfo) -> pd.DataFrame:
    return _entities(str(run.path), loading.records_fingerprint(run.path), run.key, run.dataset, run.lang,
                     run.method)


@st.cache_resource(show_spinner="Evaluating…", max_entries=64)
def _evaluation(path: str, fingerprint: tuple, key: str) -> Any:
    recs, _ = _records(path, fingerprint)
    return evaluate_records(recs, f"run {key}")


def error_sentences(run: loading.RunInfo) -> frozenset[str]:
    """Ids of the sentences whose projection (the run's own) differs from gold (from the cached entity table)."""
    table = entities(run)
    return frozenset(table.loc[~table["category"].isin(["correct", "not projected"]), "sentence"])


def evaluation(run: loading.RunInfo):
    """``xlner.evaluate``'s report of the run's projection (cached; XlnerError when it cannot be scored)."""
    return _evaluation(str(run.path), loading.records_fingerprint(run.path), run.key)


@st.cache_data(show_spinner=False, max_entries=2048)
def _reprojected(path: str, fingerprint: tuple, sentence: str, method: str,
                 _projection: dict[str, Any] | None) -> ProjectionResult:
    recs, index = _records(path, fingerprint)
    return reproject(recs[index[sentence]], method, _projection)


def projection(run: loading.RunInfo, sentence: str, method: str) -> ProjectionResult:
    """The projection of one sentence under ``method`` (stored, or re-projected and cached), with
    the run's own projection settings (``config.json``) so that it matches what the pipeline did."""
    settings = (run.config.get("components") or {}).get("projection")
    return _reprojected(str(run.path), loading.records_fingerprint(run.path), sentence, method, settings)


def method_options(run: loading.RunInfo, with_back_translation: bool = True) -> list[str]:
    """The methods of the switch: the library's projection methods (the run's own first when the
    library does not know it), then back-translation when ``with_back_translation`` (the Sentences
    page offers it only where the run stores it: see :func:`back_translation`)."""
    methods = list(available_methods())
    if run.method not in methods and run.method != BACK_TRANSLATION:
        methods.insert(0, run.method)
    return methods + ([BACK_TRANSLATION] if with_back_translation or run.method == BACK_TRANSLATION else [])


@st.cache_resource(show_spinner=False)
def default_method() -> str:
    """The projection method of the offline profile (``match-greedy``): what a new user's runs use,
    so the Sentences page opens on it. Read from the profile file (the explorer does not import the
    pipeline); the library's first method if the file cannot be read."""
    from importlib import resources

    import yaml

    try:
        profile = yaml.safe_load((resources.files("xlner") / "profiles" / "offline.yaml").read_text(encoding="utf-8"))
        return str(profile["projection"]["method"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return available_methods()[0]


def _selected(all_runs: list[loading.RunInfo], *, by_lang: bool) -> tuple[loading.RunInfo | None, list[loading.RunInfo]]:
    """The shared selection's run by key, or ``None`` and the runs to choose from: those of the
    selected dataset, else (``by_lang``) of the selected language, else all. A bad key or dataset
    gets a notice and falls back, never a blank page."""
    by_key = {r.key: r for r in all_runs}
    key = st.session_state.get("sel_run")
    if key in by_key:
        return by_key[key], []
    if key:
        notice(XlnerError("E904", run=key, instead="another one"))
    dataset, lang = st.session_state.get("sel_dataset"), st.session_state.get("sel_lang")
    if dataset:
        pool = [r for r in all_runs if dataset in (r.dataset, r.key)]
        if pool:
            return None, pool
        notice(XlnerError("E910", dataset=dataset, available=", ".join(sorted({r.dataset for r in all_runs}))))
    elif by_lang and lang and any(r.lang == lang for r in all_runs):
        return None, [r for r in all_runs if r.lang == lang]
    return None, all_runs


def sentence_run(all_runs: list[loading.RunInfo]) -> loading.RunInfo | None:
    """The run the Sentences page opens on, from the selection: by key, else among the runs of the
    selected dataset (else language), the one with the selected method, else the offline profile's
    method (``match-greedy``), else the first."""
    if not all_runs:
        return None
    run, pool = _selected(all_runs, by_lang=True)
    return run or preferred_run(pool, st.session_state.get("sel_method"))


def preferred_run(pool: list[loading.RunInfo], method: str | None = None) -> loading.RunInfo:
    """Among ``pool`` (not empty): the run with ``method``, else with the default method, else the first."""
    for wanted in (method, default_method()):
        for r in pool:
            if wanted and r.method == wanted:
                return r
    return pool[0]


@st.cache_resource(show_spinner=False, max_entries=32)
def _bt_status(path: str, fingerprint: tuple, _config: dict[str, Any]) -> tuple[bool, str]:
    recs, _ = _records(path, fingerprint)
    return back_translation_status(_config, recs)


def back_translation(run: loading.RunInfo) -> tuple[bool, str]:
    """Whether this run's records hold back-translation; if not, the message that says which
    translation direction is missing and how to get it."""
    return _bt_status(str(run.path), loading.records_fingerprint(run.path), run.config)


def method_label(method: str, bt_available: bool) -> str:
    """How the switch names a method (back-translation that the run cannot offer says so)."""
    return f"{method} (unavailable)" if method == BACK_TRANSLATION and not bt_available else method


# --- selection and URL ---------------------------------------------------------------------

def apply_url(page: str) -> bool:
    """Copy query parameters into the selection when the URL changed since this page wrote it.

    Returns True when it did (a deep link, a click from another page): the page then sets its
    widgets from the selection instead of keeping their previous values.
    """
    url = {k: st.query_params[k] for k in st.query_params}
    if not url or url == st.session_state.get(f"_url_{page}"):
        return False
    for k in URL_KEYS:
        if k in url:
            st.session_state[f"sel_{k}"] = url[k]
    if "run" not in url and ("dataset" in url or "method" in url):
        st.session_state.pop("sel_run", None)  # resolve the run again from dataset + method
    st.session_state[f"_url_{page}"] = url
    return True


def write_url(page: str, params: dict[str, Any]) -> None:
    clean = {k: str(v) for k, v in params.items() if v not in (None, "", [])}
    current = {k: st.query_params[k] for k in st.query_params}
    if current != clean:
        st.query_params.from_dict(clean)
    st.session_state[f"_url_{page}"] = clean


def resolve_run(all_runs: list[loading.RunInfo]) -> loading.RunInfo | None:
    """The selected run: by key, else by dataset (+ method), else the first one."""
    if not all_runs:
        return None
    run, pool = _selected(all_runs, by_lang=False)
    if run is not None:
        return run
    method = st.session_state.get("sel_method")
    return next((r for r in pool if r.method == method), pool[0])


def run_picker(all_runs: list[loading.RunInfo], page: str, fresh: bool, *, where: Any = st) -> loading.RunInfo | None:
    """A selectbox over runs bound to the shared selection (``fresh``: the URL just changed)."""
    run = resolve_run(all_runs)
    if run is None:
        return None
    keys = [r.key for r in all_runs]
    wkey = f"{page}_run"
    if fresh or st.session_state.get(wkey) not in keys:
        st.session_state[wkey] = run.key
    labels = {r.key: f"{r.label}  ({r.key})" for r in all_runs}
    chosen = where.selectbox("Run", keys, key=wkey, format_func=labels.get)
    st.session_state["sel_run"] = chosen
    st.session_state["sel_dataset"] = next(r.dataset for r in all_runs if r.key == chosen)
    return next(r for r in all_runs if r.key == chosen)


def no_runs_message() -> None:
    roots = _roots()
    st.info("No run directories found yet. Run folders hold a `records.jsonl` "
            "(`xlner pipeline translate-test ... --out DIR`, see docs/run-format.md).\n\n"
            "Looked in: " + (", ".join(f"`{r}`" for r in roots) or "(no existing folder)") +
            ".\n\nAdd folders with the `XLNER_RUNS` environment variable or in the sidebar, "
            "or start one on the **Run** page.")
    st.page_link("pages/4_Run.py", label="Start a run", icon=":material/play_arrow:")


def sidebar() -> None:
    """Run folders and the annotator's name, the same on every page."""
    # The folders live in "_extra_roots_kept" (plain state survives page switches; widget values do
    # not). A value written to "extra_roots" by another page (e.g. Experiments) is adopted too.
    kept = st.session_state.get("_extra_roots_kept", "")
    current = st.session_state.get("extra_roots")
    if current is not None and current != kept:
        kept = st.session_state["_extra_roots_kept"] = current
    st.session_state["extra_roots"] = kept

    def _keep() -> None:
        st.session_state["_extra_roots_kept"] = st.session_state["extra_roots"]

    with st.sidebar:
        with st.expander("Run folders", expanded=False):
            st.text_input("Extra run folders (separated by ':')", key="extra_roots", on_change=_keep,
                          help="Folders that hold run directories, e.g. ../shared/runs. "
                               "Also settable with the XLNER_RUNS environment variable.")
            for r in _roots():
                st.caption(f"📁 `{r}`")
        for path, msg in broken():
            st.error(f"Cannot read run `{path}`: {msg}")
        unfinished = loading.unfinished_runs([Path(r) for r in _roots()])
        if unfinished:
            st.caption("Unfinished runs (no metrics.json yet): " + ", ".join(f"`{p.name}`" for p in unfinished))


def show_error(exc: XlnerError) -> None:
    st.error(f"error[{exc.code}]: {exc.message}" + (f"\n\nhint: {exc.hint}" if exc.hint else ""))


def notice(exc: XlnerError) -> None:
    """A catalogued error the page recovers from (it shows something else): a warning box."""
    st.warning(f"error[{exc.code}]: {exc.message}" + (f"\n\nhint: {exc.hint}" if exc.hint else ""))


def pct(value: Any) -> float | None:
    """Metrics may be fractions or percentages; show percentages."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return round(v * 100, 1) if v <= 1.0 else round(v, 1)


class Timer:
    """Measures a page's work; the time shows in a caption (the ≤ 300 ms sentence switch goal)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000


def step_selection(key: str, ids: list[str], delta: int) -> None:
    """Move the selection stored under ``key`` by ``delta`` within ``ids`` (previous/next buttons)."""
    cur = st.session_state.get(key)
    pos = ids.index(cur) if cur in ids else 0
    st.session_state[key] = ids[max(0, min(len(ids) - 1, pos + delta))]


_leave_pages_directory_mode()  # once per process, when the first page imports this module
