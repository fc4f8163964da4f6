"""The Ray engine: a step's missing shards as a Ray Data ``map_batches`` over a cluster.

Model steps (translator, English tagger, aligner, back-translator, any other component) run on an
actor pool whose actors build their model once (:class:`_StepActor`), with the pool size and the
CPUs/GPUs per actor from the profile's ``engine.pools``; the projector and the other cheap steps
with a component run as plain Ray tasks; steps without a component (label selection, refinement)
stay in this process, where they take milliseconds.

The driver keeps the step cache: it reads the finished shards, sends only the missing ones, saves
each result atomically as it arrives (so an interrupted run resumes, on either engine), and merges
them as the local engine does. Workers never need to see the cache folder. A killed worker is
replaced by Ray and its shard computed again (Ray Data restarts actors and retries their tasks).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

import pyarrow as pa
from tqdm.auto import tqdm

from xlner.cache import StepCache
from xlner.engine.base import CPU_COMPONENTS, Engine, EngineSection, engine_section
from xlner.engine.shards import DATA, ERROR, SHARD, ShardWork, from_ipc, shard_rows, to_ipc
from xlner.errors import XlnerError
from xlner.pipeline.framework import Components, Runner, Step, shard_sizes

__all__ = ["RayEngine", "import_ray"]

log = logging.getLogger("xlner.engine")
#: Steps that stay in this process: no component (label selection, refinement) or ``text``
#: (detokenise, split words), pure Python at thousands of sentences per second.
LOCAL_COMPONENTS = frozenset({None, "text"})
PIP_COMMAND = "pip install 'xlner[ray]'"


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or E790 saying how to install the extra."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra is ray[data]: plain ray lacks its dependencies)
    except ImportError as exc:
        raise XlnerError("E790", reason=exc, command=PIP_COMMAND) from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """``host:port`` of a cluster address (``ray://h:10001``, ``h:6379``); None for ``auto``."""
    if address in ("auto", "local"):
        return None
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    if not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname, port or (10001 if address.startswith("ray://") else 6379)


def check_reachable(address: str, timeout: float) -> None:
    """Refuse an address nothing answers on within ``timeout`` seconds (E791): ``ray.init`` itself
    would retry for a minute or more before it gives up."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        raise XlnerError("E791", address=address, reason=f"{type(exc).__name__}: {exc}",
                         timeout=timeout) from None


class _StepActor:
    """The callable class of a model step's actor pool: the model is built once per actor, on its
    first shard (a failure to build it is then reported per shard, never as a hanging pool)."""

    def __init__(self, work: ShardWork) -> None:
        from xlner.threads import pin_threads

        pin_threads(work.threads)  # the local run's torch threads: the same float results
        self.work = work
        self.built: Any = None

    def component(self) -> Any:
        if self.built is None and self.work.build is not None:
            self.built = self.work.build()
        return self.built

    def __call__(self, batch: pa.Table) -> pa.Table:
        return shard_rows(self.work, self.component, batch)


def _task(batch: pa.Table, work: ShardWork) -> pa.Table:
    """A cheap step's shards as a plain Ray task (its component is a module or a function)."""
    from xlner.threads import pin_threads

    pin_threads(work.threads)
    return _StepActor(work)(batch)


class RayEngine(Engine):
    """Steps over a Ray cluster: ``address`` (or ``RAY_ADDRESS``) of an existing one, else a local
    cluster that this engine starts on first use and stops in :meth:`close`.

    ``num_cpus`` / ``object_store_mb`` (local cluster only) override the profile's ``engine``
    section; tests start a 2-CPU cluster with a small object store this way.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 object_store_mb: int | None = None) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.num_cpus = num_cpus
        self.object_store_mb = object_store_mb
        self.started = False      # whether this engine started (and must stop) a local cluster
        self.start_seconds = 0.0  # connecting or starting the cluster took this long

    def connect(self, section: EngineSection | None = None) -> Any:
        """Connect (or start a local cluster) once; returns the ``ray`` module."""
        ray = import_ray()
        if ray.is_initialized():
            return ray
        section = section or EngineSection()
        start = time.perf_counter()
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # no C++ notices through the bars
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                    "logging_level": logging.WARNING, "configure_logging": True}
        if self.address:
            check_reachable(self.address, section.connect_timeout_s)
            try:
                ray.init(address=self.address, **settings)
            except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
                raise XlnerError("E791", address=self.address, reason=f"{type(exc).__name__}: {exc}",
                                 timeout=section.connect_timeout_s) from None
        else:
            mb = self.object_store_mb or section.object_store_mb
            ray.init(num_cpus=self.num_cpus or section.local_cpus or os.cpu_count(),
                     object_store_memory=int(mb) * 1024 * 1024, **settings)
            self.started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # xlner draws one bar per step itself
        context.print_on_execution_start = False
        self.start_seconds = time.perf_counter() - start
        return ray

    def close(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False

    def check_gpus(self, section: EngineSection) -> None:
        """Refuse a profile that asks for more GPUs per actor than any node of the cluster has."""
        wanted = section.requested_gpus
        if not wanted:
            return
        import ray

        have = max([float(n.get("Resources", {}).get("GPU", 0)) for n in ray.nodes() if n.get("Alive")]
                   or [0.0])
        too_many = {k: v for k, v in wanted.items() if v > have}
        if too_many:
            raise XlnerError("E792", pools=", ".join(f"{k}: {v:g}" for k, v in sorted(too_many.items())),
                             have=f"{have:g}", address=self.address or "the local cluster")

    def runner(self, cache: StepCache, components: Components, *, shard_size: int, progress: bool,
               profile: Mapping[str, Any], dataset: str) -> Runner:
        section = engine_section(profile)
        self.connect(section)
        self.check_gpus(section)
        return RayRunner(self, section, cache, components, shard_size=shard_size, progress=progress,
                         dataset=dataset, threads=int(profile.get("threads") or 1))

    # --- one step ----------------------------------------------------------------------------
    def map_shards(self, work: ShardWork, component: str | None, section: EngineSection,
                   shards: list[tuple[int, pa.Table]]) -> Iterator[tuple[int, pa.Table | None, str | None]]:
        """``(shard, table, None)`` or ``(shard, None, error)`` for every shard, as they finish."""
        import ray

        blocks = [pa.table({SHARD: pa.array([i], pa.int64()), DATA: pa.array([to_ipc(t)], pa.binary())})
                  for i, t in shards]
        ds: Any = ray.data.from_arrow(blocks)  # Ray Data's overloads do not type pyarrow batches
        common: dict[str, Any] = {"batch_format": "pyarrow", "batch_size": 1, "zero_copy_batch": True}
        if component in CPU_COMPONENTS:
            mapped = ds.map_batches(_task, fn_args=(work,), num_cpus=section.cpu_task_cpus, **common)
        else:
            pool = section.pool(component or "default")
            mapped = ds.map_batches(_StepActor, fn_constructor_args=(work,),
                                    compute=ray.data.ActorPoolStrategy(size=min(pool.actors, len(shards))),
                                    num_cpus=pool.cpus, num_gpus=pool.gpus, **common)
        for batch in mapped.iter_batches(batch_size=None, batch_format="pyarrow"):
            for shard, data, error in zip(batch[SHARD].to_pylist(), batch[DATA].to_pylist(),
                                          batch[ERROR].to_pylist()):
                yield int(shard), (None if error else from_ipc(data)), error


class RayRunner(Runner):
    """The pipeline's runner with the shard loop of distributed steps on a :class:`RayEngine`;
    cache lookup, resume, merge and keys are the local runner's."""

    def __init__(self, engine: RayEngine, section: EngineSection, cache: StepCache,
                 components: Components, *, shard_size: int, progress: bool, dataset: str,
                 threads: int) -> None:
        super().__init__(cache, components, shard_size=shard_size, progress=progress)
        self.engine = engine
        self.section = section
        self.dataset = dataset
        self.threads = threads

    def _run_step(self, step: Step, key: str, table: pa.Table) -> tuple[pa.Table, bool, int]:
        if step.component in LOCAL_COMPONENTS:  # milliseconds per shard: a worker would cost more
            return super()._run_step(step, key, table)
        n = table.num_rows
        outputs = list(step.outputs.values())
        cached = self.cache.load(step.name, key, outputs, n)
        if cached is not None:
            return cached, True, 0
        sizes = shard_sizes(n, step.shard_size or self.shard_size)
        done = self.cache.load_shards(step.name, key, outputs, sizes)
        resumed = sum(sizes[i] for i in done)
        inputs = table.select(list(step.inputs.values())).rename_columns(list(step.inputs))
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        todo = [(i, inputs.slice(offsets[i], sizes[i])) for i in range(len(sizes)) if i not in done]
        ids = table["id"].to_pylist() if "id" in table.column_names else [str(i) for i in range(n)]
        work = ShardWork(step.name, step.transform, step.params, tuple(step.outputs),
                         self.components.builder(step.component), self.threads)
        rename = [step.outputs[c] for c in step.outputs]
        failures: list[tuple[int, str]] = []
        with tqdm(total=n, initial=resumed, desc=step.name, unit="sent", disable=not self.progress,
                  leave=True, dynamic_ncols=True) as bar:
            if todo:
                for i, result, error in self.engine.map_shards(work, step.component, self.section, todo):
                    if error is not None:
                        failures.append((i, error))
                        continue
                    assert result is not None
                    result = result.rename_columns(rename)
                    self.cache.save_shard(step.name, key, i, result)
                    done[i] = result
                    bar.update(sizes[i])
        if failures:
            i, error = min(failures)
            shard_ids = ids[offsets[i]: offsets[i] + sizes[i]]
            detail = json.loads(error)
            if "where" in detail:
                log.error("%s shard %d failed on a worker:\n%s", step.name, i, detail["where"])
            raise XlnerError("E794", step=step.name, dataset=self.dataset, shard=i,
                             n_failed=len(failures), sentences=_listed(shard_ids),
                             reason=detail["text"], kept=self.cache.parts_dir(step.name, key))
        merged = pa.concat_tables([done[i] for i in range(len(sizes))])
        self.cache.save(step.name, key, merged)
        return merged, False, resumed


def _listed(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (f" ... ({len(items)} in all)" if len(items) > shown else "")
