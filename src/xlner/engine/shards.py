"""What travels to a worker and back: one shard of one step, as Arrow IPC bytes.

A shard's input and output tables are serialised with Arrow's IPC format, so that the engine never
converts their types (a Ray Data block may widen or re-chunk columns) and the table a worker computes
is, byte for byte, the table the local engine would have cached. A worker never raises out of a
shard: a failure comes back as a row with the error text, so that the other shards still finish and
are saved (nothing is lost) and the driver names the dataset, shard and sentence ids.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa

from xlner.errors import XlnerError
from xlner.pipeline.framework import Transform

__all__ = ["ShardWork", "to_ipc", "from_ipc", "SHARD", "DATA", "ERROR", "shard_rows", "compute"]

SHARD, DATA, ERROR = "shard", "data", "error"


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


@dataclass(frozen=True)
class ShardWork:
    """Everything a worker needs to compute shards of one step (pickled once per actor/task):
    the transform, its parameters, the output columns it must return, and ``build``, the
    component's factory (None: the step needs no component), called once per actor."""

    step: str
    transform: Transform
    params: dict
    outputs: tuple[str, ...]
    build: Callable[[], Any] | None
    threads: int = 1


def compute(work: ShardWork, component: Any, table: pa.Table) -> pa.Table:
    """One shard through the step's transform, checked as the local runner checks it."""
    result = work.transform(table, component, work.params)
    if result.num_rows != table.num_rows:
        raise XlnerError("E769", step=work.step, n_rows=result.num_rows, n_sentences=table.num_rows)
    missing = [c for c in work.outputs if c not in result.column_names]
    if missing:
        raise XlnerError("E770", step=work.step, missing=missing)
    return result.select(list(work.outputs))


def describe_failure(exc: BaseException) -> str:
    """The text a failed shard sends back: ``error[E###]: message`` for catalogued errors, the
    exception type, message and the last frames otherwise (a backend bug needs its place)."""
    if isinstance(exc, XlnerError):
        return json.dumps({"text": f"error[{exc.code}]: {exc.message}"})
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]
    return json.dumps({"text": f"{type(exc).__name__}: {exc}", "where": "".join(frames)[-800:]})


def shard_rows(work: ShardWork, component: Callable[[], Any], batch: pa.Table) -> pa.Table:
    """A batch of ``(shard, data)`` rows -> ``(shard, data, error, seconds)`` rows. ``component()``
    returns the (once built) component; a failure to build it is reported like a failed shard."""
    shards, datas, errors, seconds = [], [], [], []
    for shard, data in zip(batch[SHARD].to_pylist(), batch[DATA].to_pylist()):
        start = time.perf_counter()
        try:
            out, error = to_ipc(compute(work, component(), from_ipc(data))), None
        except Exception as exc:  # sent back as data: the other shards of the step still finish
            out, error = b"", describe_failure(exc)
        shards.append(shard)
        datas.append(out)
        errors.append(error)
        seconds.append(time.perf_counter() - start)
    return pa.table({SHARD: pa.array(shards, pa.int64()), DATA: pa.array(datas, pa.binary()),
                     ERROR: pa.array(errors, pa.string()), "seconds": pa.array(seconds, pa.float64())})
