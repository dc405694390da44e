"""The reproduction matrix: conditions (method, options, task, split) with expected scores.

``clirbench repro check`` reuses the result store, computes what is missing, and prints OK or
FAIL per measure. The tolerance is 5e-4 unless a condition states a wider one with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from clirbench.errors import InputError, UnknownNameError
from clirbench.store import ResultStore

if TYPE_CHECKING:
    from clirbench.runner import MethodSpec
    from clirbench.tasks.task import Task

DEFAULT_TOLERANCE = 5e-4
MATRIX_FILE = Path(__file__).with_name("matrix.yaml")


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
            raise ValueError(f"condition {self.name!r}: a tolerance above {DEFAULT_TOLERANCE} needs a reason")
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

    return load_task(condition.task, condition.split), MethodSpec(condition.method, build_options(condition.method, condition.options))


def is_stored(condition: Condition, store: ResultStore) -> bool:
    task, spec = prepare(condition)
    return store.get(spec.key(task, condition.k), task.card.checksum) is not None


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
        verdicts.append(Verdict(condition, measure, expected, observed, status, outcome.status == "reused"))
    return verdicts


def check(conditions: Sequence[Condition], store: ResultStore, on_verdict: Callable[[Verdict], None] = lambda v: None) -> list[Verdict]:
    verdicts = []
    for condition in conditions:
        for verdict in check_condition(condition, store):
            on_verdict(verdict)
            verdicts.append(verdict)
    return verdicts
