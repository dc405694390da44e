"""The report's views beyond single tasks: groups by language family and resource level, the
gain plot's points, and the coverage probe's table. Plain dicts for the templates, as context.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

TaskSet = frozenset[str]
# Each task view's rows, by system: what a group cell averages.
Rows = dict[str, dict[str, dict[str, Any]]]  # task name -> system -> task view row


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
    tests: Callable[[TaskSet], tuple[str | None, Callable[..., dict[str, Any]]]],
    baseline: str | None,
) -> dict[str, Any]:
    """Systems x groups of one grouping: macro average, worst language, significance marks.

    A system gets a group's mean only when it has every task of the group (as the Overall
    table's Coverage rule). ``tests(tasks)`` gives a task set's best system and a function
    ``versus(system, other)`` of its corrected comparisons; ``order`` is the systems' order.
    """
    from clirbench.report.context import MARKS, mark_kinds
    from clirbench.tasks.languages import GROUPINGS

    columns = []
    cells_by_system: dict[str, list[Any]] = {system: [] for system in order}
    for label, names in groups:
        tasks = frozenset(names)
        languages: dict[str, list[str]] = {}
        for name in names:
            languages.setdefault(_language(cards[name]), []).append(name)
        means = {
            system: _mean([rows[name][system]["primary"] for name in names])
            for system in order
            if all(system in rows[name] for name in names)
        }
        best, versus = tests(tasks)
        columns.append({"label": label, "tasks": sorted(names), "languages": sorted(languages)})
        for system in order:
            if system not in means:
                cells_by_system[system].append(_empty_cell())
                continue
            by_language = {
                language: _mean([rows[name][system]["primary"] for name in in_language])
                for language, in_language in languages.items()
            }
            worst = min(sorted(by_language), key=by_language.__getitem__)
            vs_best, vs_baseline = versus(system, best), versus(system, baseline)
            kinds = mark_kinds(vs_best, vs_baseline)
            cells_by_system[system].append(
                {
                    "value": means[system],
                    "marks": "".join(MARKS[kind] for kind in kinds),
                    "mark_kinds": kinds,
                    "is_best": system == best,
                    "worst": {"label": worst, "value": by_language[worst]}
                    if len(languages) > 1
                    else None,
                    "vs_best": vs_best,
                    "vs_baseline": vs_baseline,
                }
            )
    table_rows = [
        {
            "system": system,
            "cells": cells,
            "covered": sum(cell["value"] is not None for cell in cells),
        }
        for system, cells in cells_by_system.items()
        if any(cell["value"] is not None for cell in cells)
    ]
    return {"key": key, "title": GROUPINGS[key], "columns": columns, "rows": table_rows}


def gain_view(
    pair: tuple[str, str] | None,
    cards: Mapping[str, Mapping[str, Any]],
    rows: Rows,
) -> dict[str, Any] | None:
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
        own = _mean([rows[name][reference]["primary"] for name in names])
        other = _mean([rows[name][system]["primary"] for name in names])
        points.append(
            {
                "language": language,
                "label": language.split("_")[0],
                "tasks": sorted(names),
                "reference": own,
                "system": other,
                "gain": other - own,
            }
        )
    return {"system": system, "reference": reference, "points": points, **_fit(points)}


def _fit(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Least-squares line of gain on score, Pearson and Spearman (None where undefined)."""
    xs, ys = [p["reference"] for p in points], [p["gain"] for p in points]
    if len(points) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return {"fit": None, "pearson": None, "spearman": None}
    from scipy import stats

    line = stats.linregress(xs, ys)
    pearson, spearman = stats.pearsonr(xs, ys), stats.spearmanr(xs, ys)
    return {
        "fit": {"slope": float(line.slope), "intercept": float(line.intercept)},
        "pearson": {"r": float(pearson.statistic), "p": float(pearson.pvalue)},
        "spearman": {"r": float(spearman.statistic), "p": float(spearman.pvalue)},
    }


def coverage_table(views: Sequence[dict[str, Any]], systems: Sequence[str]) -> dict[str, Any]:
    """The coverage probe: languages x systems, the primary measure; kept out of every average
    and test of the report. A system's mean over the probe needs every language, as elsewhere."""
    shown = [s for s in systems if any(r["system"] == s for v in views for r in v["rows"])]
    rows = []
    for view in sorted(views, key=lambda v: (v["language"], v["name"])):
        scores = {row["system"]: row["primary"] for row in view["rows"]}
        best = max(scores.values())
        rows.append(
            {
                "language": view["language"],
                "task": view["name"],
                "queries": view["queries"],
                "cells": [
                    {"value": scores.get(s), "is_best": scores.get(s) == best} for s in shown
                ],
            }
        )
    means = []
    for i, _ in enumerate(shown):
        values = [row["cells"][i]["value"] for row in rows]
        means.append(None if None in values else _mean(values))
    return {"systems": shown, "rows": rows, "means": means}


def _language(card: Mapping[str, Any]) -> str:
    from clirbench.tasks.languages import task_language

    return task_language(card.get("query_lang", "unknown"), card.get("doc_lang", "unknown"))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _empty_cell() -> dict[str, Any]:
    return {
        "value": None,
        "marks": "",
        "mark_kinds": [],
        "is_best": False,
        "worst": None,
        "vs_best": None,
        "vs_baseline": None,
    }
