"""Exact top-k search over dense vectors by chunked matrix products, with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from clirbench.method import Run

SCORE_BUDGET_BYTES = 256 * 2**20  # the largest block of scores held at once


def topk(
    queries: np.ndarray,
    docs: np.ndarray,
    k: int,
    budget_bytes: int = SCORE_BUDGET_BYTES,
    owners: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores (each ``n_queries x min(k, n_docs)``) of the best docs by dot product.

    Scores are computed one block of documents at a time and merged into a running top-k, so
    memory stays near ``budget_bytes`` whatever the collection size. With ``owners`` (for each
    row of ``docs``, the index of its document: ascending, every document present), rows are
    passages and a document scores its best passage (MaxP); indices are then documents.
    """
    n_queries = len(queries)
    rows_per_block = max(1, budget_bytes // (4 * max(n_queries, 1)))
    if owners is None:
        n_docs = len(docs)
        chunk = max(min(k, n_docs), rows_per_block)
        blocks = ((s, queries @ docs[s : s + chunk].T) for s in range(0, n_docs, chunk))
    else:
        n_docs = int(owners[-1]) + 1 if len(owners) else 0
        blocks = _best_passage_blocks(queries, docs, owners, n_docs, rows_per_block)
    k = min(k, n_docs)
    best_scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((n_queries, 0), dtype=np.int64)
    rows = np.arange(n_queries)[:, None]
    for start, scores in blocks:
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


def _best_passage_blocks(
    queries: np.ndarray, passages: np.ndarray, owners: np.ndarray, n_docs: int, rows: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(first document, each query's best passage score per document) for runs of whole
    documents holding about ``rows`` passages (at least one document) each."""
    bounds = np.searchsorted(owners, np.arange(n_docs + 1))  # each document's first row
    first = 0
    while first < n_docs:
        last = int(np.searchsorted(bounds, bounds[first] + rows, side="right")) - 1
        last = min(max(last, first + 1), n_docs)
        begin, end = int(bounds[first]), int(bounds[last])
        scores = queries @ passages[begin:end].T
        yield first, np.maximum.reduceat(scores, bounds[first:last] - begin, axis=1)
        first = last


def exact_search(
    queries: np.ndarray,
    docs: np.ndarray,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    k: int,
    owners: np.ndarray | None = None,
) -> Run:
    """Top-k run for every query. Unlike BEIR, a document whose id equals the query id is kept.

    ``owners``: rows of ``docs`` are passages of the documents at these indices (see ``topk``).
    """
    from clirbench.progress import progress

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    docs = np.ascontiguousarray(docs, dtype=np.float32)
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(f"query vectors have {queries.shape[1]} dimensions, document vectors {docs.shape[1]}")
    run: Run = {}
    block = 1024
    with progress(f"searching {len(doc_ids)} documents", total=len(query_ids)) as advance:
        for start in range(0, len(query_ids), block):
            ids, scores = topk(queries[start : start + block], docs, k, owners=owners)
            for qid, row_ids, row_scores in zip(query_ids[start : start + block], ids.tolist(), scores.tolist()):
                run[qid] = {doc_ids[i]: s for i, s in zip(row_ids, row_scores)}
            advance(len(ids))
    return run
