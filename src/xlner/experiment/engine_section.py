"""The experiment config's optional ``engine:`` section: what each Ray task of
``xlner experiment domain-shift --engine ray`` reserves, and the local cluster xlner starts.

It changes where cells run, never what they compute; the local engine ignores it. Checked when the
config is read (E761 names the config file and key), so a typo is refused before any work.

.. code-block:: yaml

    engine:
      local_cpus: null          # the local cluster started without --ray-address (null: all cores)
      object_store_mb: 256
      connect_timeout_s: 5
      tasks:                    # "teacher", "translate-train-silver", a method, or "default"
        default: {cpus: 1, gpus: 0}
        teacher: {cpus: 4, gpus: 1}
        translate-train-silver: {cpus: 4, gpus: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Mapping

from annotated_types import Ge, Gt

from xlner.errors import XlnerError
from xlner.registry import Int, Origin, check_params

if TYPE_CHECKING:
    from xlner.engine.base import EngineSection

__all__ = ["TaskResources", "ExperimentEngine", "experiment_engine", "TEACHER", "SILVER", "DEFAULT"]

#: Task names besides the methods': a seed's English teacher, a language's translate-train silver
#: data (the pipeline: translation and alignment, the GPU-heavy part), and the fallback.
TEACHER, SILVER, DEFAULT = "teacher", "translate-train-silver", "default"


@dataclass(kw_only=True)
class TaskResources:
    """What one Ray task reserves: Ray starts it only on a node with that much free."""

    cpus: Annotated[float, Gt(0)] = 1.0
    gpus: Annotated[float, Ge(0)] = 0.0


@dataclass(kw_only=True)
class ExperimentEngine:
    """The experiment's ``engine:`` section (``--engine ray`` only)."""

    local_cpus: Annotated[Int, Ge(1)] | None = None
    object_store_mb: Annotated[Int, Ge(80)] = 256
    connect_timeout_s: Annotated[float, Gt(0)] = 5.0
    tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tasks: dict[str, TaskResources] = {}

    def resources(self, unit: str) -> TaskResources:
        """The resources of a teacher task (``teacher``) or of a method's cell tasks."""
        return self._tasks.get(unit) or self._tasks.get(DEFAULT) or TaskResources()

    def cluster(self) -> EngineSection:
        """The settings :meth:`xlner.engine.ray_engine.RayEngine.connect` takes."""
        from xlner.engine.base import EngineSection

        return EngineSection(local_cpus=self.local_cpus, object_store_mb=self.object_store_mb,
                             connect_timeout_s=self.connect_timeout_s)


def experiment_engine(given: Any, path: str, methods: tuple[str, ...]) -> ExperimentEngine:
    """The checked ``engine`` section of the config file ``path`` (``given``: its YAML value)."""
    top = Origin(path=path).child("engine")
    section: ExperimentEngine = check_params("section 'engine'", ExperimentEngine, given or {}, top, "key")
    known = (DEFAULT, TEACHER, SILVER, *methods)
    tasks_origin = top.child("tasks")
    if not isinstance(section.tasks or {}, Mapping):
        raise XlnerError("E761", source=tasks_origin.source(), component="section 'engine'",
                         problem=f"tasks must map task names to {{cpus, gpus}}, got {section.tasks!r}",
                         accepted=", ".join(known))
    for name, given_task in dict(section.tasks or {}).items():
        if name not in known:
            raise XlnerError("E761", source=tasks_origin.source(str(name)), component="section 'engine'",
                             problem=f"tasks has no task {name!r}", accepted="tasks named " + ", ".join(known))
        task: TaskResources = check_params(f"engine task {name!r}", TaskResources, given_task or {},
                                           tasks_origin.child(str(name)), "key")
        section._tasks[str(name)] = task
    return section
