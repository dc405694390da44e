"""The Python API: what the command line does, as functions that return values.

    import clirbench

    outcomes = clirbench.run(["bm25", "me5"], ["bible-en-ny/verse"], store="results")
    board = clirbench.Leaderboard.from_store("results")
    print(board.to_markdown())

``run`` resolves methods, options and tasks exactly as ``clirbench run`` does (one function
each: ``clirbench.config.method_specs``, ``clirbench.tasks.load_tasks``) and stores every cell
in the same result store, so the CLI and Python share results, caches and leaderboards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clirbench.errors import OptionsError

if TYPE_CHECKING:
    from clirbench.evaluation import PerQueryScores
    from clirbench.method import MethodBase
    from clirbench.runner import CellOutcome
    from clirbench.tasks.task import Task

Names = str | Sequence[str]


def run(
    methods: Names,
    tasks: str | Task | Sequence[str | Task],
    *,
    store: str | Path = "results",
    split: str | None = None,
    k: int = 100,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    on_outcome: Callable[[CellOutcome], None] | None = None,
) -> list[CellOutcome]:
    """Run ``methods`` on ``tasks``, evaluate every query and keep each cell in ``store``.

    ``methods`` are method names (a list, or one comma-separated string); ``tasks`` are task
    specs as ``--tasks`` takes them (built-in names, BEIR folders, ``suite:NAME``, ``lang:CODE``,
    ``irds:``, ``hf:``, ``mteb:``) or loaded :class:`~clirbench.tasks.task.Task` objects;
    ``options`` maps a method name to its options, e.g. ``{"bm25": {"k1": 0.9}}``. Cells already
    in the store are reused unless ``overwrite``. Returns one outcome per (method, task): its
    ``status`` ("computed", "reused" or "not run"), its stored ``cell`` and, if not run, why.
    """
    from clirbench.config import method_specs
    from clirbench.runner import run_cells
    from clirbench.store import ResultStore

    if k < 1:
        raise OptionsError(f"k (hits kept per query) must be at least 1, got {k}")
    names = _names(methods)
    specs = method_specs(names, options or {})
    loaded = _tasks(tasks, split)
    command = _command(names, tasks, store, split, k, options)
    return run_cells(
        loaded,
        specs,
        ResultStore(store),
        k,
        overwrite,
        on_outcome=on_outcome or (lambda outcome: None),
        command=command,
    )


def load_method(name: str, options: Mapping[str, Any] | None = None) -> MethodBase:
    """A method ready to retrieve (or, for dense methods, to encode), with validated options.

    A package the method needs and that is missing raises with its pip command.
    """
    from clirbench.registry import build_options, instantiate

    return instantiate(name, build_options(name, dict(options or {})))


@dataclass(frozen=True)
class Evaluation:
    """Scores of one run: per query (measure -> query id -> value) and aggregated per measure."""

    per_query: PerQueryScores
    aggregate: dict[str, float]


def evaluate(
    run: Mapping[str, Mapping[str, float]] | str | Path,
    qrels: Mapping[str, Mapping[str, int]] | str | Path,
    measures: Sequence[str] | None = None,
) -> Evaluation:
    """Score ``run`` against ``qrels`` (mappings, or a TREC run file and a qrels file).

    ``measures`` are ir_measures names (default: nDCG@10, nDCG@20, AP, RR@10, R@100). Every
    judged query counts; one the run does not answer scores 0. Each measure is aggregated as
    ir_measures aggregates it (means, and sums for counts such as NumRet).
    """
    from clirbench import evaluation
    from clirbench.tasks.card import DEFAULT_MEASURES
    from clirbench.trec import read_qrels, read_run

    hits = read_run(run) if isinstance(run, (str, Path)) else run
    judged = read_qrels(qrels) if isinstance(qrels, (str, Path)) else qrels
    per_query = evaluation.evaluate(hits, judged, list(measures or DEFAULT_MEASURES))
    return Evaluation(per_query=per_query, aggregate=evaluation.aggregate(per_query))


def _names(methods: Names) -> list[str]:
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    names = [name.strip() for name in names if name.strip()]
    if not names:
        raise OptionsError("no method given: name at least one, e.g. run(['bm25'], ...)")
    return names


def _tasks(tasks: str | Task | Sequence[str | Task], split: str | None) -> list[Task]:
    """Specs loaded as ``--tasks`` loads them; Task objects kept as they are."""
    from clirbench.tasks import load_tasks

    items = [tasks] if isinstance(tasks, str) or not isinstance(tasks, Sequence) else list(tasks)
    if not items:
        raise OptionsError("no task given: name at least one, e.g. run(..., ['bible-en-ny/verse'])")
    loaded: list[Task] = []
    for item in items:
        loaded.extend(load_tasks([item], split) if isinstance(item, str) else [item])
    return loaded


def _command(
    methods: list[str], tasks: Any, store: str | Path, split: str | None, k: int, options: Any
) -> str | None:
    """The call that makes these cells again, for the manifest; None when given Task objects,
    which a call cannot name."""
    specs = [tasks] if isinstance(tasks, str) else tasks
    if not isinstance(specs, Sequence) or not all(isinstance(spec, str) for spec in specs):
        return None
    arguments = [repr(methods), repr(list(specs)), f"store={str(store)!r}", f"k={k}"]
    if split is not None:
        arguments.append(f"split={split!r}")
    if options:
        plain = {name: dict(values) for name, values in options.items()}
        arguments.append(f"options={plain!r}")
    return f"clirbench.run({', '.join(arguments)})"
