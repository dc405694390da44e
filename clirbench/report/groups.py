"""The report's views beyond single tasks: groups by language family and resource level, the
gain plot's points, and the coverage probe's table, as records of ``clirbench.report.model``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from clirbench.report.model import (
    Correlation,
    Coverage,
    CoverageCell,
    CoverageRow,
    Fit,
    Gain,
    GainPoint,
    GroupCell,
    GroupColumn,
    Grouping,
    GroupRow,
    TaskRow,
    Versus,
    Worst,
)

TaskSet = frozenset[str]
# Each task's rows, by system: what a group cell averages.
Rows = dict[str, dict[str, TaskRow]]  # task name -> system -> row


def task_groups(cards: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Tasks by grouping (``family``, ``resource``) and group label, and the tasks not grouped.

    ``cards``: task name -> card. A task's group is its non-English language's (languages.py);
    a task whose language has no metadata is in no group.
    """
    from clirbench.tasks.languages import GROUPINGS, language_groups, task_language

    found: dict[str, dict[tuple[int, str], list[str]]] = {key: {} for key in GROUPINGS}
    ungrouped = []
    for name, card in cards.items():
        language = task_language(card.get("query_lang", ""), card.get("doc_lang", ""))
        groups = language_groups(language)
        if groups is None:
            ungrouped.append(name)
            continue
        for key, group in groups.items():
            found[key].setdefault(group, []).append(name)
    groupings = {
        key: [(label, sorted(names)) for (_, label), names in sorted(by_group.items())]
        for key, by_group in found.items()
    }
    return groupings, sorted(ungrouped)


def group_task_sets(groupings: Mapping[str, Sequence[tuple[str, list[str]]]]) -> list[TaskSet]:
    """The distinct task sets of more than one task that the groups test (each tested once)."""
    sets = {frozenset(names) for groups in groupings.values() for _, names in groups}
    return sorted((s for s in sets if len(s) > 1), key=sorted)


def group_table(
    key: str,
    groups: Sequence[tuple[str, list[str]]],
    cards: Mapping[str, Mapping[str, Any]],
    rows: Rows,
    order: Sequence[str],
    tests: Callable[[TaskSet], tuple[str | None, Callable[[str, str | None], Versus]]],
    baseline: str | None,
) -> Grouping:
    """Systems x groups of one grouping: macro average, worst language, significance marks.

    A system gets a group's mean only when it has every task of the group (as the Overall
    table's Coverage rule). ``tests(tasks)`` gives a task set's best system and a function
    ``versus(system, other)`` of its corrected comparisons; ``order`` is the systems' order.
    """
    from clirbench.report.context import mark_kinds
    from clirbench.tasks.languages import GROUPINGS

    columns = []
    cells_by_system: dict[str, list[GroupCell]] = {system: [] for system in order}
    for label, names in groups:
        tasks = frozenset(names)
        languages: dict[str, list[str]] = {}
        for name in names:
            languages.setdefault(_language(cards[name]), []).append(name)
        means = {
            system: _mean([rows[name][system].primary for name in names])
            for system in order
            if all(system in rows[name] for name in names)
        }
        best, versus = tests(tasks)
        columns.append(
            GroupColumn(label=label, tasks=tuple(sorted(names)), languages=tuple(sorted(languages)))
        )
        for system in order:
            if system not in means:
                cells_by_system[system].append(GroupCell(value=None))
                continue
            by_language = {
                language: _mean([rows[name][system].primary for name in in_language])
                for language, in_language in languages.items()
            }
            worst = min(sorted(by_language), key=by_language.__getitem__)
            vs_best, vs_baseline = versus(system, best), versus(system, baseline)
            cells_by_system[system].append(
                GroupCell(
                    value=means[system],
                    mark_kinds=mark_kinds(vs_best, vs_baseline),
                    is_best=system == best,
                    worst=Worst(label=worst, value=by_language[worst])
                    if len(languages) > 1
                    else None,
                    vs_best=vs_best,
                    vs_baseline=vs_baseline,
                )
            )
    table_rows = [
        GroupRow(
            system=system,
            cells=tuple(cells),
            covered=sum(cell.value is not None for cell in cells),
        )
        for system, cells in cells_by_system.items()
        if any(cell.value is not None for cell in cells)
    ]
    return Grouping(key=key, title=GROUPINGS[key], columns=tuple(columns), rows=tuple(table_rows))


