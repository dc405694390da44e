"""The tables and lines of ``clirbench run``: the plan of a dry run, outcome lines, the summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape

from clirbench.cli.output import TableData
from clirbench.runner import CellOutcome, MethodSpec, stored_cell
from clirbench.store import ResultStore
from clirbench.tasks.task import Task


def plan_table(
    tasks: Sequence[Task], specs: Sequence[MethodSpec], store: ResultStore, k: int, overwrite: bool
) -> TableData:
    table = TableData(
        ("task", "languages", "method", "config", "action"), title="Dry run: nothing is computed"
    )
    for spec in specs:
        for task in tasks:
            key = spec.key(task, k)
            reuse = not overwrite and stored_cell(store, spec, task, k)[0] is not None
            table.rows.append(
                (
                    task.name,
                    task.card.languages,
                    spec.name,
                    key.config_hash,
                    "reuse" if reuse else "compute",
                )
            )
    return table


def outcome_line(outcome: CellOutcome) -> str:
    """Rich markup: what happened to one cell."""
    where = escape(f"{outcome.method.name} on {outcome.task.name}")
    if outcome.status == "not run":
        return f"[yellow]not run[/] {where}: {escape(outcome.reason)}"
    if outcome.status == "reused":
        return f"[cyan]reused[/] {where} (stored earlier)"
    timing = outcome.cell.manifest["timings"]["retrieve_s"] if outcome.cell else 0
    why = f"; {escape(outcome.reason)}" if outcome.reason else ""
    return f"[green]{outcome.status}[/] {where} ({timing:.1f} s to retrieve{why})"


def summary_tables(outcomes: Sequence[CellOutcome]) -> list[TableData]:
    """One table per task: a row per method, a column per measure of the task's card."""
    tables = []
    for task in dict.fromkeys(o.task for o in outcomes):
        measures = task.card.measures
        title = f"{task.name} ({task.card.languages}, {len(task.queries)} queries)"
        table = TableData(("method", *measures), title=title)
        for outcome in (o for o in outcomes if o.task is task):
            if outcome.cell is None:
                table.rows.append((outcome.method.name, *("—" for _ in measures)))
            else:
                label = outcome.cell.manifest["method"].get("label", outcome.method.name)
                table.rows.append((label, *(f"{outcome.cell.aggregate[m]:.4f}" for m in measures)))
        tables.append(table)
    return tables
