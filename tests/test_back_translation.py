"""Back-translation (method.md §5, the paper's "tgt2tgt"): the pipeline steps with the real Apertium
eng->spa, the pipeline option, the explorer's re-projection of stored back-translations (no
translator called) and the method switch on the embedded demo runs."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from xlner.datamodel import Reason, Span
from xlner.errors import XlnerError
from xlner.explorer.figures import aligned_side, source_entity_table, table_html
from xlner.explorer.reproject import BACK_TRANSLATION, back_translation_status, reproject
from xlner.pipeline import Options, translate_test, translate_train
from xlner.pipeline import steps as S
from xlner.pipeline.tasks import back_translation_settings
from xlner.project import project_back_translation, project_back_translations
from xlner.runs import RunRecord, load_run
from xlner.translate import get_translator, recover_back_translation, wrap_entities

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
DEMO_RUNS = DEMO / "runs"


def _has_eng_spa() -> bool:
    if shutil.which("apertium") is None:
        return False
    return "eng-spa" in subprocess.run(["apertium", "-l"], capture_output=True, text=True).stdout.split()


needs_eng_spa = pytest.mark.skipif(not _has_eng_spa(), reason="Apertium eng-spa is not installed "
                                   "(apt-get install apertium apertium-eng-spa)")


def _rows(path: Path) -> list[RunRecord]:
    return load_run(path.parent).records


def _key(result) -> list[tuple]:
    return [(p.span, p.source) for p in result.projected]


# --- the steps, with the real Apertium English -> Spanish ------------------------------------------

SENTENCES = [["Barack", "Obama", "visited", "Paris", "yesterday", "."],
             ["The", "United", "Nations", "met", "in", "New", "York", "."],
             ["The", "CAN", "met", "in", "Lima", "."],
             ["The", "team", "lost", "in", "Saint", "Denis", "."],
             ["It", "rained", "all", "day", "."]]
ENTITIES = [[Span(0, 2, "PER"), Span(3, 4, "LOC")], [Span(1, 3, "ORG"), Span(5, 7, "LOC")],
            [Span(1, 2, "ORG"), Span(4, 5, "LOC")], [Span(4, 6, "LOC")], []]


def _english_table() -> pa.Table:
    return pa.table({"id": [f"s{i}" for i in range(len(SENTENCES))], "tokens": SENTENCES,
                     "entities": [[{**s.to_dict(), "score": 1.0} for s in ents] for ents in ENTITIES]},
                    schema=pa.schema([("id", pa.string()), ("tokens", S.TOKENS), ("entities", S.SPANS)]))


@needs_eng_spa
def test_back_translate_and_recover_with_apertium():
    translator = get_translator("apertium", "en", "es", mark_unknown=False)
    english = _english_table()
    out = S.back_translate(english, translator, {})
    texts, alone = out["text"].to_pylist(), out["entity_texts"].to_pylist()
    assert texts[0].startswith("[Barack Obama] ") and "[París] ayer" in texts[0]
    assert "[Naciones Unidas]" in texts[1] and "[Nueva York]" in texts[1]
    assert alone[1] == ["Naciones Unidas", "Nueva York"]  # each entity string translated alone
    assert texts[4] == "" and alone[4] == []               # no entity: nothing sent to the translator

    rec = S.recover_back_translation(
        pa.table({"text": texts, "entity_texts": alone, "entities": english["entities"]}), None,
        {"min_ratio": 0.5}).to_pylist()
    surface = [[(" ".join(r["tokens"][e["start"]:e["end"]]), e["label"], e["source"]) for e in r["entities"]]
               for r in rec]
    assert surface[0] == [("Barack Obama", "PER", 0), ("París", "LOC", 1)]
    assert surface[1] == [("Naciones Unidas", "ORG", 0), ("Nueva York", "LOC", 1)]
    assert all(r["lost"] == [] for r in rec[:2])
    # Failures are visible. Apertium keeps every [ ], but it translates some names differently in
    # a sentence and alone (two of the four cases on the CoNLL-02 test set): "[CAN]" comes back as
    # "[LATA]" while "CAN" alone is "Puede", "[Saint Denis]" as "[Santo Denis]" while alone it is
    # "Denis santo". Those bracketed spans resemble no entity's translation (difflib ratio <= 0.5),
    # so the entity is unprojected as marker_moved instead of silently given the wrong span.
    assert "[LATA]" in texts[2] and alone[2] == ["Puede", "Lima"]
    assert surface[2] == [("Lima", "LOC", 1)] and rec[2]["lost"] == [{"source": 0, "reason": "marker_moved"}]
    assert alone[3] == ["Denis santo"] and rec[3]["lost"] == [{"source": 0, "reason": "marker_moved"}]
    assert rec[4]["tokens"] == [] and rec[4]["entities"] == [] and rec[4]["lost"] == []


def test_lost_unbalanced_and_moved_markers_have_their_own_reasons():
    labels = ["PER", "LOC"]
    alone = ["Obama", "París"]
    # both markers of the second entity dropped
    res = recover_back_translation("[Obama] visitó París ayer.", alone, labels)
    assert [(u.source, u.reason) for u in res.lost] == [(1, Reason.MARKER_LOST)]
    # an unclosed marker: its entity cannot be delimited
    res = recover_back_translation("[Obama] visitó [París ayer.", alone, labels)
    assert res.broken_markers == 1 and [(u.source, u.reason) for u in res.lost] == [(1, Reason.MARKER_UNBALANCED)]
    # markers around other words: the bracketed span resembles no entity's translation
    res = recover_back_translation("[Obama] [visitó] París ayer.", alone, labels)
    assert [(u.source, u.reason) for u in res.lost] == [(1, Reason.MARKER_MOVED)]
    assert [(s, k) for s, k in zip(res.spans, res.sources)] == [(Span(0, 1, "PER"), 0)]
    # every reason is part of the projection reasons that records.jsonl and the Errors page use
    assert {r.value for r in Reason} >= {"marker_lost", "marker_unbalanced", "marker_moved"}


def test_marker_characters_of_the_sentence_do_not_count_as_markers():
    text = wrap_entities(["[", "1", "]", "Obama", "spoke", "."], [Span(3, 4, "PER")])
    assert text.count("[") == 1 and text.count("]") == 1 and "(1)" in text.replace(" ", "")


def test_projection_from_the_back_translation_is_renumbered_to_english_entities():
    """Back-translation spans project onto the sentence; outcomes name the English entity."""
    record = RunRecord.from_json({
        "id": "x", "tgt_tokens": ["Ayer", "Obama", "visitó", "París", "."],
        "src_tokens": ["Obama", "visited", "the", "Louvre", "in", "Paris", "."],
        "src_entities": [{"start": 0, "end": 1, "label": "PER"}, {"start": 3, "end": 4, "label": "LOC"},
                         {"start": 5, "end": 6, "label": "LOC"}],
        "back_translation": {
            "tokens": ["Obama", "visitó", "París", "ayer", "."],
            # the second recovered span came from English entity 2; entity 1 lost its markers
            "entities": [{"start": 0, "end": 1, "label": "PER", "source": 0, "score": 1.0},
                         {"start": 2, "end": 3, "label": "LOC", "source": 2, "score": 1.0}],
            "lost": [{"source": 1, "reason": "marker_lost"}],
            "alignment": [[0, 1], [1, 2], [2, 3], [3, 0], [4, 4]]}})
    [res] = project_back_translations([record], "match-greedy", {"options": {}, "target_scores": {}})
    assert [(p.span, p.source) for p in res.projected] == [(Span(1, 2, "PER"), 0), (Span(3, 4, "LOC"), 2)]
    assert [(u.source, u.reason) for u in res.unprojected] == [(1, Reason.MARKER_LOST)]
    assert {c.source for c in res.candidates} <= {0, 2}


# --- the pipeline option -------------------------------------------------------------------------

def _subset(tmp_path: Path, lang: str, n: int) -> Path:
    path = tmp_path / f"{lang}.jsonl"
    path.write_text("\n".join((DEMO / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()[:n]) + "\n",
                    encoding="utf-8")
    return path


def _opts(tmp_path: Path, data: Path, lang: str, out: str, **kw) -> Options:
    return Options(data=str(data), lang=lang, out=str(tmp_path / out), shared_cache=False,
                   progress=False, **kw)


@pytest.mark.slow
@needs_eng_spa
def test_back_translation_run_is_cached_and_matches_the_switch(tmp_path):
    data = _subset(tmp_path, "es", 4)
    run = translate_test(_opts(tmp_path, data, "es", "bt", method=BACK_TRANSLATION))
    assert run.config["method"] == BACK_TRANSLATION
    assert run.config["back_translation"]["status"] == "stored"
    assert run.config["back_translation"]["direction"] == "en->es"
    assert run.config["back_translation"]["translator"] == {"name": "apertium", "mark_unknown": False}
    assert set(run.metrics["seconds"]) >= {"align", "back_translate", "bt_recover", "bt_align", "project"}
    for r in run.records:
        bt = r.back_translation
        assert r.method == BACK_TRANSLATION and bt.method == "match-greedy"
        assert bt.text.count("[") == len(r.src_entities)
        assert all(0 <= i < len(bt.tokens) and 0 <= j < len(r.tgt_tokens) for i, j in bt.alignment.pairs.tolist())
        outcomes = sorted([e.source for e in r.projection.projected] + [u.source for u in r.projection.unprojected])
        assert outcomes == list(range(len(r.src_entities)))  # every English entity accounted for
        again = project_back_translation(r, run.config["components"]["projection"])
        assert [(p.span, p.source) for p in again.projected] == [(p.span, p.source) for p in r.projection.projected]
    assert run.metrics["overall"]["f1"] > 0.3

    # Rerun: every step is read back from the cache, back-translation included.
    again = translate_test(_opts(tmp_path, data, "es", "bt", method=BACK_TRANSLATION))
    assert set(again.metrics["cached_steps"]) >= {"translate", "align", "back_translate", "bt_recover",
                                                  "bt_align", "project"}
    assert again.records == run.records

    # Another method on the same data with the back-translation stored for the switch: the
    # records keep their own projection and carry the same back-translation.
    store = translate_test(_opts(tmp_path, data, "es", "bt", method="heuristic",
                                 overrides=("back_translation.store=true",)))
    assert {"back_translate", "bt_align"} <= set(store.metrics["cached_steps"])
    for r, b in zip(store.records, run.records):
        assert r.method == "heuristic" and r.back_translation == b.back_translation
        shown = reproject(r, BACK_TRANSLATION, store.config["components"]["projection"])
        assert [(p.span, p.source) for p in shown.projected] == [(p.span, p.source) for p in b.projection.projected]
        assert shown.unprojected == b.projection.unprojected


@pytest.mark.slow
def test_missing_english_to_basque_translator(tmp_path):
    data = _subset(tmp_path, "eu", 2)
    # As the method: refused before any work, naming the direction and where to get one.
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(tmp_path, data, "eu", "bt", method=BACK_TRANSLATION))
    assert err.value.code == "E754" and "English into 'eu'" in err.value.message
    assert "apertium-eu-en translates eus->eng only" in err.value.message
    assert "paper profile" in err.value.hint
    assert not (tmp_path / "bt" / "steps").exists()
    # Stored for the switch: the run is written without it and config.json says why.
    run = translate_test(_opts(tmp_path, data, "eu", "store", overrides=("back_translation.store=true",)))
    status = run.config["back_translation"]
    assert status["status"] == "unavailable" and status["direction"] == "en->eu"
    assert "E403" in status["reason"] and "paper profile" in status["hint"]
    assert all(r.back_translation is None for r in run.records)


def test_back_translation_options_are_checked(tmp_path):
    profile = {"path": "p.yaml", "translator": {"name": "apertium", "mark_unknown": True},
               "back_translation": {"method": "telepathy"}}
    with pytest.raises(XlnerError) as err:
        back_translation_settings(profile)
    assert err.value.code == "E750" and "back_translation.method" in err.value.message
    profile["back_translation"] = {"min_ratio": 1.5}
    with pytest.raises(XlnerError) as err:
        back_translation_settings(profile)
    assert "min_ratio" in err.value.message
    profile["back_translation"] = {"markers": "{}"}
    with pytest.raises(XlnerError) as err:
        back_translation_settings(profile)
    assert "markers" in err.value.message
    # the default: the forward translator reversed, without Apertium's unknown-word marks
    profile["back_translation"] = None
    assert back_translation_settings(profile)["translator"] == {"name": "apertium", "mark_unknown": False}
    with pytest.raises(XlnerError) as err:
        translate_train(Options(data=str(DEMO / "es.jsonl"), lang="es", out=str(tmp_path / "t"),
                                method=BACK_TRANSLATION))
    assert err.value.code == "E746" and "refinement of translate-test" in err.value.message


# --- the explorer: stored back-translation re-projected, no translator ----------------------------

ES_RUNS = ("es-heuristic", "es-match-greedy", "es-match-exact")


@pytest.mark.parametrize("name", ES_RUNS + ("es-back-translation",))
def test_switch_reproduces_the_stored_back_translation_for_every_demo_sentence(name):
    """Switching any es demo run to back-translation gives exactly what the back-translation run
    stored, sentence by sentence (the bt run itself through the re-projection path, not the
    stored shortcut)."""
    stored = {r.id: r for r in _rows(DEMO_RUNS / "es-back-translation" / "records.jsonl")}
    config = json.loads((DEMO_RUNS / name / "config.json").read_text(encoding="utf-8"))
    records = _rows(DEMO_RUNS / name / "records.jsonl")
    assert len(records) == len(stored) == 26
    for rec in records:
        if name == "es-back-translation":
            rec = dataclasses.replace(rec, method="__other__")
        shown = reproject(rec, BACK_TRANSLATION, config["components"]["projection"])
        want = stored[rec.id].projection
        assert _key(shown) == _key(want), rec.id
        assert [p.score for p in shown.projected] == pytest.approx([p.score for p in want.projected],
                                                                   rel=1e-6), rec.id
        assert shown.unprojected == want.unprojected, rec.id


def test_back_translation_status_names_the_missing_direction():
    es = json.loads((DEMO_RUNS / "es-match-greedy" / "config.json").read_text(encoding="utf-8"))
    assert back_translation_status(es, _rows(DEMO_RUNS / "es-match-greedy" / "records.jsonl")) == (True, "")
    eu = json.loads((DEMO_RUNS / "eu-match-greedy" / "config.json").read_text(encoding="utf-8"))
    ok, why = back_translation_status(eu, _rows(DEMO_RUNS / "eu-match-greedy" / "records.jsonl"))
    assert not ok and "en→eu" in why and "apertium-eu-en" in why and "--profile paper" in why
    # an older run (no back_translation in config.json): the direction is still explained
    old = {k: v for k, v in eu.items() if k != "back_translation"}
    ok, why = back_translation_status(old, [])
    assert not ok and "apertium-eu-en translates eus->eng only" in why and "--profile paper" in why
    # an older Spanish run: how to add it
    ok, why = back_translation_status({k: v for k, v in es.items() if k != "back_translation"}, [])
    assert not ok and "back_translation.store=true" in why
    with pytest.raises(XlnerError) as err:
        reproject(RunRecord("old:1", ["a"], [], method="heuristic"), BACK_TRANSLATION)
    assert err.value.code == "E715" and "old:1" in err.value.message


def test_back_translation_side_for_the_figures():
    rec = _rows(DEMO_RUNS / "es-match-greedy" / "records.jsonl")[0]
    side = aligned_side(rec, BACK_TRANSLATION)
    assert side.tokens == rec.back_translation.tokens and side.alignment is rec.back_translation.alignment
    assert side.entities == [e.span for e in rec.back_translation.entities]
    assert aligned_side(rec).alignment is rec.alignment  # the English side: the record's own alignment
    assert aligned_side(RunRecord("x", [], None), BACK_TRANSLATION) is None


# --- the method switch on the Sentences page (Streamlit AppTest, embedded demo) ------------------

@pytest.fixture
def demo_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XLNER_DEMO_RUNS", str(DEMO_RUNS))
    monkeypatch.setenv("XLNER_RUNS", str(tmp_path / "none"))
    monkeypatch.setenv("XLNER_USER_RUNS", str(tmp_path / "user-runs"))
    monkeypatch.setenv("XLNER_CORRECTIONS_DB", str(tmp_path / "corrections.sqlite"))


def _sentences(**query: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/2_Sentences.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_selecting_back_translation_on_the_spanish_demo(demo_env):
    recs = _rows(DEMO_RUNS / "es-match-greedy" / "records.jsonl")
    config = json.loads((DEMO_RUNS / "es-match-greedy" / "config.json").read_text(encoding="utf-8"))
    settings = config["components"]["projection"]
    # the sentence with the most entities (on the 26 demo sentences back-translation projects
    # exactly what match-greedy projects: Apertium's round trip gives back nearly the same words)
    rec = max(recs, key=lambda r: len(r.src_entities))
    at = _sentences(run="es-match-greedy", sentence=rec.id)
    radio = at.radio(key="sentences_method")
    assert BACK_TRANSLATION in radio.options and radio.value == "match-greedy"
    radio.set_value(BACK_TRANSLATION).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["method"] == BACK_TRANSLATION and at.selectbox(key="sentences_sid").value == rec.id
    assert "projected (back-translation)" in at.html[0].value
    assert any("Back-translation" in m.value for m in at.markdown)
    assert any(rec.back_translation.text == c.value for c in at.caption)
    assert not at.info  # available: nothing to explain
    expected = reproject(rec, BACK_TRANSLATION, settings)
    table = table_html(source_entity_table(rec, expected).drop(columns=["candidates (best first)"]),
                       css_class="xl-table xl-entities")
    assert any(table.strip() in h.value for h in at.html)  # the page's entity table is the library's re-projection


def test_back_translation_is_not_offered_on_the_basque_demo_and_said_once(demo_env):
    at = _sentences(run="eu-match-greedy", method=BACK_TRANSLATION)
    radio = at.radio(key="sentences_method")
    assert radio.value == "match-greedy" and BACK_TRANSLATION not in radio.options
    assert not at.warning and not at.info  # a known method: no "unknown method" box, no large box either
    [said] = [c for c in at.caption if c.value.startswith("Back-translation:")]
    assert said.value == "Back-translation: not stored in this run. Showing its own method."
    why = ui_back_translation_reason(DEMO_RUNS / "eu-match-greedy")
    assert said.proto.help == why  # the reason and how to get it: in the caption's tooltip
    assert "en→eu" in why and "apertium-eu-en" in why and "--profile paper" in why
    assert "projected (match-greedy)" in at.html[0].value  # the run's own projection is shown


def ui_back_translation_reason(run_dir):
    from xlner.explorer.reproject import back_translation_status

    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    ok_, why = back_translation_status(config, _rows(run_dir / "records.jsonl"))
    assert not ok_
    return why


def test_overview_lists_the_back_translation_run_beside_the_others(demo_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/1_Overview.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    es = table[table["lang"] == "es"].set_index("method")
    assert {"match-greedy", BACK_TRANSLATION} <= set(es.index)
    f1 = load_run(DEMO_RUNS / "es-back-translation").metrics["overall"]["f1"]
    assert es.loc[BACK_TRANSLATION, "F1"] == pytest.approx(round(f1 * 100, 1))


def test_back_translation_run_switches_to_other_methods_and_draws_its_alignment(demo_env):
    recs = _rows(DEMO_RUNS / "es-back-translation" / "records.jsonl")
    rec = max(recs, key=lambda r: len(r.src_entities))
    at = _sentences(run="es-back-translation", sentence=rec.id)
    assert at.radio(key="sentences_method").value == BACK_TRANSLATION
    assert "projected (back-translation)" in at.html[0].value
    assert any("Rows: back-translation words" in c.value for c in at.caption)  # the figure's rows are its words
    at.radio(key="sentences_view").set_value("Lines").run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key="sentences_method").set_value("heuristic").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "projected (heuristic)" in at.html[0].value
    assert not any("back-translation's" in c.value for c in at.caption)
