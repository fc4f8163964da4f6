"""Execution engines: where the pipeline's steps compute their shards.

``local`` (the default) is today's loop in this process; ``ray`` maps model steps over actor pools of
a Ray cluster (the optional extra ``xlner[ray]``). Both read and write the same step cache, so a run
started on one engine is resumed or reused by the other, with identical records.

>>> from xlner.engine import get_engine
>>> with get_engine("ray", address=None) as engine:              # doctest: +SKIP
...     translate_test(Options(data="val.jsonl", lang="eu", out="runs/eu", engine=engine))
"""

from __future__ import annotations

import atexit
from typing import Any

from xlner.engine.base import Engine, EngineSection, LocalEngine, PoolSection, engine_section
from xlner.errors import XlnerError

__all__ = ["Engine", "EngineSection", "PoolSection", "LocalEngine", "ENGINES", "get_engine",
           "engine_of", "engine_section"]

ENGINES = ("local", "ray")
_SHARED: dict[str | None, Engine] = {}


def get_engine(name: str = "local", address: str | None = None, **settings: Any) -> Engine:
    """A new engine by name (E793 for an unknown one). ``address``: an existing Ray cluster
    (``ray``; default ``$RAY_ADDRESS``, else a local cluster started on first use)."""
    if name == "local":
        return LocalEngine()
    if name == "ray":
        from xlner.engine.ray_engine import RayEngine, import_ray

        import_ray()  # a missing extra is refused now, before any work (E790)
        return RayEngine(address, **settings)
    raise XlnerError("E793", name=name, choices=", ".join(ENGINES))


def engine_of(choice: Engine | str | None, address: str | None = None) -> Engine:
    """The engine a run was given: an :class:`Engine` as it is, or a name. A Ray engine chosen by
    name is shared by the runs of this process and closed when it exits."""
    if isinstance(choice, Engine):
        return choice
    name = choice or "local"
    if name != "ray":
        return get_engine(name)
    if address not in _SHARED:
        engine = _SHARED[address] = get_engine(name, address)
        atexit.register(engine.close)
    return _SHARED[address]
