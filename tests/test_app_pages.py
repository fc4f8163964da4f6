"""Every page and widget path of the explorer, through Streamlit's own AppTest (no browser).

The runs come from explorer_runs.py: real gold sentences, real Apertium + spaCy output, a real
string-similarity alignment and the library's own projection. The embedded demo folder is pointed
away (XLNER_DEMO_RUNS) so that what the tests see is exactly those runs.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer_runs import needs_components, shared_runs
from xlner.explorer import jobs, loading
from xlner.explorer.corrections import CorrectionStore, entity_key
from xlner.cli.evaluate import evaluate_files
from xlner.data import write_jsonl
from xlner.datamodel import Sentence, Span
from xlner.evaluate import CATEGORIES as SEMEVAL_CATEGORIES
from xlner.explorer.diff import compare_spans, evaluate_records
from xlner.runs import RunRecord, list_runs, load_run
from xlner.explorer.reproject import reproject

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "runs"
pytestmark = pytest.mark.skipif(needs_components() is not None, reason=str(needs_components()))


@pytest.fixture
def env(tmp_path, monkeypatch):
    runs = shared_runs()
    monkeypatch.setenv("XLNER_DEMO_RUNS", str(tmp_path / "no-demo"))
    monkeypatch.setenv("XLNER_RUNS", str(runs))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    monkeypatch.setenv("XLNER_CORRECTIONS_DB", str(tmp_path / "corrections.sqlite"))
    return runs


def open_page(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    if page:
        at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def records(runs: Path, key: str) -> list[RunRecord]:
    return loading.read_records(runs / key / "records.jsonl")


# --- home and empty state -----------------------------------------------------------------------

def test_home_counts_the_runs(env):
    at = ok(open_page())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "4" and metrics["Languages"] == "2"


@pytest.mark.parametrize("page", [None, "pages/1_Overview.py", "pages/2_Sentences.py", "pages/3_Errors.py",
                                  "pages/5_Corrections.py"])
def test_every_page_without_runs_says_what_to_do(tmp_path, monkeypatch, page):
    monkeypatch.setenv("XLNER_DEMO_RUNS", str(tmp_path / "none"))
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "empty"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user"))
    at = ok(open_page(page, dataset="x", sentence="1"))
    assert any("No run directories found" in i.value for i in at.info)


# --- Overview -----------------------------------------------------------------------------------

def test_overview_shows_metrics_reference_and_opens_errors(env):
    at = ok(open_page("pages/1_Overview.py"))
    table = at.dataframe[0].value
    assert len(table) == 4
    for _, row in table.iterrows():
        metrics = loading.read_run_info(env / row["run"]).metrics
        assert row["F1"] == pytest.approx(round(metrics["overall"]["f1"] * 100, 1))
        assert row["proj ratio"] == pytest.approx(metrics["proj_ratio"])
        # the paper's Basque numbers beside ours; Spanish has none in the paper
        if row["lang"] == "eu":
            assert row["paper F1 (full-size models)"] == ("58.5" if row["method"] == "match-greedy" else "58.4")
        else:
            assert row["paper F1 (full-size models)"] == "—"  # the paper has none: a dash, never "None"
        # the category columns are xlner.evaluate's (nervaluate's) counts for the run
        report = evaluate_records(records(env, row["run"]))
        assert {c: row[c] for c in SEMEVAL_CATEGORIES} == {c: v["count"] for c, v in report.categories.items()}
    at.multiselect[0].set_value(["eu"]).run()
    assert set(at.dataframe[0].value["lang"]) == {"eu"}
    pick = at.dataframe[0].value.iloc[1]["run"]
    at.session_state["overview_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    ok(at.run())
    assert at.title[0].value == "Errors" and at.query_params.get("run") == pick
    assert at.multiselect[0].value == [pick]



def test_overview_counts_are_xlner_evaluate_on_every_demo_run(tmp_path, monkeypatch):
    """On the embedded demo, each run's counts equal what `xlner evaluate GOLD PRED` prints for the run's
    gold and projected sentences (and what the pipeline wrote into metrics.json); clicking a count opens
    exactly the errors behind it."""
    monkeypatch.delenv("XLNER_DEMO_RUNS", raising=False)
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "none"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    at = ok(open_page("pages/1_Overview.py"))
    table = at.dataframe[0].value
    demo = sorted(p.name for p in list_runs(DEMO))
    assert len(demo) >= 6 and sorted(table["run"]) == demo
    for _, row in table.iterrows():
        run = load_run(DEMO / row["run"])
        files = {}
        for key in ("gold_entities", "tgt_entities"):
            files[key] = tmp_path / f"{row['run']}-{key}.jsonl"
            write_jsonl([Sentence(r.id, r.tgt_tokens, sorted(r.gold) if key == "gold_entities" else
                                  r.projected_spans()) for r in run.records], files[key])
        _, _, report = evaluate_files(str(files["gold_entities"]), str(files["tgt_entities"]))
        shown = {c: int(row[c]) for c in SEMEVAL_CATEGORIES}
        assert shown == {c: v["count"] for c, v in report.categories.items()}, row["run"]
        assert shown == {c: v["count"] for c, v in run.metrics["categories"].items()}, row["run"]
        assert row["not projected"] == sum(len(r.projection.unprojected) for r in run.records)
    # A click on a count opens the Errors page on the entities behind it: as many rows as the count.
    k = int(table["partial"].to_numpy().argmax())
    at.session_state["overview_table"] = {"selection": {"rows": [], "columns": [], "cells": [[k, "partial"]]}}
    ok(at.run())
    assert at.title[0].value == "Errors"
    assert at.query_params["run"] == table.iloc[k]["run"] and at.query_params["category"] == "boundary,boundary+type"
    assert len(at.dataframe[0].value) == table.iloc[k]["partial"] > 0


# --- Sentences ----------------------------------------------------------------------------------

def test_deep_link_opens_the_sentence_and_the_url_follows(env):
    recs = records(env, "es-heuristic")
    sid = recs[3].id
    at = ok(open_page("pages/2_Sentences.py", dataset="fixture-es", sentence=sid, method="heuristic"))
    assert at.selectbox(key="sentences_run").value == "es-heuristic"
    assert at.selectbox(key="sentences_sid").value == sid
    assert at.radio(key="sentences_method").value == "heuristic"
    assert at.query_params["sentence"] == sid and at.query_params["run"] == "es-heuristic"
    html = at.html[0].value
    for tok in recs[3].tgt_tokens[:5]:
        assert tok.replace("&", "&amp;").replace("<", "&lt;") in html
    # a different dataset in the link picks that dataset's run
    at = ok(open_page("pages/2_Sentences.py", dataset="fixture-eu", method="match-greedy"))
    assert at.selectbox(key="sentences_run").value == "eu-match-greedy"


def test_next_previous_step_through_sentences(env):
    ids = [r.id for r in records(env, "es-match-greedy")]
    at = ok(open_page("pages/2_Sentences.py", run="es-match-greedy"))
    assert at.selectbox(key="sentences_sid").value == ids[0]
    assert at.button(key="sentences_prev").disabled
    at.button(key="sentences_next").click().run()
    assert at.selectbox(key="sentences_sid").value == ids[1] and at.query_params["sentence"] == ids[1]
    at.button(key="sentences_next").click().run()
    at.button(key="sentences_prev").click().run()
    assert at.selectbox(key="sentences_sid").value == ids[1]
    at.selectbox(key="sentences_sid").set_value(ids[-1]).run()
    assert at.button(key="sentences_next").disabled and at.query_params["sentence"] == ids[-1]


def entity_table_shown(at: AppTest) -> str:
    """The Sentences page's entity table (plain HTML, class xl-entities)."""
    [table] = [h.value for h in at.html if "xl-entities" in h.value]
    return table


