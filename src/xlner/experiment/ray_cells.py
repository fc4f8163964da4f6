"""The experiment's teachers and cells as Ray tasks (``xlner experiment domain-shift --engine ray``).

The units of work are the local runner's: a seed's English teacher, and one method's cells for one
(seed, language), computed by :func:`xlner.experiment.runner.run_cells`, the very function the
local engine calls, so a cell is made by the same code with the same seeds and writes the same
files. Ray does the scheduling: a cell task that needs its seed's teacher gets the teacher task's
ObjectRef as an argument and starts once the teacher is trained; the later seeds of a method whose
seeds share per-language work (``shares_language_work``) wait for the first seed's task; every other
task starts as soon as a worker with its resources (the config's ``engine.tasks``) is free.

Reading the data, the translate-train silver data and the encoder stay in this process
(:func:`~xlner.experiment.runner.prepare`), as does the summary. Workers write the cells (and the
models, soft labels and pipeline runs) straight into the experiment folder with the usual atomic
writes, so that folder must be a path every worker sees (one machine, or a shared file system),
and a rerun resumes on either engine. Tasks do not raise: a task returns its log lines, timings and,
on failure, the error's text, so that the other tasks finish and keep their cells; then the run
stops with E798 naming the unit and the cause.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from xlner.errors import XlnerError
from xlner.experiment.config import ExperimentConfig
from xlner.datamodel import Sentence
from xlner.experiment.engine_section import SILVER, TEACHER
from xlner.experiment.methods import METHODS, Context, Timer, TransferMethod
from xlner.experiment.pipeline_runs import Silver

if TYPE_CHECKING:
    from xlner.engine import Engine
    from xlner.engine.ray_engine import RayEngine

__all__ = ["Unit", "UnitResult", "cells_engine", "run_on_ray", "run_unit", "silver_on_ray"]

log = logging.getLogger("xlner.experiment")


@dataclass(frozen=True)
class Unit:
    """One task: the English teacher of ``seed`` (``method`` None), the translate-train silver data
    of ``language`` (``method`` :data:`SILVER`), or ``method``'s cells for ``seed`` (None: a
    seedless method) on the test sets of ``language``."""

    method: str | None
    seed: int | None
    language: str | None = None

    @property
    def label(self) -> str:
        if self.method is None:
            return f"teacher seed {self.seed}"
        if self.method == SILVER:
            return f"translate-train silver data for {self.language}"
        return self.method + ("" if self.seed is None else f" seed {self.seed}") + f" on {self.language}"

    @property
    def resources_key(self) -> str:
        """Its entry in the config's ``engine.tasks``."""
        return TEACHER if self.method is None else self.method


@dataclass
class UnitResult:
    """What a task sends back: its log lines and timings for the driver to write (one writer of
    timings.json), the teacher it trained, or the error that stopped it."""

    unit: Unit
    lines: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    teacher: str | None = None
    silver: Silver | None = None
    error: str | None = None
    detail: str | None = None  # the traceback of an unexpected exception, for the driver's log


class _TaskTimer(Timer):
    """A task's timings, kept in memory: workers must not race on timings.json."""

    def __init__(self) -> None:
        self.path = Path(os.devnull)
        self.data = {}

    def add(self, key: str, seconds: float) -> None:
        self.data[key] = self.data.get(key, 0.0) + seconds


def _silent(message: str) -> None:
    pass


def run_unit(ctx: Context, unit: Unit, *earlier: UnitResult) -> UnitResult:
    """The body of every task: ``unit`` in this worker, after the units it depends on (``earlier``:
    their results, which Ray hands over once they are done)."""
    timer = _TaskTimer()
    result = UnitResult(unit, timings=timer.data)
    failed = [e for e in earlier if e.error is not None]
    if failed:
        result.error = f"not run, since {failed[0].unit.label} failed"
        return result
    teachers = {e.unit.seed: Path(e.teacher) for e in earlier if e.teacher is not None and e.unit.seed is not None}
    here = dataclasses.replace(ctx, timer=timer, log=result.lines.append, progress=False,
                               _teachers={**ctx._teachers, **teachers})
    try:
        if unit.method is None:
            assert unit.seed is not None
            result.teacher = str(here.teacher(unit.seed))
        else:
            from xlner.experiment.runner import run_cells

            assert unit.language is not None
            run_cells(here, METHODS[unit.method](here), unit.seed, unit.language)
    except XlnerError as exc:
        result.error = exc.render()
    except Exception as exc:  # a bug or a broken model: its text to the error, its traceback to the log
        result.error = f"{type(exc).__name__}: {exc}"
        result.detail = traceback.format_exc()
    return result


