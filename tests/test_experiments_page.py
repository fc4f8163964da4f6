"""The explorer's Experiments page renders an experiment folder produced here by the real runner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from xlner.experiment import run_domain_shift

DATA = Path(__file__).parents[1].parent / "shared" / "data"
REPO = Path(__file__).parents[1]
APP = str(REPO / "app.py")  # the entry point, so that links to other pages resolve
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")


@pytest.fixture(scope="module")
def exp_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    cfg = yaml.safe_load((REPO / "src/xlner/configs/tiny-test.yaml").read_text())
    cfg["source"]["train"]["max_sentences"] = 60
    cfg["teacher"]["epochs"] = 2
    cfg["student"]["epochs"] = 1
    for t in cfg["test_sets"]:
        t["max_sentences"] = 12
    cfg["unlabeled"]["eu"]["max_sentences"] = 12
    (tmp / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp / "exp"
    run_domain_shift(tmp / "c.yaml", out, data_root=DATA, log=None, progress=False)
    return out


def _app(monkeypatch, tmp_path, exp: Path | None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("XLNER_EXPERIMENTS", str(tmp_path / "none"))
    monkeypatch.setenv("XLNER_SHIPPED_EXPERIMENTS", str(tmp_path / "no-shipped"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/6_Experiments.py")
    if exp is not None:
        at.query_params["exp"] = str(exp)
    return at


def test_page_renders_plot_and_tables(monkeypatch, tmp_path, exp_dir):
    at = _app(monkeypatch, tmp_path, exp_dir).run()
    assert not at.exception, at.exception
    assert not at.error
    heads = [s.value for s in at.subheader]
    assert "Degradation: F1 in vs out of domain" in heads and "F1 per method and test set" in heads
    table = next(d.value for d in at.dataframe if "n_seeds" in d.value.columns)
    agg = pd.read_csv(exp_dir / "aggregate.csv")
    assert len(table) == len(agg)
    assert sorted((table.f1).tolist()) == sorted((100 * agg.f1).round(1).tolist())
    assert at.query_params["exp"] == str(exp_dir)
    # the methods compared on each test set, as the runner computed them
    mc = pd.read_csv(exp_dir / "method_comparisons.csv")
    assert len(mc) > 0 and "Methods compared on each test set" in heads
    shown = next(d.value for d in at.dataframe if "f1_baseline" in d.value.columns)
    assert shown.difference.tolist() == (100 * mc.difference).round(1).tolist()
    # the cells' run directories are offered to the other explorer pages
    assert str((exp_dir / "runs").resolve()) in at.session_state["extra_roots"]


def test_selected_cell_links_to_its_errors(monkeypatch, tmp_path, exp_dir):
    at = _app(monkeypatch, tmp_path, exp_dir).run()
    agg = pd.read_csv(exp_dir / "aggregate.csv")
    at.session_state["experiments_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    links = [el for el in at.main if getattr(el, "type", "") == "page_link" or el.proto.__class__.__name__ == "PageLink"]
    row = agg.iloc[0]
    labels = [el.proto.label for el in links]
    assert len(labels) == row.n_seeds, labels
    assert all(row.method in lab and row.test_set in lab for lab in labels)
    assert all("3_Errors" in el.proto.page or "Errors" in el.proto.page for el in links)
    assert all(f"{row.method}__{row.test_set}__s" in el.proto.query_string for el in links)
    # following the link: the Errors page finds the cell's run among its run folders
    key = links[0].proto.query_string.split("run=")[1]
    at.switch_page("pages/3_Errors.py")
    at.query_params["run"] = key
    at.run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect[0].value == [key]


def test_missing_experiment_is_explained(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path, tmp_path / "not-an-experiment").run()
    assert not at.exception
    assert any("E828" in e.value for e in at.error)


def test_page_without_any_experiment_says_what_to_run(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path, None).run()
    assert not at.exception
    assert any("xlner experiment domain-shift" in i.value for i in at.info)


def test_the_shipped_study_opens_without_configuration(monkeypatch, tmp_path):
    """docs/results holds the study the README reports; the page finds it by itself."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("XLNER_EXPERIMENTS", str(tmp_path / "none"))
    monkeypatch.delenv("XLNER_SHIPPED_EXPERIMENTS", raising=False)
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/6_Experiments.py")
    at.run()
    assert not at.exception, at.exception
    assert any("domain-shift-basque-en" in m.value for m in at.markdown)
    assert len(at.dataframe) >= 2
