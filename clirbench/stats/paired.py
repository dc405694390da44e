"""Paired tests, bootstrap intervals and effect sizes on per-query score vectors.

Every function takes scores of two systems on the same queries, in the same
order.  Resampling functions are deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

# Resampling matrices are built in chunks of about this many entries (32 MiB in float64).
_CHUNK_ELEMENTS = 1 << 22
# A resampled statistic within this fraction of sum(|d|) of the observed one counts as a tie,
# so that ties are not lost to floating-point rounding in the matrix product.
_TIE_TOLERANCE = 1e-9
_SIGN = np.array([1.0, -1.0])


def randomization_test(
    a: ArrayLike, b: ArrayLike, *, n_resamples: int = 10_000, seed: int = 0
) -> float:
    """Two-sided paired randomization (sign-flip) test of ``mean(a - b) == 0``.

    ``p = (1 + #{resamples with |mean(s * d)| >= |mean(d)|}) / (1 + n_resamples)``
    with ``d = a - b`` and random signs ``s``.  Gives exactly the p-value that
    :func:`all_pairs_randomization` gives for the same pair and seed.
    """
    x, y = _paired(a, b)
    return float(
        all_pairs_randomization(np.vstack([x, y]), [(0, 1)], n_resamples=n_resamples, seed=seed)[0]
    )


def all_pairs_randomization(
    scores: ArrayLike,
    pairs: Sequence[tuple[int, int]] | None = None,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> np.ndarray:
    """Randomization-test p-values for many pairs of systems at once.

    ``scores`` has shape ``(n_systems, n_queries)``; ``pairs`` are row indices
    (default: every ``i < j``).  All pairs share one random sign matrix, so the
    test statistics of every pair and resample come from one matrix product.
    """
    matrix = _score_matrix(scores)
    _check_resamples(n_resamples)
    index_pairs = _index_pairs(pairs, matrix.shape[0])
    first, second = index_pairs.T
    diffs = matrix[first] - matrix[second]
    observed = np.abs(diffs.sum(axis=1))
    threshold = observed - _TIE_TOLERANCE * np.abs(diffs).sum(axis=1)
    hits = np.zeros(len(index_pairs), dtype=np.int64)
    rng = np.random.default_rng(seed)
    n_queries = matrix.shape[1]
    for rows in _chunk_sizes(n_resamples, n_queries):
        random_bytes = rng.integers(0, 256, size=(rows, (n_queries + 7) // 8), dtype=np.uint8)
        signs = _SIGN[np.unpackbits(random_bytes, axis=1, count=n_queries)]
        hits += (np.abs(diffs @ signs.T) >= threshold[:, None]).sum(axis=1)
    return (1.0 + hits) / (1.0 + n_resamples)


def bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(a)``, or of ``mean(a - b)`` when ``b`` is given."""
    sample = _vector(a, "a") if b is None else np.subtract(*_paired(a, b))
    low, high = _bootstrap_mean_cis(sample[None, :], confidence, n_resamples, seed)[0]
    return float(low), float(high)


def all_pairs_bootstrap_ci(
    scores: ArrayLike,
    pairs: Sequence[tuple[int, int]] | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> np.ndarray:
    """Percentile bootstrap intervals of ``mean(scores[i] - scores[j])`` for many pairs.

    Returns shape ``(n_pairs, 2)``; row ``k`` equals ``bootstrap_ci(scores[i], scores[j])``
    for the same seed, up to floating-point rounding.
    """
    matrix = _score_matrix(scores)
    first, second = _index_pairs(pairs, matrix.shape[0]).T
    return _bootstrap_mean_cis(matrix[first] - matrix[second], confidence, n_resamples, seed)


def paired_t_test(a: ArrayLike, b: ArrayLike) -> float:
    """Two-sided paired t-test p-value; 1.0 when ``a`` and ``b`` are identical."""
    from scipy import stats

    x, y = _paired(a, b, min_queries=2)
    if np.array_equal(x, y):
        return 1.0
    return float(stats.ttest_rel(x, y).pvalue)


def mean_difference(a: ArrayLike, b: ArrayLike) -> float:
    """``mean(a - b)``."""
    x, y = _paired(a, b)
    return float(np.mean(x - y))


def cohens_dz(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's d_z: mean of the differences over their standard deviation (ddof=1).

    0.0 when both are 0; +-inf when only the standard deviation is 0.
    """
    x, y = _paired(a, b, min_queries=2)
    diffs = x - y
    mean = float(diffs.mean())
    sd = float(diffs.std(ddof=1))
    if sd == 0.0:
        return 0.0 if mean == 0.0 else float(np.copysign(np.inf, mean))
    return mean / sd


def _bootstrap_mean_cis(
    samples: np.ndarray, confidence: float, n_resamples: int, seed: int
) -> np.ndarray:
    """Percentile intervals of the mean of each row of ``samples``, shape ``(n_rows, 2)``.

    All rows share the same resamples, drawn as per-query counts so that the
    resampled means are one matrix product.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    _check_resamples(n_resamples)
    n_queries = samples.shape[1]
    rng = np.random.default_rng(seed)
    means = np.empty((samples.shape[0], n_resamples))
    start = 0
    for rows in _chunk_sizes(n_resamples, n_queries):
        draws = rng.integers(0, n_queries, size=(rows, n_queries))
        draws += n_queries * np.arange(rows)[:, None]
        counts = np.bincount(draws.ravel(), minlength=rows * n_queries).reshape(rows, n_queries)
        means[:, start : start + rows] = samples @ counts.T.astype(np.float64) / n_queries
        start += rows
    tail = 50.0 * (1.0 - confidence)
    return np.percentile(means, [tail, 100.0 - tail], axis=1).T


def _chunk_sizes(n_resamples: int, n_queries: int) -> list[int]:
    rows = max(1, _CHUNK_ELEMENTS // n_queries)
    full, rest = divmod(n_resamples, rows)
    return [rows] * full + ([rest] if rest else [])


def _check_resamples(n_resamples: int) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples!r}")


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D score vector, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains non-finite scores")
    return array


def _paired(a: ArrayLike, b: ArrayLike, min_queries: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x, y = _vector(a, "a"), _vector(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must score the same queries, got lengths {x.size} and {y.size}")
    if x.size < min_queries:
        raise ValueError(f"need at least {min_queries} queries, got {x.size}")
    return x, y


def _score_matrix(scores: ArrayLike) -> np.ndarray:
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"scores must have shape (n_systems, n_queries > 0), got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("scores contain non-finite values")
    return matrix


def _index_pairs(pairs: Sequence[tuple[int, int]] | None, n_systems: int) -> np.ndarray:
    if pairs is None:
        pairs = list(combinations(range(n_systems), 2))
    index_pairs = (
        np.asarray(pairs, dtype=np.int64) if len(pairs) else np.empty((0, 2), dtype=np.int64)
    )
    if index_pairs.ndim != 2 or index_pairs.shape[1] != 2:
        raise ValueError(f"pairs must be (i, j) index tuples, got {pairs!r}")
    bad = [
        (int(i), int(j))
        for i, j in index_pairs
        if not (0 <= i < n_systems and 0 <= j < n_systems) or i == j
    ]
    if bad:
        raise ValueError(f"pairs must be distinct system indices in [0, {n_systems}), got {bad}")
    return index_pairs
