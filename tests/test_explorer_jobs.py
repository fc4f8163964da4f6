"""Background pipeline runs started from the explorer: progress parsing, input checks, job state on disk."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from tqdm import tqdm

from xlner.errors import XlnerError
from xlner.explorer import jobs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_progress_is_read_from_real_tqdm_output():
    buf = io.StringIO()
    for name, total, stop in (("translate", 10, 10), ("align", 40, 13)):
        bar = tqdm(total=total, desc=name, file=buf, mininterval=0, miniters=1)
        for _ in range(stop):
            bar.update(1)
        if stop == total:
            bar.close()
    step, frac = jobs.parse_progress(buf.getvalue())
    assert step == "align" and frac == pytest.approx(13 / 40, abs=0.01)
    assert jobs.parse_progress("no bars here\n") == ("", 0.0)


def test_custom_sentence_words_and_refusals(tmp_path):
    words = jobs.custom_words("Bilboko alkatea Madrilera joan da.")
    assert words[0] == "Bilboko" and words[-1] == "."
    path = jobs.custom_sentence_file(words, tmp_path)
    row = json.loads(path.read_text(encoding="utf-8"))
    assert row["tokens"] == words and row["tags"] == ["O"] * len(words)
    with pytest.raises(XlnerError) as e:
        jobs.custom_words("   ")
    assert e.value.code == "E907"


def test_start_job_checks_everything_before_creating_anything(tmp_path):
    with pytest.raises(XlnerError, match="language"):
        jobs.start_job(runs_root=tmp_path, data=None, lang=" ", profile="offline", method="match-greedy")
    with pytest.raises(XlnerError, match="does not exist"):
        jobs.start_job(runs_root=tmp_path, data=str(tmp_path / "nope.conll"), lang="eu", profile="offline",
                       method="match-greedy")
    with pytest.raises(XlnerError, match="empty"):
        jobs.start_job(runs_root=tmp_path, data=None, lang="eu", profile="offline", method="match-greedy",
                       custom_text="")
    assert jobs.list_jobs(tmp_path) == [] and not (tmp_path / ".jobs").exists()


def test_a_job_that_fails_reports_the_backend_error(tmp_path):
    data = tmp_path / "eu.jsonl"
    data.write_text(json.dumps({"id": "1", "tokens": ["Bilbo"], "tags": ["B-LOC"]}) + "\n", encoding="utf-8")
    job = jobs.start_job(runs_root=tmp_path, data=str(data), lang="qq", profile="offline", method="heuristic",
                         name="unknown-language")
    assert jobs.list_jobs(tmp_path) == ["unknown-language"]
    status = jobs.wait(tmp_path, job, timeout=120)
    assert status.state == "failed"
    assert status.message.startswith("error[") and "qq" in status.message
    with pytest.raises(XlnerError, match="exists already"):
        jobs.start_job(runs_root=tmp_path, data=str(data), lang="qq", profile="offline", method="heuristic",
                       name="unknown-language")
    meta = json.loads((tmp_path / ".jobs" / job / "job.json").read_text())
    assert meta["command"][3:5] == ["pipeline", "translate-test"] and "--lang" in meta["command"]


def test_a_killed_job_is_reported_as_stopped(tmp_path):
    data = tmp_path / "eu.jsonl"
    data.write_text(json.dumps({"id": "1", "tokens": ["Bilbo"], "tags": ["B-LOC"]}) + "\n", encoding="utf-8")
    job = jobs.start_job(runs_root=tmp_path, data=str(data), lang="eu", profile="offline", method="heuristic",
                         name="to-kill")
    meta = json.loads((tmp_path / ".jobs" / job / "job.json").read_text())
    os.killpg(meta["pid"], 9)  # the job runs in its own process group: kill exactly that group
    status = jobs.wait(tmp_path, job, timeout=30)
    assert status.state == "stopped" and "killed" in status.message


def test_known_data_files_and_language_guess():
    files = jobs.known_data_files([DATA])
    if not DATA.is_dir():
        pytest.skip(f"shared data not at {DATA}")
    assert DATA / "conll02-es" / "test.txt" in files
    assert not any(p.name == "README.md" for p in files)
    assert jobs.guess_lang(DATA / "masakhaner2" / "swa" / "test.txt") == "swa"
    assert jobs.guess_lang(DATA / "basque-nerc" / "in_domain" / "val.jsonl") == "eu"
    assert jobs.guess_lang(DATA / "conll02-es" / "dev.txt") == "es"
    assert jobs.guess_lang("/somewhere/else.txt") == ""
    assert jobs.profile_names()[0] == "offline"


# --- typed sentences and the long-lived worker --------------------------------------------------

needs_apertium = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")


@needs_apertium
def test_languages_come_from_the_installed_translator_pairs():
    langs = jobs.translator_languages("offline")
    assert langs["eu"] == "Apertium eu-en" and langs["es"] == "Apertium spa-eng"
    assert "en" not in langs and "sw" not in langs


@needs_apertium
def test_typed_input_is_checked_before_anything_starts(tmp_path):
    with pytest.raises(XlnerError) as e:
        jobs.start_typed_job(runs_root=tmp_path, text="Habari za asubuhi", lang="sw", profile="offline",
                             method="match-greedy")
    assert e.value.code == "E785" and "eu" in e.value.hint and "--set" not in e.value.render()
    limit = jobs.profile_settings("offline")["max_words"]
    with pytest.raises(XlnerError) as e:
        jobs.start_typed_job(runs_root=tmp_path, text="Bilbo " * (limit + 1), lang="eu", profile="offline",
                             method="match-greedy")
    assert e.value.code == "E786" and str(limit + 1) in e.value.message and "--set" not in e.value.render()
    for text, code in (("  \n ", "E907"), ("", "E907")):
        with pytest.raises(XlnerError) as e:
            jobs.start_typed_job(runs_root=tmp_path, text=text, lang="eu", profile="offline", method="match-greedy")
        assert e.value.code == code
    with pytest.raises(XlnerError) as e:
        jobs.start_typed_job(runs_root=tmp_path, text="Bilbo", lang=" ", profile="offline", method="match-greedy")
    assert e.value.code == "E782"
    assert jobs.list_jobs(tmp_path) == [] and not (tmp_path / ".jobs").exists()
    assert jobs.typed_sentences("Bilboko alkatea.\n\nMadrilera joan da.") == [["Bilboko", "alkatea", "."],
                                                                              ["Madrilera", "joan", "da", "."]]


def fresh(text: str) -> str:
    """A sentence no earlier run has cached (the pipeline's shared step cache would load no model)."""
    return f"{text.rstrip('.')} {time.time_ns() % 10**9} aldiz."


@pytest.mark.slow
@needs_apertium
def test_the_worker_keeps_its_models_loaded_between_typed_sentences(tmp_path):
    try:
        first = jobs.start_typed_job(runs_root=tmp_path, text=fresh("Bilboko alkatea Madrilera joan da."), lang="eu",
                                     profile="offline", method="match-greedy", name="first")
        status = jobs.wait(tmp_path, first, timeout=300)
        assert status.state == "finished", status.message
        state = jobs.worker_state(tmp_path)
        assert state is not None and state["busy"] is None
        loaded = dict(state["loaded"])
        assert {k.split()[0] for k in loaded} == {"translator", "tagger", "aligner"}
        t = time.perf_counter()
        second = jobs.start_typed_job(runs_root=tmp_path, text=fresh("Miren Etxeberria Gasteizen bizi da.") + "\n"
                                      + fresh("Athleticek Realari irabazi dio."), lang="eu", profile="offline",
                                      method="match-greedy", name="second")
        status = jobs.wait(tmp_path, second, timeout=120, poll=0.1)
        seconds = time.perf_counter() - t
        assert status.state == "finished", status.message
        assert jobs.worker_state(tmp_path)["loaded"] == loaded  # nothing was loaded again
        metrics = json.loads((status.run_dir / "metrics.json").read_text(encoding="utf-8"))
        assert sum(metrics["model_load_seconds"].values()) < 0.5 and metrics["gold"] is False
        records = [json.loads(x) for x in (status.run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in records] == ["input.txt:1", "input.txt:2"]
        assert all(r["gold_entities"] is None for r in records) and any(r["tgt_entities"] for r in records)
        print(f"\nsecond typed job with a warm worker: {seconds:.1f} s (first load: {sum(loaded.values()):.1f} s)")
    finally:
        jobs.stop_worker(tmp_path)
    assert jobs.worker_state(tmp_path) is None


@pytest.mark.slow
@needs_apertium
def test_a_failing_typed_job_reports_its_error_and_the_worker_serves_on(tmp_path):
    try:
        jobs.ensure_worker(tmp_path)
        job = jobs.start_typed_job(runs_root=tmp_path, text="Bilbo polita da.", lang="eu", profile="offline",
                                   method="no-such-method", name="bad-method")
        status = jobs.wait(tmp_path, job, timeout=120)
        assert status.state == "failed" and status.message.startswith("error[E") and "no-such-method" in status.message
        pid = jobs.worker_state(tmp_path)["pid"]
        job = jobs.start_typed_job(runs_root=tmp_path, text="Bilbo polita da.", lang="eu", profile="offline",
                                   method="match-greedy", name="good")
        assert jobs.wait(tmp_path, job, timeout=300).state == "finished"
        assert jobs.worker_state(tmp_path)["pid"] == pid  # the same worker
    finally:
        jobs.stop_worker(tmp_path)


@needs_apertium
def test_a_worker_that_died_is_started_again_for_the_next_job(tmp_path):
    try:
        old = jobs.ensure_worker(tmp_path)
        old.kill()
        old.wait(10)
        # A method the pipeline refuses before loading any model: the job fails fast, in a new worker.
        job = jobs.start_typed_job(runs_root=tmp_path, text="Bilbo polita da.", lang="eu", profile="offline",
                                   method="no-such-method", name="after-crash")
        status = jobs.wait(tmp_path, job, timeout=120)
        assert status.state == "failed" and status.message.startswith("error[E") and "no-such-method" in status.message
        assert status.meta["pid"] != old.pid and jobs.worker_state(tmp_path)["pid"] == status.meta["pid"]
    finally:
        jobs.stop_worker(tmp_path)


def test_runs_started_within_one_second_get_their_own_folders_and_a_chosen_name_is_never_renamed(
        tmp_path, monkeypatch):
    # a warm worker projects a typed sentence in under a second, so a second Start can fall in the
    # same second as the first: the default name (language, method, second) must not collide
    from datetime import datetime, timezone

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 4, 1, 19, 23, tzinfo=timezone.utc)

    monkeypatch.setattr(jobs, "datetime", Frozen)
    ids = []
    for _ in range(3):
        job_id, job_dir, run_dir = jobs._new_job(tmp_path, None, "eu", "match-greedy")
        assert not job_dir.exists() and not run_dir.exists()
        job_dir.mkdir(parents=True)
        ids.append(job_id)
    assert ids == ["eu-match-greedy-20261204-011923", "eu-match-greedy-20261204-011923-2",
                   "eu-match-greedy-20261204-011923-3"]
    (tmp_path / "mine").mkdir()
    with pytest.raises(XlnerError) as err:
        jobs._new_job(tmp_path, "mine", "eu", "match-greedy")
    assert err.value.code == "E783"