def _units_used(cfg: ExperimentConfig) -> list[str]:
    """The ``engine.tasks`` entries this experiment's tasks look up."""
    teacher = [TEACHER] if any(METHODS[m].needs_teacher for m in cfg.methods) else []
    silver = [SILVER] if "translate-train" in cfg.methods else []
    return teacher + silver + list(cfg.methods)


def check_resources(cfg: ExperimentConfig, engine: RayEngine) -> None:
    """Refuse tasks that ask for more CPUs or GPUs than any node has (E799): Ray would wait for
    such a node for ever."""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    have = {kind: max([float(n.get(kind, 0)) for n in nodes] or [0.0]) for kind in ("CPU", "GPU")}
    wanted = {unit: cfg.engine.resources(unit) for unit in _units_used(cfg)}
    too_big = [f"{unit}: {r.cpus:g} CPUs, {r.gpus:g} GPUs" for unit, r in wanted.items()
               if r.cpus > have["CPU"] or r.gpus > have["GPU"]]
    if too_big:
        raise XlnerError("E799", wanted="; ".join(too_big), have=f"{have['CPU']:g} CPUs, {have['GPU']:g} GPUs",
                         address=engine.address or "the local cluster", path=cfg.path or cfg.name)


def cells_engine(choice: str | Engine, address: str | None, cfg: ExperimentConfig) -> RayEngine:
    """The Ray engine of ``--engine ray [--ray-address]``, connected (or its local cluster started)
    and checked against the config's ``engine.tasks``: E790 (no extra), E791 (nothing answers at
    the address), E793 (an unknown engine), E799 (tasks larger than every node)."""
    from xlner.engine import engine_of
    from xlner.engine.ray_engine import RayEngine

    engine = engine_of(choice, address)
    if not isinstance(engine, RayEngine):
        raise XlnerError("E793", name=engine.name, choices="local, ray")
    engine.connect(cfg.engine.cluster())
    check_resources(cfg, engine)
    return engine


def _schedule(ctx: Context, methods: Sequence[TransferMethod], submit: Callable[..., Any]) -> None:
    """Submit a task for every unit with an unfinished cell, with its dependencies as ObjectRefs."""
    from xlner.experiment.runner import pending_cells

    teachers: dict[int, Any] = {}
    first_seed: dict[tuple[str, str], Any] = {}
    for seed in ctx.cfg.seeds:
        for method in methods:
            for language in method.languages if method.seeded else ():
                if not pending_cells(ctx, method, seed, language):
                    continue
                after = []
                if method.needs_teacher:
                    if seed not in teachers:
                        teachers[seed] = submit(Unit(None, seed))
                    after.append(teachers[seed])
                if method.shares_language_work and (method.name, language) in first_seed:
                    after.append(first_seed[(method.name, language)])
                first_seed.setdefault((method.name, language),
                                      submit(Unit(method.name, seed, language), *after))
    for method in methods:
        for language in () if method.seeded else method.languages:
            if pending_cells(ctx, method, None, language):
                submit(Unit(method.name, None, language))


def _collect(units: dict[Any, Unit], say: Callable[[str], None], timer: Timer, exp: Path,
             progress: bool) -> list[UnitResult]:
    """Wait for every task of ``units`` (ObjectRef -> unit), writing each one's log lines and
    timings as it finishes; E798 after all finished if any failed."""
    import ray
    from ray.exceptions import RayError
    from tqdm.auto import tqdm

    results: list[UnitResult] = []
    pending = list(units)
    with tqdm(total=len(units), desc="tasks", unit="task", disable=not progress) as bar:
        while pending:
            try:
                done, pending = ray.wait(pending, num_returns=1)
            except KeyboardInterrupt:  # Ctrl-C stops the tasks too, as it stops the local engine
                for ref in pending:
                    ray.cancel(ref)
                raise
            for ref in done:
                try:
                    result: UnitResult = ray.get(ref)  # a killed worker's task was retried by Ray first
                except RayError as exc:
                    result = UnitResult(units[ref], error=f"{type(exc).__name__}: {exc}")
                for line in result.lines:
                    say(line)
                for key, seconds in result.timings.items():
                    timer.add(key, seconds)
                if result.detail:
                    log.error("%s failed on a worker:\n%s", result.unit.label, result.detail)
                results.append(result)
                bar.update(1)
    failures = [r for r in results if r.error is not None]
    if failures:
        first = next((f for f in failures if not str(f.error).startswith("not run")), failures[0])
        raise XlnerError("E798", unit=first.unit.label, n_failed=len(failures), reason=first.error, exp=exp)
    return results


