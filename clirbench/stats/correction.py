"""Multiple-comparison corrections returning adjusted p-values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from typing_extensions import TypeIs

Correction = Literal["holm", "bh", "none"]


def is_correction(name: str) -> TypeIs[Correction]:
    """Whether ``name`` is a correction :func:`adjust` knows (a command-line string)."""
    return name in get_args(Correction)


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (controls the family-wise error rate)."""
    p = _pvalues(pvalues)
    order = np.argsort(p, kind="stable")
    factors = np.arange(p.size, 0, -1)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(factors * p[order]))
    return adjusted


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (controls the false discovery rate)."""
    p = _pvalues(pvalues)
    order = np.argsort(p, kind="stable")
    factors = p.size / np.arange(1, p.size + 1)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.minimum.accumulate((factors * p[order])[::-1])[::-1])
    return adjusted


def adjust(pvalues: ArrayLike, method: Correction) -> np.ndarray:
    """Adjust ``pvalues`` with ``method``: "holm", "bh" (Benjamini-Hochberg) or "none"."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "none":
        return _pvalues(pvalues)
    raise ValueError(f"unknown correction {method!r}; expected one of {get_args(Correction)}")


def significance_reachable(
    comparisons: int, resamples: int, alpha: float, method: Correction
) -> bool:
    """Whether any of ``comparisons`` resampling tests (p >= 1 / (1 + resamples)) can reach
    ``alpha`` after ``method``: the best case, every p-value at that floor, decides.

    Holm multiplies the smallest p-value by the number of comparisons; Benjamini-Hochberg and no
    correction leave it as it is.
    """
    floor = np.full(max(comparisons, 1), 1.0 / (1 + resamples))
    return bool(adjust(floor, method).min() <= alpha)


def resamples_for_significance(comparisons: int, alpha: float, method: Correction) -> int:
    """Resamples with which :func:`significance_reachable` holds, with room for rounding."""
    scale = max(comparisons, 1) if method == "holm" else 1
    return math.ceil(scale / alpha - 1e-9)


def _pvalues(pvalues: ArrayLike) -> np.ndarray:
    p = np.array(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be 1-D, got shape {p.shape}")
    invalid = ~((p >= 0.0) & (p <= 1.0))
    if invalid.any():
        raise ValueError(f"pvalues must be in [0, 1], got {p[invalid].tolist()}")
    return p
