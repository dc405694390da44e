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
from clirbench.registry import instantiate
from clirbench.store import Cell, CellKey, ResultStore, config_hash
from clirbench.tasks.task import Task

Status = Literal["computed", "reused", "not run"]


@dataclass(frozen=True)
class MethodSpec:
    """A method name with validated options."""

    name: str
    options: MethodOptions

    def config_hash(self, k: int) -> str:
        options = self.options.model_dump(mode="json")
        if digests := self.options.input_digests():  # only then: hashes without input files stay as they were
            options["input_digests"] = digests
        return config_hash(self.name, options, k)

    def key(self, task: Task, k: int) -> CellKey:
        return CellKey(task.name, self.name, self.config_hash(k))


@dataclass(frozen=True)
class CellOutcome:
    task: Task
    method: MethodSpec
    status: Status
    cell: Cell | None = None
    reason: str = ""


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
        "method": {"name": spec.name, "label": method.label(), "options": spec.options.model_dump(mode="json"), "config_hash": key.config_hash, "k": k, **method.describe()},
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
            cached = None if overwrite else store.get(spec.key(task, k), task.card.checksum)
            if cached is not None:
                outcome = CellOutcome(task, spec, "reused", cached)
            else:
                try:
                    cell = compute_cell(instances.get(spec), spec, task, k, store, command)
                    outcome = CellOutcome(task, spec, "computed", cell)
                except (MethodUnavailableError, MissingDependencyError) as error:
                    instances.failures[spec.name] = str(error)
                    outcome = CellOutcome(task, spec, "not run", reason=str(error))
                    not_run.append(task.name)
            outcomes.append(outcome)
            on_outcome(outcome)
        if not_run:
            reason = instances.failures[spec.name]
            store.record_not_run(spec.name, spec.config_hash(k), reason, not_run, spec.options.model_dump(mode="json"))
        else:
            store.clear_not_run(spec.name, spec.config_hash(k))
    return outcomes
