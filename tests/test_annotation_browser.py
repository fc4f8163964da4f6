"""The annotation workflow in a real browser, several annotators at once (issue 10).

Each test opens two or more Playwright contexts (separate browsers as far as the page can tell:
own cookies, own localStorage, own Streamlit session) as different annotators against one app
server, on the embedded demo runs plus a small UI run with a right-to-left sentence and a
100-token sentence. Debian chromium, never `playwright install`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from xlner.corrections.resolve import final
from xlner.corrections.store import CorrectionStore, entity_key
from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS, free_port, settle, start_app, stop_app
from xlner.explorer.loading import load_run_records

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "runs"
RUN = "es-match-greedy"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]

# A right-to-left sentence (Arabic: "Muhammad visited Cairo with Sara on Monday") and a 100-token
# sentence made of the Spanish demo's words, to check reading order and wrapping.
RTL = ["زار", "محمد", "القاهرة", "مع", "سارة", "يوم", "الاثنين", "."]


def _ui_run(folder: Path) -> None:
    words = [t for r in load_run_records(DEMO / RUN) for t in r.tgt_tokens][:100]
    recs = [{"id": "rtl:1", "lang": "ar", "tgt_tokens": RTL, "gold_entities": [{"start": 1, "end": 2, "label": "PER"}],
             "tgt_entities": [{"start": 1, "end": 2, "label": "PER", "score": 0.9, "source": -1}]},
            {"id": "long:1", "lang": "es", "tgt_tokens": words, "gold_entities": [],
             "tgt_entities": [{"start": 0, "end": 2, "label": "PER", "score": 0.5, "source": -1}]}]
    run = folder / "ui-run"
    run.mkdir(parents=True)
    (run / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), "utf-8")
    (run / "config.json").write_text(json.dumps({"lang": "ar", "method": "match-greedy", "dataset": "ui"}))
    (run / "metrics.json").write_text("{}")


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "XLNER_CORRECTIONS_POLL": os.environ.get("XLNER_CORRECTIONS_POLL", "2"), "XLNER_DEMO_RUNS": str(DEMO), "XLNER_RUNS": str(tmp / "runs"),
            "XLNER_USER_RUNS": str(tmp / "user-runs"), "XLNER_CORRECTIONS_DB": str(tmp / "corrections.sqlite"),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("annotation")
    _ui_run(tmp / "runs")
    port = free_port()
    try:
        proc = start_app(_env(tmp), port)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield {"url": f"http://127.0.0.1:{port}", "db": tmp / "corrections.sqlite", "tmp": tmp}
    stop_app(proc)


@pytest.fixture
def annotators(browser):
    """``open(name, **query)`` -> a page in a context of its own; contexts are closed afterwards."""
    contexts = []

    def open_as(server_url: str, name: str | None, **query: str):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        q = {**query, **({"annotator": name} if name else {})}
        page.goto(f"{server_url}/Corrections?" + "&".join(f"{k}={v}" for k, v in q.items()))
        settle(page)
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


def body(page) -> str:
    return page.locator("body").inner_text()


ACK = re.compile(r"Saved: .*· #(\d+)")


def last_ack(page) -> int | None:
    m = ACK.search(body(page))
    return int(m.group(1)) if m else None


def save(page, key: str) -> int:
    """Press a decision key and wait for the page's acknowledgement (the saved row id)."""
    before = last_ack(page)
    page.keyboard.press(key)
    deadline = time.time() + 30
    while time.time() < deadline:
        now = last_ack(page)
        if now is not None and now != before:
            settle(page)
            return now
        time.sleep(0.05)
    raise AssertionError(f"no acknowledgement after pressing {key}: {body(page)[:500]}")


def wait_text(page, text: str, timeout: float = 8) -> float:
    """Seconds until ``text`` shows on the page without any interaction (live refresh)."""
    start = time.time()
    while time.time() - start < timeout:
        if text in body(page):
            return time.time() - start
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear within {timeout} s")


def name_box(page):
    return page.get_by_label("Your name (stored with each decision)")


