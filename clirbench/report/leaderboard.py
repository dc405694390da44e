"""The leaderboard as an object: built once from a result store, then written in any format.

``Leaderboard.from_store`` builds the report (``clirbench.report.model.Report``: ranks,
significance marks, intervals, provenance); ``to_markdown`` and ``to_html`` render the Jinja2
templates, ``to_dict``, ``to_csv`` and ``to_latex`` present the same report for code, for a
spreadsheet and for a paper. ``clirbench report`` is ``Leaderboard.from_store(...).write(out)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clirbench.errors import UnknownNameError
from clirbench.report.context import Settings, build_report
from clirbench.report.model import (
    Coverage,
    Gain,
    Grouping,
    MarkKind,
    Report,
    Robustness,
    Worst,
)

_LATEX_MARKS = {
    "below-best": r"\dagger",
    "above-baseline": r"\uparrow",
    "below-baseline": r"\downarrow",
}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


# A LaTeX table row: the system, then (value, significance mark kinds) per column.
_LatexRow = tuple[str, list[tuple[float | None, tuple[MarkKind, ...]]]]


@dataclass(frozen=True)
class Leaderboard:
    """A leaderboard over a result store's cells; ``report`` holds everything it shows."""

    report: Report

    @classmethod
    def from_store(
        cls,
        store: str | Path | Sequence[str | Path],
        *,
        tasks: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        baseline: str | None = "bm25",
        measure: str | None = None,
        measures: Sequence[str] | None = None,
        correction: str = "holm",
        alpha: float = 0.05,
        n_resamples: int = 10_000,
        seed: int = 0,
        gain: tuple[str, str] | None = ("optical", "untrained-student"),
    ) -> Leaderboard:
        """The leaderboard of the store at ``store`` (or of several stores' cells together).

        ``tasks`` (names, ``suite:NAME``, ``lang:CODE``) and ``methods`` (system labels, or
        method names that are no system's label: every configuration) filter the results;
        ``baseline`` is the system every other is tested against (None: no baseline);
        ``measures`` are the measures shown per task (default: each card's) and ``measure`` the
        primary one (default: the first of ``measures``, else the first the task cards share);
        ``correction`` ("holm", "bh" or "none") covers every comparison; ``gain`` is the pair of
        systems of the gain plot (the first's gain over the second).
        """
        from clirbench.store import ResultStore

        settings = Settings(
            measure=measure,
            measures=tuple(measures) if measures is not None else None,
            baseline=baseline,
            correction=correction,
            alpha=alpha,
            n_resamples=n_resamples,
            seed=seed,
            gain=(*gain,) if gain is not None else None,  # a caller's list as a tuple
        )
        roots = [store] if isinstance(store, str | Path) else list(store)
        stores = [ResultStore(root) for root in roots]
        return cls(build_report(stores, settings, tasks=tasks, methods=methods))

    @property
    def measure(self) -> str:
        """The primary measure."""
        return self.report.settings.measure

    @property
    def systems(self) -> list[str]:
        return list(self.report.systems)

    @property
    def tasks(self) -> list[str]:
        return [task.name for task in self.report.tasks]

    def to_markdown(self) -> str:
        from clirbench.report.render import render_markdown

        return render_markdown(self.report)

    def to_html(self) -> str:
        """One self-contained page: sortable tables, inline SVG plots, no external resource."""
        from clirbench.report.render import render_html

        return render_html(self.report)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dicts and lists: settings, legend, tables, tasks, every
        paired test, provenance."""
        return self.report.model_dump(mode="json")

    def to_csv(self, table: str = "tasks") -> str:
        """A table as CSV. ``tasks`` (default): one row per (task, system) with every measure
        shown, the interval and both comparisons; ``family``/``resource``: one row per (group,
        system) with a mean; ``gain``: one row per language; ``coverage``: one per probe task;
        ``robustness``: one per (noisy task, system), clean against noisy."""
        groupings = {grouping.key: grouping for grouping in self.report.groupings}
        if table in groupings:
            return _csv(*_grouping_rows(groupings[table]))
        if table == "gain":
            return _csv(*_gain_rows(self.report.gain))
        if table == "coverage":
            return _csv(*_coverage_rows(self.report.coverage))
        if table == "robustness":
            return _csv(*_robustness_rows(self.report.robustness))
        if table != "tasks":
            known = ["tasks", *groupings, "gain", "coverage", "robustness"]
            raise UnknownNameError("leaderboard table", table, known)
        tasks = self.report.tasks
        measures = list(dict.fromkeys(m for task in tasks for m in task.measures))
        header = [
            "task",
            "query_lang",
            "doc_lang",
            "split",
            "queries",
            "low_resource",
            "system",
            "rank",
            *measures,
            f"{self.measure}_ci_low",
            f"{self.measure}_ci_high",
            "delta_vs_best",
            "p_adjusted_vs_best",
            "delta_vs_baseline",
            "p_adjusted_vs_baseline",
            "marks",
        ]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for task in tasks:
            facts = [task.name, task.query_lang, task.doc_lang, task.split, task.queries]
            for rank, row in enumerate(task.rows, start=1):
                scores = dict(zip(task.measures, row.scores, strict=True))
                numbers = [
                    *(scores.get(m) for m in measures),
                    row.ci_low,
                    row.ci_high,
                    row.vs_best.difference,
                    row.vs_best.p_adjusted,
                    row.vs_baseline.difference,
                    row.vs_baseline.p_adjusted,
                ]
                writer.writerow(
                    [
                        *facts,
                        task.low_resource,
                        row.system,
                        rank,
                        *map(_csv_number, numbers),
                        row.marks,
                    ]
                )
        return buffer.getvalue()

    def to_latex(
        self,
        task: str | None = None,
        *,
        grouping: str | None = None,
        digits: int = 4,
        label: str = "tab:clirbench",
    ) -> str:
        """A booktabs table (``\\usepackage{booktabs}``): the best value of each column in bold,
        significance marks as superscripts, their meaning in the caption.

        Without ``task``: systems x tasks on the primary measure, and the macro average. With a
        task name: that task's systems x measures, marks on the primary measure. With
        ``grouping`` (``family`` or ``resource``): systems x groups, each a macro average.
        """
        rows: list[_LatexRow]
        if grouping is not None:
            table = self.report.grouping(grouping)
            columns = [column.label for column in table.columns]
            rows = [
                (row.system, [(cell.value, cell.mark_kinds) for cell in row.cells])
                for row in table.rows
            ]
            what = f"{self.measure} by {table.title}: the macro average over each group's tasks"
        elif task is None:
            overall = self.report.overall
            columns = [column.label for column in overall.columns] + ["Mean"]
            rows = []
            for system_row in overall.rows:
                values = [(cell.value, cell.mark_kinds) for cell in system_row.cells]
                rows.append((system_row.system, [*values, (system_row.mean, ())]))
            what = f"{self.measure} per task; Mean: the macro average over the tasks"
        else:
            view = self.report.task(task)
            columns = list(view.measures)
            rows = []
            for task_row in view.rows:
                kinds: list[tuple[MarkKind, ...]] = [() for _ in columns]
                kinds[view.primary_index] = task_row.mark_kinds
                rows.append((task_row.system, list(zip(task_row.scores, kinds, strict=True))))
            what = f"{view.name} ({view.languages}, {view.queries} queries)"
        return _latex_table(columns, rows, self._latex_caption(what), label, digits)

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``leaderboard.md`` and ``leaderboard.html`` into ``out_dir``; return both paths."""
        from clirbench.fileio import atomic_write_text
        from clirbench.report.render import HTML, MARKDOWN

        markdown_path, html_path = Path(out_dir) / MARKDOWN, Path(out_dir) / HTML
        atomic_write_text(markdown_path, self.to_markdown())
        atomic_write_text(html_path, self.to_html())
        return markdown_path, html_path

    def _latex_caption(self, what: str) -> str:
        s = self.report.settings
        marks = "; ".join(
            f"$^{{{_LATEX_MARKS[item.kind]}}}$ {_latex_escape(item.meaning)}"
            for item in self.report.legend
        )
        tests = (
            f"{what}. Paired {s.test} test, {s.correction} correction over "
            f"{s.comparisons} comparisons, alpha {s.alpha}. "
        )
        if s.resamples_warning is not None:
            tests += f"Warning: {s.resamples_warning}. "
        return f"{_latex_escape(tests)}{marks}. Bold: the best value of each column."


