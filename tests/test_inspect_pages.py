"""Overview, Errors and Compare through Streamlit's AppTest, on the embedded demo runs plus a run of
typed sentences (the demo's Basque records with their gold removed: what a typed sentence gives).

The numbers the pages show are checked against the library (xlner.attribution, xlner.compare,
xlner.evaluate), never against numbers written here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from xlner.attribution import STAGES, attribute_run
from xlner.compare import compare_runs, differing_sentences
from xlner.explorer.diff import compare_spans
from xlner.explorer.inspect import STAGE_NAMES, context_text, stage_entity_table
from xlner.runs import list_runs, load_run, write_run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "runs"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The demo runs and one run without gold (``typed-eu``)."""
    run = load_run(DEMO / "eu-match-greedy")
    write_run(tmp_path / "extra" / "typed-eu", {**run.config, "dataset": "typed"}, {"n_sentences": 4},
              [dataclasses.replace(r, gold=None) for r in run.records[:4]])
    monkeypatch.delenv("XLNER_DEMO_RUNS", raising=False)
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "extra"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    return tmp_path


def open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def demo_keys() -> list[str]:
    return sorted(p.name for p in list_runs(DEMO))


# --- the pure parts ------------------------------------------------------------------------------

def test_every_error_row_gets_the_stage_the_library_gives_it():
    for key in demo_keys():
        records = load_run(DEMO / key).records
        table = stage_entity_table(records, run=key)
        errors = table[table["category"].isin(["type", "boundary", "boundary+type", "missed", "spurious"])]
        expected = attribute_run(records)
        assert len(errors) == len(expected.errors), key
        assert errors["stage"].value_counts().to_dict() == {
            s: n for s, n in expected.counts()["total"].items() if n}, key
        assert set(table.loc[~table.index.isin(errors.index), "stage"]) <= {""}  # correct, not projected
        assert (errors["why"] != "").all()


def test_context_marks_the_entity_and_cuts_long_sentences():
    tokens = [f"w{i}" for i in range(30)]
    assert context_text(tokens, (10, 12), width=2) == "… w8 w9 ⟦w10 w11⟧ w12 w13 …"
    assert context_text(tokens[:4], (0, 1)) == "⟦w0⟧ w1 w2 w3"


@pytest.mark.parametrize("lang", ["es", "eu"])
def test_a_long_sentence_wraps_into_aligned_blocks_without_cutting_entities(lang):
    explorer_runs = pytest.importorskip("explorer_runs")
    if not explorer_runs.DATA.is_dir():
        pytest.skip(f"the shared gold data is not at {explorer_runs.DATA}")
    from xlner.datamodel import Span
    from xlner.explorer.inspect import compare_rows_html, line_breaks

    longest = explorer_runs.read_gold(lang, 0, want_long=True)[0]  # CoNLL-02 es dev / Basque val
    tokens, gold = longest["tgt_tokens"], [Span.from_dict(s) for s in longest["gold_entities"]]
    assert len(tokens) > 100 and gold
    blocks = line_breaks(tokens, gold, limit=90)
    assert blocks[0][0] == 0 and blocks[-1][1] == len(tokens) and len(blocks) > 1
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))  # every word once, in order
    for lo, hi in blocks:
        assert hi - lo == 1 or len(" ".join(tokens[lo:hi])) <= 90
        assert not any(s.start < lo < s.end for s in gold)  # no entity cut between two blocks
    shown = compare_rows_html(tokens, gold, [("A", gold), ("B", gold[1:])], limit=90)
    assert shown.count("<table") == len(blocks) and shown.count("<tr>") == 3 * len(blocks)
    assert shown.count('data-category="missed"') == 0 and 'dir="ltr"' in shown


def test_a_right_to_left_sentence_runs_right_to_left():
    from xlner.datamodel import Span
    from xlner.explorer.inspect import compare_rows_html, entity_in_sentence_html

    tokens = "زار محمد القاهرة أمس".split()
    gold = [Span(1, 2, "PER"), Span(2, 3, "LOC")]
    assert 'dir="rtl"' in compare_rows_html(tokens, gold, [("A", gold[:1])])
    assert 'dir="rtl"' in entity_in_sentence_html(tokens, gold, gold[:1], focus_gold=gold[1], focus_pred=None)


