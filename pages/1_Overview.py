"""Overview: every run's F1 / precision / recall, projection ratio and error counts, beside the paper."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xlner.errors import XlnerError
from xlner.evaluate import CATEGORIES as SEMEVAL_CATEGORIES
from xlner.explorer import ui
from xlner.explorer.diff import explorer_categories
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


def _category_counts(run) -> dict[str, int | None]:
    """SemEval categories from ``xlner.evaluate`` (nervaluate), the numbers `xlner evaluate` prints for
    this run, and the English entities that were not projected."""
    try:
        cats = ui.evaluation(run).categories
        recs, _ = ui.records(run)
    except XlnerError as exc:  # unreadable records, overlapping spans (E305): say so, count nothing
        st.warning(f"Run `{run.key}`: error[{exc.code}]: {exc.message}")
        return dict.fromkeys([*SEMEVAL_CATEGORIES, "not projected"])
    counts: dict[str, int | None] = {c: int(cats[c]["count"]) for c in SEMEVAL_CATEGORIES}
    counts["not projected"] = sum(len(r.projection.unprojected) for r in recs)
    return counts


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

CATEGORY_HELP = {
    "correct": "same words, same type", "incorrect": "same words, another type",
    "partial": "overlapping words (the Errors page splits these into boundary and boundary+type)",
    "missing": "a gold entity no projection matched", "spurious": "a projection that matched no gold entity",
}
st.markdown("Select a row to open the run's errors, or a count to open the errors behind it. The counts are "
            "`xlner evaluate`'s SemEval categories (nervaluate). **Paper F1** columns are the published numbers "
            f"of *{SOURCE}* for the same language — different, much larger models, shown for orientation only.")
event = st.dataframe(
    table, hide_index=True, width="stretch", key=f"{PAGE}_table", on_select="rerun",
    selection_mode=["single-row", "single-cell"],
    column_config={"proj ratio": st.column_config.NumberColumn(format="%.2f"),
                   "F1": st.column_config.NumberColumn(help="seqeval micro F1 x 100 (from metrics.json)"),
                   "paper F1 (full-size models)": st.column_config.NumberColumn(
                       help="Politov et al. 2025 (NLLB-3.3B, XLM-R-large, mBERT). Not our models."),
                   **{c: st.column_config.NumberColumn(help=f"xlner evaluate (nervaluate): {h}")
                      for c, h in CATEGORY_HELP.items()},
                   "not projected": st.column_config.NumberColumn(
                       help="English entities that projection left out (not a SemEval category)")})
picked_row, picked_col = None, None
if event.selection.rows:
    picked_row = event.selection.rows[0]
elif event.selection.cells:
    picked_row, picked_col = event.selection.cells[0]
if picked_row is not None:
    params = {"run": table.iloc[picked_row]["run"]}
    if picked_col in CATEGORY_HELP:
        params["category"] = ",".join(explorer_categories(picked_col))
    elif picked_col == "not projected":
        params["category"] = "not projected"
    st.switch_page("pages/3_Errors.py", query_params=params)

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
