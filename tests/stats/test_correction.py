import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from clirbench.stats import adjust, benjamini_hochberg, holm

EDGE_CASES = [
    [0.03],
    [0.0, 1.0],
    [1.0, 1.0, 1.0],
    [0.0, 0.0, 0.0],
    [0.01, 0.01, 0.04, 0.04, 0.5],
    [0.9, 0.001, 0.04, 0.02, 0.5, 0.02],
]
RANDOM_CASES = [
    np.random.default_rng(seed).random(size) ** 3 for seed, size in enumerate([2, 5, 10, 50, 190])
]


@pytest.mark.parametrize("pvalues", EDGE_CASES + RANDOM_CASES)
@pytest.mark.parametrize(("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_matches_statsmodels(ours, method: str, pvalues) -> None:
    expected = multipletests(np.asarray(pvalues), method=method)[1]
    np.testing.assert_allclose(ours(pvalues), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("correct", [holm, benjamini_hochberg])
def test_adjusted_are_monotone_capped_and_at_least_raw(correct) -> None:
    p = np.random.default_rng(99).random(40)
    adjusted = correct(p)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted <= 1.0)
    assert np.all(adjusted >= p)


def test_empty_input() -> None:
    assert holm([]).shape == (0,)
    assert benjamini_hochberg([]).shape == (0,)


def test_adjust_dispatches() -> None:
    p = [0.01, 0.02, 0.3]
    np.testing.assert_array_equal(adjust(p, "holm"), holm(p))
    np.testing.assert_array_equal(adjust(p, "bh"), benjamini_hochberg(p))
    np.testing.assert_array_equal(adjust(p, "none"), p)


def test_adjust_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match=r"'bonferroni'.*'holm', 'bh', 'none'"):
        adjust([0.1], "bonferroni")  # type: ignore[arg-type]


@pytest.mark.parametrize("pvalues", [[0.1, 1.5], [-0.1], [np.nan], [[0.1, 0.2]]])
def test_rejects_invalid_pvalues(pvalues) -> None:
    with pytest.raises(ValueError, match="pvalues"):
        holm(pvalues)


@pytest.mark.parametrize("method", ["holm", "bh", "none"])
@pytest.mark.parametrize("comparisons", [1, 10, 48, 108])
def test_significance_reachable_is_the_best_case_of_real_randomization_tests(
    method, comparisons
) -> None:
    """A system better on every query gets the smallest p-value a randomization test can give,
    1/(1+resamples); the reachability check agrees with correcting ``comparisons`` such tests,
    and ``resamples_for_significance`` resamples are enough."""
    from clirbench.stats.correction import resamples_for_significance, significance_reachable
    from clirbench.stats.paired import randomization_test

    better, worse = np.ones(40), np.zeros(40)
    needed = resamples_for_significance(comparisons, 0.05, method)
    for resamples in {needed - 2, needed - 1, needed, 2 * needed}:
        if resamples < 1:
            continue
        p = randomization_test(better, worse, n_resamples=resamples, seed=0)
        assert p == pytest.approx(1 / (1 + resamples))
        significant = bool(adjust(np.full(comparisons, p), method).min() <= 0.05)
        assert significance_reachable(comparisons, resamples, 0.05, method) is significant
        if resamples >= needed:
            assert significant
    if method == "holm":  # the report's case: 108 comparisons need more than 2,000 resamples
        assert not significance_reachable(108, 2000, 0.05, "holm")
        assert significance_reachable(108, 10_000, 0.05, "holm")
