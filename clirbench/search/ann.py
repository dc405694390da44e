"""Search through faiss (optional: ``pip install 'clirbench[faiss]'``), inner product only.

``flat`` is exact brute force, one shard at a time, merged as exact search merges shards.
``hnsw`` and ``ivf`` build an approximate index over all the documents (it holds a copy of
every vector) and may miss documents exact search finds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from clirbench.errors import ClirbenchError, MissingDependencyError
from clirbench.search.exact import Hits, Shard, TieOrder, merge_topk
from clirbench.search.options import SearchOptions, ivf_lists

TRAINING_SEED = 0
TRAINING_POINTS_PER_LIST = 64  # faiss warns below 39 per list and samples 256 per list at most


class SearchDependencyError(MissingDependencyError):
    """A search backend whose package (faiss) is not installed."""

    def __init__(self, backend: str) -> None:
        ClirbenchError.__init__(
            self,
            f"search={backend} needs faiss: pip install 'clirbench[faiss]' (or pip install "
            "faiss-cpu), or use search=exact",
        )


def load_faiss(backend: str) -> ModuleType:
    try:
        import faiss
    except ImportError:
        raise SearchDependencyError(backend) from None
    return faiss


def faiss_topk(
    queries: np.ndarray,
    shards: Sequence[Shard],
    k: int,
    backend: str,
    options: SearchOptions,
    doc_ids: Sequence[str] | None = None,
) -> Hits:
    """Positions and scores of each query's best documents; a position of -1 is no document
    (an approximate index can return fewer than k)."""
    faiss = load_faiss(backend)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if backend == "flat":
        parts, offset = [], 0
        for shard in shards:
            vectors = _read(shard)
            if len(vectors):
                scores, ids = faiss.knn(
                    queries, vectors, min(k, len(vectors)), metric=faiss.METRIC_INNER_PRODUCT
                )
                parts.append((ids + offset, scores))
            offset += len(vectors)
        return merge_topk(parts, k, TieOrder(doc_ids), len(queries))
    index = _build(faiss, shards, queries.shape[1], backend, options)
    scores, ids = index.search(queries, k)
    return ids, scores


def _build(
    faiss: ModuleType, shards: Sequence[Shard], dim: int, backend: str, options: SearchOptions
):
    if backend == "hnsw":
        index = faiss.IndexHNSWFlat(dim, options.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = options.ef_construction
        index.hnsw.efSearch = options.ef_search
    elif backend == "ivf":
        n_docs = sum(_count(shard) for shard in shards)
        nlist = ivf_lists(options, n_docs)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(_training_sample(shards, n_docs, nlist * TRAINING_POINTS_PER_LIST))
        index.nprobe = min(options.nprobe, nlist)
    else:
        raise ValueError(f"unknown faiss backend {backend!r}")
    for shard in shards:
        index.add(_read(shard))
    return index


def _training_sample(shards: Sequence[Shard], n_docs: int, size: int) -> np.ndarray:
    """A seeded random sample of the documents for k-means, read shard by shard."""
    chosen = np.sort(np.random.default_rng(TRAINING_SEED).permutation(n_docs)[:size])
    sample, offset = [], 0
    for shard in shards:
        rows = _count(shard)
        inside = chosen[(chosen >= offset) & (chosen < offset + rows)] - offset
        if len(inside):
            sample.append(np.asarray(_open(shard)[inside], dtype=np.float32))
        offset += rows
    return np.ascontiguousarray(np.concatenate(sample))


def _open(shard: Shard) -> np.ndarray:
    return (
        np.load(shard, mmap_mode="r")
        if isinstance(shard, (str, os.PathLike))
        else np.asarray(shard)
    )


def _count(shard: Shard) -> int:
    return len(_open(shard))


def _read(shard: Shard) -> np.ndarray:
    """A shard's vectors in memory, contiguous float32, as faiss takes them."""
    return np.ascontiguousarray(_open(shard), dtype=np.float32)
