"""Overview: every run's F1 / precision / recall, projection ratio, error counts and the stage each
error is attributed to, beside the paper. Runs without gold are listed apart, never scored."""

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from xlner.attribution import STAGES
from xlner.errors import XlnerError
from xlner.evaluate import CATEGORIES as SEMEVAL_CATEGORIES
from xlner.explorer import inspect_ui, ui
from xlner.explorer.diff import explorer_categories
from xlner.explorer.inspect import STAGE_COLOURS, STAGE_NAMES, stage_frame
from xlner.explorer.reference import SOURCE, reference_for

PAGE = "overview"
ui.page_setup("Overview", "📊")
ui.sidebar()
fresh = ui.apply_url(PAGE)

st.title("Overview")
all_runs = ui.runs()
if not all_runs:
    ui.no_runs_message()
    st.stop()

langs = sorted({r.lang for r in all_runs})
lang_key = f"{PAGE}_langs"
if fresh or lang_key not in st.session_state:  # ?lang=eu,es (a link, the browser's Back)
    from_url = [x for x in st.query_params.get("lang", "").split(",") if x in langs]
    st.session_state[lang_key] = from_url or langs
st.session_state[lang_key] = [x for x in st.session_state[lang_key] if x in langs]
chosen_langs = st.multiselect("Languages", langs, key=lang_key)
runs = [r for r in all_runs if r.lang in chosen_langs]
# Typed sentences and plain-text files have no gold: nothing to score them against (never F1 0).
scored = [r for r in runs if inspect_ui.has_gold(r)]
no_gold = [r for r in runs if not inspect_ui.has_gold(r)]


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


def _paper(lang: str, method: str) -> tuple[float | None, str]:
    ref = reference_for(lang, method)
    if not len(ref):
        return None, ""
    return float(ref["f1"].iloc[0]), f"{ref['method'].iloc[0]} ({ref['dataset'].iloc[0]})"


def _number(value: Any, digits: int = 1) -> str:
    """A cell that may have no value: the number, or "—" (never "None")."""
    return "—" if value is None or value != value else f"{float(value):.{digits}f}"


def _scores(run) -> dict[str, Any]:
    """The run's metrics.json; where it lacks the scores (a run written by another tool), the
    evaluation of its records gives the same numbers."""
    metrics = run.metrics
    if (metrics.get("overall") or {}).get("f1") is None or metrics.get("proj_ratio") is None:
        try:
            metrics = {**ui.evaluation(run).to_dict(undefined_as_none=True), **{
                k: v for k, v in metrics.items() if v is not None and k != "overall"}}
        except XlnerError:
            pass
    return metrics


rows = []
for r in scored:
    metrics = _scores(r)
    overall = metrics.get("overall") or {}
    paper_f1, paper_method = _paper(r.lang, r.method)
    stages = inspect_ui.attribution(r).counts()["total"]
    rows.append({
        "run": r.key, "dataset": r.dataset, "lang": r.lang, "method": r.method, "profile": r.profile,
        "F1": ui.pct(overall.get("f1")), "P": ui.pct(overall.get("precision")), "R": ui.pct(overall.get("recall")),
        "proj ratio": metrics.get("proj_ratio"), "sentences": metrics.get("n_sentences"),
        **_category_counts(r),
        **{f"stage: {STAGE_NAMES[s]}": stages[s] for s in STAGES},
        "paper F1 (full-size models)": _number(paper_f1), "paper method": paper_method or "—",
    })
table = pd.DataFrame(rows, columns=None if rows else ["run", "dataset", "lang", "method", "F1"])
if rows:
    # The paper's number right beside ours, then the rest.
    first = ["run", "dataset", "lang", "method", "F1", "paper F1 (full-size models)", "paper method", "P", "R",
             "proj ratio", "sentences"]
    table = table[first + [c for c in table.columns if c not in first]]

