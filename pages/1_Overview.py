"""Overview: every run's F1 / precision / recall, projection ratio and error counts, beside the paper."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xlner.explorer import ui
from xlner.explorer.diff import CATEGORIES
from xlner.explorer.reference import SOURCE, reference_for

PAGE = "overview"
ui.page_setup("Overview", "📊")
ui.sidebar()
ui.apply_url(PAGE)

st.title("Overview")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()

langs = sorted({r.lang for r in all_runs})
chosen_langs = st.multiselect("Languages", langs, default=langs, key=f"{PAGE}_langs")
runs = [r for r in all_runs if r.lang in chosen_langs]


def _category_counts(run) -> dict[str, int]:
    """Error categories from the run's entity table (what the Errors page lists, so they agree)."""
    table = ui.entities(run)
    counts = table["category"].value_counts()
    return {c: int(counts.get(c, 0)) for c in CATEGORIES}


rows = []
for r in runs:
    overall = r.metrics.get("overall") or {}
    ref = reference_for(r.lang, r.method)
    rows.append({
        "run": r.key, "dataset": r.dataset, "lang": r.lang, "method": r.method, "profile": r.profile,
        "F1": ui.pct(overall.get("f1")), "P": ui.pct(overall.get("precision")), "R": ui.pct(overall.get("recall")),
        "proj ratio": r.metrics.get("proj_ratio"), "sentences": r.metrics.get("n_sentences"),
        **_category_counts(r),
        "paper F1 (full-size models)": ref["f1"].iloc[0] if len(ref) else None,
        "paper method": f"{ref['method'].iloc[0]} ({ref['dataset'].iloc[0]})" if len(ref) else "",
    })
table = pd.DataFrame(rows)
# The paper's number right beside ours, then the rest.
first = ["run", "dataset", "lang", "method", "F1", "paper F1 (full-size models)", "paper method", "P", "R",
         "proj ratio", "sentences"]
table = table[first + [c for c in table.columns if c not in first]]

st.markdown("Select a row to open the errors behind it. **Paper F1** columns are the published numbers of "
            f"*{SOURCE}* for the same language — different, much larger models, shown for orientation only.")
event = st.dataframe(
    table, hide_index=True, width="stretch", key=f"{PAGE}_table", on_select="rerun",
    selection_mode="single-row",
    column_config={"proj ratio": st.column_config.NumberColumn(format="%.2f"),
                   "F1": st.column_config.NumberColumn(help="seqeval micro F1 x 100 (from metrics.json)"),
                   "paper F1 (full-size models)": st.column_config.NumberColumn(
                       help="Politov et al. 2025 (NLLB-3.3B, XLM-R-large, mBERT). Not our models.")})
if event.selection.rows:
    picked = table.iloc[event.selection.rows[0]]
    st.switch_page("pages/3_Errors.py", query_params={"run": picked["run"]})

# Chart: our F1 per language and method, the paper's numbers as separate, hatched bars.
fig = go.Figure()
for method in sorted(table["method"].unique()):
    part = table[table["method"] == method]
    fig.add_trace(go.Bar(x=part["lang"], y=part["F1"], name=f"ours: {method}", customdata=part["run"],
                         text=part["F1"], textposition="outside",
                         hovertemplate="%{customdata}<br>F1 %{y}<extra></extra>"))
# Reference rows relabelled with our language code (e.g. our "eu" is the paper's "eus").
refs = pd.concat([reference_for(lang).assign(lang=lang) for lang in chosen_langs] or [pd.DataFrame()],
                 ignore_index=True)
for method in (refs["method"].unique() if len(refs) else []):
    part = refs[refs["method"] == method]
    fig.add_trace(go.Bar(x=part["lang"], y=part["f1"], name=f"paper (full-size models): {method}",
                         marker={"pattern": {"shape": "/"}, "opacity": 0.55},
                         hovertemplate=f"paper, {method}<br>F1 %{{y}}<extra></extra>"))
fig.update_layout(barmode="group", height=420, yaxis={"title": "F1 x 100", "range": [0, 100]},
                  legend={"orientation": "h", "y": -0.2}, margin={"t": 30})
st.subheader("F1 by language and method")
chart = st.plotly_chart(fig, key=f"{PAGE}_chart", on_select="rerun", selection_mode="points")
points = chart.selection.points if chart and chart.selection else []
clicked = [p for p in points if p.get("customdata")]
if clicked:
    st.switch_page("pages/3_Errors.py", query_params={"run": clicked[0]["customdata"]})

if not refs.empty:
    with st.expander("The paper's reference numbers for these languages"):
        st.dataframe(refs, hide_index=True)
        st.caption(SOURCE)
ui.write_url(PAGE, {})