# --- Overview ------------------------------------------------------------------------------------

def test_overview_scores_only_runs_with_gold_and_shows_stages_and_no_none(env):
    at = open_page("pages/1_Overview.py")
    table = at.dataframe[0].value
    assert sorted(table["run"]) == demo_keys()  # the typed run is not among the scored ones
    for _, row in table.iterrows():
        counts = attribute_run(load_run(DEMO / row["run"]).records).counts()["total"]
        assert {s: row[f"stage: {STAGE_NAMES[s]}"] for s in STAGES} == counts
    assert not table.isna().any().any()  # no empty (None) cell
    plain = at.dataframe[1].value
    assert list(plain["run"]) == ["typed-eu"] and list(plain["F1"]) == ["no gold"]
    assert plain["sentences"].iloc[0] == 4
    # a stage count opens the Errors page on exactly those errors
    k = int(table["stage: projection"].to_numpy().argmax())
    at.session_state["overview_table"] = {"selection": {"rows": [], "columns": [],
                                                        "cells": [[k, "stage: projection"]]}}
    at.run()
    assert at.title[0].value == "Errors" and at.query_params["stage"] == "projection"
    shown = at.dataframe[0].value
    assert len(shown) == table.iloc[k]["stage: projection"] > 0 and set(shown["stage"]) == {"projection"}


def test_a_run_whose_metrics_lack_the_scores_is_scored_from_its_records(env):
    run = load_run(DEMO / "es-heuristic")
    write_run(env / "extra" / "other-tool", {"lang": "es", "method": "heuristic", "dataset": "other"}, {},
              run.records)
    at = open_page("pages/1_Overview.py")
    row = at.dataframe[0].value.set_index("run").loc["other-tool"]
    assert row["F1"] == round(100 * run.metrics["overall"]["f1"], 1)
    assert row["proj ratio"] == pytest.approx(run.metrics["proj_ratio"])
    assert row["sentences"] == len(run.records)


def test_overview_keeps_its_languages_in_the_url(env):
    at = open_page("pages/1_Overview.py", lang="es")
    assert set(at.dataframe[0].value["lang"]) == {"es"} and at.multiselect(key="overview_langs").value == ["es"]
    every = list(at.multiselect(key="overview_langs").options)
    assert {"es", "eu"} <= set(every)
    at.multiselect(key="overview_langs").set_value(every).run()  # all languages: the default, not in the URL
    assert "lang" not in at.query_params and set(at.dataframe[0].value["lang"]) == set(every)


# --- Errors --------------------------------------------------------------------------------------

def test_errors_shows_one_run_without_correct_entities_and_each_entity_in_its_sentence(env):
    at = open_page("pages/3_Errors.py")
    runs = at.multiselect(key="errors_runs").value
    assert len(runs) == 1
    records = load_run(DEMO / runs[0]).records
    table = at.dataframe[0].value
    errors = sum(d.category != "correct" for r in records for d in compare_spans(r.gold, r.projected_spans()))
    unprojected = sum(len(r.projection.unprojected) for r in records)
    assert len(table) == errors + unprojected and "correct" not in set(table["category"])
    assert "None" not in set(table["score"]) | set(table["ner_score"]) | set(table["stage"])
    by_id = {r.id: r for r in records}
    for _, row in table[table["gold"] != ""].iterrows():
        words = row["gold"].rsplit(" ", 1)[1].split("–")
        entity = " ".join(by_id[row["sentence"]].tgt_tokens[int(words[0]):int(words[1])])
        assert f"⟦{entity}⟧" in row["context"]
    # the cards show the first entities inside their sentences, the entity outlined
    assert any('class="focus"' in h.proto.body for h in at.html)


