"""Run methods over tasks: one cell per (task, method, configuration), evaluated and stored.

Cells already in the store are reused unless ``overwrite``; a method that cannot run here is
reported as not run, with the reason, and the other cells go on.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from clirbench.errors import MethodFailedError, MethodUnavailableError, MissingDependencyError
from clirbench.evaluation import PerQueryScores, aggregate, evaluate
from clirbench.manifest import environment
from clirbench.method import MethodBase, MethodOptions, Run
from clirbench.registry import get_method_class, instantiate, method_identity
from clirbench.search.options import search_record
from clirbench.store import Cell, CellKey, ResultStore, TaskIdentity, config_hash
from clirbench.tasks.task import Task

Status = Literal["computed", "reused", "not run"]


@dataclass(frozen=True)
class MethodSpec:
    """A method name with validated options."""

    name: str
    options: MethodOptions

    def dependencies(self, k: int) -> list[tuple[MethodSpec, int]]:
        """Each cell this configuration reads, and its depth (``MethodOptions.dependencies``)."""
        return [(MethodSpec(d.method, d.options), d.k or k) for d in self.options.dependencies()]

    def config_hash(self, k: int) -> str:
        """Also covers each dependency's configuration: fusing other systems is another cell."""
        options = self.options.identity()
        if needs := self.dependencies(k):
            hashes = [f"{d.name}@{d.config_hash(dk)}" for d, dk in needs]
            options = {**options, "dependencies": hashes}
        return config_hash(self.name, options, k)

    def key(self, task: Task, k: int) -> CellKey:
        return CellKey(task.name, task.card.split, self.name, self.config_hash(k))

    def identity(self) -> dict[str, Any]:
        """The identity of the code that computes this method (see ``registry.method_identity``),
        and of the code of each of its dependencies."""
        identity: dict[str, Any] = method_identity(get_method_class(self.name)).model_dump()
        if needs := self.dependencies(0):
            identity["dependencies"] = [d.identity() for d, _ in needs]
        return identity


def task_identity(task: Task) -> TaskIdentity:
    card = task.card
    return TaskIdentity(
        name=card.name, split=card.split, source=card.source, checksum=card.checksum
    )


def stored_cell(
    store: ResultStore, spec: MethodSpec, task: Task, k: int
) -> tuple[Cell | None, str]:
    """The cell the store can give for this task and method, or None and why it cannot."""
    return store.lookup(spec.key(task, k), task_identity(task), spec.identity())


@dataclass(frozen=True)
class CellOutcome:
    task: Task
    method: MethodSpec
    status: Status
    cell: Cell | None = None
    reason: str = ""
    """Why a method did not run, or why a stored cell was recomputed instead of reused."""


@dataclass
class _Instances:
    """Builds each configuration once, only when a cell needs computing, and remembers which
    methods failed."""

    methods: dict[tuple[str, str], MethodBase] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def get(self, spec: MethodSpec) -> MethodBase:
        if spec.name in self.failures:
            raise MethodUnavailableError(self.failures[spec.name])
        key = (spec.name, spec.options.model_dump_json())
        if key not in self.methods:
            self.methods[key] = instantiate(spec.name, spec.options)
        return self.methods[key]


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def check_run(run: Run, method: str, task: str) -> None:
    """A run a method returned must rank by real numbers: NaN or infinite scores would be
    ordered arbitrarily and stored as a wrong result."""
    import math

    for qid, hits in run.items():
        for doc_id, score in hits.items():
            if not math.isfinite(score):
                raise MethodFailedError(
                    f"method {method!r} scored document {doc_id!r} {score} for query {qid!r} "
                    f"on task {task!r}; a score must be a finite number (nothing was stored)"
                )


@dataclass(frozen=True)
class CellResult:
    """A computed cell before it is stored: what ``ResultStore.save`` takes."""

    key: CellKey
    run: Run
    per_query: PerQueryScores
    scores: dict[str, float]
    manifest: dict[str, Any]

    def save(self, store: ResultStore) -> Cell:
        return store.save(self.key, self.run, self.per_query, self.scores, self.manifest)


def compute_result(
    method: MethodBase,
    spec: MethodSpec,
    task: Task,
    k: int,
    command: str | None = None,
    inputs: Sequence[Cell] = (),
) -> CellResult:
    """Retrieve and evaluate one cell; ``inputs`` are the cells of its dependencies."""
    seed = int(getattr(spec.options, "seed", 0))
    seed_everything(seed)
    started = time.perf_counter()
    if spec.options.dependencies():
        run = method.retrieve(task, k, [cell.run for cell in inputs])  # type: ignore[call-arg]
    else:
        run = method.retrieve(task, k)
    retrieved = time.perf_counter()
    check_run(run, spec.name, task.name)
    per_query = evaluate(run, task.qrels, task.card.measures)
    scores = aggregate(per_query)
    evaluated = time.perf_counter()
    key = spec.key(task, k)
    manifest = {
        "task": task.card.model_dump(mode="json"),
        "method": {
            **method.describe(),
            "name": spec.name,
            "label": method.label(),
            "identity": spec.identity(),
            "options": spec.options.model_dump(mode="json"),
            "identity_options": spec.options.identity(),
            "config_hash": key.config_hash,
            "k": k,
            **search_record(spec.options, len(task.corpus)),
        },
        "seed": seed,
        **({"inputs": [_input_record(cell) for cell in inputs]} if inputs else {}),
        "queries": len(task.queries),
        "documents": len(task.corpus),
        "timings": {
            "retrieve_s": round(retrieved - started, 3),
            "evaluate_s": round(evaluated - retrieved, 3),
        },
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "environment": environment(tuple(getattr(method, "requires", ()))),
    }
    return CellResult(key, run, per_query, scores, manifest)


