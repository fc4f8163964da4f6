"""The experiment runner's teachers and cells as Ray tasks (``--engine ray``) on a local 2-CPU
cluster started by this module (no dashboard, small object store, shut down afterwards), with a
tiny experiment on real data: cells identical to the local engine's, a rerun that recomputes
nothing, a failing task that stops the run (E798) after the others kept their cells, its cell
recomputed alone on the next run, and the refusals that come before any work."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray.data", reason="the extra xlner[ray] (./dev test installs it)")

from xlner.engine.ray_engine import RayEngine  # noqa: E402
from xlner.errors import XlnerError  # noqa: E402
from xlner.experiment import load_config, run_domain_shift  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.ray,
              pytest.mark.skipif(not DATA.exists(), reason="../shared/data not found")]


def _config(tmp_path: Path, **changes) -> Path:
    """The shipped tiny config, smaller still: two seeds, an English and a Basque test set, so that
    the schedule has 2 teachers and 6 cells (model-transfer x 2 languages, teacher-student on eu)."""
    cfg = yaml.safe_load((REPO / "src/xlner/configs/tiny-test.yaml").read_text())
    cfg["source"]["train"]["max_sentences"] = 100
    cfg["source"]["dev"]["max_sentences"] = 20
    cfg["test_sets"] = [dict(t, max_sentences=20) for t in cfg["test_sets"]
                        if t["name"] in ("conll03-test", "eu-news-val")]
    cfg["unlabeled"]["eu"]["max_sentences"] = 30
    cfg["teacher"]["epochs"] = 3
    cfg["student"]["epochs"] = 2
    cfg["n_boot"] = 50
    cfg.update(changes)
    path = tmp_path / f"tiny-{len(list(tmp_path.glob('tiny-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _free_port() -> int:
    with socket.socket() as s:  # free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_engine_input_is_refused_before_any_work(tmp_path, monkeypatch):
    import ray

    config = _config(tmp_path)
    with pytest.raises(XlnerError) as err:  # a typo in the config's engine section, on any engine
        load_config(_config(tmp_path, engine={"tasks": {"teachr": {"cpus": 1}}}))
    assert err.value.code == "E761" and "engine.tasks.teachr" in err.value.message
    assert "teacher" in str(err.value.hint)
    if ray.is_initialized():
        pytest.skip("a Ray cluster of an earlier test module is still connected")
    port = _free_port()
    with pytest.raises(XlnerError) as err:
        run_domain_shift(config, tmp_path / "unreachable", data_root=DATA, log=None, progress=False,
                         engine="ray", ray_address=f"127.0.0.1:{port}")
    assert err.value.code == "E791" and str(port) in err.value.message
    monkeypatch.setitem(sys.modules, "ray", None)  # what Python does when the extra is missing
    with pytest.raises(XlnerError) as err:
        run_domain_shift(config, tmp_path / "no-extra", data_root=DATA, log=None, progress=False, engine="ray")
    assert err.value.code == "E790" and "xlner[ray]" in str(err.value.hint)
    assert not (tmp_path / "unreachable").exists() and not (tmp_path / "no-extra").exists()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # The workers keep the environment the cluster starts with: their step cache is this one.
    mp = pytest.MonkeyPatch()
    mp.setenv("XLNER_CACHE", str(tmp_path_factory.mktemp("workers-cache")))
    engine = RayEngine(num_cpus=2, object_store_mb=100)
    engine.connect()
    yield engine
    engine.close()
    mp.undo()


def _cells(exp: Path) -> dict[str, tuple[bytes, dict]]:
    """Every cell: its records.jsonl bytes and its metrics."""
    return {d.name: ((d / "records.jsonl").read_bytes(), json.loads((d / "metrics.json").read_text()))
            for d in sorted((exp / "runs").iterdir())}


def test_gpus_the_cluster_lacks_are_refused_before_any_work(cluster, tmp_path):
    config = _config(tmp_path, engine={"tasks": {"teacher": {"cpus": 1, "gpus": 1}}})
    with pytest.raises(XlnerError) as err:
        run_domain_shift(config, tmp_path / "exp", data_root=DATA, log=None, progress=False, engine=cluster)
    assert err.value.code == "E799" and "teacher: 1 CPUs, 1 GPUs" in err.value.message
    assert not (tmp_path / "exp").exists()


def test_cells_on_ray_are_the_local_cells_and_a_rerun_resumes(cluster, tmp_path):
    config = _config(tmp_path, engine={"tasks": {"default": {"cpus": 1}, "teacher": {"cpus": 1}}})
    local = tmp_path / "local"
    run_domain_shift(config, local, data_root=DATA, log=None, progress=False)
    logs: list[str] = []
    on_ray = tmp_path / "ray"
    run_domain_shift(config, on_ray, data_root=DATA, log=logs.append, progress=False, engine=cluster)
    assert "ray: 2 teacher and 6 cell tasks on a local cluster" in logs  # per (method, seed, language)
    cells = _cells(on_ray)
    assert len(cells) == 6 and cells == _cells(local)
    assert sum(": F1 " in line for line in logs) == 6  # the workers' log lines reach the driver's log
    assert (on_ray / "results.csv").read_text() == (local / "results.csv").read_text()

    # A rerun finds every cell finished: no task, no file rewritten.
    stamps = {p: p.stat().st_mtime_ns for p in (on_ray / "runs").glob("*/*")}
    logs.clear()
    run_domain_shift(config, on_ray, data_root=DATA, log=logs.append, progress=False, engine="ray")
    assert "ray: 0 teacher and 0 cell tasks on a local cluster" in logs
    assert {p: p.stat().st_mtime_ns for p in (on_ray / "runs").glob("*/*")} == stamps

    # Two cells lost; one of them also lost its student and finds a corrupt soft-label cache. Its
    # task fails, the other one finishes and is kept, and the run stops naming the failed unit.
    runs = on_ray / "runs"
    lost = [runs / "model-transfer__eu-news-val__s1", runs / "teacher-student__eu-news-val__s0"]
    for cell in lost:
        (cell / "metrics.json").unlink()
    shutil.rmtree(on_ray / "models" / "student-eu-s0")
    (on_ray / "cache" / "soft-s0-eu.npz").write_bytes(b"not an npz file")
    logs.clear()
    with pytest.raises(XlnerError) as err:
        run_domain_shift(config, on_ray, data_root=DATA, log=logs.append, progress=False, engine="ray")
    assert err.value.code == "E798" and "teacher-student seed 0 on eu failed" in err.value.message
    assert "ray: 2 teacher and 2 cell tasks on a local cluster" in logs
    assert any(line.startswith("teacher seed 1") and "(reused)" in line for line in logs)
    assert (lost[0] / "metrics.json").exists() and not (lost[1] / "metrics.json").exists()

    # The cause removed, the same command computes the failed cell alone, identical to the local one.
    (on_ray / "cache" / "soft-s0-eu.npz").unlink()
    logs.clear()
    run_domain_shift(config, on_ray, data_root=DATA, log=logs.append, progress=False, engine="ray")
    assert "ray: 1 teacher and 1 cell tasks on a local cluster" in logs
    assert _cells(on_ray) == _cells(local)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.parent not in lost)


def test_silver_data_and_pipeline_cells_on_ray_are_the_local_ones(cluster, tmp_path, monkeypatch):
    """translate-train's silver data (one task per language) and the seedless projection cells run
    the pipeline (Apertium, spaCy) inside workers; the local run computes its own, in a step cache of
    its own, and both give the same cells."""
    tiny = {"epochs": 3, "batch_size": 8, "lr": 0.003, "freeze_embeddings": False, "max_length": 64}
    config = _config(tmp_path, methods=["projection", "translate-train"], seeds=[0], teacher=tiny,
                     student=tiny, unlabeled={}, in_domain={"es": "news"},
                     test_sets=[{"name": "es-test", "path": "conll02-es/test.txt", "language": "es",
                                 "domain": "news", "max_sentences": 12}],
                     projection={"profile": "offline", "set": {"aligner": {"name": "identity"}}},
                     translate_train={"max_sentences": 15})
    logs: list[str] = []
    on_ray = tmp_path / "ray"
    run_domain_shift(config, on_ray, data_root=DATA, log=logs.append, progress=False, engine=cluster)
    assert "ray: 1 translate-train silver data tasks" in logs
    assert "ray: 0 teacher and 2 cell tasks on a local cluster" in logs
    monkeypatch.setenv("XLNER_CACHE", str(tmp_path / "driver-cache"))  # nothing computed on Ray is reused
    local = tmp_path / "local"
    run_domain_shift(config, local, data_root=DATA, log=None, progress=False)
    cells = _cells(on_ray)
    assert sorted(cells) == ["projection__es-test", "translate-train__es-test__s0"] and cells == _cells(local)
    for run in ("translate-train__es", "translate-test__test-es-test"):
        assert ((on_ray / "pipeline" / run / "records.jsonl").read_bytes()
                == (local / "pipeline" / run / "records.jsonl").read_bytes())