def write_report(
    store_root: str | Path,
    out_dir: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    baseline: str | None = "bm25",
    measure: str | None = None,
    correction: str = "holm",
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
    gain: tuple[str, str] | None = ("optical", "untrained-student"),
) -> tuple[Path, Path]:
    """Write ``leaderboard.md`` and ``leaderboard.html`` for the store at ``store_root``."""
    board = Leaderboard.from_store(
        store_root,
        tasks=tasks,
        methods=methods,
        baseline=baseline,
        measure=measure,
        correction=correction,
        alpha=alpha,
        n_resamples=n_resamples,
        seed=seed,
        gain=gain,
    )
    return board.write(out_dir)


_CsvTable = tuple[list[str], list[list[Any]]]


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_number(v) if isinstance(v, float) or v is None else v for v in row])
    return buffer.getvalue()


def _grouping_rows(table: Grouping) -> _CsvTable:
    header = [
        "grouping",
        "group",
        "languages",
        "tasks",
        "system",
        "mean",
        "worst_language",
        "worst_value",
        "delta_vs_best",
        "p_adjusted_vs_best",
        "delta_vs_baseline",
        "p_adjusted_vs_baseline",
        "marks",
    ]
    rows = []
    for i, column in enumerate(table.columns):
        for row in table.rows:
            cell = row.cells[i]
            if cell.value is None or cell.vs_best is None or cell.vs_baseline is None:
                continue
            worst = cell.worst or Worst(label=column.languages[0], value=cell.value)
            rows.append(
                [
                    table.key,
                    column.label,
                    " ".join(column.languages),
                    " ".join(column.tasks),
                    row.system,
                    cell.value,
                    worst.label,
                    worst.value,
                    cell.vs_best.difference,
                    cell.vs_best.p_adjusted,
                    cell.vs_baseline.difference,
                    cell.vs_baseline.p_adjusted,
                    cell.marks,
                ]
            )
    return header, rows


