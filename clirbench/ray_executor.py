"""The Ray executor: independent cells run at once as Ray tasks; the driver stores them.

Cells are grouped into levels: a cell's level is one more than the deepest cell it reads
(fusion reads its systems), so every cell of a level can run at once once the levels below
are stored. Each Ray task retrieves and evaluates one cell and returns it unsaved
(:class:`~clirbench.runner.CellResult`); the driver saves it with the same
``ResultStore.save`` as a local run. Why the driver and not the worker: the store then needs
no filesystem shared by every node, one process writes it (no lock traffic across machines),
and a worker killed mid-cell leaves nothing behind: Ray runs the task again (``max_retries``)
and only a finished result is ever saved.

A worker keeps the methods it built (one model load per worker and configuration); Ray
reuses worker processes, so the cells of a method that land on a worker share one load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from clirbench.errors import ClirbenchError, MethodUnavailableError, MissingDependencyError
from clirbench.registry import get_method_class, register_method
from clirbench.runner import (
    CellOutcome,
    CellResult,
    Job,
    MethodSpec,
    _Cells,
    _Instances,
    compute_result,
)
from clirbench.tasks.task import Task, TaskData

if TYPE_CHECKING:
    from clirbench.method import MethodBase, MethodOptions
    from clirbench.store import Cell

MAX_RETRIES = 3
"""Times Ray reruns a cell whose worker died (killed, out of memory, node lost)."""

_worker_methods = _Instances()
"""The methods built in this worker process, reused by its later cells."""


class RayConnectionError(ClirbenchError):
    """The Ray cluster named by --address cannot be joined."""

    exit_code = 2


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("executor ray", ['"clirbench[ray]"']) from None
    return ray


def connect(address: str | None) -> bool:
    """Join (or start) a cluster unless this process already has; True when it joined here."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, logging_level="warning", log_to_driver=False)
        else:
            ray.init(address=address, logging_level="warning", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayConnectionError(
            f"address {address} (--address, or address in the options file): cannot join a "
            f"Ray cluster ({str(error).splitlines()[0]}); "
            "start one with `ray start --head`, or leave --address out to start one here"
        ) from None
    return True


def gpus(options: MethodOptions) -> int:
    """1 when the method's ``device`` option asks for cuda, else 0."""
    return 1 if str(getattr(options, "device", None) or "").startswith("cuda") else 0


def resources(spec: MethodSpec) -> dict[str, float]:
    """One CPU per cell; one GPU as well when the method's ``device`` option asks for cuda,
    unless its ``ray_encoders`` actors encode (they ask for the GPUs; see ``sharding``)."""
    on_actors = getattr(spec.options, "ray_encoders", 0)
    return {"num_cpus": 1, "num_gpus": 0 if on_actors else gpus(spec.options)}


class RemoteCellError(ClirbenchError):
    """A user error raised while a worker computed a cell, carried back as its message (the
    original exception type may not survive the trip)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class _Failed:
    message: str
    exit_code: int
    unavailable: bool
    """The method cannot run here (the cell is "not run"), rather than a user error."""


def compute_remote(
    spec: MethodSpec,
    classes: dict[str, type[MethodBase]],
    task: Task,
    k: int,
    command: str | None,
    inputs: Sequence[Cell],
) -> CellResult | _Failed:
    """Runs on a worker: the computed cell, or why it could not be computed. ``classes`` are
    the run's methods: one registered in the driver only (a test's, a script's) is known here."""
    for name, cls in classes.items():
        register_method(name)(cls)
    try:
        return compute_result(_worker_methods.get(spec), spec, task, k, command, inputs)
    except (MethodUnavailableError, MissingDependencyError) as error:
        return _Failed(str(error), error.exit_code, unavailable=True)
    except ClirbenchError as error:
        return _Failed(str(error), error.exit_code, unavailable=False)


def _levels(methods: Sequence[MethodSpec], k: int) -> list[list[tuple[MethodSpec, int, bool]]]:
    """(spec, k, asked) by level: the cells asked for and every cell they read, each once."""
    level: dict[tuple[str, str], int] = {}
    entries: dict[tuple[str, str], tuple[MethodSpec, int, bool]] = {}

    def visit(spec: MethodSpec, spec_k: int, asked: bool) -> int:
        key = (spec.name, spec.config_hash(spec_k))
        if key not in level:
            needs = spec.dependencies(spec_k)
            level[key] = 1 + max((visit(d, dk, False) for d, dk in needs), default=-1)
        previous = entries.get(key)
        entries[key] = (spec, spec_k, asked or (previous is not None and previous[2]))
        return level[key]

    for spec in methods:
        visit(spec, k, True)
    grouped: list[list[tuple[MethodSpec, int, bool]]] = [
        [] for _ in range(max(level.values(), default=-1) + 1)
    ]
    for key, entry in entries.items():
        grouped[level[key]].append(entry)
    return grouped


def run_on_ray(
    cells: _Cells,
    tasks: Sequence[Task],
    methods: Sequence[MethodSpec],
    k: int,
    overwrite: bool,
    on_start: Callable[[Task, MethodSpec], None],
    on_outcome: Callable[[CellOutcome], None],
    address: str | None,
) -> list[CellOutcome]:
    """``run_cells`` on Ray: level by level, every cell of a level at once."""
    ray = import_ray()
    started_here = connect(address)
    try:
        remote = ray.remote(max_retries=MAX_RETRIES)(compute_remote)
        task_refs = {id(task): ray.put(_loaded(task)) for task in tasks}
        done: dict[tuple[str, str, int], CellOutcome] = {}
        levels = _levels(methods, k)
        classes = {
            spec.name: get_method_class(spec.name) for level in levels for spec, _, _ in level
        }
        for level in levels:
            pending: dict[Any, tuple[Job, bool]] = {}
            for spec, spec_k, asked in level:
                for task in tasks:
                    if asked:
                        on_start(task, spec)
                    planned = cells.plan(spec, task, spec_k, overwrite and asked)
                    if isinstance(planned, CellOutcome):
                        _finish(planned, spec_k, asked, done, on_outcome)
                        continue
                    ref = remote.options(**resources(spec)).remote(
                        spec, classes, task_refs[id(task)], spec_k, cells.command, planned.inputs
                    )
                    pending[ref] = (planned, asked)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                job, asked = pending.pop(ready[0])
                result = ray.get(ready[0])
                if isinstance(result, _Failed) and not result.unavailable:
                    raise RemoteCellError(result.message, result.exit_code)
                if isinstance(result, _Failed):
                    outcome = cells.not_run(job.spec, job.task, result.message)
                else:
                    cell = result.save(cells.store)
                    outcome = CellOutcome(job.task, job.spec, "computed", cell, reason=job.reason)
                _finish(outcome, job.k, asked, done, on_outcome)
        return [
            done[(spec.name, spec.config_hash(k), id(task))] for spec in methods for task in tasks
        ]
    finally:
        if started_here:
            ray.shutdown()


def _given(data: TaskData) -> TaskData:
    return data


def _loaded(task: Task) -> Task:
    """The task with its data read here: workers get the data, not a loader that may need
    this machine's files or cache."""
    return Task(task.card, partial(_given, TaskData(task.queries, task.corpus, task.qrels)))


def _finish(
    outcome: CellOutcome,
    k: int,
    asked: bool,
    done: dict[tuple[str, str, int], CellOutcome],
    on_outcome: Callable[[CellOutcome], None],
) -> None:
    """Keep and report a cell asked for; a cell only read by others is silent, as locally."""
    if asked:
        done[(outcome.method.name, outcome.method.config_hash(k), id(outcome.task))] = outcome
        on_outcome(outcome)