def gain_view(
    pair: tuple[str, str] | None,
    cards: Mapping[str, Mapping[str, Any]],
    rows: Rows,
) -> Gain | None:
    """Per language: ``pair[0]`` minus ``pair[1]`` against ``pair[1]``'s own score.

    A language's point averages the tasks where both systems ran; None when either system has
    no task. The least-squares line and the correlations (scipy) need three points or more
    whose scores and gains are not all equal.
    """
    if pair is None:
        return None
    system, reference = pair
    by_language: dict[str, list[str]] = {}
    for name, card in cards.items():
        if system in rows[name] and reference in rows[name]:
            language = _language(card)
            by_language.setdefault(language, []).append(name)
    if not by_language:
        return None
    points = []
    for language, names in sorted(by_language.items()):
        own = _mean([rows[name][reference].primary for name in names])
        other = _mean([rows[name][system].primary for name in names])
        points.append(
            GainPoint(
                language=language,
                label=language.split("_")[0],
                tasks=tuple(sorted(names)),
                reference=own,
                system=other,
                gain=other - own,
            )
        )
    fit, pearson, spearman = _fit(points)
    return Gain(
        system=system,
        reference=reference,
        points=tuple(points),
        fit=fit,
        pearson=pearson,
        spearman=spearman,
    )


def _fit(points: list[GainPoint]) -> tuple[Fit | None, Correlation | None, Correlation | None]:
    """Least-squares line of gain on score, Pearson and Spearman (None where undefined)."""
    xs, ys = [p.reference for p in points], [p.gain for p in points]
    if len(points) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None, None, None
    from scipy import stats

    line = stats.linregress(xs, ys)
    pearson, spearman = stats.pearsonr(xs, ys), stats.spearmanr(xs, ys)
    return (
        Fit(slope=float(line.slope), intercept=float(line.intercept)),
        Correlation(r=float(pearson.statistic), p=float(pearson.pvalue)),
        Correlation(r=float(spearman.statistic), p=float(spearman.pvalue)),
    )


class ProbeTask(NamedTuple):
    """One coverage-probe task: its language, size and each system's mean."""

    name: str
    language: str
    queries: int
    means: dict[str, float]


def coverage_table(probes: Sequence[ProbeTask], systems: Sequence[str]) -> Coverage:
    """The coverage probe: languages x systems, the primary measure; kept out of every average
    and test of the report. A system's mean over the probe needs every language, as elsewhere."""
    shown = [s for s in systems if any(s in probe.means for probe in probes)]
    rows = []
    for probe in sorted(probes, key=lambda p: (p.language, p.name)):
        best = max(probe.means.values())
        rows.append(
            CoverageRow(
                language=probe.language,
                task=probe.name,
                queries=probe.queries,
                cells=tuple(
                    CoverageCell(value=probe.means.get(s), is_best=probe.means.get(s) == best)
                    for s in shown
                ),
            )
        )
    means = []
    for i, _ in enumerate(shown):
        values = [row.cells[i].value for row in rows]
        known = [value for value in values if value is not None]
        means.append(_mean(known) if len(known) == len(values) else None)
    return Coverage(systems=tuple(shown), rows=tuple(rows), means=tuple(means))


def _language(card: Mapping[str, Any]) -> str:
    from clirbench.tasks.languages import task_language

    return task_language(card.get("query_lang", "unknown"), card.get("doc_lang", "unknown"))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
