"""Running a list of steps over a columnar table, with every step's output cached.

A :class:`Step` declares the run columns it reads, the columns it writes, the component it needs and
its parameters. Its cache key is a fingerprint of the keys of the steps that produced its input
columns, the component's configuration and the parameters, so changing the NER model reruns NER and
projection but not translation or alignment. This is a loop over steps, not a scheduler: steps run
in the order given, shard by shard (each shard saved as soon as it is done, so an interrupted run
resumes where it stopped).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa
from tqdm.auto import tqdm

from xlner.cache import StepCache, fingerprint
from xlner.errors import XlnerError

log = logging.getLogger("xlner.pipeline")

Transform = Callable[[pa.Table, Any, dict], pa.Table]


@dataclass(frozen=True)
class Step:
    """One batch transform of the pipeline.

    ``inputs``/``outputs`` map the transform's own column names to the run's column names.
    ``component`` names an entry of the :class:`Components` (None: the transform needs none).
    ``version`` is part of the key: bump it when the transform's behaviour changes.
    ``shard_size`` overrides the runner's for steps whose per-call cost is high (a subprocess).
    """

    name: str
    transform: Transform
    inputs: dict[str, str]
    outputs: dict[str, str]
    component: str | None = None
    params: dict = field(default_factory=dict)
    version: int = 1
    shard_size: int | None = None  # sentences per shard; None: the runner's (not part of the key)


@dataclass
class StepReport:
    name: str
    key: str
    seconds: float            # wall time of the step, component loading included
    cached: bool
    resumed_rows: int = 0
    load_seconds: float = 0.0  # of which loading its component (a model) took this long


class Components:
    """Lazily built components, each from a configuration dict.

    ``builders`` maps a component name to ``(config, build)``; ``config`` is what the cache key sees
    (a model *name*, never a loaded model), ``build()`` loads it on first use, so a fully cached run
    loads no model at all.
    """

    def __init__(self, builders: dict[str, tuple[dict, Callable[[], Any]]]) -> None:
        self._builders = builders
        self._built: dict[str, Any] = {}
        self.load_seconds: dict[str, float] = {}

    def config(self, name: str | None) -> dict | None:
        return None if name is None else self._builders[name][0]

    def builder(self, name: str | None) -> Callable[[], Any] | None:
        """The unbuilt factory of a component (an engine ships it to workers that load their own)."""
        return None if name is None else self._builders[name][1]

    def get(self, name: str | None) -> Any:
        if name is None:
            return None
        if name not in self._built:
            start = time.perf_counter()
            self._built[name] = self._builders[name][1]()
            self.load_seconds[name] = time.perf_counter() - start
        return self._built[name]


def shard_sizes(n_rows: int, shard_size: int) -> list[int]:
    shard_size = max(1, int(shard_size))
    return [min(shard_size, n_rows - start) for start in range(0, n_rows, shard_size)] or [0]


class Runner:
    """Runs steps over a table, reading and writing the step cache."""

    def __init__(self, cache: StepCache, components: Components, *, shard_size: int = 64,
                 progress: bool = True) -> None:
        self.cache = cache
        self.components = components
        self.shard_size = shard_size
        self.progress = progress

    def step_key(self, step: Step, column_keys: dict[str, str]) -> str:
        missing = [c for c in step.inputs.values() if c not in column_keys]
        if missing:
            raise XlnerError("E707", step=step.name, missing=missing)
        return fingerprint(
            "xlner-step", step.name, step.version, step.transform.__module__,
            step.transform.__qualname__, sorted(step.inputs.items()), sorted(step.outputs.items()),
            [column_keys[c] for c in sorted(step.inputs.values())],
            self.components.config(step.component), step.params)

    def run(self, table: pa.Table, column_keys: dict[str, str], steps: list[Step], *,
            keys_out: dict[str, str] | None = None) -> tuple[pa.Table, list[StepReport]]:
        """Apply ``steps`` in order; returns the table with every output column added.

        ``keys_out`` (optional) receives the key of every column afterwards, so that a later
        ``run`` can continue from this table (steps that may fail without failing the run)."""
        column_keys = dict(column_keys)
        reports = []
        for step in steps:
            key = self.step_key(step, column_keys)
            start = time.perf_counter()
            loaded_before = sum(self.components.load_seconds.values())
            out, cached, resumed = self._run_step(step, key, table)
            loading = sum(self.components.load_seconds.values()) - loaded_before
            reports.append(StepReport(step.name, key, time.perf_counter() - start, cached, resumed,
                                      loading))
            for column in step.outputs.values():
                array = out[column]
                if column in table.column_names:
                    table = table.set_column(table.column_names.index(column), column, array)
                else:
                    table = table.append_column(column, array)
                column_keys[column] = key
        if keys_out is not None:
            keys_out.update(column_keys)
        return table, reports

    def _run_step(self, step: Step, key: str, table: pa.Table) -> tuple[pa.Table, bool, int]:
        n = table.num_rows
        out_columns = list(step.outputs.values())
        cached = self.cache.load(step.name, key, out_columns, n)
        if cached is not None:
            log.info("%s: cached (%s)", step.name, self.cache.file_name(step.name, key))
            return cached, True, 0
        sizes = shard_sizes(n, step.shard_size or self.shard_size)
        done = self.cache.load_shards(step.name, key, out_columns, sizes)
        resumed = sum(sizes[i] for i in done)
        inputs = table.select(list(step.inputs.values())).rename_columns(list(step.inputs))
        rename = [step.outputs[c] for c in step.outputs]
        with tqdm(total=n, initial=resumed, desc=step.name, unit="sent", disable=not self.progress,
                  leave=True, dynamic_ncols=True) as bar:
            offset = 0
            for i, size in enumerate(sizes):
                if i not in done:
                    batch = inputs.slice(offset, size)
                    first_id = table["id"][offset].as_py() if "id" in table.column_names and size else "?"
                    result = self._apply(step, batch, key, first_id)
                    result = result.select(list(step.outputs)).rename_columns(rename)
                    self.cache.save_shard(step.name, key, i, result)
                    done[i] = result
                    bar.update(size)
                offset += size
        merged = pa.concat_tables([done[i] for i in range(len(sizes))])
        self.cache.save(step.name, key, merged)
        return merged, False, resumed

    def _apply(self, step: Step, batch: pa.Table, key: str, first_id: str) -> pa.Table:
        try:
            component = self.components.get(step.component)
            result = step.transform(batch, component, step.params)
        except XlnerError:
            raise
        except Exception as exc:  # a backend bug must not cost the user the finished shards
            raise XlnerError("E704", step=step.name, first=first_id,
                             reason=f"{type(exc).__name__}: {exc}",
                             kept=self.cache.parts_dir(step.name, key)) from exc
        if result.num_rows != batch.num_rows:
            raise XlnerError("E769", step=step.name, n_rows=result.num_rows, n_sentences=batch.num_rows)
        missing = [c for c in step.outputs if c not in result.column_names]
        if missing:
            raise XlnerError("E770", step=step.name, missing=missing)
        return result