CATEGORY_HELP = {
    "correct": "same words, same type", "incorrect": "same words, another type",
    "partial": "overlapping words (the Errors page splits these into boundary and boundary+type)",
    "missing": "a gold entity no projection matched", "spurious": "a projection that matched no gold entity",
}
STAGE_HELP = {
    "translation": "the entity's words were dropped or mangled by machine translation",
    "english_ner": "the English side had the words but no entity, a wrong type or a wrong extent",
    "alignment": "the English entity was right but its links point elsewhere",
    "projection": "the links were right; the projection rules lost or cut the entity",
}
if rows:
    st.markdown("Select a row to open the run's errors, or a count to open the errors behind it. The counts are "
                "`xlner evaluate`'s SemEval categories (nervaluate); the **stage** columns attribute each error to "
                "the step that caused it (the rules are in docs/attribution.md; the numbers are what "
                "`xlner evaluate RUN_DIR` prints). **Paper F1** is the published number of "
                f"*{SOURCE}* for the same language and method — much larger models, for orientation only.")
    event = st.dataframe(
        table, hide_index=True, width="stretch", key=f"{PAGE}_table", on_select="rerun",
        selection_mode=["single-row", "single-cell"],
        column_config={"proj ratio": st.column_config.NumberColumn(format="%.2f"),
                       "F1": st.column_config.NumberColumn(help="seqeval micro F1 x 100 (from metrics.json)"),
                       "paper F1 (full-size models)": st.column_config.TextColumn(
                           help="Politov et al. 2025 (NLLB-3.3B, XLM-R-large, mBERT). Not our models. "
                                "— : the paper has no number for this language and method."),
                       **{c: st.column_config.NumberColumn(help=f"xlner evaluate (nervaluate): {h}")
                          for c, h in CATEGORY_HELP.items()},
                       **{f"stage: {STAGE_NAMES[s]}": st.column_config.NumberColumn(
                           help=f"errors attributed to {STAGE_NAMES[s]}: {h}") for s, h in STAGE_HELP.items()},
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
        elif str(picked_col).startswith("stage: "):
            params["stage"] = next(s for s in STAGES if f"stage: {STAGE_NAMES[s]}" == picked_col)
        st.switch_page("pages/3_Errors.py", query_params=params)
else:
    st.info("None of these runs has gold entities, so none has F1 (see *Runs without gold* below).")

if no_gold:
    st.subheader("Runs without gold")
    st.caption("Typed sentences and unlabelled files: there is nothing to score their projections against, so "
               "they have no F1, precision, recall or error counts, and are left out of the charts.")
    plain = pd.DataFrame([{
        "run": r.key, "dataset": r.dataset, "lang": r.lang, "method": r.method,
        "sentences": inspect_ui.attribution(r).n_sentences,
        "projected entities": sum(len(rec.projection.projected) for rec in ui.records(r)[0]),
        "F1": "no gold"} for r in no_gold])
    st.dataframe(plain, hide_index=True, width="stretch", key=f"{PAGE}_no_gold")

if rows:
    # One horizontal bar per run (labels on their own rows never overlap, however many runs),
    # grouped by language then method; the paper's number for the same language and method as a marker.
    order = table.sort_values(["lang", "method", "run"])
    labels = [f"{row.run}  ·  {row.lang}" for row in order.itertuples()]
    height = 110 + 34 * len(order)
    fig = go.Figure()
    for method in sorted(order["method"].unique()):
        part = order[order["method"] == method]
        fig.add_trace(go.Bar(
            y=[f"{row.run}  ·  {row.lang}" for row in part.itertuples()], x=part["F1"], orientation="h",
            name=f"ours: {method}", customdata=part["run"], text=[_number(v) for v in part["F1"]],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{customdata}<br>F1 %{x}<extra></extra>"))
    paper = [(f"{row.run}  ·  {row.lang}", _paper(row.lang, row.method)[0]) for row in order.itertuples()]
    paper = [(y, x) for y, x in paper if x is not None]
    if paper:
        fig.add_trace(go.Scatter(y=[y for y, _ in paper], x=[x for _, x in paper], mode="markers",
                                 name="paper (full-size models), same language and method",
                                 marker={"symbol": "diamond", "size": 11, "color": "#212121"},
                                 hovertemplate="paper: F1 %{x}<extra></extra>"))
    fig.update_layout(barmode="group", height=height, margin={"t": 40, "l": 10, "r": 40, "b": 40},
                      xaxis={"title": "F1 x 100", "range": [0, 108]},
                      yaxis={"categoryorder": "array", "categoryarray": labels[::-1], "automargin": True},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
    st.subheader("F1 per run")
    chart = st.plotly_chart(fig, key=f"{PAGE}_chart", on_select="rerun", selection_mode="points")
    points = chart.selection.points if chart and chart.selection else []
    clicked = [p for p in points if p.get("customdata")]
    if clicked:
        st.switch_page("pages/3_Errors.py", query_params={"run": clicked[0]["customdata"]})

    # Per-stage attribution: one stacked bar per run; a click opens that run's errors of that stage.
    frame = stage_frame({r.key: inspect_ui.attribution(r) for r in scored})
    frame = frame.merge(order[["run", "lang"]], on="run")
    stage_fig = go.Figure()
    for stage in STAGES:
        part = frame[frame["stage"] == stage]
        stage_fig.add_trace(go.Bar(
            y=[f"{row.run}  ·  {row.lang}" for row in part.itertuples()], x=part["errors"], orientation="h",
            name=STAGE_NAMES[stage], marker={"color": STAGE_COLOURS[stage]},
            customdata=[[row.run, stage] for row in part.itertuples()],
            text=[str(v) if v else "" for v in part["errors"]], textposition="inside",
            hovertemplate="%{customdata[0]}<br>" + STAGE_NAMES[stage] + ": %{x} errors<extra></extra>"))
    stage_fig.update_layout(barmode="stack", height=height, margin={"t": 40, "l": 10, "r": 40, "b": 40},
                            xaxis={"title": "errors (missed, spurious, wrong type, wrong boundary)"},
                            yaxis={"categoryorder": "array", "categoryarray": labels[::-1], "automargin": True},
                            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
    st.subheader("Which stage caused the errors")
    st.caption("Every error is given to the one stage that caused it (docs/attribution.md): " + "; ".join(
        f"**{STAGE_NAMES[s]}**: {h}" for s, h in STAGE_HELP.items()) + ". Click a segment to see those errors.")
    stage_chart = st.plotly_chart(stage_fig, key=f"{PAGE}_stages", on_select="rerun", selection_mode="points")
    spoints = stage_chart.selection.points if stage_chart and stage_chart.selection else []
    sclicked = [p for p in spoints if p.get("customdata")]
    if sclicked:
        run_key, stage = sclicked[0]["customdata"][:2]
        st.switch_page("pages/3_Errors.py", query_params={"run": run_key, "stage": stage})

refs = pd.concat([reference_for(lang).assign(lang=lang) for lang in chosen_langs] or [pd.DataFrame()],
                 ignore_index=True)
if not refs.empty:
    with st.expander("The paper's reference numbers for these languages"):
        st.dataframe(refs.astype(str).replace({"None": "—", "nan": "—"}), hide_index=True)
        st.caption(SOURCE)
ui.write_url(PAGE, {"lang": ",".join(chosen_langs) if set(chosen_langs) != set(langs) else None})
