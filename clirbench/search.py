"""Exact top-k search over dense vectors by chunked matrix products, with bounded memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from clirbench.method import Run

SCORE_BUDGET_BYTES = 256 * 2**20  # the largest block of scores held at once


def topk(queries: np.ndarray, docs: np.ndarray, k: int, budget_bytes: int = SCORE_BUDGET_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores (each ``n_queries x min(k, n_docs)``) of the best docs by dot product.

    Scores are computed one block of documents at a time and merged into a running top-k, so
    memory stays near ``budget_bytes`` whatever the collection size.
    """
    n_queries, n_docs = len(queries), len(docs)
    k = min(k, n_docs)
    chunk = max(k, budget_bytes // (4 * max(n_queries, 1)))
    best_scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((n_queries, 0), dtype=np.int64)
    rows = np.arange(n_queries)[:, None]
    for start in range(0, n_docs, chunk):
        scores = queries @ docs[start : start + chunk].T
        if scores.shape[1] > k:
            part = np.argpartition(scores, -k, axis=1)[:, -k:]
            scores = scores[rows, part]
            ids = part + start
        else:
            ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_ids = np.concatenate([best_ids, ids], axis=1)
        if best_scores.shape[1] > k:
            keep = np.argpartition(best_scores, -k, axis=1)[:, -k:]
            best_scores, best_ids = best_scores[rows, keep], best_ids[rows, keep]
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return best_ids[rows, order], best_scores[rows, order]


def exact_search(
    queries: np.ndarray, docs: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str], k: int
) -> Run:
    """Top-k run for every query. Unlike BEIR, a document whose id equals the query id is kept."""
    from clirbench.progress import progress

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    docs = np.ascontiguousarray(docs, dtype=np.float32)
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(f"query vectors have {queries.shape[1]} dimensions, document vectors {docs.shape[1]}")
    run: Run = {}
    block = 1024
    with progress(f"searching {len(doc_ids)} documents", total=len(query_ids)) as advance:
        for start in range(0, len(query_ids), block):
            ids, scores = topk(queries[start : start + block], docs, k)
            for qid, row_ids, row_scores in zip(query_ids[start : start + block], ids.tolist(), scores.tolist()):
                run[qid] = {doc_ids[i]: s for i, s in zip(row_ids, row_scores)}
            advance(len(ids))
    return run
