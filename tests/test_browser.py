"""End to end in a real browser: Debian's chromium driven by Playwright, against the app as `./dev explore` starts it.

Follows a deep link, steps through sentences with the keyboard and the buttons (timing each switch),
switches projection method, filters errors and opens one, saves a correction, reloads and finds it.
Never runs `playwright install`: it uses /usr/bin/chromium and skips only when that is absent.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import SHOWN, heading, query, start_explorer
from explorer_runs import needs_components, shared_runs
from xlner.explorer import loading
from xlner.explorer.browser import CHROMIUM, settle, setup_problem, stop_app
from xlner.explorer.corrections import CorrectionStore
from xlner.explorer.diff import compare_spans

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
    pytest.mark.skipif(needs_components() is not None, reason=str(needs_components())),
    # ./dev test sets the checkout up before it runs the tests; a test never installs anything itself.
    pytest.mark.skipif(setup_problem() is not None, reason=f"./dev explore would set up first: {setup_problem()}"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = shared_runs()
    tmp = tmp_path_factory.mktemp("browser")
    proc, url = start_explorer(tmp, demo=tmp / "no-demo", runs=runs)
    yield {"url": url, "runs": runs, "db": tmp / "corrections.sqlite"}
    stop_app(proc)


VIEWPORT = {"width": 1400, "height": 1000}  # for the page fixture (conftest.py)


DONE = """sid => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))
  && document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'
  && !document.querySelector('[data-testid=stSkeleton]')"""


def switch_and_time(page, action, expected_sid: str, timings: dict[str, list[float]]) -> None:
    """Milliseconds from the key press / click until the new sentence's heading is on screen
    ("shown"), and until the script run has ended and every element has drawn ("complete")."""
    t = time.perf_counter()
    action()
    page.wait_for_function(SHOWN, arg=expected_sid, timeout=20000, polling=10)
    timings["shown"].append((time.perf_counter() - t) * 1000)
    page.wait_for_function(DONE, arg=expected_sid, timeout=20000, polling=10)
    timings["complete"].append((time.perf_counter() - t) * 1000)


def test_deep_link_keyboard_method_switch(server, page):
    recs = loading.read_records(server["runs"] / "es-heuristic" / "records.jsonl")
    ids = [r.id for r in recs]
    page.goto(f"{server['url']}/Sentences?dataset=fixture-es&sentence={urllib.parse.quote(ids[2])}&method=heuristic")
    settle(page)
    assert heading(page).startswith(f"{ids[2]} ")
    q = query(page)
    assert (q["run"], q["sentence"], q["method"]) == ("es-heuristic", ids[2], "heuristic")
    assert page.locator(".xl-rows[dir]").count() == 1  # token rows carry an explicit direction
    # The alignment matrix is plain HTML, drawn with the sentence.
    assert page.locator("table.xl-heat").get_attribute("data-sentence") == ids[2]

    # Keyboard: N = next, P = previous; the URL follows. Time each switch once loaded.
    timings: dict[str, list[float]] = {"shown": [], "complete": []}
    page.locator("h1").click()  # focus the page, not an input
    for k in range(3, 9):
        switch_and_time(page, lambda: page.keyboard.press("n"), ids[k], timings)
        settle(page)
        assert query(page)["sentence"] == ids[k]
    switch_and_time(page, lambda: page.keyboard.press("p"), ids[7], timings)
    settle(page)
    switch_and_time(page, lambda: page.get_by_role("button", name="◀ Previous").click(), ids[6], timings)
    settle(page)
    assert query(page)["sentence"] == ids[6]
    for what, times in timings.items():
        times.sort()
        print(f"\nsentence switch in chromium, key/click -> {what}: median {times[len(times) // 2]:.0f} ms, "
              f"min {times[0]:.0f} ms, max {times[-1]:.0f} ms over {len(times)} switches")

    # Method switch re-projects this sentence: the projected row's name and the URL change.
    page.get_by_text("match-exact", exact=True).click()
    settle(page)
    assert query(page)["method"] == "match-exact" and query(page)["sentence"] == ids[6]
    assert "projected (match-exact)" in page.locator(".xl-rows").inner_text()

    # Reloading the shared URL gives the same view.
    page.reload()
    settle(page)
    assert heading(page).startswith(f"{ids[6]} ")
    assert "projected (match-exact)" in page.locator(".xl-rows").inner_text()

    # Back-translation: these runs store none, so it is not offered, and a quiet caption says so once.
    assert page.get_by_text("back-translation", exact=True).count() == 0
    assert page.get_by_text("Back-translation: not stored in this run.").count() == 1
    assert page.locator("[data-testid=stAlert]").count() == 0
    assert page.locator("[data-testid=stException]").count() == 0


def test_filter_errors_and_open_a_sentence(server, page):
    recs = loading.read_records(server["runs"] / "es-match-greedy" / "records.jsonl")
    spurious = sum(d.category == "spurious" for r in recs
                   for d in compare_spans(r.gold, r.projected_spans()))
    page.goto(f"{server['url']}/Errors?run=es-match-greedy&category=missed")
    settle(page)
    assert "missed:" in page.locator("body").inner_text()
    # Add "spurious" to the category filter with the keyboard, like a user would.
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Error category")
    box.locator("input").click()
    page.keyboard.type("spurious")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    settle(page)
    assert query(page)["category"] == "missed,spurious"
    assert f"spurious: {spurious}" in page.locator("body").inner_text()
    # Select the first row (its checkbox cell in the data grid): the sentence opens.
    grid = page.locator('[data-testid="stDataFrame"]').first
    bbox = grid.bounding_box()
    grid.click(position={"x": 12, "y": 35 + 18})
    settle(page)
    page.wait_for_url("**/Sentences?*", timeout=20000)
    settle(page)
    q = query(page)
    assert q["run"] == "es-match-greedy" and q["sentence"] in {r.id for r in recs}
    assert heading(page).startswith(q["sentence"] + " ")
    assert bbox is not None


def test_save_a_correction_reload_and_export(server, page):
    recs = loading.read_records(server["runs"] / "es-match-greedy" / "records.jsonl")
    rec = next(r for r in recs if r.projection.projected)
    url = f"{server['url']}/Corrections?run=es-match-greedy&sentence={urllib.parse.quote(rec.id)}"
    page.goto(url)
    settle(page)
    page.get_by_label("Your name (stored with each decision)").fill("tester")
    page.get_by_label("Your name (stored with each decision)").press("Enter")
    settle(page)
    for k in range(len(rec.projection.projected)):
        page.get_by_role("button", name="Accept", exact=True).nth(k).click()
        settle(page)
    assert "Saved: accept" in page.locator("body").inner_text()
    stored = CorrectionStore(server["db"]).history("es-match-greedy", rec.id)
    assert [d["action"] for d in stored] == ["accept"] * len(rec.projection.projected)

    page.reload()  # a new session: the decisions come back from SQLite
    settle(page)
    body = page.locator("body").inner_text()
    assert "No decision yet" not in body and "accept by tester" in body
    page.get_by_role("tab", name="Export").click()  # the Corrections tabs are drawn lazily
    settle(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="CoNLL (token TAG)").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    assert [ln[0] for ln in lines] == rec.tgt_tokens
    tags = [ln[-1] for ln in lines]
    for p in rec.projection.projected:
        assert tags[p.span.start] == f"B-{p.span.label}"


def test_overview_click_on_a_bar_opens_its_errors(server, page):
    page.goto(f"{server['url']}/Overview")
    settle(page)
    box = page.locator(".js-plotly-plot .bars .point path").first.bounding_box()
    # plotly's drag layer takes the pointer events: click where the bar is drawn
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/Errors?*", timeout=20000)
    settle(page)
    run = query(page)["run"]
    assert run in {"es-heuristic", "es-match-greedy", "eu-heuristic", "eu-match-greedy"}
    assert page.locator("h1").first.inner_text() == "Errors"
