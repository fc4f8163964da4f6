"""Plain text without gold: the reader appended to xlner.data and `xlner pipeline translate-test --format text`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xlner.data import read_plain_text
from xlner.errors import XlnerError


def test_one_sentence_per_line_with_file_line_ids_and_no_spans(tmp_path):
    path = tmp_path / "typed.txt"
    path.write_text("Bilboko alkatea Madrilera joan da.\n\n   \nMiren Etxeberria Gasteizen bizi da\n", encoding="utf-8")
    ds = read_plain_text(path, lang="eu")
    assert [s.id for s in ds.sentences] == ["typed.txt:1", "typed.txt:4"]
    assert ds.sentences[0].tokens == ["Bilboko", "alkatea", "Madrilera", "joan", "da", "."]
    assert ds.sentences[1].source == f"{path}:4"
    assert all(s.spans is None for s in ds.sentences) and ds.lang == "eu"  # no gold, not "no entities"


def test_bad_plain_text_files_name_the_file(tmp_path):
    with pytest.raises(XlnerError) as e:
        read_plain_text(tmp_path / "absent.txt")
    assert "absent.txt" in e.value.message
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(XlnerError) as e:
        read_plain_text(empty)
    assert "empty.txt" in e.value.message
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Donostia\nAñorga\n".encode("latin-1"))
    with pytest.raises(XlnerError) as e:
        read_plain_text(latin)
    assert "latin.txt:2" in e.value.message


def xlner(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from xlner.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_translate_train_refuses_plain_text(tmp_path):
    path = tmp_path / "en.txt"
    path.write_text("John lives in London.\n", encoding="utf-8")
    done = xlner("pipeline", "translate-train", "--data", str(path), "--format", "text", "--lang", "es",
                 "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error[E780]:") and "en.txt" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_translate_test_on_plain_text_runs_the_pipeline_without_f1(tmp_path):
    path = tmp_path / "eu.txt"
    path.write_text("Bilboko alkatea Madrilera joan da.\nMiren Etxeberria Gasteizen bizi da.\n", encoding="utf-8")
    out = tmp_path / "run"
    done = xlner("pipeline", "translate-test", "--data", str(path), "--format", "text", "--lang", "eu",
                 "--out", str(out), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no gold: F1 not computed" in done.stdout and "F1 " not in done.stdout.replace("F1 not", "")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["gold"] is False and metrics["n_sentences"] == 2
    assert not {"overall", "overall_strict", "per_type"} & metrics.keys()
    records = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["eu.txt:1", "eu.txt:2"]
    assert all(r["gold_entities"] is None for r in records)
    # The real pipeline ran: Apertium's English, spaCy's entities, projections onto the Basque words.
    assert "mayor" in records[0]["translation"].lower()
    assert metrics["n_projected_entities"] == sum(len(r["tgt_entities"]) for r in records) > 0
