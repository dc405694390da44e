"""The reproduction matrix: conditions (method, options, task, split) with expected scores.

``clirbench repro check`` reuses the result store, computes what is missing, and prints OK or
FAIL per measure. The tolerance is 5e-4 unless a condition states a wider one with a reason.
``clirbench repro pin`` writes the matrix from the cells of a result store, so every expected
score is one that a stored run produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from clirbench.errors import InputError, UnknownNameError
from clirbench.store import Cell, ResultStore, system_labels
from clirbench.tasks.beir import FOLDER_SOURCE

if TYPE_CHECKING:
    from clirbench.runner import MethodSpec
    from clirbench.tasks.task import Task

DEFAULT_TOLERANCE = 5e-4
MATRIX_FILE = Path(__file__).with_name("matrix.yaml")
PINNED_MEASURES = ("nDCG@10", "RR@10", "R@100")
PINNED_DIGITS = 4


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    method: str
    options: dict[str, Any] = {}
    task: str
    split: str = "test"
    k: int = 100
    expected: dict[str, float]
    tolerance: float = DEFAULT_TOLERANCE
    reason: str = ""
    cheap: bool = False
    """Cheap enough (seconds, no model) to check in CI."""

    @model_validator(mode="after")
    def _wider_tolerance_needs_reason(self) -> Condition:
        if self.tolerance > DEFAULT_TOLERANCE and not self.reason:
            raise ValueError(
                f"condition {self.name!r}: a tolerance above {DEFAULT_TOLERANCE} needs a reason"
            )
        return self


class Matrix(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    conditions: tuple[Condition, ...]

    @model_validator(mode="after")
    def _unique_names(self) -> Matrix:
        names = [c.name for c in self.conditions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate condition names: {', '.join(duplicates)}")
        return self

    def select(self, names: Sequence[str] = (), cheap_only: bool = False) -> list[Condition]:
        known = {c.name: c for c in self.conditions}
        for name in names:
            if name not in known:
                raise UnknownNameError("condition", name, known)
        chosen = [known[n] for n in names] if names else list(self.conditions)
        return [c for c in chosen if c.cheap or not cheap_only]


def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Matrix(**data)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (yaml.YAMLError, TypeError, ValidationError) as error:
        raise InputError(path, None, f"invalid reproduction matrix: {error}") from None


def pin(store: ResultStore, cheap_labels: Sequence[str] = ()) -> Matrix:
    """A condition per stored cell, named ``label.task``, expecting its stored scores.

    ``cheap_labels``: system labels (as the leaderboard shows them) to mark cheap.
    """
    from clirbench.evaluation import canonical_measure

    cells = list(store.cells())
    labels = system_labels(cells)
    unknown = set(cheap_labels) - set(labels.values())
    if unknown:
        raise UnknownNameError(
            "system label in the store", sorted(unknown)[0], sorted(set(labels.values()))
        )
    conditions = []
    for cell in cells:
        method, task = cell.manifest["method"], cell.manifest["task"]
        expected = {
            m: round(cell.aggregate[canonical_measure(m)], PINNED_DIGITS)
            for m in PINNED_MEASURES
            if canonical_measure(m) in cell.aggregate
        }
        conditions.append(
            Condition(
                name=f"{labels[cell.path]}.{task['name'].replace('/', '.')}",
                method=method["name"],
                options={
                    k: v for k, v in method["identity_options"].items() if k != "input_digests"
                },
                task=_task_spec(cell),
                split=task["split"],
                k=method["k"],
                expected=expected,
                cheap=labels[cell.path] in cheap_labels,
            )
        )
    return Matrix(conditions=tuple(sorted(conditions, key=lambda c: (c.task, c.name))))


def _task_spec(cell: Cell) -> str:
    """What ``--tasks`` takes to load the cell's task again: a built-in name or a BEIR folder."""
    from clirbench.errors import ClirbenchError
    from clirbench.tasks import is_builtin_task

    task = cell.manifest["task"]
    if is_builtin_task(task["name"]):
        return task["name"]
    if task["source"].startswith(FOLDER_SOURCE):
        folder = Path(task["source"].removeprefix(FOLDER_SOURCE))
        return str(folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder)
    raise ClirbenchError(
        f"{cell.path}: cannot pin task {task['name']!r} from {task['source']!r}; "
        "the matrix holds built-in tasks and BEIR folders"
    )


