"""Pairwise significance comparisons of systems for leaderboards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from clirbench.stats.correction import Correction, adjust
from clirbench.stats.paired import (
    all_pairs_bootstrap_ci,
    all_pairs_randomization,
    cohens_dz,
    mean_difference,
    paired_t_test,
)

if TYPE_CHECKING:
    from typing_extensions import TypeIs

Test = Literal["randomization", "t-test"]
Scores = Mapping[str, Mapping[str, float]]


def is_test(name: str) -> TypeIs[Test]:
    """Whether ``name`` is a test :func:`compare_systems` runs (a command-line string)."""
    return name in get_args(Test)


@dataclass(frozen=True)
class Comparison:
    """System A against system B; ``difference`` and the interval are of ``mean(a - b)``.

    ``effect_size`` is Cohen's d_z, ``ci_low``/``ci_high`` a percentile bootstrap
    interval at confidence ``1 - alpha``, and ``significant`` is ``p_adjusted <= alpha``.
    """

    system_a: str
    system_b: str
    mean_a: float
    mean_b: float
    difference: float
    effect_size: float
    p_value: float
    p_adjusted: float
    ci_low: float
    ci_high: float
    significant: bool


def compare_systems(
    scores: Scores,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    test: Test = "randomization",
    correction: Correction = "holm",
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> list[Comparison]:
    """Compare systems pairwise on per-query scores (system -> query id -> score).

    Queries are aligned by id; ``pairs`` defaults to every pair of systems, and
    the p-values are corrected over all requested pairs as one family.
    """
    if test not in get_args(Test):
        raise ValueError(f"unknown test {test!r}; expected one of {get_args(Test)}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    names, matrix = _aligned(scores)
    name_pairs = list(combinations(names, 2)) if pairs is None else _checked_pairs(pairs, names)
    row = {name: i for i, name in enumerate(names)}
    index_pairs = [(row[a], row[b]) for a, b in name_pairs]
    if test == "randomization":
        p_values = all_pairs_randomization(matrix, index_pairs, n_resamples=n_resamples, seed=seed)
    else:
        p_values = np.array([paired_t_test(matrix[i], matrix[j]) for i, j in index_pairs])
    p_adjusted = adjust(p_values, correction)
    intervals = all_pairs_bootstrap_ci(
        matrix, index_pairs, confidence=1.0 - alpha, n_resamples=n_resamples, seed=seed
    )
    means = matrix.mean(axis=1)
    return [
        Comparison(
            system_a=names[i],
            system_b=names[j],
            mean_a=float(means[i]),
            mean_b=float(means[j]),
            difference=mean_difference(matrix[i], matrix[j]),
            effect_size=cohens_dz(matrix[i], matrix[j]),
            p_value=float(p),
            p_adjusted=float(p_adj),
            ci_low=float(low),
            ci_high=float(high),
            significant=bool(p_adj <= alpha),
        )
        for (i, j), p, p_adj, (low, high) in zip(
            index_pairs, p_values, p_adjusted, intervals, strict=True
        )
    ]


def tied_with_best(
    scores: Scores, comparisons: Sequence[Comparison], alpha: float = 0.05
) -> list[str]:
    """Systems not significantly worse than the best system by mean, best first.

    Uses the adjusted p-values in ``comparisons``, which must include every
    pair of the best system with another system.
    """
    if not scores:
        raise ValueError("scores is empty: no systems to rank")
    means = {name: float(np.mean(list(per_query.values()))) for name, per_query in scores.items()}
    best = max(means, key=means.__getitem__)
    by_pair = {frozenset((c.system_a, c.system_b)): c for c in comparisons}
    tied = [best]
    for name in means:
        if name == best:
            continue
        comparison = by_pair.get(frozenset((best, name)))
        if comparison is None:
            raise ValueError(f"no comparison between the best system {best!r} and {name!r}")
        if comparison.p_adjusted > alpha:
            tied.append(name)
    return sorted(tied, key=lambda name: -means[name])


def _aligned(scores: Scores) -> tuple[list[str], np.ndarray]:
    """System names and their ``(n_systems, n_queries)`` scores on the sorted query ids."""
    if not scores:
        raise ValueError("scores is empty: need at least one system")
    names = list(scores)
    reference = names[0]
    query_ids = sorted(scores[reference])
    if not query_ids:
        raise ValueError(f"system {reference!r} has no query scores")
    expected = set(query_ids)
    for name in names[1:]:
        scored = set(scores[name])
        if scored != expected:
            raise ValueError(
                f"system {name!r} was not scored on the same queries as {reference!r}: "
                f"missing {_preview(expected - scored)}, unexpected {_preview(scored - expected)}"
            )
    matrix = np.array([[scores[name][q] for q in query_ids] for name in names], dtype=np.float64)
    bad = [
        name for name, values in zip(names, matrix, strict=True) if not np.all(np.isfinite(values))
    ]
    if bad:
        raise ValueError(f"systems {bad} have non-finite scores")
    return names, matrix


def _checked_pairs(pairs: Sequence[tuple[str, str]], names: list[str]) -> list[tuple[str, str]]:
    unknown = sorted({name for pair in pairs for name in pair} - set(names))
    if unknown:
        raise ValueError(f"pairs name unknown systems {unknown}; known systems are {names}")
    seen: set[frozenset[str]] = set()
    for a, b in pairs:
        key = frozenset((a, b))
        if a == b or key in seen:
            raise ValueError(f"pair ({a!r}, {b!r}) compares a system with itself or repeats a pair")
        seen.add(key)
    return list(pairs)


def _preview(ids: set[str], limit: int = 10) -> str:
    shown = sorted(ids)[:limit]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{shown}{more}"