def test_method_switch_reprojects_this_sentence(env):
    from xlner.explorer.figures import source_entity_table, table_html

    recs = records(env, "es-match-greedy")
    # a sentence where the two methods disagree, so the switch must visibly change the projection
    rec = next(r for r in recs if reproject(r, "heuristic").projected != r.projection.projected)
    at = ok(open_page("pages/2_Sentences.py", run="es-match-greedy", sentence=rec.id))
    before = entity_table_shown(at)
    t = time.perf_counter()
    at.radio(key="sentences_method").set_value("heuristic").run()
    switch_ms = (time.perf_counter() - t) * 1000
    ok(at)
    assert at.query_params["method"] == "heuristic" and at.selectbox(key="sentences_sid").value == rec.id
    assert "projected (heuristic)" in at.html[0].value
    expected = reproject(rec, "heuristic")
    # the table is the library's own table of the re-projection, nothing else
    assert table_html(source_entity_table(rec, expected).drop(
        columns=["candidates (best first)"]), css_class="xl-table xl-entities").strip() in entity_table_shown(at)
    assert entity_table_shown(at) != before
    print(f"method switch, AppTest rerun: {switch_ms:.0f} ms")


def test_language_dataset_sentence_come_first_and_the_method_defaults_to_the_profiles(env):
    at = ok(open_page("pages/2_Sentences.py"))
    assert [w.key for w in at.selectbox][:3] == ["sentences_lang", "sentences_dataset", "sentences_run"]
    assert at.radio(key="sentences_method").value == "match-greedy"  # the offline profile's, never blank
    at.selectbox(key="sentences_lang").set_value("eu").run()
    ok(at)
    assert at.selectbox(key="sentences_dataset").value == "fixture-eu"
    assert at.selectbox(key="sentences_run").value == "eu-match-greedy"
    assert at.query_params["lang"] == "eu" and at.query_params["dataset"] == "fixture-eu"
    assert at.selectbox(key="sentences_sid").value == records(env, "eu-match-greedy")[0].id
    # the fixture runs store no back-translation: not offered, said once, quietly
    assert "back-translation" not in at.radio(key="sentences_method").options
    assert [c.value for c in at.caption].count("Back-translation: not stored in this run.") == 1
    assert not at.info and not at.warning


