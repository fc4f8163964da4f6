"""The Sentences page and Home in a real browser (Debian chromium via Playwright, the app as `./dev explore` starts it).

The runs are built here from real components: the fixture runs of explorer_runs.py (CoNLL-02 Spanish
and Basque gold, Apertium, spaCy, a string-similarity alignment, xlner.project, including a
100+-token sentence), and from them a run without gold (what a typed sentence gives), a run
re-projected by the library's fused matching (candidates with score parts and origin), and a
right-to-left run (Hebrew sentences with their English translation and a hand-made word
alignment, projected by xlner.project).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from browser_helpers import SHOWN, heading, query, start_explorer
from explorer_runs import needs_components, shared_runs
from xlner.datamodel import Alignment, Span
from xlner.explorer import loading
from xlner.explorer.browser import CHROMIUM, settle, setup_problem, stop_app
from xlner.project import project
from xlner.project.fusion import fused_project
from xlner.project.records import capitalization_score
from xlner.record import RunRecord

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
    pytest.mark.skipif(needs_components() is not None, reason=str(needs_components())),
    pytest.mark.skipif(setup_problem() is not None, reason=f"./dev explore would set up first: {setup_problem()}"),
]

# Hebrew sentences, their English translation, gold entities and word links (target index, English index).
HEBREW = [
    (["דוד", "בן", "גוריון", "נולד", "בפולין"], "David Ben Gurion was born in Poland",
     [(0, 3, "PER"), (4, 5, "LOC")], [(0, 0), (1, 1), (2, 2), (3, 4), (4, 6)]),
    (["גולדה", "מאיר", "עבדה", "בתל", "אביב"], "Golda Meir worked in Tel Aviv",
     [(0, 2, "PER"), (3, 5, "LOC")], [(0, 0), (1, 1), (2, 2), (3, 4), (4, 5)]),
]


def write_run(folder: Path, records: list[RunRecord], config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "records.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps({"n_sentences": len(records)}), encoding="utf-8")


def build_extra_runs(fixture: Path, root: Path) -> None:
    eu = loading.read_records(fixture / "eu-match-greedy" / "records.jsonl")
    # no gold: what a typed sentence or a plain-text file gives
    typed = [RunRecord.from_json({**r.to_json(), "gold_entities": None}) for r in eu[:5]]
    write_run(root / "typed-eu", typed, {"lang": "eu", "dataset": "typed", "method": "match-greedy",
                                         "task": "translate-test", "profile": "offline"})
    # fused matching (alignment + capitalisation): every candidate carries its score parts and origin
    es = loading.read_records(fixture / "es-match-greedy" / "records.jsonl")
    fused = []
    for r in es[:6]:
        res = fused_project(r.src_tokens, r.tgt_tokens, r.src_spans, r.alignment, candidates="ngram",
                            weights={"align": 1.0, "cap": 0.5},
                            extra_scores={"cap": capitalization_score(r.alignment.pairs)})
        fused.append(RunRecord.from_json({**r.to_json(), "method": "fused",
                                          "tgt_entities": [p.to_dict() for p in res.projected],
                                          "unprojected": [u.to_dict() for u in res.unprojected],
                                          "candidates": [c.to_dict() for c in res.candidates]}))
    write_run(root / "es-fused", fused, {"lang": "es", "dataset": "fused-es", "method": "fused",
                                         "task": "translate-test", "profile": "offline-e5ner"})
    rtl = []
    for k, (tokens, english, gold, links) in enumerate(HEBREW):
        src = english.split()
        pairs = [[i, j] for j, i in links]
        src_ents = [Span(0, 2, "PER")] if k == 1 else [Span(0, 3, "PER"), Span(6, 7, "LOC")]
        if k == 1:
            src_ents.append(Span(4, 6, "LOC"))
        res = project("match-greedy", src, tokens, src_ents, Alignment.from_pairs(pairs))
        rtl.append(RunRecord.from_json({
            "id": f"he:{k}", "lang": "he", "tgt_tokens": tokens,
            "gold_entities": [{"start": s, "end": e, "label": lab} for s, e, lab in gold],
            "translation": english, "src_tokens": src,
            "src_entities": [{**e.to_dict(), "score": 1.0} for e in src_ents], "alignment": pairs,
            "method": "match-greedy", "tgt_entities": [p.to_dict() for p in res.projected],
            "unprojected": [u.to_dict() for u in res.unprojected],
            "candidates": [c.to_dict() for c in res.candidates]}))
    write_run(root / "he-match-greedy", rtl, {"lang": "he", "dataset": "hebrew-sample", "method": "match-greedy",
                                              "task": "translate-test", "profile": "test"})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    fixture = shared_runs()
    tmp = tmp_path_factory.mktemp("sentences")
    build_extra_runs(fixture, tmp / "extra")
    proc, url = start_explorer(tmp, demo=tmp / "no-demo", runs=os.pathsep.join([str(fixture), str(tmp / "extra")]))
    yield {"url": url, "runs": fixture, "extra": tmp / "extra"}
    stop_app(proc)





def test_home_is_home_and_opens_its_featured_sentence(server, page):
    page.goto(server["url"])
    settle(page)
    entries = [t.strip() for t in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    assert entries[0].endswith("Home") and not any(e.endswith("app") for e in entries), entries
    assert entries[1:3] == [e for e in entries[1:3] if e.endswith(("Overview", "Sentences"))]
    link = page.get_by_role("link", name=re.compile(r"^Open .* in Sentences"))
    sid = re.search(r"Open (\S+) in Sentences", link.inner_text()).group(1)
    assert page.locator(".xl-rows").count() == 1  # the featured sentence is drawn on Home
    link.click()
    page.wait_for_url("**/Sentences?*", timeout=30000)
    settle(page)
    assert heading(page).startswith(f"{sid} ") and query(page)["sentence"] == sid


def test_language_dataset_sentence_first_fragment_switch_and_back(server, page):
    page.goto(f"{server['url']}/Sentences")
    settle(page)
    labels = [t.strip() for t in page.locator('[data-testid=stMain] [data-testid="stWidgetLabel"]').all_inner_texts()]
    assert [t for t in labels if t][:3] == ["Language", "Dataset", "Run"]
    q = query(page)
    assert q["method"] == "match-greedy" and q["lang"] == "es" and q["run"] == "es-match-greedy"
    ids = [r.id for r in loading.read_records(server["runs"] / "es-match-greedy" / "records.jsonl")]
    assert q["sentence"] == ids[0]
    # N reruns only the sentence fragment: the language box above it is the same DOM node afterwards
    page.evaluate("document.querySelector('[data-testid=stSelectbox]').dataset.mark = 'kept'")
    page.locator("h1").click()
    times = []
    for k in (1, 2, 3):
        t = time.perf_counter()
        page.keyboard.press("n")
        page.wait_for_function(SHOWN, arg=ids[k], timeout=30000, polling="raf")
        times.append((time.perf_counter() - t) * 1000)
        settle(page, quiet=0.3)
        assert query(page)["sentence"] == ids[k]
    print(f"\nN -> new sentence shown: {sorted(times)[1]:.0f} ms median of 3")
    assert page.evaluate("document.querySelector('[data-testid=stSelectbox]').dataset.mark") == "kept"
    # Back restores the previous sentence, forward the next
    page.go_back()
    page.wait_for_function(SHOWN, arg=ids[2], timeout=30000)
    settle(page)
    assert query(page)["sentence"] == ids[2]
    # the language is a control of its own: Basque, its dataset and its default-method run
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Language").locator("input").click()
    page.get_by_role("option", name="eu", exact=True).click()
    settle(page)
    q = query(page)
    assert (q["lang"], q["dataset"], q["run"], q["method"]) == ("eu", "fixture-eu", "eu-match-greedy",
                                                               "match-greedy")
    page.go_back()
    page.wait_for_function("() => new URLSearchParams(location.search).get('lang') === 'es'", timeout=30000)
    settle(page)
    assert heading(page).startswith(f"{ids[2]} ")
    assert page.locator("[data-testid=stException]").count() == 0


def test_typed_sentences_without_gold_are_not_scored(server, page):
    typed = loading.read_records(server["extra"] / "typed-eu" / "records.jsonl")
    rec = max(typed, key=lambda r: len(r.projection.projected))
    assert rec.gold is None and rec.projection.projected
    page.goto(f"{server['url']}/Sentences?run=typed-eu&sentence={urllib.parse.quote(rec.id)}")
    page.wait_for_selector(".xl-rows", timeout=60000)
    settle(page)
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "no gold" in body
    assert page.locator('.xl-rows [data-category="spurious"]').count() == 0
    # the projections are drawn, unscored: one mark per projected entity
    assert page.locator('.xl-rows [data-category="no gold"]').count() == len(rec.projection.projected)
    assert "None" not in body and "F1" not in body and "spurious" not in body
    assert page.get_by_role("switch", name="Only sentences with errors").is_disabled()


def test_a_100_token_sentence_wraps_and_its_matrix_focuses(server, page):
    recs = loading.read_records(server["runs"] / "es-match-greedy" / "records.jsonl")
    long = max(recs, key=lambda r: len(r.tgt_tokens))
    assert len(long.tgt_tokens) >= 100
    page.goto(f"{server['url']}/Sentences?run=es-match-greedy&sentence={urllib.parse.quote(long.id)}")
    settle(page)
    rows = page.locator(".xl-rows")
    assert rows.evaluate("el => el.scrollWidth <= el.clientWidth + 1")  # wraps, no sideways scroll
    lines = rows.evaluate("el => new Set([...el.querySelectorAll('.tok')].map(t => Math.round(t.offsetTop))).size")
    assert lines >= 3
    # gold and projected cells stay under their word on every line
    offsets = rows.evaluate("""el => [...el.querySelectorAll('.tok')].map(t => {
        const [w, ...cells] = [...t.querySelectorAll('.w, .c')].map(c => c.getBoundingClientRect());
        return cells.every(c => Math.abs(c.left - w.left) < 1 && Math.abs(c.right - w.right) < 1); })""")
    assert len(offsets) == len(long.tgt_tokens) and all(offsets)
    # the matrix: focused on an entity, at most 30 x 30 cells, labels stay in view when it scrolls
    matrix = page.locator("table.xl-heat")
    assert matrix.locator("td").count() <= 30 * 30
    assert page.get_by_text("Focus (long sentence", exact=False).count() == 1
    box = page.locator(".xl-matrix")
    box.evaluate("el => { el.style.maxHeight = '200px'; el.scrollTop = 400; el.scrollLeft = 300; }")
    page.wait_for_timeout(200)
    tops = box.evaluate("""el => [el.getBoundingClientRect().top, el.querySelector('thead th.col').getBoundingClientRect().top,
        el.getBoundingClientRect().left, el.querySelector('tbody th').getBoundingClientRect().left]""")
    assert abs(tops[0] - tops[1]) < 3 and abs(tops[2] - tops[3]) < 3, tops
    # a window of words instead of an entity
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Focus").locator("input").click()
    page.keyboard.type("a window")
    page.keyboard.press("Enter")
    settle(page)
    assert page.locator("table.xl-heat").get_attribute("data-cols") == "0-30"
    # the whole sentence at once: the lines overview fits the page
    page.get_by_text("Lines", exact=True).click()
    settle(page)
    svg = page.locator("svg.xl-lines").bounding_box()
    assert svg is not None and svg["width"] <= 1400
    assert page.locator("svg.xl-lines line").count() == len(long.alignment.pairs)


def test_a_right_to_left_sentence_reads_right_to_left(server, page):
    page.goto(f"{server['url']}/Sentences?run=he-match-greedy&sentence=he:0")
    settle(page)
    assert page.locator(".xl-rows").get_attribute("dir") == "rtl"
    xs = page.locator(".xl-rows .tok .w").evaluate_all("els => els.map(e => e.getBoundingClientRect().left)")
    assert len(xs) == len(HEBREW[0][0]) and xs == sorted(xs, reverse=True)  # first word rightmost
    assert page.locator(".xl-rows .tok .w").first.inner_text() == HEBREW[0][0][0]
    page.get_by_text("Lines", exact=True).click()
    settle(page)
    texts = page.locator("svg.xl-lines text").evaluate_all(
        "els => els.map(e => [e.textContent, e.getBoundingClientRect().left])")
    hebrew = {t: x for t, x in texts if t in HEBREW[0][0]}
    assert hebrew[HEBREW[0][0][0]] > hebrew[HEBREW[0][0][-1]]


def test_candidate_parts_and_the_shared_html_file(server, page):
    recs = loading.read_records(server["extra"] / "es-fused" / "records.jsonl")
    rec = next(r for r in recs if r.projection.projected)
    page.goto(f"{server['url']}/Sentences?run=es-fused&sentence={urllib.parse.quote(rec.id)}")
    settle(page)
    header = page.locator("table.xl-candidates thead").inner_text().split("\t")
    assert {"origin", "align", "cap", "score", "chosen"} <= {h.strip() for h in header}, header
    assert page.locator("table.xl-candidates tbody tr").count() == len(rec.projection.candidates)
    assert "ngram" in page.locator("table.xl-candidates").inner_text()
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile("Share")).click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert dl.value.suggested_filename.endswith(".html")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I) and "<script" not in text
    for s in rec.gold + rec.projected_spans():
        assert f"{s.label} [{s.start}, {s.end})" in text
    assert "<svg" in text and "<th>cap</th>" in text and "<th>origin</th>" in text