def _gain_rows(gain: Gain | None) -> _CsvTable:
    if gain is None:
        return ["language", "tasks", "reference", "system", "gain"], []
    header = ["language", "tasks", gain.reference, gain.system, "gain"]
    rows: list[list[Any]] = [
        [p.language, " ".join(p.tasks), p.reference, p.system, p.gain] for p in gain.points
    ]
    return header, rows


def _coverage_rows(coverage: Coverage | None) -> _CsvTable:
    if coverage is None:
        return ["language", "task", "queries"], []
    rows: list[list[Any]] = [
        [row.language, row.task, row.queries, *(c.value for c in row.cells)]
        for row in coverage.rows
    ]
    return ["language", "task", "queries", *coverage.systems], rows


def _robustness_rows(robustness: Robustness | None) -> _CsvTable:
    header = [
        "task",
        "clean_task",
        "system",
        "clean",
        "noisy",
        "change",
        "p_adjusted",
        "significant",
    ]
    rows: list[list[Any]] = [
        [
            task.name,
            task.base,
            row.system,
            row.clean,
            row.noisy,
            row.change.difference,
            row.change.p_adjusted,
            row.change.significant if row.change.p_adjusted is not None else "",
        ]
        for task in (robustness.tasks if robustness is not None else ())
        for row in task.rows
    ]
    return header, rows


def _csv_number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def _latex_table(
    columns: list[str], rows: list[_LatexRow], caption: str, label: str, digits: int
) -> str:
    best = [
        max((round(value, digits) for value in column if value is not None), default=None)
        for column in ([v[i][0] for _, v in rows] for i in range(len(columns)))
    ]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{l{'r' * len(columns)}}}",
        r"\toprule",
        " & ".join(["System", *map(_latex_escape, columns)]) + r" \\",
        r"\midrule",
    ]
    for system, values in rows:
        cells = [_latex_escape(system)]
        for (value, kinds), top in zip(values, best, strict=True):
            if value is None:
                cells.append("--")
                continue
            text = f"{value:.{digits}f}"
            if round(value, digits) == top:
                text = rf"\textbf{{{text}}}"
            if kinds:
                text += "$^{" + "".join(_LATEX_MARKS[kind] for kind in kinds) + "}$"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