def test_switching_sentences_is_fast_once_loaded(env):
    ids = [r.id for r in records(env, "es-match-greedy")]
    at = ok(open_page("pages/2_Sentences.py", run="es-match-greedy"))
    times = []
    for _ in range(min(10, len(ids) - 1)):
        t = time.perf_counter()
        at.button(key="sentences_next").click().run()
        times.append((time.perf_counter() - t) * 1000)
        ok(at)
    times.sort()
    print(f"sentence switch (AppTest, whole script rerun): median {times[len(times) // 2]:.0f} ms, "
          f"max {times[-1]:.0f} ms")
    assert at.selectbox(key="sentences_sid").value == ids[len(times)]


def test_search_and_error_filter(env):
    recs = records(env, "es-match-greedy")
    at = ok(open_page("pages/2_Sentences.py", run="es-match-greedy"))
    target = recs[5]
    word = max(target.tgt_tokens, key=len)
    at.text_input(key="sentences_search").input(word).run()
    options = at.selectbox(key="sentences_sid").options
    expected = [r.id for r in recs if word.lower() in " ".join(r.tgt_tokens).lower()
                or word.lower() in r.id.lower() or word.lower() in r.translation.lower()]
    assert target.id in at.selectbox(key="sentences_sid").value or options
    assert len(options) == len(expected)
    at.text_input(key="sentences_search").input("zzzqqq-no-such-word").run()
    assert any("No sentence matches" in i.value for i in at.info)
    at.text_input(key="sentences_search").input("").run()
    at.toggle(key="sentences_only_errors").set_value(True).run()
    with_errors = [r.id for r in recs if any(d.category != "correct"
                                              for d in compare_spans(r.gold, r.projected_spans()))]
    assert len(at.selectbox(key="sentences_sid").options) == len(with_errors)


