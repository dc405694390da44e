from __future__ import annotations

import numpy as np
import pytest

from clirbench.search import exact_search, topk


@pytest.mark.parametrize("budget", [64, 4096, 1 << 28])  # tiny budgets force many chunks
def test_topk_matches_full_sort(budget):
    rng = np.random.default_rng(0)
    queries, docs = rng.normal(size=(7, 16)).astype(np.float32), rng.normal(size=(501, 16)).astype(np.float32)
    ids, scores = topk(queries, docs, 10, budget_bytes=budget)
    full = queries @ docs.T
    expected = np.argsort(-full, axis=1)[:, :10]
    assert np.array_equal(ids, expected)
    assert np.allclose(scores, np.take_along_axis(full, expected, axis=1), atol=1e-5)


def test_k_larger_than_collection():
    ids, scores = topk(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), 10)
    assert ids.tolist() == [[0, 1], [1, 0]] and scores.shape == (2, 2)


def test_hit_with_query_id_equal_to_doc_id_is_kept():
    vectors = np.eye(3, dtype=np.float32)
    run = exact_search(vectors, vectors, ["a", "b", "c"], ["a", "b", "c"], k=1)
    assert run == {"a": {"a": 1.0}, "b": {"b": 1.0}, "c": {"c": 1.0}}


def test_dimension_mismatch():
    with pytest.raises(ValueError, match="dimensions"):
        exact_search(np.ones((1, 3)), np.ones((2, 4)), ["q"], ["a", "b"], k=1)
