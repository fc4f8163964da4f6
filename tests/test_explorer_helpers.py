"""The explorer's pure helpers: run loading, gold-vs-projected diff, figures, re-projection, references."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from explorer_runs import needs_components, shared_runs
from xlner.errors import XlnerError
from xlner.explorer import loading
from xlner.datamodel import Sentence, Span
from xlner.evaluate import evaluate
from xlner.explorer.diff import SEMEVAL, compare_spans, entity_table, review_queue, sentence_summary
from xlner.explorer.diff import featured_sentence
from xlner.explorer.export import sentence_html
from xlner.explorer.figures import (MATRIX_WINDOW, aligned_side, alignment_lines_svg, alignment_matrix_html,
                                    candidate_table, entities_html, matrix_window, similarity_matrix,
                                    source_entity_table, table_html, text_direction, token_rows_html)
from xlner.record import RunRecord
from xlner.explorer.reference import canonical_lang, reference_for, reference_table
from xlner.explorer.reproject import available_methods, reproject

real = pytest.mark.skipif(needs_components() is not None, reason=str(needs_components()))


def S(start, end, label="PER", **kw):
    """A span as the JSON form of a record writes it."""
    return {"start": start, "end": end, "label": label, **kw}


def P(start, end, label="PER"):
    return Span(start, end, label)


# --- diff -------------------------------------------------------------------------------------

def test_compare_spans_gives_every_category():
    gold = [P(0, 2, "PER"), P(3, 4, "LOC"), P(5, 7, "ORG"), P(8, 10, "LOC"), P(12, 13, "PER")]
    pred = [P(0, 2, "PER"), P(3, 4, "ORG"), P(5, 6, "ORG"), P(9, 11, "PER"), P(14, 15, "MISC")]
    cats = [(d.category, d.gold and d.gold.start, d.pred and d.pred.start)
            for d in compare_spans(gold, pred)]
    assert cats == [("correct", 0, 0), ("type", 3, 3), ("boundary", 5, 5), ("boundary+type", 8, 9),
                    ("missed", 12, None), ("spurious", None, 14)]
    assert sentence_summary(compare_spans(gold, pred)) == {
        "correct": 1, "type": 1, "boundary": 1, "boundary+type": 1, "missed": 1, "spurious": 1}


def test_compare_spans_is_one_to_one():
    # Two projections overlap the same gold entity: one is the boundary error, the other is spurious.
    diffs = compare_spans([P(0, 3)], [P(0, 1), P(2, 3)])
    assert sorted(d.category for d in diffs) == ["boundary", "spurious"]
    assert compare_spans([], []) == []


def semeval_counts(diffs) -> dict[str, int]:
    """The explorer's categories of one sentence, counted under the evaluation's names."""
    counts = dict.fromkeys(("correct", "incorrect", "partial", "missing", "spurious"), 0)
    for d in diffs:
        counts[SEMEVAL[d.category]] += 1
    return counts


def evaluation_counts(tokens, gold, pred) -> dict[str, int]:
    """What ``xlner.evaluate`` counts for one sentence."""
    def sent(spans):
        return Sentence("s", tokens, sorted(spans))

    return {c: v["count"] for c, v in evaluate([sent(gold)], [sent(pred)]).categories.items()}


def test_overlap_is_first_come_as_in_the_evaluation():
    # Gold PER [0,2) and ORG [2,4); one projected ORG [1,4). nervaluate pairs a projection with the first free
    # gold entity it overlaps, whatever its label: a partial match of another type with PER, and ORG missing.
    # (The explorer used to prefer the same label here and then counted differently from `xlner evaluate`.)
    gold, pred = [P(0, 2, "PER"), P(2, 4, "ORG")], [P(1, 4, "ORG")]
    diffs = compare_spans(gold, pred)
    assert [(d.category, d.gold.label) for d in diffs] == [("boundary+type", "PER"), ("missed", "ORG")]
    assert semeval_counts(diffs) == evaluation_counts(["w"] * 4, gold, pred) == {
        "correct": 0, "incorrect": 0, "partial": 1, "missing": 1, "spurious": 0}


def test_highlights_count_what_the_evaluation_counts_on_random_sentences():
    """Flat random gold and projected spans (what runs hold): per sentence, the explorer's categories add up
    to xlner.evaluate's (nervaluate's) numbers, and every span appears exactly once."""
    rng = np.random.default_rng(0)

    def spans(n):
        out, i = [], int(rng.integers(0, 3))
        while i < n - 1:
            length = int(rng.integers(1, 4))
            if rng.random() < 0.8 and i + length <= n:  # dense, so that spans often cross each other
                out.append(P(i, i + length, str(rng.choice(["PER", "LOC", "ORG"]))))
            i += length + int(rng.random() < 0.15)
        return out

    seen = set()
    for _ in range(400):
        n = int(rng.integers(3, 14))
        gold, pred = spans(n), spans(n)
        diffs = compare_spans(gold, pred)
        assert semeval_counts(diffs) == evaluation_counts(["w"] * n, gold, pred), (gold, pred)
        assert sorted(d.gold_index for d in diffs if d.gold) == list(range(len(gold)))
        assert sorted(d.pred_index for d in diffs if d.pred) == list(range(len(pred)))
        for d in diffs:
            if d.gold and d.pred:  # a pair always overlaps
                assert d.gold.overlaps(d.pred)
        seen |= {d.category for d in diffs}
    assert seen == set(SEMEVAL)  # every category was exercised


def test_highlights_agree_with_the_evaluation_on_every_demo_sentence():
    """Every sentence of every embedded demo run: the categories the token rows draw (data-category) are the
    explorer's pairing, and that pairing counts what xlner.evaluate (nervaluate) counts for the sentence."""
    import re

    from xlner.runs import list_runs, load_run

    demo = list_runs(Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs")
    assert len(demo) >= 6
    n = 0
    for run_dir in demo:
        for rec in load_run(run_dir).records:
            gold, pred = rec.gold, rec.projected_spans()
            diffs = compare_spans(gold, pred)
            assert semeval_counts(diffs) == evaluation_counts(rec.tgt_tokens, gold, pred), (run_dir.name, rec.id)
            drawn = sorted(re.findall(r'data-category="([^"]+)"', token_rows_html(rec.tgt_tokens, gold, pred)))
            assert drawn == sorted(d.category for d in diffs for side in (d.gold, d.pred) if side), rec.id
            n += 1
    assert n >= 150


def test_exact_match_prefers_same_label():
    diffs = compare_spans([P(0, 2, "LOC")], [P(0, 2, "PER"), P(0, 2, "LOC")])
    assert [d.category for d in diffs] == ["correct", "spurious"]


def test_entity_rows_link_projection_to_source_and_reason():
    rec = RunRecord.from_json({
        "id": "s1", "tgt_tokens": ["Ana", "vive", "en", "Bilbao"], "src_tokens": ["Ana", "lives", "in", "Bilbao"],
        "gold_entities": [S(0, 1, "PER"), S(3, 4, "LOC")],
        "src_entities": [S(0, 1, "PER", score=0.9), S(3, 4, "LOC", score=0.4)],
        "tgt_entities": [S(0, 1, "PER", source=0, score=1.0)],
        "unprojected": [{"source": 1, "reason": "unaligned"}]})
    table = entity_table([rec], run="r", lang="es", method="match-greedy")
    assert list(table["category"]) == ["correct", "missed", "not projected"]
    correct = table.iloc[0]
    assert (correct["source_text"], correct["ner_score"], correct["reason"]) == ("Ana", 0.9, "projected")
    unproj = table.iloc[2]
    assert (unproj["source_text"], unproj["reason"], unproj["length"]) == ("Bilbao", "unaligned", 1)
    assert list(review_queue(table)["sentence"]) == ["s1"]
    # without gold nothing is compared: projected entities are listed as such, never as spurious
    no_gold = entity_table([RunRecord.from_json({**rec.to_json(), "gold_entities": None})])
    assert list(no_gold["category"]) == ["no gold", "not projected"]
    assert 'data-category="no gold"' in token_rows_html(rec.tgt_tokens, None, rec.projected_spans())


# --- figures ----------------------------------------------------------------------------------

def test_text_direction_detects_right_to_left():
    assert text_direction(["ذهب", "محمد", "إلى", "القاهرة"]) == "rtl"
    assert text_direction(["שלום", "עולם"]) == "rtl"
    assert text_direction(["Bilboko", "alkatea"]) == "ltr"
    html = token_rows_html(["ذهب", "محمد", "إلى", "القاهرة"], [P(1, 2, "PER")], [P(1, 2, "PER")])
    assert 'dir="rtl"' in html and 'dir="auto"' in html
    assert 'dir="rtl"' in entities_html(["محمد"], [P(0, 1, "PER")])


def test_token_rows_mark_differences_and_escape():
    import re

    html = token_rows_html(["<b>", "Paris", "x"], [P(1, 2, "LOC")], [P(1, 3, "LOC")])
    assert '<span class="w" dir="auto">&lt;b&gt;</span>' in html and "<b>" not in html
    # one mark per entity: the projected 1-3 is a boundary error, drawn under both of its words
    assert re.findall(r'data-category="([^"]+)"', html) == ["boundary", "boundary"]
    assert html.count('title="LOC [1, 3) — boundary"') == 2
    missed = token_rows_html(["Paris"], [P(0, 1, "LOC")], [])
    assert 'data-category="missed"' in missed


def test_token_rows_wrap_word_by_word_and_say_no_gold():
    import re

    tokens = [f"w{i}" for i in range(120)]
    html = token_rows_html(tokens, [P(3, 5, "PER")], [P(3, 5, "PER"), P(100, 103, "ORG")])
    assert "flex-wrap:wrap" in html and "overflow-x" not in html
    columns = re.findall(r'<div class="tok">(.*?)</div>', html)
    assert len(columns) == 120  # one column per word: gold and projected cells stay under their word
    assert all(c.count('class="c') == 2 for c in columns)
    assert 'title="ORG [100, 103) — spurious"' in columns[101]
    no_gold = token_rows_html(tokens[:4], None, [P(0, 1, "LOC")])
    assert "no gold" in no_gold and "spurious" not in no_gold and "None" not in no_gold
    assert all(c.count('class="c') == 1 for c in re.findall(r'<div class="tok">(.*?)</div>', no_gold))


def test_similarity_matrix_falls_back_to_links():
    rec = {"id": "s", "src_tokens": ["a", "b"], "tgt_tokens": ["x", "y", "z"], "alignment": [[0, 1], [1, 2]],
           "alignment_scores": [0.5, 0.8]}
    m, name = similarity_matrix(aligned_side(RunRecord.from_json(rec)), 3)
    assert name == "link score" and m[0, 1] == 0.5 and m[1, 2] == pytest.approx(0.8) and m.sum() == pytest.approx(1.3)
    rec["similarity"] = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    m, name = similarity_matrix(aligned_side(RunRecord.from_json(rec)), 3)
    assert name == "similarity" and m.shape == (2, 3)


@real
def test_alignment_views_on_a_long_real_sentence():
    import re

    recs = loading.read_records(shared_runs() / "es-match-greedy" / "records.jsonl")
    long = max(recs, key=lambda r: len(r.tgt_tokens))
    assert len(long.tgt_tokens) >= 100  # the fixture includes the longest dev sentence
    side = aligned_side(long)
    whole = alignment_matrix_html(side, long.tgt_tokens, long.gold, long.projected_spans())
    assert whole.count("<td") == len(long.src_tokens) * len(long.tgt_tokens)
    assert whole.count("✖") == len(long.alignment.pairs)
    assert "position:sticky" in whole  # the axis labels stay in view when the matrix scrolls
    # focused on an entity: at most MATRIX_WINDOW x MATRIX_WINDOW cells, holding the entity's rows and links
    k = max(range(len(long.src_entities)), key=lambda k: long.src_entities[k].span.start)
    e = long.src_entities[k].span
    rows, cols = matrix_window(side, len(long.tgt_tokens), entity=k)
    assert len(rows) <= MATRIX_WINDOW and len(cols) <= MATRIX_WINDOW
    assert rows.start <= e.start and e.end <= rows.stop
    linked = [j for i, j in long.alignment.pairs.tolist() if e.start <= i < e.end]
    assert all(cols.start <= j < cols.stop for j in linked)
    part = alignment_matrix_html(side, long.tgt_tokens, long.gold, long.projected_spans(), rows=rows, cols=cols)
    assert part.count("<td") == len(rows) * len(cols)
    i, j = long.alignment.pairs[0]
    assert f"{long.src_tokens[i]} ↔ {long.tgt_tokens[j]}" in whole  # the tooltip names both words
    # a window of target words: the rows follow the words linked to it
    rows, cols = matrix_window(side, len(long.tgt_tokens), start=40)
    assert cols == range(40, 40 + MATRIX_WINDOW)
    # the whole sentence as lines fits the page: one line per link, one label per word, scaled by viewBox
    svg = alignment_lines_svg(side, long.tgt_tokens, long.projected_spans())
    assert svg.count("<line") == len(long.alignment.pairs) and 'width="100%"' in svg and "viewBox" in svg
    assert len(re.findall(r"<text ", svg)) == len(long.src_tokens) + len(long.tgt_tokens)
    table = source_entity_table(long)
    assert len(table) == len(long.src_entities)
    projected_sources = {p.source for p in long.projection.projected}
    for _, row in table.iterrows():
        assert (row["projected to"] != "—") == (row["#"] in projected_sources)
        if row["#"] not in projected_sources:
            assert row["reason (not projected)"]


def test_right_to_left_lines_run_right_to_left():
    import re

    rec = RunRecord.from_json({"id": "ar", "tgt_tokens": ["ذهب", "محمد", "إلى", "القاهرة"],
                               "src_tokens": ["Mohamed", "went", "to", "Cairo"], "gold_entities": [],
                               "src_entities": [S(0, 1, "PER", score=1.0)],
                               "alignment": [[0, 1], [3, 3]]})
    svg = alignment_lines_svg(aligned_side(rec), rec.tgt_tokens, [])
    xs = [float(x) for x in re.findall(r'<circle cx="([0-9.]+)" cy="[0-9]+" r="5" fill="[^"]+" stroke="#555">'
                                        r"<title>\d·[^a-zA-Z<]", svg)]
    assert len(xs) == 4 and xs == sorted(xs, reverse=True)  # the first Arabic word is on the right


def test_candidate_table_shows_components_and_origin():
    rec = RunRecord.from_json({
        "id": "c", "tgt_tokens": ["Ana", "vive", "en", "Bilbao"], "src_tokens": ["Ana", "lives", "in", "Bilbao"],
        "gold_entities": [S(0, 1), S(3, 4, "LOC")], "src_entities": [S(0, 1, score=0.9), S(3, 4, "LOC", score=0.8)],
        "method": "match-greedy", "tgt_entities": [S(0, 1, source=0, score=0.7), S(3, 4, "LOC", source=1, score=0.9)],
        "candidates": [
            {"source": 0, "start": 0, "end": 1, "score": 0.7, "origin": "ner",
             "components": {"align": 0.5, "ner": 0.9}},
            {"source": 0, "start": 0, "end": 2, "score": 0.4, "origin": "ngram", "components": {"align": 0.4}},
            {"source": 1, "start": 3, "end": 4, "score": 0.9, "origin": "ngram",
             "components": {"align": 0.9, "cap": 1.0}}]})
    table = candidate_table(rec)
    assert list(table.columns) == ["#", "English entity", "candidate", "span", "score", "chosen", "origin",
                                   "align", "cap", "ner"]
    assert table["candidate"].tolist() == ["Ana", "Ana vive", "Bilbao"]
    assert table["chosen"].tolist() == ["✔", "", "✔"] and table["origin"].tolist() == ["ner", "ngram", "ngram"]
    assert table.iloc[0]["ner"] == 0.9 and table.iloc[1]["ner"] == ""  # a part the candidate has not: empty
    html = table_html(table)
    assert "None" not in html and "nan" not in html and "<td dir=\"auto\">0.900</td>" in html
    # a run without components or origins: just the plain columns
    plain = RunRecord.from_json({**rec.to_json(), "candidates": [{"source": 0, "start": 0, "end": 1, "score": 0.7}]})
    assert list(candidate_table(plain).columns) == ["#", "English entity", "candidate", "span", "score", "chosen"]


def test_exported_sentence_is_self_contained_and_carries_the_spans():
    import html
    import re

    from xlner.runs import list_runs, load_run

    run = load_run(next(p for p in list_runs(Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs")
                        if p.name == "eu-match-greedy"))
    rec = max(run.records, key=lambda r: len(r.src_entities))
    page = sentence_html(rec, rec.projection, rec.method, aligned_side(rec), run_key="eu-match-greedy")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)  # nothing fetched
    assert "<script" not in page and "@import" not in page and "url(" not in page
    for s in rec.gold + rec.projected_spans():
        assert f"{s.label} [{s.start}, {s.end})" in page  # every span, with its words' columns
    assert html.escape(rec.translation) in page and "<svg" in page and 'class="xl-heat"' in page
    assert page.count("✔") == len(rec.projection.projected)


def test_featured_sentence_shows_the_most_outcomes():
    from xlner.runs import list_runs, load_run

    run = load_run(next(p for p in list_runs(Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs")
                        if p.name == "eu-match-greedy"))
    best = featured_sentence(run.records)
    assert best is not None and len(best.tgt_tokens) <= 20

    def kinds(r):
        return len({d.category for d in compare_spans(r.gold, r.projected_spans())} |
                   ({"not projected"} if r.projection.unprojected else set()))

    assert kinds(best) == max(kinds(r) for r in run.records if len(r.tgt_tokens) <= 20) >= 2
    assert featured_sentence([RunRecord.from_json({**best.to_json(), "gold_entities": None})]) is None


# --- loading ----------------------------------------------------------------------------------

@real
def test_discover_and_read_real_runs(tmp_path, monkeypatch):
    root = shared_runs()
    runs = loading.discover_runs([root])
    assert {r.key for r in runs} >= {"es-match-greedy", "es-heuristic", "eu-match-greedy", "eu-heuristic"}
    run = next(r for r in runs if r.key == "es-heuristic")
    assert (run.dataset, run.lang, run.method) == ("fixture-es", "es", "heuristic")
    recs = loading.load_run_records(run.path)
    assert len(recs) == run.metrics["n_sentences"] and all(r.id for r in recs)
    # A second root holding the same folder name gets a qualified key instead of hiding a run.
    other = tmp_path / "other"
    shutil.copytree(run.path, other / "es-heuristic")
    keys = {r.key for r in loading.discover_runs([root, other])}
    assert "other/es-heuristic" in keys and "es-heuristic" in keys
    monkeypatch.setenv("XLNER_RUNS", str(other))
    assert other.resolve() in loading.run_roots()


def _write(path: Path, lines: list[str], *, finished: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if finished:  # the pipeline writes metrics.json last: its presence marks a finished run
        (path / "metrics.json").write_text("{}", encoding="utf-8")
    return path


def test_bad_records_name_file_line_and_sentence(tmp_path):
    """The explorer reads records with xlner.runs (one reader, one validation, one set of codes)."""
    good = json.dumps({"id": "a", "tgt_tokens": ["x"], "gold_entities": []})
    run = _write(tmp_path / "r1", [good, "{not json"])
    with pytest.raises(XlnerError) as e:
        loading.read_records(run / "records.jsonl")
    assert e.value.code == "E210" and "records.jsonl:2" in e.value.message
    run = _write(tmp_path / "r2", [good, json.dumps({"id": "b"})])
    with pytest.raises(XlnerError) as e:
        loading.read_records(run / "records.jsonl")
    assert e.value.code == "E217" and ":2" in e.value.message and "tgt_tokens" in e.value.message
    run = _write(tmp_path / "r3", [json.dumps({"id": "c", "tgt_tokens": ["x"], "gold_entities": [S(0, 3)]})])
    with pytest.raises(XlnerError) as e:
        loading.read_records(run / "records.jsonl")
    assert e.value.code == "E201" and "sentence c" in e.value.message
    (tmp_path / "r4").mkdir()
    (tmp_path / "r4" / "records.jsonl").write_bytes(good.encode() + b"\n\xff\xfe\n")
    with pytest.raises(XlnerError) as e:
        loading.read_records(tmp_path / "r4" / "records.jsonl")
    assert e.value.code == "E215" and "records.jsonl:2" in e.value.message and "UTF-8" in e.value.message
    run = _write(tmp_path / "r5", [good, "[1, 2]"])
    with pytest.raises(XlnerError) as e:
        loading.read_records(run / "records.jsonl")
    assert e.value.code == "E211" and "records.jsonl:2" in e.value.message and "JSON object" in e.value.message
    run = _write(tmp_path / "r6", [json.dumps({"id": "d", "tgt_tokens": ["x"], "tgt_entities": [{"start": 0}]})])
    with pytest.raises(XlnerError) as e:
        loading.read_records(run / "records.jsonl")
    assert e.value.code == "E218" and "sentence d" in e.value.message and "tgt_entities" in e.value.message
    with pytest.raises(XlnerError) as e:
        loading.read_records(tmp_path / "nowhere" / "records.jsonl")
    assert e.value.code == "E720" and "nowhere" in e.value.message


def test_broken_config_is_reported_not_hidden(tmp_path):
    run = _write(tmp_path / "broken", [json.dumps({"id": "a", "tgt_tokens": ["x"]})])
    (run / "config.json").write_text("{oops", encoding="utf-8")
    ok = _write(tmp_path / "ok", [json.dumps({"id": "a", "tgt_tokens": ["x"]})])
    assert [r.key for r in loading.discover_runs([tmp_path])] == ["ok"]
    broken = loading.broken_runs([tmp_path])
    assert len(broken) == 1 and broken[0][0] == run and "E721" in broken[0][1]
    assert ok.exists()


def test_unfinished_runs_are_listed_apart(tmp_path):
    _write(tmp_path / "running", [json.dumps({"id": "a", "tgt_tokens": ["x"]})], finished=False)
    _write(tmp_path / "done", [json.dumps({"id": "a", "tgt_tokens": ["x"]})])
    assert [r.key for r in loading.discover_runs([tmp_path])] == ["done"]
    assert loading.unfinished_runs([tmp_path]) == [tmp_path / "running"]
    assert loading.component_text({"name": "simalign", "layer": 8}) == "simalign (layer=8)"


# --- re-projection ----------------------------------------------------------------------------

@real
def test_reproject_uses_the_library_and_keeps_stored_result():
    recs = loading.read_records(shared_runs() / "es-match-greedy" / "records.jsonl")
    rec = next(r for r in recs if r.projection.projected)
    assert reproject(rec, "match-greedy") is rec.projection  # the stored result, as written
    # The heuristic run of the same sentences was written by xlner.project("heuristic"): re-projecting
    # the greedy run's record with "heuristic" must give exactly what that run stored.
    heur = {r.id: r for r in loading.read_records(shared_runs() / "es-heuristic" / "records.jsonl")}
    for r in recs:
        other = reproject(r, "heuristic")
        assert other.projected == heur[r.id].projection.projected, r.id
        assert other.unprojected == heur[r.id].projection.unprojected
    assert {"heuristic", "match-greedy", "match-exact"} <= set(available_methods())
    # every method the switch offers re-projects a stored record; the fused ones, which need the
    # target tagger's probabilities that records do not store, are not offered (they would raise E685)
    for method in available_methods():
        reproject(rec, method)
    from xlner.project import FUSED_METHODS

    assert FUSED_METHODS and not set(FUSED_METHODS) & set(available_methods())


def test_reproject_refuses_unknown_method_with_sentence():
    rec = RunRecord.from_json({"id": "s9", "tgt_tokens": ["a"], "src_tokens": ["a"], "src_entities": [S(0, 1)],
                               "alignment": [[0, 0]], "method": "match-greedy"})
    with pytest.raises(XlnerError) as e:
        reproject(rec, "no-such-method")
    assert e.value.code == "E760"
    with pytest.raises(XlnerError) as e:
        reproject(RunRecord("s10", ["a"], [], method="x"), "heuristic")
    assert e.value.code == "E906" and "s10" in e.value.message


# --- paper reference --------------------------------------------------------------------------

def test_reference_numbers_match_languages_and_methods():
    table = reference_table()
    assert set(table.columns) == {"lang", "dataset", "method", "f1"}
    assert canonical_lang("eu") == "eus"
    assert reference_for("eu", "match-greedy")["method"].tolist() == ["n-gram matching"]
    assert reference_for("swa", "match-greedy")["method"].tolist() == ["best projection"]
    assert reference_for("es").empty  # no Spanish numbers in the paper: nothing is shown


def test_reproject_with_run_settings_reproduces_the_pipeline_output():
    """A demo run used target-side candidate scores: re-projecting with the run's own projection
    settings must give exactly what the pipeline stored, for every sentence."""
    import dataclasses

    from xlner.runs import load_run

    run = load_run(Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs" / "eu-match-greedy")
    settings = run.config["components"]["projection"]
    assert settings.get("target_scores"), "the demo run is expected to use target-side scores"
    for rec in run.records:
        # ask for the run's own method through the re-projection path (not the stored shortcut)
        again = reproject(dataclasses.replace(rec, method="__other__"), "match-greedy", settings)
        # the run stores scores as float32 (Parquet); spans, labels and sources must be identical
        assert [(p.span, p.source) for p in again.projected] == \
            [(p.span, p.source) for p in rec.projection.projected], rec.id
        assert [p.score for p in again.projected] == pytest.approx(
            [p.score for p in rec.projection.projected], rel=1e-6), rec.id
        assert again.unprojected == rec.projection.unprojected, rec.id