def tokens(page):
    return page.locator(".xsp-tok")


# --- 1. spans by pointing -----------------------------------------------------------------------

def test_spans_by_pointing_click_shift_drag_and_adjust(server, annotators):
    recs = load_run_records(DEMO / RUN)
    rec = recs[0]  # María González , portavoz de Greenpeace , denunció el vertido en Valencia .
    ane = annotators(server["url"], "ane", run=RUN, sentence=rec.id)
    jon = annotators(server["url"], "jon", run=RUN, sentence=rec.id)
    labels = ane.locator(".xsp-chip")
    store = CorrectionStore(server["db"])
    # click start, click end, a digit for the type
    tokens(ane).nth(7).click()
    tokens(ane).nth(9).click()
    assert 'add [7, 10) "denunció el vertido"' in ane.locator('[data-testid="span-picker-bar"]').inner_text()
    chips = [c.split(" ", 1)[1] for c in labels.all_inner_texts() if c[0].isdigit()]
    save_digit = str(chips.index("MISC") + 1)
    save(ane, save_digit)
    assert [(d["action"], d["start"], d["end"], d["label"]) for d in store.history(RUN, rec.id)] == [
        ("add", 7, 10, "MISC")]
    # drag across tokens
    box3, box4 = tokens(ane).nth(3).bounding_box(), tokens(ane).nth(4).bounding_box()
    ane.mouse.move(box3["x"] + 5, box3["y"] + 5)
    ane.mouse.down()
    ane.mouse.move(box4["x"] + 5, box4["y"] + 5, steps=4)
    ane.mouse.up()
    assert 'add [3, 5)' in ane.locator('[data-testid="span-picker-bar"]').inner_text()
    ane.locator(".xsp-chip", has_text="MISC").click()
    settle(ane)
    # shift-click over the projected "Valencia" (11) from the preceding "en" (10): adjusts that entity
    tokens(ane).nth(10).click()
    tokens(ane).nth(11).click(modifiers=["Shift"])
    assert "adjust 11-12-PER to [10, 12)" in ane.locator('[data-testid="span-picker-bar"]').inner_text()
    save(ane, str(chips.index("LOC") + 1))
    got = [(d["action"], d["entity"], d["start"], d["end"], d["label"]) for d in store.history(RUN, rec.id)]
    assert got[1:] == [("add", "new-3-5-MISC", 3, 5, "MISC"), ("fix", "11-12-PER", 10, 12, "LOC")]
    # Escape cancels a pending selection: nothing saved
    tokens(ane).nth(0).click()
    ane.keyboard.press("Escape")
    assert "Click a token to start" in ane.locator('[data-testid="span-picker-bar"]').inner_text()
    assert len(store.history(RUN)) == 3
    # the other annotator sees ane's fix on their page within seconds, without touching anything
    assert wait_text(jon, "fix → LOC [10–12) by ane") < 8


def test_right_to_left_and_a_100_token_sentence(server, annotators):
    ane = annotators(server["url"], "ane", run="ui-run", sentence="rtl:1")
    jon = annotators(server["url"], "jon", run="ui-run", sentence="long:1")
    row = ane.locator('[data-testid="span-picker-tokens"]')
    assert row.get_attribute("dir") == "rtl"
    first, third = tokens(ane).nth(0).bounding_box(), tokens(ane).nth(2).bounding_box()
    assert first["x"] > third["x"]  # reading order runs right to left
    tokens(ane).nth(2).click()
    tokens(ane).nth(2).click()
    ane.locator(".xsp-chip", has_text="LOC").click()
    settle(ane)
    tokens(ane).nth(4).click()
    save(ane, str([c.split(" ", 1)[1] for c in ane.locator(".xsp-chip").all_inner_texts()
                   if c[0].isdigit()].index("PER") + 1))  # one token: a digit right after the first click
    store = CorrectionStore(server["db"])
    assert [(d["start"], d["end"], d["label"]) for d in store.history("ui-run", "rtl:1")] == [(2, 3, "LOC"),
                                                                                           (4, 5, "PER")]
    # 100 tokens wrap onto several lines and the last ones are as easy to point at
    assert tokens(jon).count() == 100
    assert tokens(jon).nth(99).bounding_box()["y"] > tokens(jon).nth(0).bounding_box()["y"] + 60
    tokens(jon).nth(90).click()
    tokens(jon).nth(95).click()
    jon.locator(".xsp-chip", has_text="ORG").click()
    settle(jon)
    assert [(d["annotator"], d["start"], d["end"]) for d in store.history("ui-run", "long:1")] == [("jon", 90, 96)]


