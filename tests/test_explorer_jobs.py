"""Background pipeline runs started from the explorer: progress parsing, input checks, job state on disk."""

from __future__ import annotations

import io
import json
import os
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
