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
from typing import Literal

from clirbench.errors import MethodUnavailableError, MissingDependencyError
from clirbench.evaluation import aggregate, evaluate
from clirbench.manifest import environment
from clirbench.method import MethodBase, MethodOptions
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

    def config_hash(self, k: int) -> str:
        return config_hash(self.name, self.options.identity(), k)

    def key(self, task: Task, k: int) -> CellKey:
        return CellKey(task.name, task.card.split, self.name, self.config_hash(k))

    def identity(self) -> dict[str, str]:
        """The identity of the code that computes this method (see ``registry.method_identity``)."""
        return method_identity(get_method_class(self.name)).model_dump()


def task_identity(task: Task) -> TaskIdentity:
    card = task.card
    return TaskIdentity(name=card.name, split=card.split, source=card.source, checksum=card.checksum)


def stored_cell(store: ResultStore, spec: MethodSpec, task: Task, k: int) -> tuple[Cell | None, str]:
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
    """Builds each method once, only when a cell needs computing, and remembers failures."""

    methods: dict[str, MethodBase] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def get(self, spec: MethodSpec) -> MethodBase:
        if spec.name in self.failures:
            raise MethodUnavailableError(self.failures[spec.name])
        if spec.name not in self.methods:
            self.methods[spec.name] = instantiate(spec.name, spec.options)
        return self.methods[spec.name]


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def compute_cell(
    method: MethodBase, spec: MethodSpec, task: Task, k: int, store: ResultStore, command: str | None = None
) -> Cell:
    seed = int(getattr(spec.options, "seed", 0))
    seed_everything(seed)
    started = time.perf_counter()
    run = method.retrieve(task, k)
    retrieved = time.perf_counter()
    per_query = evaluate(run, task.qrels, task.card.measures)
    scores = aggregate(per_query)
    evaluated = time.perf_counter()
    key = spec.key(task, k)
    manifest = {
        "task": task.card.model_dump(mode="json"),
        "method": {
            **method.describe(), "name": spec.name, "label": method.label(), "identity": spec.identity(),
            "options": spec.options.model_dump(mode="json"), "identity_options": spec.options.identity(),
            "config_hash": key.config_hash, "k": k, **search_record(spec.options, len(task.corpus)),
        },
        "seed": seed,
        "queries": len(task.queries),
        "documents": len(task.corpus),
        "timings": {"retrieve_s": round(retrieved - started, 3), "evaluate_s": round(evaluated - retrieved, 3)},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "environment": environment(tuple(getattr(method, "requires", ()))),
    }
    return store.save(key, run, per_query, scores, manifest)


def run_cells(
    tasks: Sequence[Task],
    methods: Sequence[MethodSpec],
    store: ResultStore,
    k: int = 100,
    overwrite: bool = False,
    on_outcome: Callable[[CellOutcome], None] = lambda outcome: None,
    command: str | None = None,
    on_start: Callable[[Task, MethodSpec], None] = lambda task, spec: None,
) -> list[CellOutcome]:
    """Compute (or reuse) every cell; methods outermost so each model loads once.

    ``command`` is the command line that reproduces the run, kept in each manifest.
    ``on_start`` is called before each cell, ``on_outcome`` after it (progress, logs).
    """
    instances = _Instances()
    outcomes = []
    for spec in methods:
        not_run: list[str] = []
        for task in tasks:
            on_start(task, spec)
            cached, why_not = (None, "") if overwrite else stored_cell(store, spec, task, k)
            if cached is not None:
                outcome = CellOutcome(task, spec, "reused", cached)
            else:
                try:
                    cell = compute_cell(instances.get(spec), spec, task, k, store, command)
                    outcome = CellOutcome(task, spec, "computed", cell, reason=why_not)
                except (MethodUnavailableError, MissingDependencyError) as error:
                    instances.failures[spec.name] = str(error)
                    outcome = CellOutcome(task, spec, "not run", reason=str(error))
                    not_run.append(task.name)
            outcomes.append(outcome)
            on_outcome(outcome)
        if not_run:
            reason = instances.failures[spec.name]
            store.record_not_run(spec.name, spec.config_hash(k), reason, not_run, spec.options.identity())
        else:
            store.clear_not_run(spec.name, spec.config_hash(k))
    return outcomes
