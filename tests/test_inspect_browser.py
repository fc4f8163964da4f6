"""Overview, Errors and Compare in a real browser (Debian chromium through Playwright), against the app
as `./dev explore` starts it, on the demo runs plus a run of typed sentences (no gold).

What only a browser shows: labels that do not overlap, no "None" drawn anywhere, the browser's Back
button restoring the Errors filters, clicks on chart segments.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from pathlib import Path

import pytest

from browser_helpers import query, start_explorer
from explorer_runs import build_runs, needs_components
from xlner.attribution import attribute_run
from xlner.compare import compare_runs, differing_sentences
from xlner.explorer.browser import CHROMIUM, settle, setup_problem, stop_app
from xlner.runs import load_run, write_run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "runs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
    pytest.mark.skipif(setup_problem() is not None, reason=f"./dev explore would set up first: {setup_problem()}"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inspect-browser")
    run = load_run(DEMO / "eu-match-greedy")
    # typed sentences: the run's own records without gold, as the Run page writes them
    write_run(tmp / "extra" / "typed-eu", {**run.config, "dataset": "typed"}, {"n_sentences": 4},
              [dataclasses.replace(r, gold=None) for r in run.records[:4]])
    long_runs = None
    if needs_components() is None:  # a 141-word CoNLL-02 sentence through Apertium and spaCy, two methods
        long_runs = build_runs(tmp / "extra" / "long", "es", n=1)
    proc, url = start_explorer(tmp, demo=DEMO, runs=tmp / "extra")
    yield {"url": url, "typed": tmp / "extra" / "typed-eu", "long": long_runs}
    stop_app(proc)



def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def overlapping(boxes: list[dict]) -> list[tuple[int, int]]:
    """Pairs of boxes that overlap by more than a pixel."""
    out = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1:], start=i + 1):
            if (min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"]) > 1
                    and min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"]) > 1):
                out.append((i, j))
    return out


def test_overview_one_bar_per_run_labels_apart_no_none_and_typed_runs_as_no_gold(server, page):
    page.goto(f"{server['url']}/Overview")
    settle(page)
    no_exception(page)
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "None" not in body and "Runs without gold" in body
    charts = page.locator(".js-plotly-plot")
    assert charts.count() == 2
    f1_chart = charts.nth(0)
    ticks = [t.text_content() or "" for t in f1_chart.locator(".ytick text").all()]
    paths = {p.name: p for p in DEMO.iterdir() if (p / "metrics.json").is_file()}
    paths.update({f"long/{p.name}": p for p in server["long"] or []})
    assert sorted(t.split("·")[0].strip() for t in ticks) == sorted(paths)  # one bar per run; none for typed
    for chart in (f1_chart, charts.nth(1)):
        labels = [t.bounding_box() for t in chart.locator(".ytick text, .bartext").all()]
        labels = [b for b in labels if b and b["width"] > 0]
        assert labels and not overlapping(labels)
    # the per-stage chart: a click on a segment opens those errors
    segment = next(p for p in charts.nth(1).locator(".bars .point path").all()
                   if (box := p.bounding_box()) and box["width"] > 6)
    segment.scroll_into_view_if_needed()
    box = segment.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/Errors?*", timeout=20000)
    settle(page)
    q = query(page)
    assert q["stage"] in {"translation", "english_ner", "alignment", "projection"} and q["run"] in paths
    expected = attribute_run(load_run(paths[q["run"]]).records).counts()["total"][q["stage"]]
    assert f" · {expected} rows" in page.locator("[data-testid=stMain]").inner_text()


def pick(page, label: str, option: str) -> None:
    """Type an option into a multiselect, as a user would."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label)
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    settle(page)


def chosen(page, label: str) -> list[str]:
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label)
    return [t.get_attribute("title") or "" for t in box.locator(".react-aria-ComboBox [data-tag] span[title]").all()]


