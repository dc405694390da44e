"""Leaderboard statistics: paired significance tests on per-query scores."""

from clirbench.stats.comparison import Comparison, compare_systems, tied_with_best
from clirbench.stats.correction import adjust, benjamini_hochberg, holm
from clirbench.stats.paired import (
    all_pairs_bootstrap_ci,
    all_pairs_randomization,
    bootstrap_ci,
    cohens_dz,
    mean_difference,
    paired_t_test,
    randomization_test,
)

__all__ = [
    "Comparison",
    "adjust",
    "all_pairs_bootstrap_ci",
    "all_pairs_randomization",
    "benjamini_hochberg",
    "bootstrap_ci",
    "cohens_dz",
    "compare_systems",
    "holm",
    "mean_difference",
    "paired_t_test",
    "randomization_test",
    "tied_with_best",
]
