"""``xlner project``: the JSON-lines file interface, its options and its errors on bad lines."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from xlner.cachefs import FILE_MODE
from xlner.cli import project as cli_project
from xlner.errors import XlnerError
from xlner.project.io import project_file

GOOD = {"id": "s1", "src_tokens": ["John", "Smith", "lives", "in", "New", "York"],
        "tgt_tokens": ["Juan", "Smith", "vive", "en", "Nueva", "York"],
        "src_entities": [{"start": 0, "end": 2, "label": "PER"}, {"start": 4, "end": 6, "label": "LOC"}],
        "alignment": [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]}
UNALIGNED = {"id": 7, "src_tokens": ["Paris", "!"], "tgt_tokens": ["x", "y"],
             "src_entities": [{"start": 0, "end": 1, "label": "LOC"}], "alignment": [[1, 1]]}


def app() -> typer.Typer:
    a = typer.Typer()
    cli_project.register(a)

    @a.command("noop")  # a second command keeps typer in sub-command mode
    def _noop() -> None:
        pass

    return a


def write_lines(path, lines):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["heuristic", "largest-group", "match-greedy", "match-exact"])
def test_every_method_writes_the_input_plus_its_outcomes(tmp_path, method):
    src = write_lines(tmp_path / "in.jsonl", [GOOD, "", UNALIGNED])
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app(), ["project", "--method", method, str(src), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 2
    first = rows[0]
    assert {k: first[k] for k in GOOD} == GOOD  # input kept as is
    assert first["tgt_entities"] == [{"start": 0, "end": 2, "label": "PER", "source": 0, "score": 1.0},
                                     {"start": 4, "end": 6, "label": "LOC", "source": 1, "score": 1.0}]
    assert first["unprojected"] == []
    assert rows[1]["tgt_entities"] == [] and rows[1]["unprojected"] == [{"source": 0, "reason": "unaligned"}]
    assert "candidates" not in first
    assert stat.S_IMODE(out.stat().st_mode) == FILE_MODE  # not mkstemp's owner-only 0600


def test_options_reach_the_algorithms(tmp_path):
    rec = {"id": 1, "src_tokens": ["a", "b", "c", "d", "e"], "tgt_tokens": ["v", "w", "x", "y", "z"],
           "src_entities": [{"start": 0, "end": 5, "label": "ORG"}], "alignment": [[i, i] for i in range(4)]}
    src = write_lines(tmp_path / "in.jsonl", [rec])
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    runner.invoke(app(), ["project", str(src), "-o", str(out), "-q"])
    assert json.loads(out.read_text())["unprojected"] == [{"source": 0, "reason": "length_ratio"}]  # 4/5 = 0.8
    runner.invoke(app(), ["project", str(src), "-o", str(out), "-q", "--min-length-ratio", "0.7"])
    assert json.loads(out.read_text())["tgt_entities"][0]["end"] == 4
    res = runner.invoke(app(), ["project", "-m", "match-greedy", str(src), "-o", str(out), "-q",
                                "--max-candidate-length", "2", "--with-candidates", "--n-candidates", "1"])
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())
    assert row["tgt_entities"][0]["start"] == 0 and row["tgt_entities"][0]["end"] == 2
    assert row["candidates"] == [{"source": 0, "start": 0, "end": 2, "score": pytest.approx(4 / 7)}]
    runner.invoke(app(), ["project", "-m", "match-greedy", str(src), "-o", str(out), "-q",
                          "--target-labels", "PER,LOC"])
    assert json.loads(out.read_text())["unprojected"] == [{"source": 0, "reason": "label_not_in_target"}]


def test_candidate_spans_from_the_input_line(tmp_path):
    rec = dict(GOOD, tgt_candidates=[{"start": 0, "end": 1, "label": "CAND"}, {"start": 3, "end": 6}])
    src = write_lines(tmp_path / "in.jsonl", [rec])
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app(), ["project", "-m", "match-exact", str(src), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())
    assert [(e["start"], e["end"]) for e in row["tgt_entities"]] == [(0, 1), (3, 6)]


BAD_LINES = [
    ("{not json", "E210", "not valid JSON"),
    ("[1, 2]", "E211", "expected a JSON object"),
    ({k: v for k, v in GOOD.items() if k != "alignment"}, "E217", "missing key(s) alignment"),
    (dict(GOOD, src_tokens="John Smith"), "E218", "src_tokens must be a list of strings"),
    (dict(GOOD, src_entities=[{"start": 2, "end": 2, "label": "PER"}]), "E201", "[2, 2)"),
    (dict(GOOD, src_entities=[{"start": 3, "end": 1, "label": "PER"}]), "E201", "is not a span of the 6 src_tokens"),
    (dict(GOOD, src_entities=[{"start": 4, "end": 9, "label": "PER"}]), "E201", "[4, 9)"),
    (dict(GOOD, src_entities=[{"start": 0, "end": 1}]), "E218", "label"),
    (dict(GOOD, alignment=[[0, 6]]), "E202", "outside 6 source x 6 target"),
    (dict(GOOD, alignment=[[-1, 0]]), "E202", "outside"),
    (dict(GOOD, alignment=[[0]]), "E218", "pair of integers"),
    (dict(GOOD, tgt_candidates=[{"start": 5, "end": 7}]), "E201", "tgt_candidates[0]"),
    (dict(GOOD, extra_scores={"ner": "high"}), "E214", "extra_scores"),
]


@pytest.mark.parametrize("bad, code, text", BAD_LINES)
def test_bad_lines_name_the_line_and_leave_no_output(tmp_path, bad, code, text):
    src = write_lines(tmp_path / "in.jsonl", [GOOD, "", bad, GOOD])
    out = tmp_path / "out.jsonl"
    with pytest.raises(XlnerError) as e:
        project_file(str(src), str(out), "heuristic", {}, progress=False)
    assert e.value.code == code
    assert "in.jsonl:3" in e.value.message  # the blank line 2 still counts
    assert text in e.value.message
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_non_utf8_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"id": "\xff"}\n')
    with pytest.raises(XlnerError) as e:
        project_file(str(src), str(tmp_path / "o.jsonl"), "heuristic", {}, progress=False)
    assert e.value.code == "E215" and "in.jsonl:2" in e.value.message


def test_bad_options_and_missing_files(tmp_path):
    src = write_lines(tmp_path / "in.jsonl", [GOOD])
    with pytest.raises(XlnerError) as e:
        project_file(str(src), str(tmp_path / "o.jsonl"), "match-greedy", {"merge_distance": 2})
    assert e.value.code == "E761" and "merge_distance" in e.value.message
    with pytest.raises(XlnerError) as e:
        project_file(str(tmp_path / "missing.jsonl"), str(tmp_path / "o.jsonl"), "heuristic", {})
    assert e.value.code == "E216"
    with pytest.raises(XlnerError) as e:
        project_file(str(tmp_path), str(tmp_path / "o.jsonl"), "heuristic", {})  # a folder as input
    assert e.value.code == "E216"
    with pytest.raises(XlnerError) as e:
        project_file(str(src), str(tmp_path / "no" / "o.jsonl"), "heuristic", {})
    assert e.value.code == "E219"
    with pytest.raises(XlnerError) as e:
        project_file(str(src), str(tmp_path), "heuristic", {})  # a folder as output
    assert e.value.code == "E222"
    res = CliRunner().invoke(app(), ["project", str(src), "--weight", "align"])
    assert isinstance(res.exception, XlnerError) and res.exception.code == "E209"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]  # nothing left behind


def test_no_temporary_file_is_left_behind_on_any_failure(tmp_path, monkeypatch):
    """A failure after the temporary output was opened (a bug, an interruption) removes it too."""
    import xlner.project as project_module

    src = write_lines(tmp_path / "in.jsonl", [GOOD])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(project_module, "project_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        project_file(str(src), str(tmp_path / "o.jsonl"), "heuristic", {}, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_run_records_file_is_valid_projection_input(tmp_path):
    """`xlner project`'s input is a subset of the run record: a run's records.jsonl projects as is."""
    from pathlib import Path

    run = Path(__file__).resolve().parents[1] / "assets" / "demo" / "runs" / "es-heuristic"
    out = tmp_path / "out.jsonl"
    counts = project_file(str(run / "records.jsonl"), str(out), "heuristic", {}, progress=False)
    stored = [json.loads(x) for x in (run / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert counts["sentences"] == len(stored) == len(rows)
    assert [r["tgt_entities"] for r in rows] == [r["tgt_entities"] for r in stored]


def test_the_installed_command_reports_errors_without_a_traceback(tmp_path):
    src = write_lines(tmp_path / "in.jsonl", [GOOD, dict(GOOD, alignment=[[0, 99]])])
    code = "from xlner.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, "project", str(src), "-o", str(tmp_path / "o.jsonl")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "error[E202]" in proc.stderr and "in.jsonl:2" in proc.stderr
    assert "Traceback" not in proc.stderr
    ok = subprocess.run([sys.executable, "-c", code, "project", "-m", "match-greedy", str(tmp_path / "in.jsonl")],
                        input="", capture_output=True, text=True, timeout=120)
    assert ok.returncode == 2  # line 2 is still bad when writing to stdout
    good = write_lines(tmp_path / "good.jsonl", [GOOD] * 3)
    proc = subprocess.run([sys.executable, "-c", code, "project", "-m", "match-greedy", str(good)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3 and "3 sentences" in proc.stderr
