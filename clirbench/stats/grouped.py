"""Per-query scores of a group of tasks, pooled so that a paired test compares macro averages.

Why this test for a group (a language family, a resource class): the group's score is the macro
average over its tasks, and there are few tasks per group (often two to five). A paired test on
per-task means has at most 2**T sign patterns, so with T = 4 its smallest two-sided p-value is
1/8: it can never be significant after a correction over a whole report. Pooling the per-query
scores keeps the query as the unit of randomization, as every other test of the report does.

Two details make the pooled test match what the table shows and keep it valid:

- Weights: query ``q`` of task ``t`` counts ``1 / (T * n_t)``, so the mean of the pooled
  differences is exactly the difference of the macro averages (a plain pooled mean would weight
  tasks by their number of queries).
- Clusters: tasks of one suite often share their queries (every Qur'an task asks the same
  verses; ``en-swh`` and ``swh-en`` ask the same verses the other way round), so their scores on
  one query id are not independent. Each query id is one unit: its weighted differences on every
  task of the group are summed before the sign flip, as in a cluster randomization test. Query
  ids that happen to coincide across unrelated tasks only cost a little power.

The inference is about these tasks (fixed) and their queries (sampled), not about a population
of languages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Scores = Mapping[str, Mapping[str, float]]  # system -> query id -> score


def pool_tasks(tasks: Sequence[Scores]) -> dict[str, dict[str, float]]:
    """One score per system and query id over ``tasks`` (each system -> query id -> score).

    Every system must have every task, on the same queries. The result's mean per system is the
    macro average over the tasks of its per-task means, so paired tests on it
    (``compare_systems``) compare macro averages with query ids as the units.
    """
    if not tasks:
        raise ValueError("no tasks to pool")
    systems = list(tasks[0])  # in the first task's order, so that the pooled order is stable
    for i, task in enumerate(tasks):
        if set(task) != set(systems):
            raise ValueError(f"task {i} has systems {sorted(task)}, task 0 has {sorted(systems)}")
    units = sorted({query for task in tasks for scores in task.values() for query in scores})
    pooled: dict[str, dict[str, float]] = {system: dict.fromkeys(units, 0.0) for system in systems}
    for task in tasks:
        for system, scores in task.items():
            weight = len(units) / (len(tasks) * len(scores))
            for query, score in scores.items():
                pooled[system][query] += weight * score
    return pooled
