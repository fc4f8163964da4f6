"""The Ray engine on a local 2-CPU cluster started by this module (no dashboard, small object store,
shut down afterwards), with the offline profile's real components on real data: records identical
to the local engine, a worker killed mid-step, the cache shared by both engines, a failing shard
and a resumed rerun, a profile asking for GPUs the cluster lacks."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.data", reason="the extra xlner[ray] (./dev test installs it)")

from xlner.engine.ray_engine import RayEngine  # noqa: E402
from xlner.errors import XlnerError  # noqa: E402
from xlner.pipeline import Options, translate_test, translate_train  # noqa: E402
from xlner.runs import load_run  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPANISH = DATA / "conll02-es" / "test.txt"
BASQUE = DATA / "basque-nerc" / "in_domain" / "val.jsonl"
ENGLISH = DATA / "conll03-en" / "dev.txt"
# Small shards, so that a step has several and the engines' shard plans are exercised.
SETTINGS = {"shard_size": 8, "translate_shard_size": 8}
N = 16  # two shards of 8 per step


@pytest.fixture(scope="module")
def engine():
    if not SPANISH.exists():
        pytest.skip("the gold data in ../shared/data is not here")
    eng = RayEngine(num_cpus=2, object_store_mb=100)
    eng.connect()
    yield eng
    eng.close()


def _opts(out: Path, data: Path, lang: str, engine="local", **settings) -> Options:
    return Options(data=str(data), lang=lang, out=str(out), limit=N, settings={**SETTINGS, **settings},
                   shared_cache=False, progress=False, engine=engine)


def _records(run_dir: Path) -> bytes:
    return (run_dir / "records.jsonl").read_bytes()


@pytest.fixture(scope="module")
def local_spanish(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "es"
    translate_test(_opts(out, SPANISH, "es"))
    return out


def test_spanish_identical_to_local_and_cache_shared_both_ways(engine, local_spanish, tmp_path):
    out = tmp_path / "es"
    run = translate_test(_opts(out, SPANISH, "es", engine))
    assert _records(out) == _records(local_spanish)
    assert run.metrics["overall"] == load_run(local_spanish).metrics["overall"]
    assert not run.metrics["cached_steps"]

    # The cache the Ray run wrote is read back by the local engine: nothing is recomputed...
    again = translate_test(_opts(out, SPANISH, "es"))
    assert set(again.metrics["cached_steps"]) == set(again.metrics["step_keys"])
    # ...and the local run's cache by the Ray engine.
    both = translate_test(_opts(local_spanish, SPANISH, "es", engine))
    assert set(both.metrics["cached_steps"]) == set(both.metrics["step_keys"])
    assert _records(out) == _records(local_spanish)


def _step_actors() -> set[int]:
    """Pids of the processes that are actors of xlner's step pools (Ray names them by class)."""
    pids = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if b"MapBatches(_StepActor)" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.add(int(pid))
            except OSError:
                continue
    return pids


def _kill_align_actor(steps: Path, killed: list[tuple[int, bool]], stop: threading.Event) -> None:
    """SIGKILL the first actor started after NER finished (an alignment actor), noting whether the
    alignment step was still unfinished at that moment."""
    earlier: set[int] = set()
    while not stop.is_set():
        ner_done = any(steps.glob("ner-*.parquet"))
        actors = _step_actors()
        if not ner_done:
            earlier |= actors
        elif actors - earlier:
            pid = min(actors - earlier)
            unfinished = not any(steps.glob("align-*.parquet"))
            os.kill(pid, signal.SIGKILL)
            killed.append((pid, unfinished))
            return
        time.sleep(0.02)


def test_basque_worker_killed_mid_step_still_identical(engine, tmp_path):
    local = tmp_path / "local"
    translate_test(_opts(local, BASQUE, "eu"))
    out = tmp_path / "ray"
    killed: list[tuple[int, bool]] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_align_actor, args=(out / "steps", killed, stop), daemon=True)
    killer.start()
    try:
        translate_test(_opts(out, BASQUE, "eu", engine))
    finally:
        stop.set()
        killer.join()
    assert killed and killed[0][1], "no alignment actor was killed while the step was unfinished"
    assert _records(out) == _records(local)


def test_translate_train_identical_to_local(engine, tmp_path):
    local, out = tmp_path / "local", tmp_path / "ray"
    translate_train(_opts(local, ENGLISH, "es"))
    translate_train(_opts(out, ENGLISH, "es", engine))
    assert _records(out) == _records(local)
    assert (out / "train.conll").read_bytes() == (local / "train.conll").read_bytes()


def test_failing_shard_names_dataset_shard_and_ids_then_resumes(engine, local_spanish, tmp_path):
    """Precomputed translations (the local run's Apertium output) with one sentence missing: that
    shard fails on its worker (E408), the others are saved; with the sentence added, the rerun
    computes only that shard and the records equal the local engine's with the same translations."""
    records = load_run(local_spanish).records
    missing = records[11]  # in the second shard of 8
    table = tmp_path / "translations.tsv"
    lines = [f"{r.id}\t{r.translation}" for r in records]
    table.write_text("\n".join(line for r, line in zip(records, lines) if r.id != missing.id) + "\n")
    settings = {"translator": {"name": "precomputed", "path": str(table)}}
    out = tmp_path / "ray"
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(out, SPANISH, "es", engine, **settings))
    message = err.value.message
    assert err.value.code == "E794" and "shard 1 " in message and missing.id in message
    assert "E408" in message and SPANISH.stem in message and "1 shard(s) failed" in message
    [parts] = (out / "steps").glob("translate-*.parts")
    assert sorted(p.name for p in parts.glob("*.parquet")) == ["00000.parquet"]  # shard 0 kept

    table.write_text("\n".join(lines) + "\n")  # the same file, now complete: same cache key
    run = translate_test(_opts(out, SPANISH, "es", engine, **settings))
    assert not parts.exists() and run.metrics["n_sentences"] == N
    local = tmp_path / "local"
    translate_test(_opts(local, SPANISH, "es", **settings))
    assert _records(out) == _records(local)


def test_gpus_asked_on_a_cluster_without_gpus_are_refused_before_work(engine, tmp_path):
    out = tmp_path / "gpu"
    with pytest.raises(XlnerError) as err:
        translate_test(_opts(out, SPANISH, "es", engine, **{"engine.pools.aligner.gpus": 1}))
    assert err.value.code == "E792" and "aligner: 1" in err.value.message
    assert not (out / "records.jsonl").exists()
