import numpy as np
import pytest

from clirbench.stats import (
    Comparison,
    all_pairs_randomization,
    compare_systems,
    holm,
    paired_t_test,
    tied_with_best,
)


def _scores(
    shifts: dict[str, float], n_queries: int = 200, seed: int = 0
) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    base = rng.random(n_queries)
    return {
        name: {
            f"q{q:03d}": float(v)
            for q, v in enumerate(base + shift + rng.normal(0.0, 0.1, n_queries))
        }
        for name, shift in shifts.items()
    }


def _matrix(scores: dict[str, dict[str, float]]) -> np.ndarray:
    return np.array([[per_query[q] for q in sorted(per_query)] for per_query in scores.values()])


def test_compare_systems_matches_building_blocks() -> None:
    scores = _scores({"bm25": 0.0, "dense": 0.1, "hybrid": 0.105})
    comparisons = compare_systems(scores, n_resamples=2_000, seed=5)
    assert [(c.system_a, c.system_b) for c in comparisons] == [
        ("bm25", "dense"),
        ("bm25", "hybrid"),
        ("dense", "hybrid"),
    ]
    matrix = _matrix(scores)
    p_values = all_pairs_randomization(matrix, n_resamples=2_000, seed=5)
    np.testing.assert_array_equal([c.p_value for c in comparisons], p_values)
    np.testing.assert_array_equal([c.p_adjusted for c in comparisons], holm(p_values))
    first = comparisons[0]
    assert isinstance(first, Comparison)
    assert first.difference == pytest.approx(first.mean_a - first.mean_b)
    assert first.ci_low < first.difference < first.ci_high
    assert first.effect_size < 0
    assert [c.significant for c in comparisons] == [True, True, False]


def test_query_order_does_not_matter() -> None:
    scores = _scores({"a": 0.0, "b": 0.02}, n_queries=50)
    shuffled = {name: dict(reversed(list(per_query.items()))) for name, per_query in scores.items()}
    assert compare_systems(scores, n_resamples=500) == compare_systems(shuffled, n_resamples=500)


def test_t_test_and_explicit_pairs() -> None:
    scores = _scores({"a": 0.0, "b": 0.01, "c": 0.02}, n_queries=60)
    comparisons = compare_systems(
        scores, pairs=[("c", "a")], test="t-test", correction="none", n_resamples=500
    )
    assert len(comparisons) == 1
    matrix = _matrix(scores)
    assert (
        comparisons[0].p_value == comparisons[0].p_adjusted == paired_t_test(matrix[2], matrix[0])
    )


def test_identical_systems_are_not_significant() -> None:
    scores = _scores({"a": 0.0})
    scores["copy"] = dict(scores["a"])
    (comparison,) = compare_systems(scores, n_resamples=500)
    assert comparison.p_value == 1.0
    assert not comparison.significant
    assert comparison.effect_size == 0.0


def test_mismatched_queries_raise() -> None:
    scores = _scores({"a": 0.0, "b": 0.1}, n_queries=5)
    del scores["b"]["q003"]
    with pytest.raises(ValueError, match=r"'b'.*missing \['q003'\]"):
        compare_systems(scores)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test": "wilcoxon"}, "unknown test 'wilcoxon'"),
        ({"correction": "bonferroni"}, "unknown correction 'bonferroni'"),
        ({"alpha": 1.5}, "alpha"),
        ({"pairs": [("a", "zzz")]}, "unknown systems \\['zzz'\\]"),
        ({"pairs": [("a", "b"), ("b", "a")]}, "repeats a pair"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare_systems(_scores({"a": 0.0, "b": 0.1}, n_queries=5), n_resamples=10, **kwargs)


def test_tied_with_best() -> None:
    scores = _scores({"weak": 0.0, "best": 0.1, "close": 0.099})
    comparisons = compare_systems(scores, n_resamples=2_000)
    assert tied_with_best(scores, comparisons, alpha=0.05) == ["best", "close"]
    with pytest.raises(ValueError, match="no comparison between the best system 'best' and 'weak'"):
        tied_with_best(scores, [c for c in comparisons if "weak" not in (c.system_a, c.system_b)])