# --- 2. one-key decisions, 4. identity ------------------------------------------------------------

def test_one_key_decisions_auto_advance_and_show_who_decided(server, annotators):
    recs = [r for r in load_run_records(DEMO / "eu-match-greedy") if r.projection.projected]
    rec = recs[0]
    ents = sorted((p.span for p in rec.projection.projected), key=lambda s: (s.start, s.end))
    ane = annotators(server["url"], "ane", run="eu-match-greedy", sentence=rec.id)
    jon = annotators(server["url"], "jon", run="eu-match-greedy", sentence=rec.id)
    store = CorrectionStore(server["db"])
    save(ane, "a")
    [d] = store.history("eu-match-greedy", annotator="ane")
    assert (d["entity"], d["action"]) == (entity_key(ents[0]), "accept")
    assert "accept by ane" in body(ane)
    assert wait_text(jon, "accept by ane") < 8  # the other tab, untouched
    if len(ents) > 1:  # the next entity of the sentence is now current: X rejects it
        save(ane, "x")
        assert store.history("eu-match-greedy", annotator="ane")[-1]["entity"] == entity_key(ents[1])
    # Space skips without saving; the queue moves on
    n = len(store.history("eu-match-greedy"))
    ane.keyboard.press("Space")
    settle(ane)
    assert len(store.history("eu-match-greedy")) == n
    assert re.search(r"\d+ of \d+ entities reviewed by ane", body(ane))


def test_keys_pressed_faster_than_the_page_runs_are_all_kept_in_order(server, annotators):
    """Five decision keys in a burst (no wait for the page): Streamlit reruns with the latest widget
    value only, so the picker queues the keys and sends the next when the page has acknowledged the
    last; each is saved once, in order, each on the next undecided entity (also across a sentence)."""
    run = "es-match-exact"
    page = annotators(server["url"], "burst", run=run)
    page.locator('[data-testid="span-picker-tokens"]').first.wait_for(state="attached")
    keys = ["a", "x", "a", "a", "x"]
    for key in keys:
        page.keyboard.press(key)
    store = CorrectionStore(server["db"])
    deadline = time.time() + 60
    while len(store.history(run, annotator="burst")) < len(keys) and time.time() < deadline:
        time.sleep(0.1)
    settle(page)
    rows = store.history(run, annotator="burst")
    assert [d["action"] for d in rows] == ["accept" if k == "a" else "reject" for k in keys], rows
    assert len({(d["sentence"], d["entity"]) for d in rows}) == len(keys)  # each on another entity


def test_the_name_persists_across_reloads_and_sessions_and_is_required(server, annotators, browser):
    ane = annotators(server["url"], "ane", run=RUN)
    ane.reload()
    settle(ane)
    assert name_box(ane).input_value() == "ane"
    # a new tab of the same browser, opened without ?annotator=: the browser remembers the name
    again = ane.context.new_page()
    again.goto(f"{server['url']}/Corrections?run={RUN}")
    settle(again)
    deadline = time.time() + 10
    while name_box(again).input_value() != "ane":
        assert time.time() < deadline, "the remembered name did not come back"
        time.sleep(0.2)
    settle(again)
    assert "annotator=ane" in again.url
    # another browser without a name cannot save, and says why
    anon = annotators(server["url"], None, run=RUN)
    anon.keyboard.press("a")
    settle(anon)
    assert "error[E905]" in body(anon)


# --- 3. the review queue --------------------------------------------------------------------------

