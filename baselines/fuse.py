"""Fusion of other systems' stored runs: RRF, CombSUM and CombMNZ, as ranx defines them.

``clirbench run -m fuse --set 'fuse.systems=[optical, nmt]'`` reads the runs of ``optical``
and ``nmt`` on the same task from the result store (computing and storing them first when
they are missing) and fuses them; the leaderboard calls it ``fuse[optical+nmt[...]]``.

Definitions (those of ranx 0.3, per query, over the hits each run returned):

- ``rrf``: sum over runs of 1 / (rrf_k + rank), rank 1 for a run's best hit (Cormack et al.
  2009); ranks follow the stored run (score descending, ties by document id).
- ``combsum``: sum of the normalised scores; a run that did not return a document adds 0.
- ``combmnz``: that sum times the number of runs that returned the document (Fox & Shaw 1993).

Normalisations (``norm``) before combsum/combmnz: ``min-max`` (s - min) / (max - min);
``zmuv`` (s - mean) / std (population std); ``sum`` (s - min) / (sum - n * min); ``max``
s / max; ``none``. As in ranx a denominator below 1e-9 is replaced by 1e-9. Unlike ranx, a
query missing from some runs is kept (ranx keeps only the first run's queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clirbench.errors import ClirbenchError
from clirbench.method import Dependency, MethodBase, MethodOptions, Run
from clirbench.registry import register_method

if TYPE_CHECKING:
    from clirbench.tasks.task import Task

Norm = Literal["min-max", "zmuv", "sum", "max", "none"]
_FLOOR = 1e-9  # ranx's smallest denominator


class System(BaseModel):
    """One fused system: a method name and the options that differ from its defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    options: dict[str, Any] = Field(default_factory=dict)


class FuseOptions(MethodOptions):
    systems: tuple[System, ...] = ()
    """The runs to fuse, at least two: method names, or {name: {option: value}} for another
    configuration, e.g. [optical, {nmt: {translators: [lexical]}}]."""
    fusion: Literal["rrf", "combsum", "combmnz"] = "rrf"
    norm: Norm = "min-max"
    """Score normalisation per query before combsum and combmnz (rrf uses ranks only)."""
    rrf_k: int = Field(60, ge=1)
    """RRF's constant k: 60 as in Cormack et al. and ranx."""

    @field_validator("systems", mode="before")
    @classmethod
    def _read_systems(cls, value: Any) -> Any:
        """Names and one-key mappings as --set and YAML give them, to System records."""
        if not isinstance(value, (list, tuple)):
            raise ValueError("give a list of methods, e.g. [optical, nmt]")
        systems: list[Any] = []
        for item in value:
            if isinstance(item, str):
                systems.append({"method": item})
            elif isinstance(item, dict) and len(item) == 1 and "method" not in item:
                ((method, options),) = item.items()
                systems.append({"method": method, "options": options or {}})
            else:
                systems.append(item)
        return systems

    @model_validator(mode="after")
    def _check(self) -> FuseOptions:
        if len(self.systems) < 2:
            raise ValueError("systems: give at least two methods to fuse, e.g. [optical, nmt]")
        if len({s.model_dump_json() for s in self.systems}) < len(self.systems):
            raise ValueError("systems: the same system is given twice")
        if self.fusion == "rrf" and "norm" in self.model_fields_set:
            raise ValueError("norm applies to combsum and combmnz; rrf fuses ranks")
        try:
            self.dependencies()  # every system's name and options are checked here
        except ClirbenchError as error:
            raise ValueError(f"systems: {error}") from None
        return self

    def dependencies(self) -> tuple[Dependency, ...]:
        from clirbench.registry import build_options

        return tuple(Dependency(s.method, build_options(s.method, s.options)) for s in self.systems)


@register_method("fuse")
class Fuse(MethodBase):
    """Fusion of other methods' stored runs: RRF, CombSUM or CombMNZ (as ranx defines them)."""

    Options = FuseOptions
    options: FuseOptions

    def label(self) -> str:
        from clirbench.registry import get_method_class

        names = [get_method_class(d.method)(d.options).label() for d in self.options.dependencies()]
        options = self.options
        how = "" if options.fusion == "rrf" else f",{options.fusion}:{options.norm}"
        if options.fusion == "rrf" and options.rrf_k != 60:
            how = f",rrf:k={options.rrf_k}"
        return f"fuse[{'+'.join(names)}{how}]"

    def retrieve(self, task: Task, k: int, inputs: Sequence[Run] | None = None) -> Run:
        runs = self.dependency_runs(task, k, inputs)
        return fuse_runs(runs, self.options.fusion, self.options.norm, self.options.rrf_k, k)


def fuse_runs(runs: Sequence[Run], fusion: str, norm: Norm, rrf_k: int, k: int) -> Run:
    """The fused run, the best ``k`` documents per query (ties by document id)."""
    fused: Run = {}
    for query in sorted({query for run in runs for query in run}):
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for run in runs:
            hits = run.get(query, {})
            scored = _rrf(hits, rrf_k) if fusion == "rrf" else normalise(hits, norm)
            for doc, score in scored.items():
                totals[doc] = totals.get(doc, 0.0) + score
                counts[doc] = counts.get(doc, 0) + 1
        if fusion == "combmnz":
            totals = {doc: score * counts[doc] for doc, score in totals.items()}
        best = sorted(totals.items(), key=lambda hit: (-hit[1], hit[0]))[:k]
        fused[query] = dict(best)
    return fused


def _rrf(hits: dict[str, float], rrf_k: int) -> dict[str, float]:
    ranked = sorted(hits.items(), key=lambda hit: (-hit[1], hit[0]))
    return {doc: 1.0 / (rrf_k + rank) for rank, (doc, _) in enumerate(ranked, start=1)}


def normalise(hits: dict[str, float], norm: Norm) -> dict[str, float]:
    """One query's scores normalised as ranx does (see the module docstring)."""
    if not hits or norm == "none":
        return dict(hits)
    scores = list(hits.values())
    low, high, n = min(scores), max(scores), len(scores)
    if norm == "min-max":
        shift, scale = low, high - low
    elif norm == "zmuv":
        mean = sum(scores) / n
        shift, scale = mean, (sum((s - mean) ** 2 for s in scores) / n) ** 0.5
    elif norm == "sum":
        shift, scale = low, sum(scores) - low * n
    else:  # max
        shift, scale = 0.0, high
    scale = max(scale, _FLOOR)
    return {doc: (score - shift) / scale for doc, score in hits.items()}
