"""``xlner corrections agreement|conflicts|export|assign`` on a real run (the embedded Spanish demo,
CoNLL-02-style gold), with two scripted annotators: one decides from the gold standard, one
accepts every projection as it is."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotation_helpers import DEMO_RUNS, gold_decisions
from xlner.record import RunRecord
from xlner.cli import _register, app
from xlner.corrections.store import CorrectionStore, entity_key
from xlner.explorer.loading import load_run_records
from xlner.record import RunRecord

RUN = DEMO_RUNS / "es-match-greedy"
_register()


def cli(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> tuple[Path, list[RunRecord]]:
    """Both annotators decide every projected entity of the run; 'careful' also adds missed gold."""
    db = tmp_path_factory.mktemp("cli") / "corrections.sqlite"
    store = CorrectionStore(db)
    records = load_run_records(RUN)
    for rec in records:
        n = len(rec.tgt_tokens)
        for d in gold_decisions(rec):
            store.record(run="es-match-greedy", sentence=rec.id, annotator="careful", n_tokens=n, **d)
        for p in rec.projection.projected:
            store.record(run="es-match-greedy", sentence=rec.id, entity=entity_key(p), action="accept",
                         annotator="hasty", span=p.span.to_dict(), n_tokens=n)
    return db, records


def expected_pair(records: list[RunRecord]) -> dict:
    """Agreement of careful vs hasty, computed from the records directly."""
    shared = [r for r in records if r.projection.projected]
    careful = {(r.id, g.start, g.end, g.label) for r in shared for g in r.gold or []}
    hasty = {(r.id, s.start, s.end, s.label) for r in shared for s in r.projected_spans()}
    keep = [d["action"] != "reject" for r in shared for d in gold_decisions(r) if d["action"] != "add"]
    return {"f1": 2 * len(careful & hasty) / (len(careful) + len(hasty)), "entities": len(keep),
            "observed": sum(keep) / len(keep)}


def test_agreement_on_a_real_run(annotated):
    db, records = annotated
    res = cli("corrections", "agreement", db, "--json")
    assert res.exit_code == 0, res.output
    [pair] = json.loads(res.output)
    want = expected_pair(records)
    assert (pair["a"], pair["b"]) == ("careful", "hasty")
    assert pair["span_f1"] == pytest.approx(want["f1"]) and 0 < pair["span_f1"] < 1
    assert pair["entities"] == want["entities"] and pair["observed"] == pytest.approx(want["observed"])
    # hasty always keeps: chance agreement equals observed agreement, kappa is 0 (not undefined)
    assert pair["kappa"] == pytest.approx(0.0)
    table = cli("corrections", "agreement", db)
    assert "careful / hasty" in table.output and f"{100 * want['f1']:.1f}" in table.output


def test_conflicts_list_both_decisions_and_adjudication_settles_them(annotated, tmp_path):
    db, records = annotated
    res = cli("corrections", "conflicts", db, "--json")
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    disagreeing = [(r.id, d["entity"]) for r in records for d in gold_decisions(r) if d["action"] != "accept"
                   and d["action"] != "add"]
    assert sorted((c["sentence"], c["entity"]) for c in listed) == sorted(disagreeing)
    assert all(set(c["decisions"]) == {"careful", "hasty"} and c["adjudication"] is None for c in listed)
    # the final export leaves the conflicting sentences out until someone adjudicates them
    out = tmp_path / "final.conll"
    ok = cli("corrections", "export", db, "--run", RUN, "--format", "conll", "-o", out)
    conflicted = {s for s, _ in disagreeing}
    with_entities = {r.id for r in records if r.projection.projected}
    assert ok.exit_code == 0, ok.output
    assert f"{len(with_entities - conflicted)} sentences (final decisions)" in ok.output


def test_exports_after_adjudication_equal_the_gold_standard(annotated, tmp_path):
    from xlner.data import read_sentences

    db, records = annotated
    adjudicated = tmp_path / "adj.sqlite"
    adjudicated.write_bytes(db.read_bytes())
    store = CorrectionStore(adjudicated)
    for c in json.loads(cli("corrections", "conflicts", adjudicated, "--json").output):
        mine = store.history("es-match-greedy", c["sentence"], annotator="careful")
        d = [x for x in mine if x["entity"] == c["entity"]][-1]
        span = None if d["action"] == "reject" else {k: d[k] for k in ("start", "end", "label")}
        store.record(run="es-match-greedy", sentence=c["sentence"], entity=c["entity"], action=d["action"],
                     span=span, annotator="judge", role="adjudicate")
    assert json.loads(cli("corrections", "conflicts", adjudicated, "--open", "--json").output) == []
    out = tmp_path / "train.conll"
    res = cli("corrections", "export", adjudicated, "--run", RUN, "--format", "conll", "-o", out)
    assert res.exit_code == 0, res.output
    # exactly what `xlner train --train FILE` reads, and it equals the gold sentences
    got = read_sentences(out)
    reviewed = [r for r in records if r.projection.projected]
    assert [s.tokens for s in got] == [r.tgt_tokens for r in reviewed]
    assert [sorted((sp.start, sp.end, sp.label) for sp in s.spans) for s in got] == [
        sorted((g.start, g.end, g.label) for g in r.gold or []) for r in reviewed]
    jsonl = tmp_path / "train.jsonl"
    assert cli("corrections", "export", adjudicated, "--run", RUN, "--format", "jsonl", "-o", jsonl).exit_code == 0
    assert [json.loads(x)["id"] for x in jsonl.read_text().splitlines()] == [r.id for r in reviewed]


def test_hf_and_spacy_exports_load_with_their_libraries(annotated, tmp_path):
    datasets = pytest.importorskip("datasets")
    from spacy.tokens import DocBin
    import spacy

    db, records = annotated
    hf = tmp_path / "hf"
    res = cli("corrections", "export", db, "--run", RUN, "--format", "hf", "-o", hf, "--annotator", "careful")
    assert res.exit_code == 0, res.output
    ds = datasets.load_from_disk(str(hf))
    names = ds.features["ner_tags"].feature.names
    reviewed = [r for r in records if r.projection.projected]
    assert ds["id"] == [r.id for r in reviewed] and ds["tokens"][0] == reviewed[0].tgt_tokens
    first_gold = (reviewed[0].gold or [])[0]
    assert names[ds["ner_tags"][0][first_gold.start]] == f"B-{first_gold.label}"
    sp = tmp_path / "train.spacy"
    assert cli("corrections", "export", db, "--run", RUN, "--format", "spacy", "-o", sp,
               "--annotator", "careful").exit_code == 0
    docs = list(DocBin().from_disk(sp).get_docs(spacy.blank("xx").vocab))
    assert [d.user_data["id"] for d in docs] == [r.id for r in reviewed]
    assert sorted((e.start, e.end, e.label_) for e in docs[0].ents) == sorted(
        (g.start, g.end, g.label) for g in reviewed[0].gold or [])


def test_every_annotator_export_writes_one_file_each(annotated, tmp_path):
    db, records = annotated
    res = cli("corrections", "export", db, "--run", RUN, "--every-annotator", "-o", tmp_path / "each")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == ["careful.conll", "hasty.conll"]
    hasty = (tmp_path / "each" / "hasty.conll").read_text()
    assert sum(line.split()[-1].startswith("B-") for line in hasty.splitlines() if line.strip()) == sum(
        len(r.projection.projected) for r in records)


def test_assign_records_a_range(tmp_path):
    db = tmp_path / "c.sqlite"
    res = cli("corrections", "assign", db, "--run-key", "es-match-greedy", "--annotator", "ane", "--first", "0",
              "--last", "10")
    assert res.exit_code == 0, res.output
    assert CorrectionStore(db).assignments("es-match-greedy")[0]["last"] == 10


@pytest.mark.parametrize("args, code, words", [
    (["agreement", "{tmp}/missing.sqlite"], "E966", "missing.sqlite"),
    (["export", "{db}", "--run", str(RUN), "--format", "xml", "-o", "{tmp}/x"], "E962", "xml"),
    (["export", "{db}", "--run", str(DEMO_RUNS / "eu-heuristic"), "-o", "{tmp}/x"], "E964", "eu-heuristic"),
    (["export", "{db}", "--run", str(RUN), "--annotator", "nobody", "-o", "{tmp}/x"], "E965", "nobody"),
    (["export", "{db}", "--run", str(RUN), "-o", "{tmp}/no/such/dir/x.conll"], "E963", "does not exist"),
])
def test_mistakes_are_catalogued_errors(annotated, tmp_path, args, code, words):
    db, _ = annotated
    args = [a.format(tmp=tmp_path, db=db) for a in args]
    proc = subprocess.run([sys.executable, "-m", "xlner.cli", "corrections", *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert f"error[{code}]" in proc.stderr and words in proc.stderr and "Traceback" not in proc.stderr


def test_an_old_store_opened_by_the_cli_is_upgraded(tmp_path):
    from xlner.corrections.store import SCHEMA_V0, SCHEMA_VERSION

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(SCHEMA_V0)
    for who, action in (("ane", "accept"), ("jon", "reject")):
        con.execute('INSERT INTO decisions (run, sentence, entity, action, start, "end", label, annotator, created)'
                    " VALUES ('r', '1', '0-1-PER', ?, 0, 1, 'PER', ?, '2025-05-01T10:00:00+00:00')", (action, who))
    con.commit()
    con.close()
    res = cli("corrections", "conflicts", db)
    assert res.exit_code == 0 and "1 conflicts" in res.output and "ane: accept" in res.output
    assert CorrectionStore(db).version == SCHEMA_VERSION


def test_xlner_train_takes_the_conll_export_as_is(annotated, tmp_path):
    """The loop's train step for real: the corrected export trains a (tiny, built here) encoder."""
    pytest.importorskip("torch")
    from xlner.data import read_sentences
    from xlner.train import build_tiny_encoder

    db, _ = annotated
    out = tmp_path / "corrected.conll"
    assert cli("corrections", "export", db, "--run", RUN, "--annotator", "careful", "-o", out).exit_code == 0
    sentences = read_sentences(out)
    encoder = build_tiny_encoder([s.tokens for s in sentences], tmp_path / "tiny")
    res = cli("train", "--train", out, "--dev", out, "--model", encoder, "--out", tmp_path / "model",
              "--epochs", "1", "--batch-size", "8", "--threads", "1", "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "best dev F1" in res.output and (tmp_path / "model").is_dir()
