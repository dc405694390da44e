"""One entry point for every search backend: ``search(..., backend, options) -> Run``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from clirbench.search.exact import SCORE_BUDGET_BYTES, Shard, as_shards, exact_search, vector_dims
from clirbench.search.options import BACKEND_OPTIONS, SearchOptions

if TYPE_CHECKING:
    from clirbench.method import Run


def search(
    queries: np.ndarray,
    docs: Shard | Sequence[Shard],
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    k: int,
    backend: str = "exact",
    options: SearchOptions | None = None,
    budget_bytes: int = SCORE_BUDGET_BYTES,
) -> Run:
    """Top-k run for every query through ``backend`` (exact, flat, hnsw or ivf).

    ``docs`` is one array or a sequence of shards (arrays, memory maps, ``.npy`` paths).
    """
    from clirbench.progress import progress
    from clirbench.search.ann import faiss_topk

    if backend not in BACKEND_OPTIONS:
        raise ValueError(f"unknown search backend {backend!r}; known: {', '.join(BACKEND_OPTIONS)}")
    if backend == "exact":
        return exact_search(queries, docs, query_ids, doc_ids, k, budget_bytes)
    shards = as_shards(docs)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    vector_dims(queries, shards, len(doc_ids))
    with progress(
        f"searching {len(doc_ids)} documents ({backend})", total=len(query_ids)
    ) as advance:
        ids, scores = faiss_topk(queries, shards, k, backend, options or SearchOptions(), doc_ids)
        advance(len(query_ids))
    return {
        qid: {doc_ids[i]: score for i, score in zip(row_ids, row_scores, strict=True) if i >= 0}
        for qid, row_ids, row_scores in zip(query_ids, ids.tolist(), scores.tolist(), strict=True)
    }
