"""Bad input as a careful user tries it (issue 12's QA list), through the real command line.

Each case runs ``xlner.cli.main`` in-process (the entry point of the ``xlner`` script, with its
error printing, warning printing and Ctrl-C handling) and checks: the exit status, the catalogued
``error[E###]`` / ``warning[E###]`` naming the file, line or sentence, no traceback, no Python
warning format, and no temporary file left behind.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from xlner.cli import INTERRUPTED, main


@dataclass
class Result:
    status: int
    out: str
    err: str


def xlner(capsys: pytest.CaptureFixture[str], *args: object) -> Result:
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest: each warning shown once per place
        with pytest.raises(SystemExit) as stop:
            main([str(a) for a in args])
    captured = capsys.readouterr()
    res = Result(int(stop.value.code or 0), captured.out, captured.err)
    assert "Traceback" not in res.err + res.out
    assert "UserWarning" not in res.err and ".py:" not in res.err  # never Python's warning format
    return res


def conll(path: Path, *sentences: list[tuple[str, str]]) -> Path:
    path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in s) for s in sentences) + "\n",
                    encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp")


JOHN = [("John", "B-PER"), ("lives", "O"), ("in", "O"), ("Paris", "B-LOC")]
ACME = [("ACME", "B-ORG"), ("Inc", "I-ORG"), ("rose", "O")]


# --- entity types in another case --------------------------------------------------------------------

def test_lower_case_types_are_read_upper_case_with_a_warning(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", JOHN, ACME)
    pred = conll(tmp_path / "pred.conll", [(w, t.replace("PER", "per").replace("LOC", "Loc")) for w, t in JOHN],
                 [(w, t.replace("ORG", "org")) for w, t in ACME])
    res = xlner(capsys, "evaluate", gold, pred, "--json")
    assert res.status == 0
    assert json.loads(res.out)["overall"]["f1"] == 1.0  # scored as PER/LOC/ORG, not as unknown types
    assert f"warning[E143]: {pred}:1 (sentence pred:0)" in res.err
    assert "Loc -> LOC" in res.err and "per -> PER" in res.err and "org -> ORG" in res.err


# --- paths of the wrong kind -------------------------------------------------------------------------------

def test_a_directory_as_the_data_file(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", JOHN)
    for args in (("data", "info", tmp_path), ("evaluate", tmp_path, gold), ("evaluate", gold, tmp_path),
                 ("data", "convert", tmp_path, tmp_path / "out.conll")):
        res = xlner(capsys, *args)
        assert res.status == 2 and f"error[E117]: {tmp_path}: is a directory" in res.err, args


def test_output_paths_of_the_wrong_kind(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", JOHN)
    folder = tmp_path / "folder"
    folder.mkdir()
    res = xlner(capsys, "data", "convert", gold, folder)  # a folder where a file is expected
    assert res.status == 2 and f"error[E716]: OUT {folder} is a folder" in res.err
    res = xlner(capsys, "data", "convert", gold, gold / "x.conll")  # a file as a parent folder
    assert res.status == 2 and f"error[E717]: OUT {gold / 'x.conll'}: cannot create the folder" in res.err
    res = xlner(capsys, "pipeline", "translate-test", "--data", gold, "--lang", "es", "--out", gold)
    assert res.status == 2 and f"error[E700]: --out {gold} is a file" in res.err
    res = xlner(capsys, "models", "build-e5", "--cache-dir", gold)
    assert res.status == 2 and f"error[E700]: --cache-dir {gold} is a file" in res.err
    assert leftovers(tmp_path) == []


def test_missing_output_folders_are_created(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", JOHN)
    out = tmp_path / "new" / "deeper" / "gold.jsonl"
    res = xlner(capsys, "data", "convert", gold, out)
    assert res.status == 0 and json.loads(out.read_text(encoding="utf-8"))["tags"][0] == "B-PER"
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_no_file(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"tokens": ["New York"], "tags": ["B-LOC"]}) + "\n", encoding="utf-8")
    res = xlner(capsys, "data", "convert", src, tmp_path / "out.conll")  # CoNLL cannot hold "New York"
    assert res.status == 2 and "error[E139]" in res.err and "'New York'" in res.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


# --- repeated sentence ids -------------------------------------------------------------------------------

def test_repeated_ids_keep_the_others(tmp_path, capsys):
    src = tmp_path / "ids.jsonl"
    rows = [("a", "Juan"), ("b", "Ana"), ("a", "Luis"), ("c", "Eva"), ("a", "Mar")]
    src.write_text("".join(json.dumps({"id": i, "tokens": [w], "tags": ["B-PER"]}) + "\n" for i, w in rows),
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = xlner(capsys, "data", "convert", src, out)
    assert res.status == 0
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == \
        ["a", "b", "a#2", "c", "a#3"]
    assert f"warning[E141]: {src}:3: sentence id 'a' repeats (first at line 1); renamed 'a#2'" in res.err
    assert "2 repeated id(s)" in res.err


# --- scores that are undefined or suspicious ------------------------------------------------------------

def test_no_gold_entities_is_undefined_not_zero(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", [(w, "O") for w, _ in JOHN])
    pred = conll(tmp_path / "pred.conll", JOHN)
    res = xlner(capsys, "evaluate", gold, pred)
    assert res.status == 0 and "undefined (no gold entities)" in res.out
    overall = [line for line in res.out.splitlines() if line.startswith("overall")][0]
    assert "0.0000" not in overall
    res = xlner(capsys, "evaluate", gold, pred, "--json", "--bootstrap", "20")
    o = json.loads(res.out)["overall"]
    assert (o["precision"], o["recall"], o["f1"], o["support"]) == (None, None, None, 0)


def test_gold_types_the_prediction_never_has_are_warned(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", [("Paris", "B-GPE"), ("and", "O"), ("John", "B-PER")])
    pred = conll(tmp_path / "pred.conll", [("Paris", "B-LOC"), ("and", "O"), ("John", "B-PER")])
    res = xlner(capsys, "evaluate", gold, pred)
    assert res.status == 0
    assert f"warning[E311]: {pred}: the prediction never has the gold type(s) GPE" in res.err


def test_unknown_ignore_labels_are_an_error(tmp_path, capsys):
    gold = conll(tmp_path / "gold.conll", JOHN)
    res = xlner(capsys, "evaluate", gold, gold, "--ignore-labels", "DATE,per")
    assert res.status == 2
    assert "error[E312]: --ignore-labels names type(s) DATE" in res.err and "present are LOC, PER" in res.err
    res = xlner(capsys, "evaluate", gold, gold, "--ignore-labels", "loc", "--json")  # case-insensitive
    assert res.status == 0 and list(json.loads(res.out)["per_type"]) == ["PER"]


MAYO = [("Llegó", "O"), ("el", "O"), ("lunes", "B-DATE")]


def test_unknown_pipeline_labels_are_an_error_naming_gold_and_tagger_types(tmp_path, capsys):
    """--labels is checked against the gold's types and the English tagger's before any work."""
    gold = conll(tmp_path / "gold.conll", JOHN, ACME)
    out = tmp_path / "run"
    res = xlner(capsys, "pipeline", "translate-test", "--data", gold, "--lang", "es", "--out", out,
                "--labels", "per,PERS", "--quiet")
    assert res.status == 2
    assert "error[E313]: --labels names type(s) PERS that neither the gold (LOC, ORG, PER)" in res.err
    assert "nor the English tagger (LOC, MISC, ORG, PER) has" in res.err
    assert not (out / "records.jsonl").exists() and not (out / "config.json").exists()  # refused before any work
    # translate-train has no tagger: the English gold alone decides
    res = xlner(capsys, "pipeline", "translate-train", "--data", gold, "--lang", "es", "--out", out,
                "--labels", "MISC", "--quiet")
    assert res.status == 2 and "error[E313]: --labels names type(s) MISC" in res.err
    assert "nor the English tagger (not used)" in res.err


@pytest.mark.slow
def test_pipeline_labels_absent_from_a_limit_subset_or_from_the_tagger_are_warned(tmp_path, capsys):
    """A type the whole input has but the --limit subset lacks is a warning (E314), not an error;
    a gold type the tagger cannot emit is a warning too (E315); the run goes on (real models)."""
    gold = conll(tmp_path / "gold.conll", JOHN, ACME, MAYO)
    out = tmp_path / "run"
    res = xlner(capsys, "pipeline", "translate-test", "--data", gold, "--lang", "es", "--out", out,
                "--labels", "PER,org,DATE", "--limit", "1", "--quiet")
    assert res.status == 0, res.err
    assert ("warning[E314]: --labels: no gold entity of type(s) ORG, DATE in the 1 sentences scored "
            "(the first 1 sentences, --limit; the whole input has them)") in res.err
    assert "warning[E315]: --labels: the English tagger cannot emit type(s) DATE" in res.err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["labels"] == ["PER", "ORG", "DATE"]  # upper-cased as xlner reads types


# --- tags that are repaired --------------------------------------------------------------------------------

def test_i_tag_continuing_another_type_is_warned_and_convert_says_what_it_rewrote(tmp_path, capsys):
    src = conll(tmp_path / "in.conll", JOHN, [("ACME", "B-PER"), ("Inc", "I-ORG")])
    out = tmp_path / "out.conll"
    res = xlner(capsys, "data", "convert", src, out)
    assert res.status == 0
    assert f"warning[E144]: {src}:7 (sentence in:1): 'I-ORG' follows 'B-PER'" in res.err
    assert f"rewrote 1 tag(s) of the input (iob2 -> iob2); first: {src}:7 (sentence in:1): 'I-ORG' -> 'B-ORG'" \
        in res.out
    assert out.read_text(encoding="utf-8").split("\n\n")[1] == "ACME B-PER\nInc B-ORG"


# --- encodings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])  # with and without a byte-order mark
def test_utf16_gets_a_utf16_hint(tmp_path, capsys, encoding):
    path = tmp_path / "win.conll"
    path.write_bytes("Jon B-PER\nEtxea O\n".encode(encoding))
    res = xlner(capsys, "data", "info", path)
    assert res.status == 2 and f"error[E121]: {path}: the file is UTF-16" in res.err
    assert "iconv -f utf-16" in res.err and "latin1" not in res.err


# --- Ctrl-C ---------------------------------------------------------------------------------------------------

def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
    from xlner import datatools

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(datatools, "dataset_info", interrupted)
    res = xlner(capsys, "data", "info", conll(tmp_path / "x.conll", JOHN))
    assert res.status == 130 and res.err.strip() == INTERRUPTED
    assert INTERRUPTED == "interrupted — rerun the same command to resume"


# --- files that do not match ------------------------------------------------------------------------------

def test_sentence_count_mismatch_names_the_first_missing_sentence(tmp_path, capsys):
    third = [("Bilbo", "B-LOC"), ("da", "O")]
    gold = conll(tmp_path / "gold.conll", JOHN, third, ACME)
    pred = conll(tmp_path / "pred.conll", JOHN, ACME)  # the second sentence is missing
    res = xlner(capsys, "evaluate", gold, pred)
    assert res.status == 2
    assert (f"error[E301]: gold has 3 sentences but the prediction has 2; the first sentence missing "
            f"from the prediction is {gold}:6 (sentence gold:1): Bilbo da") in res.err
    res = xlner(capsys, "evaluate", pred, gold)
    assert res.status == 2 and "missing from the gold is" in res.err and "(sentence gold:1)" in res.err


def test_a_run_record_file_given_to_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    records = run / "records.jsonl"
    records.write_text(json.dumps({"id": "val:0", "tgt_tokens": ["Jon"], "gold_entities": [],
                                   "tgt_entities": []}) + "\n", encoding="utf-8")
    gold = conll(tmp_path / "gold.conll", [("Jon", "B-PER")])
    res = xlner(capsys, "evaluate", gold, records)
    assert res.status == 2
    assert f"error[E119]: {records}:1 (sentence val:0): this is a run's record file" in res.err
    assert f"xlner pipeline show {run}" in res.err


def test_usage_errors_exit_2_without_a_traceback(capsys):
    res = xlner(capsys, "evaluate")
    assert res.status == 2 and "Missing argument 'gold'" in res.err
    res = xlner(capsys, "evaluate", "a", "b", "--no-such-option")
    assert res.status == 2 and "No such option" in res.err
    assert xlner(capsys, "errors", "E101").out.startswith("E101 (error, data reading)")


def test_a_nul_character_in_utf8_is_not_utf16(tmp_path, capsys):
    path = tmp_path / "nul.conll"
    path.write_bytes("a\x00b B-PER\nc O\n".encode("utf-8"))  # a token may hold a NUL
    assert b"\x00" in path.read_bytes()
    res = xlner(capsys, "data", "info", path, "--json")
    assert res.status == 0 and json.loads(res.out)["entities"] == 1


def test_a_real_sigint_in_a_command(tmp_path):
    """The signal itself, in a child process running the entry point (the code path of Ctrl-C)."""
    import subprocess
    import sys

    # Python raises KeyboardInterrupt on SIGINT only if SIGINT was not ignored when it started, and
    # a shell ignores it for commands it starts in the background (`nohup sh -c '...' &`): set the
    # handler a terminal's Ctrl-C meets, so the test does not depend on how the suite was started
    script = ("import os, signal\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "from xlner import datatools\n"
              "datatools.dataset_info = lambda *a, **k: os.kill(os.getpid(), signal.SIGINT)\n"
              "from xlner.cli import main\n"
              f"main(['data', 'info', {str(conll(tmp_path / 'x.conll', JOHN))!r}])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130
    assert proc.stderr.strip() == INTERRUPTED and "Traceback" not in proc.stderr
