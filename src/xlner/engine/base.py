"""The execution-engine interface: where the shards of a pipeline step are computed.

The pipeline's :class:`~xlner.pipeline.framework.Runner` owns the step cache (keys, finished
shards, resume, the merged file); an engine only decides *where* the shards still missing are
computed. :class:`LocalEngine` returns the plain runner (today's loop, in this process: the
default). :class:`~xlner.engine.ray_engine.RayEngine` maps them over a Ray cluster.

An engine's settings are the profile's ``engine:`` section (:class:`EngineSection`); it changes
where work runs, never what it computes, so it is not part of any cache key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Annotated, Any, Mapping

from annotated_types import Ge, Gt

from xlner.cache import StepCache
from xlner.pipeline.framework import Components, Runner
from xlner.registry import Int, Origin, check_params

__all__ = ["Engine", "LocalEngine", "EngineSection", "PoolSection", "engine_section", "CPU_COMPONENTS"]

#: Components of steps that are cheap, pure Python: ``text`` (detokenise, split words) and the
#: projector. Every other component (translator, taggers, aligner, back-translator) is a model.
CPU_COMPONENTS = frozenset({"text", "projector"})


@dataclass(kw_only=True)
class PoolSection:
    """The actors of one model step: how many, and what each one reserves."""

    actors: Annotated[Int, Ge(1)] = 1
    cpus: Annotated[float, Gt(0)] = 1.0
    gpus: Annotated[float, Ge(0)] = 0.0


@dataclass(kw_only=True)
class EngineSection:
    """The profile's ``engine:`` section (used by ``--engine ray`` only).

    ``pools`` maps a component name (``translator``, ``tagger``, ``aligner``, ``back_translator``,
    or ``default`` for the others) to its :class:`PoolSection`. ``local_cpus`` and
    ``object_store_mb`` size the local cluster xlner starts when no ``--ray-address`` is given.
    """

    local_cpus: Annotated[Int, Ge(1)] | None = None
    object_store_mb: Annotated[Int, Ge(80)] = 256
    connect_timeout_s: Annotated[float, Gt(0)] = 5.0
    cpu_task_cpus: Annotated[float, Gt(0)] = 1.0
    pools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def pool(self, component: str) -> PoolSection:
        return self._pools.get(component) or self._pools.get("default") or PoolSection()

    def __post_init__(self) -> None:
        self._pools: dict[str, PoolSection] = {}

    @property
    def requested_gpus(self) -> dict[str, float]:
        """``{component: GPUs per actor}`` for every pool that asks for GPUs."""
        return {name: p.gpus for name, p in self._pools.items() if p.gpus > 0}


def engine_section(profile: Mapping[str, Any]) -> EngineSection:
    """The profile's ``engine`` section, checked (E761 names the profile file and key)."""
    top = Origin(path=str(profile.get("path") or "(settings)")).child("engine")
    section: EngineSection = check_params("section 'engine'", EngineSection,
                                          dict(profile.get("engine") or {}), top, "key")
    for name, given in dict(section.pools or {}).items():
        pool: PoolSection = check_params(f"engine pool {name!r}", PoolSection, given or {},
                                         top.child("pools").child(str(name)), "key")
        section._pools[str(name)] = pool
    return section


class Engine(ABC):
    """Where the shards of a step run. Use as a context manager, or call :meth:`close`."""

    name: str = "engine"

    @abstractmethod
    def runner(self, cache: StepCache, components: Components, *, shard_size: int, progress: bool,
               profile: Mapping[str, Any], dataset: str) -> Runner:
        """A runner that computes missing shards on this engine (``dataset`` names failures)."""

    def close(self) -> None:
        """Release what the engine started (a local cluster). Closing twice is harmless."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalEngine(Engine):
    """Today's behaviour: every shard in this process, one after another."""

    name = "local"

    def runner(self, cache: StepCache, components: Components, *, shard_size: int, progress: bool,
               profile: Mapping[str, Any], dataset: str) -> Runner:
        return Runner(cache, components, shard_size=shard_size, progress=progress)
