"""Cached Streamlit access to what the Overview, Errors and Compare pages compute per run
(:mod:`xlner.explorer.inspect` holds the pure functions; the records come from ``ui.records``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import streamlit as st

from xlner.attribution import RunAttribution
from xlner.explorer import loading, ui
from xlner.explorer.inspect import run_attribution, stage_entity_table
from xlner.explorer.reproject import reproject
from xlner.record import RunRecord


@st.cache_resource(show_spinner="Attributing errors to stages…", max_entries=64)
def _attribution(path: str, fingerprint: tuple, _run: loading.RunInfo) -> RunAttribution:
    recs, _ = ui.records(_run)
    return run_attribution(recs)


def attribution(run: loading.RunInfo) -> RunAttribution:
    """The run's errors with the stage each is attributed to (docs/attribution.md)."""
    return _attribution(str(run.path), loading.records_fingerprint(run.path), run)


def has_gold(run: loading.RunInfo) -> bool:
    """Whether the run has gold to be scored against (typed sentences and plain text have none)."""
    return attribution(run).has_gold


@st.cache_resource(show_spinner="Building the entity table…", max_entries=32)
def _stage_entities(path: str, fingerprint: tuple, key: str, _run: loading.RunInfo) -> pd.DataFrame:
    recs, _ = ui.records(_run)
    return stage_entity_table(recs, run=key, dataset=_run.dataset, lang=_run.lang, method=_run.method)


def stage_entities(run: loading.RunInfo) -> pd.DataFrame:
    """The Errors page's rows of one run: every entity with its category, stage and context."""
    return _stage_entities(str(run.path), loading.records_fingerprint(run.path), run.key, run)


@st.cache_data(show_spinner="Paired bootstrap…", max_entries=64)
def _compare(path_a: str, fp_a: tuple, path_b: str, fp_b: tuple, n_boot: int, _a: loading.RunInfo,
             _b: loading.RunInfo) -> dict[str, Any]:
    from xlner.compare import compare_records

    return compare_records(ui.records(_a)[0], ui.records(_b)[0], name_a=_a.key, name_b=_b.key, n_boot=n_boot)


def compare(run_a: loading.RunInfo, run_b: loading.RunInfo, n_boot: int = 1000) -> dict[str, Any]:
    """``xlner.compare.compare_records`` of two runs (cached); XlnerError E714 / E724 when they
    cannot be compared."""
    return _compare(str(run_a.path), loading.records_fingerprint(run_a.path), str(run_b.path),
                    loading.records_fingerprint(run_b.path), n_boot, run_a, run_b)


@st.cache_resource(show_spinner="Re-projecting every sentence…", max_entries=16)
def _reprojected_run(path: str, fingerprint: tuple, method: str, _run: loading.RunInfo) -> list[RunRecord]:
    recs, _ = ui.records(_run)
    settings = (_run.config.get("components") or {}).get("projection")
    return [dataclasses.replace(r, method=method, projection=reproject(r, method, settings)) for r in recs]


def reprojected_run(run: loading.RunInfo, method: str) -> list[RunRecord]:
    """The run's records with every sentence projected by ``method`` instead (the run's own
    projection settings, as the Sentences page's method switch does); cached."""
    return _reprojected_run(str(run.path), loading.records_fingerprint(run.path), method, run)


@st.cache_data(show_spinner="Paired bootstrap…", max_entries=64)
def _compare_methods(path: str, fingerprint: tuple, method: str, n_boot: int, _run: loading.RunInfo) -> dict[str, Any]:
    from xlner.compare import compare_records

    return compare_records(ui.records(_run)[0], reprojected_run(_run, method), name_a=_run.key,
                           name_b=f"{_run.key} re-projected with {method}", n_boot=n_boot)


def compare_methods(run: loading.RunInfo, method: str, n_boot: int = 1000) -> dict[str, Any]:
    """:func:`compare` of a run against itself projected with another method (cached)."""
    return _compare_methods(str(run.path), loading.records_fingerprint(run.path), method, n_boot, run)