def test_queue_by_lowest_score_with_progress_and_assignment(server, annotators):
    recs = load_run_records(DEMO / "es-match-exact")
    with_ents = [i for i, r in enumerate(recs) if r.projection.projected]
    CorrectionStore(server["db"]).assign(run="es-match-exact", annotator="jon", first=with_ents[3],
                                         last=with_ents[5] + 1)
    ane = annotators(server["url"], "ane", run="es-match-exact")
    jon = annotators(server["url"], "jon", run="es-match-exact")
    total = sum(len(recs[i].projection.projected) for i in with_ents)
    assert f"0 of {total} entities reviewed by ane" in body(ane)
    box = ane.locator('[data-testid="stSelectbox"]').filter(has_text="Review order")
    box.click()
    ane.get_by_role("option", name="lowest projection score first").click()
    settle(ane)
    ane.locator("h1").first.click()  # keys go to the page, not to the select box
    lowest = min((min(p.score for p in r.projection.projected), k) for k, r in enumerate(recs)
                 if r.projection.projected)
    assert f"sentence={recs[lowest[1]].id}" in ane.url.replace("%3A", ":")
    save(ane, "a")
    assert f"1 of {total} entities reviewed by ane" in body(ane)
    mine = sum(len(recs[i].projection.projected) for i in with_ents[3:6])
    assert f"0 of {mine} entities reviewed by jon" in body(jon) and "assigned sentences only" in body(jon)
    # each annotator's own decisions, in a tab of their own
    for page in (ane, jon):
        page.get_by_role("tab", name="My decisions").click()
    assert wait_text(ane, "ane's decisions on this run: 1 (") < 30
    assert wait_text(jon, "Your decisions on this run show here.") < 30


# --- 5. several annotators: conflicts, adjudication, agreement ------------------------------------

def test_conflict_between_two_annotators_is_listed_and_adjudicated(server, annotators):
    recs = [r for r in load_run_records(DEMO / "eu-heuristic") if r.projection.projected]
    rec = recs[1]
    ane = annotators(server["url"], "ane", run="eu-heuristic", sentence=rec.id)
    jon = annotators(server["url"], "jon", run="eu-heuristic", sentence=rec.id)
    save(ane, "a")
    save(jon, "x")  # the same entity, within a second
    rows = CorrectionStore(server["db"]).history("eu-heuristic")
    a, j = rows[-2:]
    assert a["entity"] == j["entity"] and a["created"] != j["created"]  # milliseconds tell them apart
    # each sees the other's decision and the conflict within seconds, without touching the page
    assert wait_text(ane, "reject by jon") < 8 and wait_text(ane, "open conflicts now: 1") < 8
    assert wait_text(ane, "final · 1 open conflicts", timeout=20) < 20  # ane's page redraws once idle
    assert "1 open conflicts" in body(jon)  # jon saved last: his own page already counts it
    mikel = annotators(server["url"], "mikel", run="eu-heuristic", sentence=rec.id)
    mikel.get_by_role("tab", name="Conflicts").click()
    settle(mikel)
    assert "accept" in body(mikel) and "by ane" in body(mikel) and "by jon" in body(mikel)
    mikel.get_by_role("button", name="Choose jon's").click()
    wait_text(mikel, "(adjudication) · #", timeout=30)  # the acknowledgement: committed
    settle(mikel)
    adj = [d for d in CorrectionStore(server["db"]).history("eu-heuristic") if d["role"] == "adjudicate"]
    assert [(d["annotator"], d["action"], d["entity"]) for d in adj] == [("mikel", "reject", a["entity"])]
    assert "0 open conflicts in this run" in body(mikel)
    mikel.get_by_role("tab", name="Review").click()  # the review tab runs again when opened
    assert wait_text(mikel, "final: reject by mikel (adjudicated)", timeout=30) < 30
    assert wait_text(ane, "reject by mikel (adjudication)") < 8  # ane's tab learns of it by itself
    assert wait_text(ane, "final · 0 open conflicts", timeout=20) < 20  # and redraws the page once idle
    mikel.get_by_role("tab", name="Agreement").click()
    settle(mikel)
    assert "xlner corrections agreement" in body(mikel)