def test_errors_filters_by_stage_and_keeps_every_filter_in_the_url(env):
    at = open_page("pages/3_Errors.py", run="eu-heuristic")
    at.multiselect(key="errors_stage").set_value(["alignment", "translation"]).run()
    table = at.dataframe[0].value
    expected = attribute_run(load_run(DEMO / "eu-heuristic").records).counts()["total"]
    assert len(table) == expected["alignment"] + expected["translation"] > 0
    assert set(table["stage"]) == {"alignment", "translation"}
    assert at.query_params["stage"] == "alignment,translation" and at.query_params["run"] == "eu-heuristic"
    # the URL alone restores the view (a shared link, the browser's Back)
    again = open_page("pages/3_Errors.py", **{k: at.query_params[k] for k in at.query_params})
    assert again.multiselect(key="errors_stage").value == ["alignment", "translation"]
    assert len(again.dataframe[0].value) == len(table)


def test_errors_of_a_run_without_gold_are_no_gold_rows_without_a_stage(env):
    at = open_page("pages/3_Errors.py", run="typed-eu")
    table = at.dataframe[0].value
    assert set(table["category"]) <= {"no gold", "not projected"} and set(table["stage"]) == {""}


# --- Compare -------------------------------------------------------------------------------------

def test_compare_shows_the_paired_difference_and_the_sentences_that_differ(env):
    at = open_page("pages/7_Compare.py", a="eu-match-greedy", b="eu-heuristic")
    expected = compare_runs(DEMO / "eu-match-greedy", DEMO / "eu-heuristic")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["F1 A · eu-match-greedy"] == f"{100 * expected['f1_a']:.1f}"
    assert metrics["A − B (95% CI)"] == f"{100 * expected['diff']:+.1f}"
    assert any(f"95% CI [{100 * expected['ci_low']:+.1f}, {100 * expected['ci_high']:+.1f}]" in m.value
               for m in at.markdown)
    differ = differing_sentences(load_run(DEMO / "eu-match-greedy").records, load_run(DEMO / "eu-heuristic").records)
    assert list(at.dataframe[0].value["sentence"]) == differ and differ
    # selecting a row shows that sentence with both projections under one set of token columns
    at.session_state["compare_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert at.query_params["sentence"] == differ[1] and at.selectbox(key="compare_sentence").value == differ[1]
    body = at.html[0].proto.body
    assert "A: eu-match-greedy" in body and "B: eu-heuristic" in body and "<th>gold</th>" in body


def test_compare_of_runs_that_cannot_be_paired_says_why(env):
    at = open_page("pages/7_Compare.py", a="eu-match-greedy", b="es-heuristic")
    assert any("error[E714]" in w.value for w in at.warning)
    assert any("share no sentence" in w.value for w in at.warning)
    at = open_page("pages/7_Compare.py", a="typed-eu", b="eu-heuristic")
    assert any("no gold" in i.value for i in at.info) and not at.metric
    assert list(at.dataframe[0].value["sentence"]) == differing_sentences(
        load_run(env / "extra" / "typed-eu").records, load_run(DEMO / "eu-heuristic").records)


def test_compare_a_run_with_its_sentences_projected_by_another_method(env):
    at = open_page("pages/7_Compare.py", a="eu-match-greedy", b_method="heuristic")
    assert at.radio(key="compare_mode").value == "another projection method"
    # re-projecting the match-greedy run's sentences with the heuristic gives the pipeline's own
    # heuristic run (same translation, English NER and alignment): the same F1 and the same differences
    greedy, heuristic = load_run(DEMO / "eu-match-greedy"), load_run(DEMO / "eu-heuristic")
    expected = compare_runs(DEMO / "eu-match-greedy", DEMO / "eu-heuristic")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["F1 B · heuristic (re-projected)"] == f"{100 * heuristic.metrics['overall']['f1']:.1f}"
    assert metrics["A − B (95% CI)"] == f"{100 * expected['diff']:+.1f}"
    assert list(at.dataframe[0].value["sentence"]) == differing_sentences(greedy.records, heuristic.records)
    assert at.query_params["b_method"] == "heuristic" and "b" not in at.query_params