@pytest.mark.parametrize("query, words, code", [
    ({"sentence": "no-such-id", "run": "es-heuristic"}, "no sentence 'no-such-id'", "E912"),
    ({"method": "telepathy", "run": "es-heuristic"}, "unknown projection method 'telepathy'", "E911"),
    ({"run": "no-such-run"}, "no run 'no-such-run'", "E904"),
    ({"dataset": "no-such-dataset"}, "no run of dataset 'no-such-dataset'", "E910"),
])
def test_bad_deep_links_warn_and_still_show_a_sentence(env, query, words, code):
    at = ok(open_page("pages/2_Sentences.py", **query))
    assert any(words in w.value and f"error[{code}]" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.html  # a sentence is shown anyway


# --- Errors -------------------------------------------------------------------------------------

def test_errors_filters_from_url_and_widgets(env):
    at = ok(open_page("pages/3_Errors.py", run="es-match-greedy", category="missed"))
    table = at.dataframe[0].value
    assert len(table) and set(table["category"]) == {"missed"} and "run" not in table  # one run: no run column
    expected = sum(d.category == "missed" for r in records(env, "es-match-greedy")
                   for d in compare_spans(r.gold, r.projected_spans()))
    assert len(table) == expected
    at.multiselect(key="errors_category").set_value(["not projected"]).run()
    reasons = at.dataframe[0].value["reason"]
    assert len(reasons) and "" not in set(reasons)
    assert at.query_params["category"] == "not projected"
    at.multiselect(key="errors_category").set_value([]).run()
    at.multiselect(key="errors_label").set_value(["LOC"]).run()
    assert set(at.dataframe[0].value["label"]) == {"LOC"} and at.query_params["label"] == "LOC"
    assert "correct" not in set(at.dataframe[0].value["category"])  # hidden by default
    at.toggle(key="errors_correct").set_value(True).run()
    assert "correct" in set(at.dataframe[0].value["category"]) and at.query_params["correct"] == "1"
    at.slider(key="errors_length").set_value((2, 2)).run()
    assert set(at.dataframe[0].value["length"]) <= {2} and at.query_params["length"] == "2-2"
    at.slider(key="errors_length").set_value((1, 2)).run()
    at.multiselect(key="errors_label").set_value([]).run()
    scores = [float(x) for x in at.dataframe[0].value["score"] if x]  # no score: an empty cell, never "None"
    assert "None" not in set(at.dataframe[0].value["score"]) and len(set(scores)) > 1
    top = math.ceil(min(scores) * 20) / 20  # the slider's step is 0.05
    at.slider(key="errors_conf").set_value((0.0, top)).run()
    assert at.query_params["conf"] == f"0-{top:g}"
    kept = [float(x) for x in at.dataframe[0].value["score"] if x]
    assert kept and max(kept) <= top < max(scores)
    queue = [float(x) if x else None for x in at.dataframe[1].value["score"]]
    filled = [x for x in queue if x is not None]
    assert queue == [None] * (len(queue) - len(filled)) + sorted(filled)  # no score first, then ascending


def test_selecting_an_error_opens_its_sentence(env):
    at = ok(open_page("pages/3_Errors.py", run="eu-heuristic"))
    row = at.dataframe[0].value.iloc[4]
    at.session_state["errors_table"] = {"selection": {"rows": [4], "columns": [], "cells": []}}
    ok(at.run())
    assert at.title[0].value == "Sentence explorer"
    assert at.selectbox(key="sentences_sid").value == row["sentence"]
    assert at.selectbox(key="sentences_run").value == "eu-heuristic"
    # the review queue opens sentences the same way
    at = ok(open_page("pages/3_Errors.py", run="eu-heuristic"))
    first = at.dataframe[1].value.iloc[0]
    at.session_state["errors_queue"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    ok(at.run())
    assert at.selectbox(key="sentences_sid").value == first["sentence"]


# --- Run ----------------------------------------------------------------------------------------

def test_run_page_refuses_bad_input_before_starting_and_says_it_at_the_top(env):
    at = ok(open_page("pages/4_Run.py"))
    assert at.radio(key="run_mode").value == "Typed sentence" and at.selectbox(key="run_lang").value == "eu"
    assert "sw" not in at.selectbox(key="run_lang").options  # only installed translator pairs
    at.text_area(key="run_text").input("   ")
    at.button[0].click()  # the form's submit button
    at.run()
    assert "E907" in at.error[0].value and "empty" in at.error[0].value  # the first box on the page
    at.text_area(key="run_text").input("Bilbo " * 300)
    at.button[0].click()
    at.run()
    assert "E786" in at.error[0].value and "250" in at.error[0].value and "--set" not in at.error[0].value
    at.radio(key="run_mode").set_value("Dataset file").run()
    at.selectbox(key="run_file_lang").set_value("eu")
    at.button[0].click()
    at.run()
    assert "E784" in at.error[0].value and "does not exist" in at.error[0].value
    assert jobs.list_jobs(loading.user_runs_root()) == []


def test_run_page_shows_a_failed_pipeline_with_its_message(env, tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("Bilbo B-LOC\nda O O O\n\n", encoding="utf-8")  # a malformed line: the reader refuses it
    at = ok(open_page("pages/4_Run.py"))
    at.radio(key="run_mode").set_value("Dataset file").run()
    at.text_input(key="run_path").input(str(bad))
    at.selectbox(key="run_file_lang").set_value("eu")
    at.text_input(key="run_name").input("bad-input")
    at.button[0].click()
    at.run()
    assert at.query_params["job"] == ["bad-input"] or at.query_params["job"] == "bad-input"
    status = jobs.wait(loading.user_runs_root(), "bad-input", timeout=120)
    assert status.state == "failed" and "error[" in status.message
    ok(at.run())
    assert "failed" in at.error[0].value and "error\\[E1" in at.error[0].value  # at the top, as prose


@pytest.mark.slow
def test_run_page_runs_a_typed_sentence_and_it_appears_everywhere(env):
    at = ok(open_page("pages/4_Run.py"))
    at.text_area(key="run_text").input("Miren Etxeberria Gasteizen bizi da eta Eusko Jaurlaritzan lan egiten du.")
    at.text_input(key="run_name").input("typed-eu")
    at.button[0].click()
    at.run()
    try:
        status = jobs.wait(loading.user_runs_root(), "typed-eu", timeout=400)
        assert status.state == "finished", status.message
        ok(at.run())
        assert "finished" in at.success[0].value
        at = ok(open_page("pages/2_Sentences.py", run="typed-eu"))
        assert at.selectbox(key="sentences_run").value == "typed-eu"
        assert "Etxeberria" in at.html[0].value
    finally:
        jobs.stop_worker(loading.user_runs_root())


# --- Corrections --------------------------------------------------------------------------------

def test_corrections_accept_fix_reject_add_and_keep_history(env, tmp_path):
    rec = next(r for r in records(env, "es-match-greedy") if len(r.projection.projected) >= 2)
    at = ok(open_page("pages/5_Corrections.py", run="es-match-greedy", sentence=rec.id))
    assert at.selectbox(key="corrections_sid").value == rec.id
    # without a name the decision is refused, and nothing is stored
    at.button(key=f"acc_{rec.id}_0").click().run()
    assert any("E905" in e.value and "annotator" in e.value for e in at.error)
    at.sidebar.text_input(key="annotator").input("ane").run()
    at.button(key=f"acc_{rec.id}_0").click().run()
    at.button(key=f"rej_{rec.id}_1").click().run()
    # a fix is made by pointing (the span picker, browser-tested); its button enters fix mode
    at.button(key=f"fix_{rec.id}_0").click().run()
    assert any("Fixing" in i.value for i in at.info)
    ok(at)
    history = CorrectionStore(tmp_path / "corrections.sqlite").history("es-match-greedy", rec.id)
    assert [h["action"] for h in history] == ["accept", "reject"]
    assert all(h["annotator"] == "ane" for h in history)
    assert history[0]["entity"] == entity_key(rec.projection.projected[0].span)
    assert len(at.dataframe[0].value) == 2  # this sentence's history
    # a reload (a fresh session) finds every decision, and the corrected row shows the reject
    again = ok(open_page("pages/5_Corrections.py", run="es-match-greedy", sentence=rec.id))
    assert len(again.dataframe[0].value) == 2
    assert "corrected" in again.html[0].value
    again.session_state["corrections_tab"] = "Export"  # the tabs are drawn lazily
    ok(again.run())
    assert [b.label for b in again.get("download_button")] == ["CoNLL (token TAG)", "JSON lines (tokens, tags)"]
    # the annotator's name stays for the session, across page switches
    at.switch_page("pages/2_Sentences.py").run()
    at.switch_page("pages/5_Corrections.py").run()
    assert at.sidebar.text_input(key="annotator").value == "ane"


def test_extra_run_folder_from_the_sidebar_survives_page_switches(env, tmp_path, monkeypatch):
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "nothing-here"))
    at = ok(open_page("pages/1_Overview.py"))
    assert any("No run directories found" in i.value for i in at.info)
    at.sidebar.text_input(key="extra_roots").input(str(env)).run()
    assert len(at.dataframe[0].value) == 4
    at.switch_page("pages/3_Errors.py").run()
    ok(at)
    # one run is shown (the first with gold), the others are offered
    assert at.multiselect(key="errors_runs").value == ["es-heuristic"]
    options = at.multiselect(key="errors_runs").options  # as shown: "dataset · lang · method  (KEY)"
    assert all(any(o.endswith(f"({k})") for o in options)
               for k in ("es-heuristic", "es-match-greedy", "eu-heuristic", "eu-match-greedy"))


@pytest.mark.slow
def test_run_page_on_a_known_data_file_guesses_the_language_and_limits(env):
    import json

    known = str(ROOT.parent / "shared" / "data" / "conll02-es" / "test.txt")
    at = ok(open_page("pages/4_Run.py"))
    at.radio(key="run_mode").set_value("Dataset file").run()
    assert known in at.selectbox(key="run_known").options
    at.selectbox(key="run_known").set_value(known)
    at.number_input(key="run_limit").set_value(3)
    at.text_input(key="run_name").input("known-es")
    at.button[0].click()
    at.run()
    meta = json.loads((loading.user_runs_root() / ".jobs" / "known-es" / "job.json").read_text())
    cmd = meta["command"]
    assert cmd[cmd.index("--lang") + 1] == "es" and cmd[cmd.index("--limit") + 1] == "3"
    status = jobs.wait(loading.user_runs_root(), "known-es", timeout=400)
    assert status.state == "finished", status.message
    at = ok(open_page("pages/1_Overview.py"))
    row = at.dataframe[0].value.set_index("run").loc["known-es"]
    assert row["sentences"] == 3 and row["lang"] == "es"


def test_a_sentence_link_on_the_home_address_opens_the_sentence(env):
    sid = records(env, "eu-heuristic")[2].id
    at = ok(open_page(None, dataset="fixture-eu", sentence=sid, method="heuristic"))
    assert at.title[0].value == "Sentence explorer"
    assert at.selectbox(key="sentences_sid").value == sid
