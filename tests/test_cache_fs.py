"""The step cache on pyarrow.fs URIs (issue 13, point 2): the offline pipeline on real sentences
with its shared step cache behind a ``file://`` URI, a ``SubTreeFileSystem`` and a real S3 protocol
server (moto, when installed) gives the records and cache files of a local-path cache, a second run
reuses it, an interrupted shard write is never read back, and bad locations are clear errors
(E717 with pyarrow's reason, E700)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from xlner import cachefs
from xlner.cache import StepCache, default_cache_dir, default_steps_cache
from xlner.cachefs import ArrowStore
from xlner.errors import XlnerError
from xlner.pipeline import Options, translate_test
from xlner.pipeline.framework import Components, Runner

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "es.jsonl"
N = 4  # sentences per run: every step computes, a run takes seconds once the models are warm


def _opts(out: Path, cache_dir, **kw) -> Options:
    return Options(data=str(DEMO), lang="es", out=str(out), limit=N, cache_dir=cache_dir,
                   progress=False, **kw)


def _records(run_dir: Path) -> bytes:
    return (run_dir / "records.jsonl").read_bytes()


def _parquet_files(fs: pafs.FileSystem, folder: str) -> dict[str, bytes]:
    infos = fs.get_file_info(pafs.FileSelector(folder))
    out = {}
    for info in infos:
        if info.base_name.endswith(".parquet"):
            with fs.open_input_stream(info.path) as f:
                out[info.base_name] = f.read()
    return out


def _local_files(folder: Path) -> dict[str, bytes]:
    return _parquet_files(pafs.LocalFileSystem(), str(folder))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The reference: the same run with its shared step cache in a local folder."""
    base = tmp_path_factory.mktemp("local")
    run = translate_test(_opts(base / "run", str(base / "cache")))
    assert not run.metrics["cached_steps"]
    return base


def _check_against_local(local_run: Path, tmp_path: Path, cache_dir, fs: pafs.FileSystem,
                         folder: str) -> None:
    """A run with ``cache_dir`` computes everything, matches the local-path run byte for byte
    (records and cache files: same keys, names and contents), and a second run reuses it."""
    first = translate_test(_opts(tmp_path / "first", cache_dir))
    assert not first.metrics["cached_steps"]
    assert _records(tmp_path / "first") == _records(local_run / "run")
    stored = _parquet_files(fs, folder)
    assert stored == _local_files(local_run / "cache")
    assert len(stored) == len(first.metrics["step_keys"])

    again = translate_test(_opts(tmp_path / "again", cache_dir))  # a new run folder: only the URI has the steps
    assert set(again.metrics["cached_steps"]) == set(again.metrics["step_keys"])
    assert _records(tmp_path / "again") == _records(local_run / "run")
    assert _local_files(tmp_path / "again" / "steps") == stored  # copied from the store, whole


@pytest.mark.slow
def test_file_uri_cache_matches_local_path_cache_and_is_reused(local_run, tmp_path):
    folder = tmp_path / "shared cache"  # a space: the URI is percent-encoded
    uri = folder.as_uri()
    assert uri.startswith("file:///") and "%20" in uri
    _check_against_local(local_run, tmp_path, uri, pafs.LocalFileSystem(), str(folder))


@pytest.mark.slow
def test_subtree_filesystem_cache_matches_local_path_cache(local_run, tmp_path):
    base_fs, base = pafs.FileSystem.from_uri((tmp_path / "bucket").as_uri())
    base_fs.create_dir(base)
    subtree = pafs.SubTreeFileSystem(base, base_fs)
    _check_against_local(local_run, tmp_path, ArrowStore(subtree, "xlner/steps"), subtree, "xlner/steps")


# --- a real S3 protocol: moto's server on a local port -------------------------------------------

@pytest.fixture(scope="module")
def s3():
    """A local S3 server (moto, pinned in the test extra) with a bucket ``xlner``; yields a
    function making a bucket URI whose query points pyarrow at that server."""
    server_mod = pytest.importorskip("moto.server", reason="moto[s3] is in the test extra")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # no credential probe of a cloud VM
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"{host}:{port}"
    keys = {"AWS_ACCESS_KEY_ID": "xlner-test", "AWS_SECRET_ACCESS_KEY": "xlner-test"}
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    pafs.S3FileSystem(endpoint_override=endpoint, scheme="http", region="us-east-1",
                      allow_bucket_creation=True).create_dir("xlner")

    def uri(path: str, bucket: str = "xlner") -> str:
        return f"s3://{bucket}/{path}?endpoint_override={endpoint}&scheme=http&region=us-east-1"

    uri.endpoint = endpoint  # type: ignore[attr-defined]
    yield uri
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.slow
def test_s3_cache_matches_local_path_cache_and_is_reused(local_run, tmp_path, s3):
    fs, folder = pafs.FileSystem.from_uri(s3("runs/steps"))
    _check_against_local(local_run, tmp_path, s3("runs/steps"), fs, folder)