# --- 6. export ------------------------------------------------------------------------------------

def _download(page, button: str, tries: int = 3) -> str:
    """The text of the file ``button`` downloads. A click that lands while a rerun replaces the page's
    elements is dropped by Streamlit (the live poll reruns every 2 s): wait for the button, and click
    again when no download starts within 15 s; what the file holds is checked by the caller."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        page.get_by_role("button", name=button).wait_for(state="visible", timeout=30000)
        try:
            with page.expect_download(timeout=15000) as dl:
                page.get_by_role("button", name=button).click()
            return Path(dl.value.path()).read_text(encoding="utf-8")
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise AssertionError(f"no download after {tries} clicks on {button!r}: {body(page)[-800:]}") from None
            settle(page)
    raise AssertionError("unreachable")


def test_the_final_export_downloads_what_the_cli_writes(server, annotators, tmp_path):
    from typer.testing import CliRunner

    from xlner.cli import _register, app

    recs = [r for r in load_run_records(DEMO / "es-heuristic") if r.projection.projected]
    rec = recs[0]
    ane = annotators(server["url"], "ane", run="es-heuristic", sentence=rec.id)
    jon = annotators(server["url"], "jon", run="es-heuristic", sentence=rec.id)
    for _ in rec.projection.projected:
        save(ane, "a")
        save(jon, "a")
    jon.get_by_role("tab", name="Export").click()
    settle(jon)
    page_text = _download(jon, "CoNLL (token TAG)")
    _register()
    out = tmp_path / "final.conll"
    res = CliRunner().invoke(app, ["corrections", "export", str(server["db"]), "--run", str(DEMO / "es-heuristic"),
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert page_text == out.read_text(encoding="utf-8")
    assert [ln.split()[0] for ln in page_text.splitlines() if ln.strip()] == rec.tgt_tokens


# --- 7. robustness: concurrent load, a killed server ------------------------------------------------

PER_ANNOTATOR = int(os.environ.get("XLNER_LOAD_DECISIONS", "125"))  # 4 x 125 = 500
PROGRESS = re.compile(r"(\d+) of (\d+) entities reviewed")


def _saved_by(db: Path, name: str) -> int:
    return sum(d["annotator"] == name for d in CorrectionStore(db).history())


IDLE = "document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'"


async def _annotate(browser, url: str, db: Path, name: str, runs: list[str], n: int) -> tuple[list[int], int]:
    """``n`` decisions by one annotator in a context of its own, run after run (each entity once);
    returns the acknowledged row ids and how many key presses had to be repeated."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    acks: list[int] = []
    repeated = 0
    for run in runs:
        await page.goto(f"{url}/Corrections?run={run}&annotator={name}")
        # a locator (it pierces the component's shadow root) and no element handle: the picker is
        # redrawn while four annotators save, and a handle to a replaced node is waited for in vain
        try:
            await page.locator('[data-testid="span-picker-tokens"]').first.wait_for(state="attached", timeout=90000)
        except Exception as exc:  # playwright's TimeoutError: say what the page shows instead
            text = (await page.locator("body").inner_text())[-2000:]
            raise AssertionError(f"{name}: no span picker on {run} after 90 s ({type(exc).__name__}); "
                                 f"the page: {text}") from None
        while len(acks) < n:
            m = PROGRESS.search(await page.locator("body").inner_text())
            assert m, f"{name}: no progress shown"
            if m.group(1) == m.group(2):
                break  # this run's queue is done: the next run
            before = acks[-1] if acks else None
            key = "a" if len(acks) % 3 else "x"
            saved_before = _saved_by(db, name)
            await page.keyboard.press(key)
            deadline, again_at = time.time() + 90, time.time() + 10
            while True:
                m = ACK.search(await page.locator("body").inner_text())
                if m and int(m.group(1)) != before:
                    acks.append(int(m.group(1)))
                    break
                if time.time() > again_at:
                    again_at = time.time() + 10
                    # A key pressed while the live poll's run redraws the page is, rarely, lost: nothing
                    # is saved and the page waits, idle. Only then is it pressed again (a save that was
                    # stored but not yet acknowledged is never repeated: the store must hold exactly
                    # the acknowledged decisions). Counted, and bounded below.
                    if await page.evaluate(IDLE) and _saved_by(db, name) == saved_before:
                        repeated += 1
                        await page.keyboard.press(key)
                if time.time() > deadline:  # say what the page shows instead
                    text = (await page.locator("body").inner_text())[-1500:]
                    raise AssertionError(f"{name}: no acknowledgement for decision {len(acks)}; the page: {text}")
                await asyncio.sleep(0.03)
            await page.wait_for_function("document.querySelector('[data-testid=stApp]')"
                                         ".dataset.testScriptState === 'notRunning'", timeout=60000)
        if len(acks) >= n:
            break
    await ctx.close()
    assert len(acks) == n, f"{name}: only {len(acks)} decisions possible"
    return acks, repeated


