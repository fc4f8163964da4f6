"""Execution engines without a cluster: the engine section, the choice of engine, the dataset list,
shard transport and the bad inputs that are refused before a cluster is involved."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from xlner.cli import main
from xlner.engine import LocalEngine, engine_of, engine_section, get_engine
from xlner.engine.datasets import read_datasets
from xlner.engine.shards import DATA, ERROR, SHARD, ShardWork, from_ipc, shard_rows, to_ipc
from xlner.errors import XlnerError
from xlner.pipeline import steps as S
from xlner.pipeline.framework import Runner
from xlner.runs import load_run


def test_engine_section_defaults_pools_and_refusals():
    section = engine_section({"path": "p.yaml", "engine": {
        "pools": {"default": {"actors": 2}, "aligner": {"actors": 3, "cpus": 2, "gpus": 0.5}}}})
    assert section.pool("aligner").actors == 3 and section.pool("aligner").gpus == 0.5
    assert section.pool("tagger").actors == 2  # falls back to the default pool
    assert section.requested_gpus == {"aligner": 0.5}
    plain = engine_section({})
    assert plain.pool("translator").actors == 1 and plain.pool("translator").gpus == 0
    with pytest.raises(XlnerError) as bad:
        engine_section({"path": "p.yaml", "engine": {"pools": {"aligner": {"actors": 0}}}})
    assert bad.value.code == "E761" and "p.yaml" in bad.value.message and "actors" in bad.value.message
    with pytest.raises(XlnerError) as unknown:
        engine_section({"engine": {"workers": 4}})
    assert unknown.value.code == "E761" and "workers" in unknown.value.message


def test_local_engine_is_the_plain_runner_and_unknown_engines_are_refused(tmp_path):
    from xlner.cache import StepCache
    from xlner.pipeline.framework import Components

    engine = engine_of("local")
    assert isinstance(engine, LocalEngine) and engine_of(engine) is engine
    runner = engine.runner(StepCache(tmp_path), Components({}), shard_size=8, progress=False,
                           profile={}, dataset="d")
    assert type(runner) is Runner
    with pytest.raises(XlnerError) as err:
        get_engine("spark")
    assert err.value.code == "E793" and "local, ray" in err.value.hint


def test_ray_by_name_is_one_engine_per_address_started_lazily():
    pytest.importorskip("ray.data")
    from xlner.engine.ray_engine import RayEngine

    engine = engine_of("ray", "127.0.0.1:1")
    assert isinstance(engine, RayEngine) and engine_of("ray", "127.0.0.1:1") is engine
    assert not engine.started  # nothing is started or contacted before a step needs the cluster


def test_missing_ray_extra_is_a_catalogued_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what Python does when ray is not installed
    with pytest.raises(XlnerError) as err:
        get_engine("ray")
    assert err.value.code == "E790" and "pip install 'xlner[ray]'" in err.value.hint


def test_unreachable_address_is_refused_quickly():
    from xlner.engine.ray_engine import check_reachable

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(XlnerError) as err:
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    assert err.value.code == "E791" and str(port) in err.value.message


def test_dataset_list_paths_and_mistakes(tmp_path):
    good = tmp_path / "list.yaml"
    good.write_text("datasets:\n  - {data: es.txt, lang: es, out: runs/es, limit: 10}\n"
                    "  - {data: /abs/eu.jsonl, lang: eu, out: runs/eu, labels: [PER, LOC]}\n")
    es, eu = read_datasets(good)
    assert es.data == str(tmp_path / "es.txt") and es.out == str(tmp_path / "runs" / "es")
    assert es.limit == 10 and eu.data == "/abs/eu.jsonl" and list(eu.labels) == ["PER", "LOC"]

    same = tmp_path / "same.yaml"
    same.write_text("- {data: a, lang: es, out: r}\n- {data: b, lang: eu, out: r}\n")
    with pytest.raises(XlnerError) as err:
        read_datasets(same)
    assert err.value.code == "E796" and "1 and 2" in err.value.message

    for text, code in (("[unclosed", "E795"), ("{}", "E795"), ("- {data: a, lang: es}", "E761"),
                       ("- {data: a, lang: es, out: r, limit: 0}", "E761")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(XlnerError) as err:
            read_datasets(bad)
        assert err.value.code == code and str(bad) in err.value.message
    with pytest.raises(XlnerError) as err:
        read_datasets(tmp_path / "missing.yaml")
    assert err.value.code == "E795"


def test_cli_needs_data_or_datasets(capsys):
    with pytest.raises(SystemExit) as done:
        main(["pipeline", "translate-test", "--lang", "es"])
    assert done.value.code == 2 and "error[E797]" in capsys.readouterr().err


def test_shards_travel_as_arrow_ipc_and_failures_come_back_as_data():
    import xlner.text as text

    table = S.gold_table([]).select(["tokens"])
    tokens = pa.table({"tokens": pa.array([["Kaixo", "mundua", "!"], []], S.TOKENS)})
    assert from_ipc(to_ipc(tokens)).equals(tokens) and from_ipc(to_ipc(table)).equals(table)
    work = ShardWork("detokenize", S.detokenize, {}, ("text",), lambda: text)
    batch = pa.table({SHARD: [3], DATA: [to_ipc(tokens)]})
    out = shard_rows(work, lambda: text, batch)
    assert out[SHARD].to_pylist() == [3] and out[ERROR].to_pylist() == [None]
    assert from_ipc(out[DATA][0].as_py()).equals(S.detokenize(tokens, text, {}))

    def broken() -> object:
        raise XlnerError("E708", kind="aligner", name="simalign", params={}, reason="no model here")

    failed = shard_rows(work, broken, batch)
    assert failed[DATA].to_pylist() == [b""] and "error[E708]" in failed[ERROR][0].as_py()


@pytest.mark.slow
def test_cli_runs_a_dataset_list_as_one_job(tmp_path, capsys):
    """Two real datasets (Spanish CoNLL-02, Basque news) from one list, each into its own run."""
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not data.exists():
        pytest.skip("the gold data in ../shared/data is not here")
    listing = tmp_path / "list.yaml"
    listing.write_text(f"- {{data: {data}/conll02-es/test.txt, lang: es, out: runs/es, limit: 4}}\n"
                       f"- {{data: {data}/basque-nerc/in_domain/val.jsonl, lang: eu, out: runs/eu, limit: 3}}\n")
    with pytest.raises(SystemExit) as done:
        main(["pipeline", "translate-test", "--datasets", str(listing), "--quiet", "--no-shared-cache",
              "--set", "aligner={name: identity}"])
    assert done.value.code == 0, capsys.readouterr().err
    assert "[2/2]" in capsys.readouterr().out
    assert len(load_run(tmp_path / "runs" / "es").records) == 4
    eu = load_run(tmp_path / "runs" / "eu")
    assert len(eu.records) == 3 and eu.config["lang"] == "eu"
