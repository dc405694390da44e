import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from clirbench.stats import (
    all_pairs_bootstrap_ci,
    all_pairs_randomization,
    bootstrap_ci,
    cohens_dz,
    mean_difference,
    paired_t_test,
    randomization_test,
)

N_RESAMPLES = 10_000


def _pair(n_queries: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(n_queries)
    return a, a + shift + rng.normal(0.0, 0.2, n_queries)


def _mc_tolerance(p: float, n: int) -> float:
    return 4.0 * np.sqrt(p * (1.0 - p) / n) + 0.005


def _scipy_randomization_p(a: np.ndarray, b: np.ndarray) -> float:
    """Same statistic as clirbench: |mean(a - b)| under swapping a and b within queries."""
    result = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.abs(np.mean(x - y, axis=axis)),
        permutation_type="samples",
        vectorized=True,
        n_resamples=N_RESAMPLES,
        alternative="greater",
        rng=np.random.default_rng(123),
    )
    return float(result.pvalue)


@pytest.mark.parametrize(
    ("n_queries", "shift", "seed"),
    [(40, 0.05, 1), (60, 0.02, 2), (30, 0.0, 3), (80, 0.03, 4), (80, 0.06, 4)],
)
def test_randomization_matches_scipy_permutation_test(
    n_queries: int, shift: float, seed: int
) -> None:
    a, b = _pair(n_queries, shift, seed)
    p = randomization_test(a, b, n_resamples=N_RESAMPLES, seed=seed)
    p_scipy = _scipy_randomization_p(a, b)
    assert abs(p - p_scipy) < _mc_tolerance(p_scipy, N_RESAMPLES)


def test_randomization_matches_exact_scipy_test_on_few_queries() -> None:
    a, b = _pair(10, 0.1, 5)
    exact = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf,
    ).pvalue
    p = randomization_test(a, b, n_resamples=N_RESAMPLES, seed=0)
    assert abs(p - exact) < _mc_tolerance(exact, N_RESAMPLES)


def test_randomization_is_deterministic_by_seed() -> None:
    a, b = _pair(50, 0.03, 6)
    p = randomization_test(a, b, seed=7)
    assert randomization_test(a, b, seed=7) == p
    other = randomization_test(a, b, seed=8)
    assert other != p
    assert abs(other - p) < 2 * _mc_tolerance(p, N_RESAMPLES)


def test_clear_difference_is_significant() -> None:
    a, b = _pair(200, 0.1, 9)
    assert randomization_test(a, b) == pytest.approx(1 / (1 + N_RESAMPLES))
    assert paired_t_test(a, b) < 1e-6


def test_identical_vectors_have_p_one() -> None:
    a = np.random.default_rng(10).random(100)
    assert randomization_test(a, a.copy()) == 1.0
    assert paired_t_test(a, a.copy()) == 1.0


def test_all_pairs_equals_single_pair() -> None:
    rng = np.random.default_rng(11)
    scores = rng.random((6, 120)) + np.linspace(0.0, 0.1, 6)[:, None]
    p_all = all_pairs_randomization(scores, n_resamples=2_000, seed=3)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    single = [randomization_test(scores[i], scores[j], n_resamples=2_000, seed=3) for i, j in pairs]
    np.testing.assert_array_equal(p_all, single)
    reversed_pairs = [(j, i) for i, j in pairs[:4]]
    np.testing.assert_array_equal(
        all_pairs_randomization(scores, reversed_pairs, n_resamples=2_000, seed=3), single[:4]
    )


def test_chunking_keeps_single_and_all_pairs_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clirbench.stats.paired._CHUNK_ELEMENTS", 1_000)
    scores = np.random.default_rng(12).random((3, 64))
    p_all = all_pairs_randomization(scores, n_resamples=1_001, seed=1)
    assert p_all[1] == randomization_test(scores[0], scores[2], n_resamples=1_001, seed=1)


@pytest.mark.parametrize(
    ("scores", "pairs"),
    [
        (np.zeros((3, 4)), [(0, 3)]),
        (np.zeros((3, 4)), [(1, 1)]),
        (np.zeros((3, 4)), [(0, 1, 2)]),
        (np.zeros(4), None),
    ],
)
def test_all_pairs_rejects_bad_input(scores: np.ndarray, pairs: list | None) -> None:
    with pytest.raises(ValueError):
        all_pairs_randomization(scores, pairs)


def test_randomization_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="lengths 3 and 4"):
        randomization_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])


def test_bootstrap_ci_of_difference_matches_scipy() -> None:
    a, b = _pair(100, 0.03, 13)
    low, high = bootstrap_ci(a, b, n_resamples=N_RESAMPLES, seed=0)
    reference = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=N_RESAMPLES,
        rng=np.random.default_rng(1),
    ).confidence_interval
    tolerance = 0.15 * np.std(a - b) / np.sqrt(a.size)
    assert low == pytest.approx(reference.low, abs=tolerance)
    assert high == pytest.approx(reference.high, abs=tolerance)


def test_bootstrap_ci_of_mean_matches_scipy() -> None:
    a = np.random.default_rng(14).exponential(size=80)
    low, high = bootstrap_ci(a, confidence=0.9, n_resamples=N_RESAMPLES, seed=2)
    reference = stats.bootstrap(
        (a,),
        np.mean,
        confidence_level=0.9,
        method="percentile",
        n_resamples=N_RESAMPLES,
        rng=np.random.default_rng(3),
    ).confidence_interval
    tolerance = 0.15 * np.std(a) / np.sqrt(a.size)
    assert low == pytest.approx(reference.low, abs=tolerance)
    assert high == pytest.approx(reference.high, abs=tolerance)


def test_all_pairs_bootstrap_equals_single_pair() -> None:
    scores = np.random.default_rng(15).random((4, 50))
    intervals = all_pairs_bootstrap_ci(scores, [(0, 1), (3, 2)], n_resamples=1_000, seed=4)
    np.testing.assert_allclose(
        intervals[0], bootstrap_ci(scores[0], scores[1], n_resamples=1_000, seed=4), rtol=1e-12
    )
    np.testing.assert_allclose(
        intervals[1], bootstrap_ci(scores[3], scores[2], n_resamples=1_000, seed=4), rtol=1e-12
    )


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_bootstrap_rejects_bad_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=confidence)


def test_paired_t_test_matches_scipy() -> None:
    a, b = _pair(30, 0.04, 16)
    assert paired_t_test(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)


def test_effect_sizes() -> None:
    a, b = _pair(40, 0.05, 17)
    d = a - b
    assert mean_difference(a, b) == pytest.approx(d.mean())
    assert cohens_dz(a, b) == pytest.approx(d.mean() / d.std(ddof=1))
    assert cohens_dz(a, a) == 0.0
    assert cohens_dz([2.0, 3.0, 5.0], [1.0, 2.0, 4.0]) == np.inf
    assert cohens_dz([1.0, 2.0, 4.0], [2.0, 3.0, 5.0]) == -np.inf


def test_import_does_not_load_scipy() -> None:
    code = "import sys, clirbench.stats; assert 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
