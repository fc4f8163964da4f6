"""Experiments: F1 per method in vs out of domain (with CIs), the tables, links to each cell's errors.

An experiment folder is what `xlner experiment domain-shift --out EXP_DIR` writes. It is chosen with
`?exp=PATH`, from the folders found under `$XLNER_EXPERIMENTS` (separated by ':') and `experiments/`
in the project, or typed in. Every cell of the experiment is a run directory under `EXP_DIR/runs`;
this page adds that folder to the explorer's run folders so the Errors page can open it.
"""

import os
from pathlib import Path

import streamlit as st

from xlner.errors import XlnerError
from xlner.experiment import cell_name, degradation_figure, find_experiments, load_experiment
from xlner.explorer import loading, ui

PAGE = "experiments"
ui.page_setup("Experiments", "🧪")


def _roots() -> list[str]:
    env = [p for p in os.environ.get("XLNER_EXPERIMENTS", "").split(os.pathsep) if p.strip()]
    # docs/results holds the study reported in the README (its tables; the per-cell runs are not shipped)
    shipped = os.environ.get("XLNER_SHIPPED_EXPERIMENTS") or str(loading.PROJECT_ROOT / "docs" / "results")
    return env + [str(loading.PROJECT_ROOT / "experiments"), shipped]


found = [str(p) for p in find_experiments(_roots())]
from_url = st.query_params.get("exp")
key = f"{PAGE}_exp"
if from_url and st.session_state.get(f"_{PAGE}_url") != from_url:
    st.session_state[key] = from_url  # a deep link wins once, then the widget does
    st.session_state[f"_{PAGE}_url"] = from_url
elif key not in st.session_state:
    st.session_state[key] = found[0] if found else ""
exp_path = st.session_state[key]

# The cells are run directories: make them visible to the other pages (before the sidebar's widget).
if exp_path and (Path(exp_path) / "runs").is_dir():
    runs_root = str((Path(exp_path) / "runs").resolve())
    extra = [p for p in st.session_state.get("extra_roots", "").split(os.pathsep) if p.strip()]
    if runs_root not in extra:
        st.session_state["extra_roots"] = os.pathsep.join(extra + [runs_root])
ui.sidebar()

st.title("Experiments")
st.caption("How much does each cross-lingual NER method lose when the test domain moves away from the "
           "training / unlabelled-text domain? F1 x 100, mean over seeds, 95% bootstrap CIs over sentences.")
c1, c2 = st.columns([2, 3])
if found:
    c1.selectbox("Experiments found", [""] + found, key=f"{PAGE}_found",
                 on_change=lambda: st.session_state.update({key: st.session_state[f"{PAGE}_found"]}),
                 help="Folders with a results.csv under $XLNER_EXPERIMENTS or experiments/.")
c2.text_input("Experiment folder (EXP_DIR)", key=key,
              help="The --out folder of `xlner experiment domain-shift`.")
if not exp_path:
    st.info("No experiment folder chosen. Run `xlner experiment domain-shift --config domain-shift-basque-en "
            "--out EXP_DIR`, then open this page with `?exp=EXP_DIR` or set `XLNER_EXPERIMENTS`.")
    st.stop()
try:
    exp = load_experiment(exp_path)
except XlnerError as exc:
    ui.show_error(exc)
    st.stop()
st.query_params["exp"] = exp_path
st.session_state[f"_{PAGE}_url"] = exp_path

info, agg = exp["info"], exp["aggregate"]
st.markdown(f"**{info.get('name', Path(exp_path).name)}** · encoder `{info.get('encoder', '?')}` · "
            f"types {', '.join(info.get('types', []))} · methods {', '.join(sorted(agg.method.unique()))} · "
            f"seeds per trained model: {', '.join(map(str, sorted(agg.n_seeds.unique())))}")

st.subheader("Degradation: F1 in vs out of domain")
st.plotly_chart(degradation_figure(agg), key=f"{PAGE}_plot")


def _percent_table(name: str, title: str, columns: tuple[str, ...], caption: str | None = None) -> None:
    """One of the experiment's tables with its fractions shown as F1 x 100 (skipped when empty)."""
    df = exp[name]
    if not len(df):
        return
    st.subheader(title)
    df = df.copy()
    for c in columns:
        df[c] = (100 * df[c]).round(1)
    if "drop_relative" in df:
        df["drop_relative"] = (100 * df["drop_relative"]).round(0)
    st.dataframe(df, hide_index=True, key=f"{PAGE}_{name}")
    if caption:
        st.caption(caption)


_percent_table("comparisons", "Does a method degrade more than model transfer?",
               ("drop_method", "drop_baseline", "drop_difference", "ci_low", "ci_high"),
               "drop = in-domain F1 - out-of-domain F1. The difference of drops and its CI come from a paired "
               "bootstrap (same resampled sentences for both methods); 'significant' = the CI excludes 0.")
_percent_table("method_comparisons", "Methods compared on each test set",
               ("f1_method", "f1_baseline", "difference", "ci_low", "ci_high"),
               "difference = F1 of the method - F1 of the baseline (model transfer where it is one of the two); "
               "paired bootstrap CI over the same resampled sentences; 'significant' = the CI excludes 0.")
_percent_table("drops", "In-domain minus out-of-domain F1",
               ("f1_in", "f1_out", "drop", "drop_ci_low", "drop_ci_high"))

st.subheader("F1 per method and test set")
table = agg.copy()
pct_cols = [c for c in table.columns if c in ("precision", "recall", "f1", "f1_sd", "f1_min", "f1_max",
                                               "f1_ci_low", "f1_ci_high") or c.startswith("f1_")]
for c in pct_cols:
    table[c] = (100 * table[c]).round(1)
event = st.dataframe(table, hide_index=True, key=f"{PAGE}_table", on_select="rerun",
                     selection_mode="single-row")
st.caption("Select a row to get links to the errors of each seed's run.")

results = exp["results"]
rows = event.selection.rows if event is not None and event.selection else []
if rows:
    cell = table.iloc[rows[0]]
    by_path = {r.path.resolve(): r for r in ui.runs()}
    seeds = results[(results.method == cell.method) & (results.test_set == cell.test_set)]
    for _, r in seeds.iterrows():
        seed = None if r.isna()["seed"] else int(r["seed"])
        run_dir = (Path(exp_path) / "runs" / cell_name(r["method"], r["test_set"], seed)).resolve()
        run = by_path.get(run_dir)
        label = f"Errors of {r['method']} on {r['test_set']}, seed {seed} (F1 {100 * r['f1']:.1f})"
        if run is None:
            st.warning(XlnerError("E813", folder=run_dir).render())
        else:
            st.page_link("pages/3_Errors.py", label=label, icon="🐞", query_params={"run": run.key})

with st.expander("Per-type F1 (every seed)"):
    st.dataframe(exp["per_type"], hide_index=True, key=f"{PAGE}_per_type")
with st.expander("Every cell (results.csv)"):
    st.dataframe(results, hide_index=True, key=f"{PAGE}_results")
if exp["timings"]:
    with st.expander("Time spent (seconds)"):
        st.json(exp["timings"])
if exp["summary"]:
    with st.expander("summary.md", expanded=False):
        st.markdown(exp["summary"])