def make_silver(unit: Unit, english: list[Sentence], exp: Path, cfg: ExperimentConfig) -> UnitResult:
    """The body of a silver-data task: the pipeline's translate-train run for one language."""
    import time

    from xlner.experiment.pipeline_runs import translate_train_silver

    result = UnitResult(unit)
    t0 = time.time()
    try:
        assert unit.language is not None
        result.silver = translate_train_silver(unit.language, english, exp, cfg, progress=False)
        result.timings["seconds"] = time.time() - t0  # the driver logs and times it as the local run does
    except XlnerError as exc:
        result.error = exc.render()
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.detail = traceback.format_exc()
    return result


def silver_on_ray(languages: Sequence[str], english: list[Sentence], exp: Path, cfg: ExperimentConfig,
                  say: Callable[[str], None]) -> dict[str, tuple[Silver, float]]:
    """Every language's translate-train silver data as one Ray task each: ``{language: (silver,
    seconds)}`` (E798 if any failed, after the others finished and kept their pipeline runs)."""
    import ray

    remote = ray.remote(make_silver)
    shipped = ray.put(list(english))
    res = cfg.engine.resources(SILVER)
    units = {remote.options(num_cpus=res.cpus, num_gpus=res.gpus, name=u.label).remote(u, shipped, exp, cfg): u
             for u in (Unit(SILVER, None, lang) for lang in languages)}
    say(f"ray: {len(units)} translate-train silver data tasks")
    made: dict[str, tuple[Silver, float]] = {}
    for result in _collect(units, say, _TaskTimer(), exp, progress=False):
        assert result.silver is not None and result.unit.language is not None
        made[result.unit.language] = (result.silver, result.timings["seconds"])
    return made


def run_on_ray(ctx: Context, methods: Sequence[TransferMethod], engine: RayEngine) -> None:
    """Every unfinished cell of ``methods`` as Ray tasks on ``engine``'s cluster; returns when all
    tasks are done (E798 if any failed, after the others finished)."""
    import ray

    remote = ray.remote(run_unit)
    shipped = ray.put(dataclasses.replace(ctx, log=_silent, timer=_TaskTimer(), progress=False))
    units: dict[Any, Unit] = {}

    def submit(unit: Unit, *after: Any) -> Any:
        res = ctx.cfg.engine.resources(unit.resources_key)
        ref = remote.options(num_cpus=res.cpus, num_gpus=res.gpus, name=unit.label).remote(shipped, unit, *after)
        units[ref] = unit
        return ref

    _schedule(ctx, methods, submit)
    n_teachers = sum(u.method is None for u in units.values())
    ctx.log(f"ray: {n_teachers} teacher and {len(units) - n_teachers} cell tasks on "
            + (engine.address or "a local cluster"))
    _collect(units, ctx.log, ctx.timer, ctx.exp, ctx.progress)
    _check_visible(ctx, methods, units.values())


def _check_visible(ctx: Context, methods: Sequence[TransferMethod], units: Iterable[Unit]) -> None:
    """E798 for a cell task that finished but whose cells this process cannot see: the workers
    wrote them to a folder of their own (``--out`` is not a path every worker sees)."""
    from xlner.experiment.runner import pending_cells

    by_name = {m.name: m for m in methods}
    for unit in units:
        if unit.method in by_name and unit.language is not None:
            missing = pending_cells(ctx, by_name[unit.method], unit.seed, unit.language)
            if missing:
                raise XlnerError("E798", unit=unit.label, n_failed=1, exp=ctx.exp, reason=(
                    f"its worker finished, but the cell of {missing[0][0].name} is not in {ctx.exp} as "
                    "this process sees it: the experiment folder must be a path every worker sees "
                    "(a shared file system mounted at the same path)"))