def test_errors_back_restores_the_filters_and_shows_entities_in_their_sentences(server, page):
    page.goto(f"{server['url']}/Errors?run=eu-heuristic")
    settle(page)
    no_exception(page)
    main = page.locator("[data-testid=stMain]")
    assert "correct entities hidden" in main.inner_text() and "None" not in main.inner_text()
    assert len(chosen(page, "Runs")) == 1
    pick(page, "Stage that caused it", "alignment")
    assert query(page)["stage"] == "alignment"
    pick(page, "Error category", "missed")
    assert query(page) == {"run": "eu-heuristic", "stage": "alignment", "category": "missed"}
    narrowed = main.inner_text()
    page.go_back()
    settle(page)
    assert query(page) == {"run": "eu-heuristic", "stage": "alignment"}
    assert chosen(page, "Stage that caused it") == ["alignment"] and chosen(page, "Error category") == []
    expected = attribute_run(load_run(DEMO / "eu-heuristic").records).counts()["total"]["alignment"]
    assert f" · {expected} rows" in main.inner_text()
    page.go_forward()
    settle(page)
    assert chosen(page, "Error category") == ["missed"] and main.inner_text() == narrowed
    # each entity inside its sentence, outlined, gold above projected
    page.goto(f"{server['url']}/Errors?run=eu-heuristic")
    settle(page)
    page.get_by_role("tab", name="In their sentences").click()
    settle(page)
    card = page.locator(".xl-ctx").first
    assert card.is_visible() and page.locator("mark.focus").count() >= 1
    no_exception(page)


def test_compare_two_runs_side_by_side(server, page):
    page.goto(f"{server['url']}/Compare?a=eu-match-greedy&b=eu-heuristic")
    settle(page)
    no_exception(page)
    main = page.locator("[data-testid=stMain]")
    res = compare_runs(DEMO / "eu-match-greedy", DEMO / "eu-heuristic")
    text = main.inner_text()
    assert f"95% CI [{100 * res['ci_low']:+.1f}, {100 * res['ci_high']:+.1f}]" in text and "None" not in text
    differ = differing_sentences(load_run(DEMO / "eu-match-greedy").records, load_run(DEMO / "eu-heuristic").records)
    assert f"differ: {len(differ)} of" in text
    tables = page.locator(".xl-cmp table")
    assert page.locator(".xl-cmp tr").count() == 3 * tables.count() > 0
    rows = tables.first.locator("tr")
    assert [rows.nth(i).locator("th").inner_text() for i in range(3)] == ["gold", "A: eu-match-greedy",
                                                                           "B: eu-heuristic"]
    assert query(page)["sentence"] == differ[0]
    page.reload()
    settle(page)
    assert query(page) == {"a": "eu-match-greedy", "b": "eu-heuristic", "sentence": differ[0]}
    # typed sentences have no gold: no F1, said once
    page.goto(f"{server['url']}/Compare?a=typed-eu&b=eu-heuristic")
    settle(page)
    assert "no gold" in main.inner_text() and "F1 A" not in main.inner_text()
    no_exception(page)


def test_compare_wraps_a_141_word_sentence_into_aligned_blocks_on_screen(server, page):
    if server["long"] is None:
        pytest.skip(str(needs_components()))
    records = load_run(server["long"][0]).records
    longest = max(records, key=lambda r: len(r.tgt_tokens))
    assert len(longest.tgt_tokens) > 100
    page.goto(f"{server['url']}/Compare?a=long/es-match-greedy&b=long/es-heuristic"
              f"&sentence={urllib.parse.quote(longest.id)}")
    settle(page)
    no_exception(page)
    view = page.locator(".xl-cmp")
    # no sideways scrolling: the blocks wrap inside the page's width
    assert view.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    tables = view.locator("table")
    assert tables.count() > 1
    width = page.locator("[data-testid=stMain]").bounding_box()["width"]
    for k in range(tables.count()):
        table = tables.nth(k)
        assert table.locator("tr").count() == 3 and table.bounding_box()["width"] <= width
    words = " ".join(tables.nth(k).locator("tr").nth(0).locator("td").nth(j).inner_text().split("\n")[0]
                     for k in range(tables.count()) for j in range(tables.nth(k).locator("tr").nth(0).locator("td").count()))
    assert words.split() == longest.tgt_tokens  # every word once, in reading order
