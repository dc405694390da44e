"""``clirbench compare A B`` (or ``--methods a,b,c``): paired tests between stored systems.

The tests are ``clirbench.report.model.PairedTest`` records, as the report's are; ``--json``
prints their ``PairedTests`` and the table shows the same records.
"""

from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from clirbench.cli.output import TableData
    from clirbench.report.model import PairedTests

STORE = "results"


def _pairs(
    system_a: str | None, system_b: str | None, methods: str | None
) -> list[tuple[str, str]]:
    from clirbench.cli.run import names

    if methods is not None:
        if system_a is not None:
            raise typer.BadParameter(
                "give two systems as arguments or --methods, not both", param_hint="--methods"
            )
        listed = list(dict.fromkeys(names(methods, "'--methods' / '-m'")))
        if len(listed) < 2:
            raise typer.BadParameter(
                "give at least two systems to compare", param_hint="'--methods' / '-m'"
            )
        return list(combinations(listed, 2))
    if system_a is None or system_b is None:
        raise typer.BadParameter(
            "give two systems (A B) or --methods with two or more", param_hint="SYSTEM_A SYSTEM_B"
        )
    return [(system_a, system_b)]


def compare(
    system_a: str | None = typer.Argument(
        None, help="A system: a method name, or name@config_hash."
    ),
    system_b: str | None = typer.Argument(None, help="The system A is tested against."),
    methods: str | None = typer.Option(
        None,
        "--methods",
        "-m",
        help="Comma-separated systems: every pair is tested (instead of A B).",
    ),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        "-t",
        help="Comma-separated tasks (names or BEIR folders), suite:NAME or lang:CODE "
        "(default: every task in the store).",
    ),
    store: list[str] = typer.Option(
        [STORE],
        "--store",
        help="Result store: a folder or a URL. Repeat it to compare several stores' results "
        "together (one correction over all).",
    ),
    measures: str | None = typer.Option(
        None, "--measures", help="Comma-separated measures (default: each task card's first)."
    ),
    test: str = typer.Option("randomization", "--test", help="randomization or t-test."),
    correction: str = typer.Option(
        "holm", "--correction", help="holm, bh or none, over every test shown."
    ),
    resamples: int = typer.Option(10_000, "--resamples", min=100),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    split: str | None = typer.Option(
        None, "--split", help="Split, where a task has results on several (e.g. dev, test)."
    ),
) -> None:
    """Paired significance tests of A against B on each task and measure, corrected over all."""
    from clirbench.cli.output import print_json, print_table
    from clirbench.cli.run import names
    from clirbench.errors import ClirbenchError, OptionsError
    from clirbench.evaluation import canonical_measure
    from clirbench.report.model import COMPARE_ALPHA, PairedTest, PairedTests
    from clirbench.stats import adjust
    from clirbench.stats.comparison import is_test
    from clirbench.stats.correction import is_correction
    from clirbench.store import ResultStore, cells_of, find_cell
    from clirbench.tasks import expand_task_specs, load_task

    if not is_test(test) or not is_correction(correction):
        raise OptionsError(
            "--test must be randomization or t-test and --correction holm, bh or none "
            f"(got {test!r}, {correction!r})"
        )
    pairs = _pairs(system_a, system_b, methods)
    wanted = (
        [canonical_measure(m) for m in names(measures, "--measures")]
        if measures is not None
        else None
    )
    where = " and ".join(store)
    stored = cells_of(ResultStore(root) for root in store)
    if tasks is not None:
        # cells are filed by the card's name, also for a task given as a folder
        task_names = [
            load_task(s).card.name if Path(s).is_dir() else s
            for s in expand_task_specs(names(tasks, "'--tasks' / '-t'"))
        ]
    else:
        task_names = sorted({cell.manifest["task"]["name"] for cell in stored})
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for a, b in pairs:
        for task in task_names:
            try:
                cell_a = find_cell(stored, task, a, split, where)
                cell_b = find_cell(stored, task, b, split, where)
            except ClirbenchError as error:
                if tasks is not None:
                    raise
                skipped.append(str(error))  # not asked for by name: a task without both systems
                continue
            for measure in wanted or [cell_a.manifest["task"]["measures"][0]]:
                rows.append(_test(a, b, task, measure, cell_a, cell_b, test, resamples, seed))
    if not rows:
        raise ClirbenchError(
            f"nothing to compare in {where}: " + ("; ".join(skipped) or "the store is empty")
        )
    compared = PairedTests(
        test=test,
        correction=correction,
        resamples=resamples,
        seed=seed,
        comparisons=tuple(
            PairedTest(**row, p_adjusted=float(p), significant=bool(p <= COMPARE_ALPHA))
            for row, p in zip(rows, adjust([row["p"] for row in rows], correction), strict=True)
        ),
    )
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if compared.resamples_warning is not None:
        print(f"warning: {compared.resamples_warning}", file=sys.stderr)
    if as_json:
        print_json(compared.model_dump(mode="json"))
        return
    print_table(_table(compared))
    print(
        f"{test} test, {resamples} resamples, seed {seed}; "
        f"* = significant at {COMPARE_ALPHA} after {correction} correction."
    )


def _table(compared: PairedTests) -> TableData:
    from clirbench.cli.output import TableData

    columns = (
        "A",
        "B",
        "task",
        "measure",
        "queries",
        "mean A",
        "mean B",
        "A - B [95% CI]",
        "d_z",
        "p",
        f"p ({compared.correction})",
    )
    table = TableData(columns)
    for t in compared.comparisons:
        table.rows.append(
            (
                t.a,
                t.b,
                t.task,
                t.measure,
                str(t.queries),
                f"{t.mean_a:.4f}",
                f"{t.mean_b:.4f}",
                f"{t.difference:+.4f} [{t.ci_low:+.4f}, {t.ci_high:+.4f}]",
                f"{t.d_z:.2f}",
                f"{t.p:.4f}",
                f"{t.p_adjusted:.4f}" + (" *" if t.significant else ""),
            )
        )
    return table


def _test(
    a: str,
    b: str,
    task: str,
    measure: str,
    cell_a: Any,
    cell_b: Any,
    test: str,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """One paired test on the queries both cells scored: a ``PairedTest``'s fields before the
    correction."""
    import numpy as np

    from clirbench.errors import ClirbenchError
    from clirbench.stats import bootstrap_ci, cohens_dz, paired_t_test, randomization_test

    if measure not in cell_a.per_query or measure not in cell_b.per_query:
        raise ClirbenchError(
            f"measure {measure} is not stored for {a} and {b} on {task}; "
            f"stored: {', '.join(cell_a.per_query)}"
        )
    a_scores, b_scores = cell_a.per_query[measure], cell_b.per_query[measure]
    queries = sorted(a_scores.keys() & b_scores.keys())
    x = np.array([a_scores[q] for q in queries])
    y = np.array([b_scores[q] for q in queries])
    p = (
        paired_t_test(x, y)
        if test == "t-test"
        else randomization_test(x, y, n_resamples=resamples, seed=seed)
    )
    low, high = bootstrap_ci(x, y, n_resamples=resamples, seed=seed)
    return {
        "a": a,
        "b": b,
        "task": task,
        "measure": measure,
        "queries": len(queries),
        "mean_a": float(x.mean()),
        "mean_b": float(y.mean()),
        "difference": float(x.mean() - y.mean()),
        "ci_low": float(low),
        "ci_high": float(high),
        "d_z": float(cohens_dz(x, y)),
        "p": float(p),
    }