def test_s3_missing_bucket_and_rejected_credentials_are_e717(s3):
    with pytest.raises(XlnerError) as err:
        StepCache(s3("steps", bucket="no-such-bucket"))
    assert err.value.code == "E717" and "no-such-bucket" in err.value.message
    assert "endpoint_override" not in err.value.message  # the query is left out of messages

    # From here on the server checks signatures against its IAM users, which do not include
    # this key: what a real bucket answers to wrong or missing credentials.
    def auth_after(n: bytes) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"http://{s3.endpoint}/moto-api/reset-auth", data=n, method="POST",
            headers={"Content-Type": "text/plain"}), timeout=10)

    auth_after(b"0")
    try:
        with pytest.raises(XlnerError) as err:
            StepCache(s3("steps"))
    finally:
        auth_after(b"inf")
    assert err.value.code == "E717" and err.value.message.startswith("step cache s3://xlner/steps: cannot")
    assert "AWS Error" in err.value.message  # pyarrow's own text, e.g. ACCESS_DENIED
    assert "AWS_ACCESS_KEY_ID" in err.value.hint


# --- atomic shard writes --------------------------------------------------------------------------

WRITER = """
import sys, time
import pyarrow as pa, pyarrow.parquet as pq
from xlner.cache import StepCache

cache = StepCache(sys.argv[1])
cache.save_shard("align", "k", 0, pa.table({"x": list(range(10))}))

def slow(fs, tmp):  # a shard far too large to finish before the kill, row group by row group
    batch = pa.table({"x": list(range(10_000))})
    with fs.open_output_stream(tmp) as out, pq.ParquetWriter(out, batch.schema) as writer:
        for i in range(100_000):
            writer.write_table(batch)
            if i == 3:
                print("writing", flush=True)
            time.sleep(0.01)

cache.store.write_with("align-k.parts/00001.parquet", slow)
"""


def _killed_mid_write(location: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, location], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.parametrize("where", ["file", "s3"])
def test_shard_write_killed_midway_is_never_read_and_the_step_resumes(where, tmp_path, request):
    location = (tmp_path / "steps").as_uri() if where == "file" else request.getfixturevalue("s3")(
        f"{tmp_path.name}/steps")
    _killed_mid_write(location)
    cache = StepCache(location)
    if where == "file":  # the partial file is there, under its temporary name only
        left = os.listdir(tmp_path / "steps" / "align-k.parts")
        assert "00000.parquet" in left and any(n.endswith(".tmp") for n in left) and len(left) == 2
    done = cache.load_shards("align", "k", ["x"], [10, 10])
    assert list(done) == [0] and done[0]["x"].to_pylist() == list(range(10))

    cache.save_shard("align", "k", 1, pa.table({"x": list(range(10, 20))}))  # the resumed step
    done = cache.load_shards("align", "k", ["x"], [10, 10])
    merged = pa.concat_tables([done[0], done[1]])
    cache.save("align", "k", merged)
    assert cache.load("align", "k", ["x"], 20)["x"].to_pylist() == list(range(20))
    assert not cache.store.is_dir("align-k.parts")  # shards and the remnant went with the merge


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path):
    cache = StepCache((tmp_path / "steps").as_uri())

    def fails(fs, tmp):  # Ctrl-C after part of the file went out
        with fs.open_output_stream(tmp) as out:
            out.write(b"PAR1" + b"\0" * 1000)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.store.write_with("align-k.parts/00000.parquet", fails)
    assert os.listdir(tmp_path / "steps" / "align-k.parts") == []
    assert cache.load_shards("align", "k", ["x"], [10]) == {}


def test_a_corrupt_file_on_a_uri_store_is_reported_deleted_and_recomputed(tmp_path):
    from xlner.errors import XlnerWarning

    cache = StepCache((tmp_path / "steps").as_uri())
    cache.save_shard("align", "k", 0, pa.table({"x": list(range(10))}))
    shard = tmp_path / "steps" / "align-k.parts" / "00000.parquet"
    shard.write_bytes(shard.read_bytes()[:40])  # cut short, as a disk-full copy would leave it
    with pytest.warns(XlnerWarning, match="E703"):
        assert cache.load_shards("align", "k", ["x"], [10]) == {}
    assert not shard.exists()


# The runner's own resume over a URI store (the transforms of test_cache.py: plain computations).
def test_runner_resumes_an_interrupted_step_from_shards_on_a_uri_store(tmp_path):
    from test_cache import CALLS, Interrupt, _steps, _table, failing_after

    uri = (tmp_path / "steps").as_uri()
    comps = Components({"sfx": ({"suffix": "-"}, lambda: "-")})
    keys = {"id": "k0", "tokens": "k0"}
    with pytest.raises(XlnerError) as err:
        Runner(StepCache(uri), comps, shard_size=4, progress=False).run(
            _table(), keys, _steps(upper_fn=failing_after(2)))
    assert isinstance(err.value.__cause__, Interrupt)
    assert str(err.value.fields.get("kept", "")).startswith("file:///")
    assert sorted(os.listdir(next((tmp_path / "steps").glob("upper-*.parts")))) == ["00000.parquet",
                                                                                 "00001.parquet"]
    CALLS.clear()
    table, reports = Runner(StepCache(uri), comps, shard_size=4, progress=False).run(_table(), keys, _steps())
    assert CALLS == [("upper", 2), ("suffix", 4), ("suffix", 4), ("suffix", 2)]  # the last shard only
    assert table["final"].to_pylist()[9] == ["W9-!", "X-!"]