def test_four_annotators_saving_500_decisions_at_once_keep_every_one(server):
    from playwright.async_api import async_playwright

    runs = ["es-match-greedy", "es-match-exact", "es-heuristic", "es-back-translation", "eu-match-greedy",
            "eu-match-exact", "eu-heuristic"]
    names = ["load-a", "load-b", "load-c", "load-d"]

    async def main() -> list[tuple[list[int], int]]:
        async with async_playwright() as p:
            b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:  # each annotator starts on another run, so that they also meet on the same ones later
                return await asyncio.gather(*(_annotate(b, server["url"], server["db"], who, runs[k:] + runs[:k],
                                                        PER_ANNOTATOR) for k, who in enumerate(names)))
            finally:
                await b.close()

    start = time.time()
    # In a thread of its own: the sync Playwright of the other tests leaves an event loop running in
    # this one, and asyncio.run refuses to start a second loop there.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, main()).result()
    elapsed = time.time() - start
    acks = [a for a, _ in results]
    repeated = sum(r for _, r in results)
    store = CorrectionStore(server["db"])
    rows = [d for d in store.history() if d["annotator"] in names]
    assert sum(len(a) for a in acks) == 4 * PER_ANNOTATOR and len({x for a in acks for x in a}) == 4 * PER_ANNOTATOR
    assert {d["id"] for d in rows} == {x for a in acks for x in a}  # every acknowledged one, and no other
    assert all(d["annotator"] == who for who, a in zip(names, acks) for d in rows if d["id"] in set(a))
    n = 4 * PER_ANNOTATOR
    print(f"{n} decisions from 4 browsers in {elapsed:.0f} s ({n / elapsed * 60:.0f} per minute overall); "
          f"{repeated} key press(es) lost and pressed again")
    assert repeated <= n // 50, f"{repeated} of {n} key presses were lost"  # rare, or a bug


def test_a_server_killed_mid_save_loses_no_acknowledged_decision(tmp_path, browser):
    _ui_run(tmp_path / "runs")
    env = _env(tmp_path)
    port = free_port()
    proc = start_app(env, port)
    url = f"http://127.0.0.1:{port}"
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"{url}/Corrections?run={RUN}&annotator=ane")
        settle(page)
        acked = [save(page, "a" if i % 2 else "x") for i in range(8)]
        page.keyboard.press("a")  # one more in flight ...
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the server dies mid-save: no shutdown handlers run
        proc.wait(30)
    finally:
        ctx.close()
    db = tmp_path / "corrections.sqlite"
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = CorrectionStore(db).history()
    assert set(acked) <= {d["id"] for d in rows} and len(rows) in (len(acked), len(acked) + 1)
    assert all(d["annotator"] == "ane" and d["created"] and (d["action"] == "reject" or d["label"]) for d in rows)
    # a restarted server shows them all
    proc = start_app(env, port)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{url}/Corrections?run={RUN}&annotator=ane")
        settle(page)
        assert f"{len(final(rows))} final" in body(page)
        ctx.close()
    finally:
        stop_app(proc)