def compute_cell(
    method: MethodBase,
    spec: MethodSpec,
    task: Task,
    k: int,
    store: ResultStore,
    command: str | None = None,
    inputs: Sequence[Cell] = (),
) -> Cell:
    """Retrieve, evaluate and store one cell; ``inputs`` are the cells of its dependencies."""
    return compute_result(method, spec, task, k, command, inputs).save(store)


def _input_record(cell: Cell) -> dict[str, str]:
    method = cell.manifest["method"]
    return {
        "method": method["name"],
        "label": method.get("label") or method["name"],
        "config_hash": method["config_hash"],
        "run_sha256": cell.manifest["files"]["run.trec"],
    }


@dataclass(frozen=True)
class Job:
    """A cell to compute: its method, task, depth, the cells it reads, and why it is computed
    although stored (empty when it was not)."""

    spec: MethodSpec
    task: Task
    k: int
    inputs: tuple[Cell, ...]
    reason: str = ""


@dataclass
class _Cells:
    """Finds or makes cells, dependencies first; a dependency is a cell like any other."""

    store: ResultStore
    command: str | None
    instances: _Instances = field(default_factory=_Instances)

    def obtain(self, spec: MethodSpec, task: Task, k: int, overwrite: bool = False) -> CellOutcome:
        """The stored cell when it and its inputs are still valid, else a computed one, else
        why not. ``overwrite`` recomputes this cell, not the cells it reads."""
        planned = self.plan(spec, task, k, overwrite)
        if isinstance(planned, CellOutcome):
            return planned
        try:
            method = self.instances.get(spec)
            cell = compute_cell(method, spec, task, k, self.store, self.command, planned.inputs)
            return CellOutcome(task, spec, "computed", cell, reason=planned.reason)
        except (MethodUnavailableError, MissingDependencyError) as error:
            return self.not_run(spec, task, str(error))

    def plan(
        self, spec: MethodSpec, task: Task, k: int, overwrite: bool = False
    ) -> CellOutcome | Job:
        """The outcome when nothing is left to compute (reused, or not run), else the job that
        computes the cell; a dependency missing from the store is obtained first."""
        cached, why_not = (None, "") if overwrite else stored_cell(self.store, spec, task, k)
        try:
            needs = spec.dependencies(k)
            inputs = [self._input(spec, need, task, need_k) for need, need_k in needs]
        except (MethodUnavailableError, MissingDependencyError) as error:
            return self.not_run(spec, task, str(error))
        if cached is not None:
            used = [_input_record(cell)["run_sha256"] for cell in inputs]
            if used == [record["run_sha256"] for record in cached.manifest.get("inputs", [])]:
                return CellOutcome(task, spec, "reused", cached)
            why_not = "an input cell changed"
        if spec.name in self.instances.failures:
            return self.not_run(spec, task, self.instances.failures[spec.name])
        return Job(spec, task, k, tuple(inputs), why_not)

    def not_run(self, spec: MethodSpec, task: Task, reason: str) -> CellOutcome:
        """Remember that ``spec``'s method cannot run here, so its other cells are not tried."""
        self.instances.failures[spec.name] = reason
        return CellOutcome(task, spec, "not run", reason=reason)

    def _input(self, spec: MethodSpec, need: MethodSpec, task: Task, k: int) -> Cell:
        outcome = self.obtain(need, task, k)
        if outcome.cell is None:
            raise MethodUnavailableError(
                f"{spec.name} reads the run of {need.name}, which cannot run: {outcome.reason}"
            )
        return outcome.cell


ExecutorKind = Literal["local", "ray"]


@dataclass(frozen=True)
class Executor:
    """Where cells are computed: ``local``, one after the other in this process, or ``ray``,
    independent cells at once as Ray tasks on the cluster at ``address`` (None: a cluster
    already joined, ``RAY_ADDRESS``, else a new local one; ``auto``; ``ray://host:port``)."""

    kind: ExecutorKind = "local"
    address: str | None = None


def run_cells(
    tasks: Sequence[Task],
    methods: Sequence[MethodSpec],
    store: ResultStore,
    k: int = 100,
    overwrite: bool = False,
    on_outcome: Callable[[CellOutcome], None] = lambda outcome: None,
    command: str | None = None,
    on_start: Callable[[Task, MethodSpec], None] = lambda task, spec: None,
    executor: Executor = Executor(),
) -> list[CellOutcome]:
    """Compute (or reuse) every cell; methods outermost so each model loads once.

    ``command`` is the command line that reproduces the run, kept in each manifest.
    ``on_start`` is called before each cell, ``on_outcome`` after it (progress, logs); with
    Ray, cells start together and finish in any order. Outcomes come in methods x tasks order.
    """
    cells = _Cells(store, command)
    if executor.kind == "ray":
        from clirbench.ray_executor import run_on_ray

        outcomes = run_on_ray(
            cells, tasks, methods, k, overwrite, on_start, on_outcome, executor.address
        )
    else:
        outcomes = []
        for spec in methods:
            for task in tasks:
                on_start(task, spec)
                outcomes.append(cells.obtain(spec, task, k, overwrite))
                on_outcome(outcomes[-1])
    for spec in methods:
        not_run = [o.task.name for o in outcomes if o.method == spec and o.status == "not run"]
        if not_run:
            reason = cells.instances.failures[spec.name]
            store.record_not_run(
                spec.name, spec.config_hash(k), reason, not_run, spec.options.identity()
            )
        else:
            store.clear_not_run(spec.name, spec.config_hash(k))
    return outcomes