# --- bad locations --------------------------------------------------------------------------------

def test_unknown_scheme_is_e717_on_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xlner.cli", "pipeline", "translate-test", "--data",
                           str(DEMO), "--lang", "es", "--out", str(tmp_path / "run"), "--limit", "2",
                           "--quiet", "--cache-dir", "nosuch://bucket/steps"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 2, proc.stderr
    assert ("error[E717]: --cache-dir nosuch://bucket/steps: cannot create the folder (Unrecognized "
            "filesystem type in URI: nosuch://bucket/steps)") in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "records.jsonl").exists()


def test_unreachable_endpoint_is_e717_with_pyarrows_reason():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"s3://xlner/steps?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    with pytest.raises(XlnerError) as err:
        StepCache(uri)
    assert err.value.code == "E717" and "s3://xlner/steps" in err.value.message
    assert "Could not connect" in err.value.message or "NETWORK_CONNECTION" in err.value.message


def test_an_endpoint_that_never_answers_is_e717_not_a_hang(monkeypatch):
    monkeypatch.setattr(cachefs, "OPEN_TIMEOUT_S", 1.0)
    with socket.socket() as server:  # accepts connections, never replies
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(XlnerError) as err:
            StepCache(f"s3://xlner/steps?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1")
        assert time.monotonic() - t0 < 10
    assert err.value.code == "E717" and "no answer within 1 s" in err.value.message


def test_a_file_where_the_shared_folder_should_be_is_e700(tmp_path):
    (tmp_path / "steps").write_text("not a folder")
    with pytest.raises(XlnerError) as err:
        StepCache(tmp_path / "own", (tmp_path / "steps").as_uri(), option="--cache-dir")
    assert err.value.code == "E700"
    assert err.value.message == f"--cache-dir {(tmp_path / 'steps').as_uri()} is a file, but a folder is expected here"


def test_xlner_cache_as_a_uri(monkeypatch, tmp_path):
    monkeypatch.setenv("XLNER_CACHE", "s3://bucket/xlner?region=eu-west-1")
    assert default_steps_cache() == "s3://bucket/xlner/steps?region=eu-west-1"
    with pytest.raises(XlnerError) as err:  # models need a local folder
        default_cache_dir()
    assert err.value.code == "E717" and err.value.message.startswith("XLNER_CACHE s3://bucket/xlner: cannot")
    monkeypatch.setenv("XLNER_CACHE", (tmp_path / "c").as_uri())
    assert default_cache_dir() == tmp_path / "c"
    assert default_steps_cache() == (tmp_path / "c").as_uri() + "/steps"
    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "c"))
    assert default_steps_cache() == tmp_path / "c" / "steps"  # a path stays a path: today's code


def test_messages_leave_out_credentials_in_the_uri():
    with pytest.raises(XlnerError) as err:
        StepCache("nosuch://KEY:hunter2@bucket/steps?secret_key=hunter2")
    assert err.value.code == "E717" and "nosuch://bucket/steps" in err.value.message
    assert "hunter2" not in str(err.value)


# --- the Ray engine with its shared cache behind a URI --------------------------------------------

@pytest.mark.slow
@pytest.mark.ray
def test_ray_engine_with_a_file_uri_cache(tmp_path):
    pytest.importorskip("ray.data", reason="the extra xlner[ray] (./dev test installs it)")
    from test_engine_ray import N as RAY_N
    from test_engine_ray import SPANISH, _opts as ray_opts, _records as ray_records
    from xlner.engine.ray_engine import RayEngine

    if not SPANISH.exists():
        pytest.skip("the gold data in ../shared/data is not here")
    uri = (tmp_path / "cache").as_uri()
    eng = RayEngine(num_cpus=2, object_store_mb=100)  # as test_engine_ray's fixture
    eng.connect()
    try:
        opts = ray_opts(tmp_path / "ray", SPANISH, "es", eng)
        opts.shared_cache, opts.cache_dir = True, uri
        run = translate_test(opts)
    finally:
        eng.close()
    assert not run.metrics["cached_steps"] and run.metrics["n_sentences"] == RAY_N
    # The local engine, in a new run folder, finds every step in the URI cache the Ray run filled.
    local = ray_opts(tmp_path / "local", SPANISH, "es")
    local.shared_cache, local.cache_dir = True, uri
    again = translate_test(local)
    assert set(again.metrics["cached_steps"]) == set(again.metrics["step_keys"])
    assert ray_records(tmp_path / "local") == ray_records(tmp_path / "ray")
    assert _local_files(tmp_path / "cache") == _local_files(tmp_path / "ray" / "steps")
