"""xlner explorer: browse, inspect and run cross-lingual NER projections (`streamlit run app.py`).

The pages in pages/ are discovered by Streamlit itself, so a new page (e.g. 6_Experiments.py) only
needs a file there. Every page works when opened directly, with or without query parameters.
"""

from pathlib import Path

import streamlit as st

from xlner.explorer import ui

ui.page_setup("Home", "🌍")
if "sentence" in st.query_params:  # a shared sentence link on the bare address opens that sentence
    st.switch_page("pages/2_Sentences.py", query_params={k: st.query_params[k] for k in st.query_params})
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

st.subheader("Pages")
st.page_link("pages/1_Overview.py", label="Overview: F1, projection ratio and error counts per run, "
             "beside the paper's numbers", icon=":material/bar_chart:")
st.page_link("pages/2_Sentences.py", label="Sentences: gold vs projected, translation, alignment, "
             "candidates; switch projection method", icon=":material/translate:")
st.page_link("pages/3_Errors.py", label="Errors: every projected or missed entity, filterable; "
             "review queue", icon=":material/bug_report:")
st.page_link("pages/4_Run.py", label="Run: start the pipeline on a dataset or a typed sentence", icon=":material/play_arrow:")
st.page_link("pages/5_Corrections.py", label="Corrections: accept, fix or reject projected entities; "
             "export CoNLL / JSON lines", icon=":material/edit:")
if (Path(__file__).parent / "pages" / "6_Experiments.py").exists():
    st.page_link("pages/6_Experiments.py", label="Experiments: model transfer vs teacher-student vs projection, "
                 "in and out of domain", icon=":material/science:")
st.caption("Links can be shared: `?dataset=NAME&sentence=ID&method=match-greedy` opens one sentence "
           "on the Sentences page. Keyboard on the Sentences page: N next, P previous.")
