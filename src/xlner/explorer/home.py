"""The Home page of the explorer: what was found, a featured sentence linked into Sentences, the pages.

A function, not a file in pages/: app.py's st.navigation lists it first, titled "Home"
(:func:`xlner.explorer.ui.navigation_pages`).
"""

from __future__ import annotations

import streamlit as st

from xlner.errors import XlnerError
from xlner.explorer import loading, ui

SENTENCES = "pages/2_Sentences.py"


def home() -> None:
    ui.page_setup("Home", "🌍")
    if "sentence" in st.query_params:  # a shared sentence link on the bare address opens that sentence
        st.switch_page(SENTENCES, query_params={k: st.query_params[k] for k in st.query_params})
    ui.sidebar()

    st.title("xlner explorer")
    st.markdown(
        "Projection-based cross-lingual NER, sentence by sentence: a target-language sentence is translated "
        "to English, English entities are tagged, the words are aligned and the entities projected back. "
        "Browse the runs, see where projection loses entities and why, correct them, and start new runs.")

    all_runs = ui.runs()
    if not all_runs:
        ui.no_runs_message()
    else:
        langs = sorted({r.lang for r in all_runs})
        c1, c2, c3 = st.columns(3)
        c1.metric("Runs", len(all_runs))
        c2.metric("Languages", len(langs), help=", ".join(langs))
        c3.metric("Datasets", len({r.dataset for r in all_runs}))
        featured()

    st.subheader("Pages")
    st.page_link("pages/1_Overview.py", label="Overview: F1, projection ratio and error counts per run, "
                 "beside the paper's numbers", icon=":material/bar_chart:")
    st.page_link(SENTENCES, label="Sentences: gold vs projected, translation, alignment, "
                 "candidates; switch projection method", icon=":material/translate:")
    st.page_link("pages/3_Errors.py", label="Errors: every projected or missed entity, filterable; "
                 "review queue", icon=":material/bug_report:")
    st.page_link("pages/4_Run.py", label="Run: start the pipeline on a dataset or a typed sentence",
                 icon=":material/play_arrow:")
    st.page_link("pages/5_Corrections.py", label="Corrections: accept, fix or reject projected entities; "
                 "export CoNLL / JSON lines", icon=":material/edit:")
    if (loading.PROJECT_ROOT / "pages" / "6_Experiments.py").exists():
        st.page_link("pages/6_Experiments.py", label="Experiments: model transfer vs teacher-student vs "
                     "projection, in and out of domain", icon=":material/science:")
    st.caption("Links can be shared: `?lang=eu&dataset=NAME&sentence=ID&method=match-greedy` opens one sentence "
               "on the Sentences page. Keyboard on the Sentences page: N next, P previous.")


def featured() -> None:
    """One sentence that shows what projection does (and fails to do), linked into Sentences."""
    from xlner.explorer.diff import featured_sentence
    from xlner.explorer.figures import entities_html, token_rows_html

    pool = [r for r in ui.runs() if r.method == ui.default_method()] or ui.runs()
    best = None
    for run in pool:
        try:
            recs, _ = ui.records(run)
        except XlnerError:  # an unreadable run is reported on its own pages; Home just skips it
            continue
        rec = featured_sentence(recs)
        if rec is not None and (best is None or (run.lang, run.key) < (best[0].lang, best[0].key)):
            best = (run, rec)
    if best is None:
        return
    run, rec = best
    st.subheader("A sentence to start with")
    st.caption(f"{rec.id} · {run.lang} · {run.dataset} · {run.method}: gold and projected entities under each "
               "word, differences outlined; the English translation and its entities below.")
    st.html(token_rows_html(rec.tgt_tokens, rec.gold, rec.projected_spans(), projected_name=f"projected ({run.method})"))
    st.html(entities_html(rec.src_tokens, rec.src_spans, [e.score for e in rec.src_entities]))
    st.page_link(SENTENCES, label=f"Open {rec.id} in Sentences: alignment, candidates, other methods",
                 icon=":material/arrow_forward:",
                 query_params={"lang": run.lang, "dataset": run.dataset, "run": run.key, "sentence": rec.id,
                               "method": run.method})