MATRIX_HEADER = """\
# Pinned expected scores: `clirbench repro check` reruns (or reuses) each condition and
# compares. Written by `clirbench repro pin` from the cells that `bash reports/leaderboard.sh`
# stored in results/ (the committed leaderboard). Tolerance is 5e-4 unless a condition gives a
# wider one with its reason. `cheap: true` conditions take seconds and run in CI.
"""


def write_matrix(matrix: Matrix, path: Path) -> None:
    """One condition per block, options on one line (JSON is valid YAML), written atomically."""
    import json

    from clirbench.fileio import atomic_write_text

    lines = [MATRIX_HEADER.rstrip("\n"), "conditions:"]
    for c in matrix.conditions:
        lines += [
            f"  - name: {json.dumps(c.name)}",
            f"    method: {c.method}",
            f"    task: {c.task}",
            f"    split: {c.split}",
            f"    k: {c.k}",
            f"    options: {json.dumps(c.options, sort_keys=True)}",
        ]
        if c.tolerance != DEFAULT_TOLERANCE:
            lines += [f"    tolerance: {c.tolerance}", f"    reason: {json.dumps(c.reason)}"]
        if c.cheap:
            lines.append("    cheap: true")
        lines.append("    expected:")
        lines += [
            f"      {measure}: {value:.{PINNED_DIGITS}f}" for measure, value in c.expected.items()
        ]
    atomic_write_text(path, "\n".join(lines) + "\n")


Status = Literal["OK", "FAIL"]


@dataclass(frozen=True)
class Verdict:
    condition: Condition
    measure: str
    expected: float
    observed: float
    status: Status
    reused: bool


def prepare(condition: Condition) -> tuple[Task, MethodSpec]:
    """The condition's task and validated method."""
    from clirbench.registry import build_options
    from clirbench.runner import MethodSpec
    from clirbench.tasks import load_task

    return load_task(condition.task, condition.split), MethodSpec(
        condition.method, build_options(condition.method, condition.options)
    )


def is_stored(condition: Condition, store: ResultStore) -> bool:
    from clirbench.runner import stored_cell

    task, spec = prepare(condition)
    return stored_cell(store, spec, task, condition.k)[0] is not None


def check_condition(condition: Condition, store: ResultStore) -> list[Verdict]:
    """Reuse or compute the condition's cell, then compare each expected measure."""
    from clirbench.errors import ClirbenchError
    from clirbench.evaluation import canonical_measure
    from clirbench.runner import run_cells

    task, spec = prepare(condition)
    (outcome,) = run_cells([task], [spec], store, condition.k)
    if outcome.cell is None:
        raise ClirbenchError(f"condition {condition.name!r}: {outcome.reason}")
    verdicts = []
    for measure, expected in condition.expected.items():
        observed = outcome.cell.aggregate[canonical_measure(measure)]
        status: Status = "OK" if abs(observed - expected) <= condition.tolerance else "FAIL"
        verdicts.append(
            Verdict(condition, measure, expected, observed, status, outcome.status == "reused")
        )
    return verdicts


def check(
    conditions: Sequence[Condition],
    store: ResultStore,
    on_verdict: Callable[[Verdict], None] = lambda v: None,
) -> list[Verdict]:
    verdicts = []
    for condition in conditions:
        for verdict in check_condition(condition, store):
            on_verdict(verdict)
            verdicts.append(verdict)
    return verdicts
