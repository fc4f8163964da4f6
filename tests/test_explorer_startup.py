"""The explorer as users start it (`./dev explore`, the checkout's own .venv and .streamlit/config.toml),
in Debian's chromium: an idle tab costs the server almost nothing, and the Run page projects a typed
sentence within seconds once its worker has the models loaded.

The idle test runs first, before the Run page starts the worker (whose model loading is real work).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlner.explorer.browser import (CHROMIUM, cpu_seconds, free_port, settle, setup_problem,
                                    start_app, stop_app)

ROOT = Path(__file__).resolve().parents[1]
in_browser = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
    # ./dev test sets the checkout up before it runs the tests; a test never installs anything itself.
    pytest.mark.skipif(setup_problem() is not None, reason=f"./dev explore would set up first: {setup_problem()}"),
]


def browser_test(test):
    for mark in reversed(in_browser):
        test = mark(test)
    return test


def test_the_projects_own_config_turns_the_file_watcher_off():
    """What Streamlit reads when ./dev explore starts it (from the repository root), without a browser."""
    code = ("import streamlit.config as c; c.get_config_options(force_reparse=True); "
            "o = c._config_options['server.fileWatcherType']; print(o.value, o.where_defined, sep='|')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")})
    value, where = done.stdout.strip().splitlines()[-1].split("|")
    assert value == "none" and Path(where) == ROOT / ".streamlit" / "config.toml"
    assert 'cd "$(dirname "$0")"' in (ROOT / "dev").read_text()  # ./dev explore starts it from the root


IDLE_SECONDS = 20
WARM_LIMIT_SECONDS = 5.0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("startup")
    env = {k: v for k, v in os.environ.items() if k != "XLNER_DEMO_RUNS"}
    env.update({"XLNER_RUNS": "", "XLNER_USER_RUNS": str(tmp / "user-runs"),
                "XLNER_CORRECTIONS_DB": str(tmp / "corrections.sqlite")})
    port = free_port()
    try:
        proc = start_app(env, port)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield {"url": f"http://127.0.0.1:{port}", "pid": proc.pid, "runs": tmp / "user-runs"}
    stop_app(proc)



@browser_test
def test_an_idle_tab_costs_the_server_almost_no_cpu(app, page):
    page.goto(f"{app['url']}/Sentences")
    settle(page)
    time.sleep(2)
    before = cpu_seconds(app["pid"])
    time.sleep(IDLE_SECONDS)
    used = cpu_seconds(app["pid"]) - before
    print(f"\nserver CPU with one idle tab: {used:.2f} s in {IDLE_SECONDS} s")
    # With Streamlit's file watcher walking the clone and its .venv this was 10-30 s (issue 9).
    assert used < 2.0


def _what_happened(page, runs: Path) -> str:
    """The page's text and the worker's and jobs' logs: what a timeout in CI must tell."""
    jobs_dir = runs / ".jobs"
    logs = [f"--- {p.relative_to(runs)} ---\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(jobs_dir.glob("**/*")) if p.is_file() and p.suffix in {".log", ".txt", ".json", ""}]
    return (f"URL {page.url}\n--- page ---\n{page.locator('body').inner_text()[-3000:]}\n" + "\n".join(logs))


def type_and_start(page, text: str, runs: Path) -> float:
    """Type ``text``, press Start; seconds until its projection (its third-last word, unique) is on screen
    at the top of the page. A failed job or a timeout fails with the page and the logs."""
    box = page.get_by_role("textbox", name="Sentences in the target language")
    box.fill(text)
    box.press("Tab")  # blur: the form holds the typed value before Start is pressed
    assert box.input_value() == text
    t = time.perf_counter()
    page.get_by_role("button", name="Start", exact=True).click()
    word = text.split()[-3]
    try:
        page.wait_for_function("""w => [...document.querySelectorAll('.xl-typed-projection .xl-typed')]
                                  .some(d => d.innerText.includes(w))
                                  || [...document.querySelectorAll('[data-testid=stAlert]')]
                                  .some(d => d.innerText.includes(' failed') || d.innerText.includes(' stopped')
                                             || d.innerText.includes('error['))""",
                               arg=word, timeout=240000, polling=50)
    except Exception as exc:  # playwright's TimeoutError
        pytest.fail(f"no projection of {text!r} on screen after 240 s ({type(exc).__name__})\n"
                    + _what_happened(page, runs))
    took = time.perf_counter() - t
    shown = page.locator(".xl-typed-projection .xl-typed").filter(has_text=word).count()
    assert shown == 1, f"the job for {text!r} did not finish\n" + _what_happened(page, runs)
    return took


@browser_test
def test_a_typed_sentence_is_projected_within_seconds_on_a_warm_app(app, page):
    page.goto(f"{app['url']}/Run")
    settle(page)
    body = page.locator("body").inner_text()
    assert "The first run loads the models" in body  # said before the first run
    language = page.get_by_label("Language (installed translators into English)")
    assert language.input_value() == "eu — Basque · Apertium eu-en"  # the translator to be used is shown
    stamp = time.time_ns() % 10**9  # a sentence no earlier run cached (a cached run loads no model)
    first = type_and_start(page, f"Bilboko alkatea Madrilera joan da {stamp} aldiz .", app["runs"])
    page.wait_for_selector("[data-testid=stToast]", timeout=5000)  # a notice that the run ended
    settle(page)
    top = page.locator("[data-testid=stAlert]").first.inner_text()
    assert "finished" in top
    assert page.get_by_role("link", name="Open the sentences of").count() == 1
    marks = page.locator(".xl-typed-projection .xl-typed").first.locator("mark")
    assert marks.count() >= 1  # Bilbao / Madrid projected onto the Basque words, with their labels
    assert "Models loaded" in page.locator("body").inner_text()
    warm = [type_and_start(page, f"Miren Etxeberria Gasteizen bizi da {stamp + k} urtez .", app["runs"])
            for k in (1, 2)]
    print(f"\ntyped sentence, Start -> projection on screen: first run {first:.1f} s, warm {warm[0]:.1f} s, "
          f"{warm[1]:.1f} s")
    assert max(warm) < WARM_LIMIT_SECONDS
    assert page.locator("[data-testid=stException]").count() == 0
