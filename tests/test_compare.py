"""`xlner compare`: paired bootstrap between two runs, on the embedded demo runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xlner.compare import compare_runs
from xlner.errors import XlnerError
from xlner.evaluate import evaluate
from xlner.runs import load_run

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs"


def test_compare_reports_both_f1_and_a_paired_interval():
    res = compare_runs(DEMO / "eu-match-greedy", DEMO / "eu-heuristic", n_boot=300)
    for name, key in (("eu-match-greedy", "f1_a"), ("eu-heuristic", "f1_b")):
        assert res[key] == pytest.approx(load_run(DEMO / name).metrics["overall"]["f1"])
    assert res["diff"] == pytest.approx(res["f1_a"] - res["f1_b"])
    assert res["ci_low"] <= res["diff"] <= res["ci_high"]


def test_a_run_compared_with_itself_has_a_zero_interval():
    res = compare_runs(DEMO / "es-match-exact", DEMO / "es-match-exact", n_boot=200)
    assert res["diff"] == 0 and res["ci_low"] == 0 and res["ci_high"] == 0


def test_runs_on_different_sentences_are_refused():
    with pytest.raises(XlnerError) as err:
        compare_runs(DEMO / "eu-match-greedy", DEMO / "es-match-greedy")
    assert err.value.code == "E714" and "eu-match-greedy" in err.value.message
    first = load_run(DEMO / "eu-match-greedy").records[0].id
    assert f"sentence {first} (number 1) is missing from one run" in err.value.message


def test_runs_without_gold_cannot_be_compared(tmp_path):
    import dataclasses
    import shutil

    from xlner.runs import write_run

    run = load_run(DEMO / "es-heuristic")
    write_run(tmp_path / "no-gold", run.config, run.metrics,
              [dataclasses.replace(r, gold=None) for r in run.records])
    with pytest.raises(XlnerError) as err:
        compare_runs(tmp_path / "no-gold", DEMO / "es-heuristic")
    assert err.value.code == "E724" and run.records[0].id in err.value.message
    shutil.rmtree(tmp_path / "no-gold")


def test_cli_prints_the_comparison_and_errors_without_traceback():
    ok = subprocess.run([sys.executable, "-m", "xlner.cli", "compare", str(DEMO / "eu-match-greedy"),
                         str(DEMO / "eu-heuristic"), "--json", "--n-boot", "200"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["n_sentences"] == len(load_run(DEMO / "eu-heuristic").records)
    bad = subprocess.run([sys.executable, "-m", "xlner.cli", "compare", str(DEMO / "eu-match-greedy"),
                          str(DEMO / "es-heuristic")], capture_output=True, text=True)
    assert bad.returncode == 2 and "error[E714]" in bad.stderr and "Traceback" not in bad.stderr
