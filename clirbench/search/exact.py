"""Exact top-k search over dense vectors: blocked matrix products and top-k in torch.

Memory stays near ``budget_bytes`` of scores plus one block of vectors, whatever the collection
size. The documents are one array or a sequence of shards (arrays, memory maps or ``.npy``
files read block by block) that are never joined: each shard gives its top k (map) and the
shards' top k are merged (reduce).

Every result follows the one strict order that evaluation and TREC run files use: score
descending, then document id. Which of several equal scores makes the top k therefore never
depends on block or shard sizes, and the top 10 is the first 10 of the top 100.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clirbench.errors import InputError

if TYPE_CHECKING:
    import torch

    from clirbench.method import Run

SCORE_BUDGET_BYTES = 256 * 2**20  # the largest block of scores held at once
QUERY_BLOCK = 1024  # queries scored together against each block of documents

Shard = np.ndarray | str | os.PathLike
"""Document vectors: an array (a ``np.memmap`` too) or the path of a 2-D float32 ``.npy`` file."""

Hits = tuple[np.ndarray, np.ndarray]
"""Document positions (int64) and scores (float32), each ``n_queries x k``, best first."""


class TieOrder:
    """The order among equal scores: by document id, else by position in the collection.

    Ranks are only ever compared among the documents of one call, so only those ids are
    sorted: untied searches sort none, and memory does not grow with the collection.
    """

    def __init__(self, doc_ids: Sequence[str] | None = None) -> None:
        self.doc_ids = doc_ids

    def of(self, positions: torch.Tensor) -> torch.Tensor:
        """Ranks, among themselves, of documents given by their positions in the collection."""
        import torch

        if self.doc_ids is None:
            return positions
        ids = [self.doc_ids[position] for position in positions.tolist()]
        order = sorted(range(len(ids)), key=ids.__getitem__)
        ranks = torch.empty(len(ids), dtype=torch.int64)
        ranks[torch.tensor(order, dtype=torch.int64)] = torch.arange(len(ids))
        return ranks


def topk(
    queries: np.ndarray,
    docs: Shard | Sequence[Shard],
    k: int,
    budget_bytes: int = SCORE_BUDGET_BYTES,
    doc_ids: Sequence[str] | None = None,
) -> Hits:
    """The best ``min(k, n_docs)`` documents of each query by dot product, best first.

    ``docs`` is one array or a sequence of shards, searched one after the other and never
    joined. Equal scores are ordered by ``doc_ids`` when given, else by position.
    """
    shards = as_shards(docs)
    ties = TieOrder(doc_ids)
    parts, offset = [], 0
    for shard in shards:
        parts.append(shard_topk(queries, shard, k, offset, budget_bytes, ties))
        offset += _rows(shard)
    return merge_topk(parts, k, ties, len(queries))


def shard_topk(
    queries: np.ndarray,
    shard: Shard,
    k: int,
    offset: int = 0,
    budget_bytes: int = SCORE_BUDGET_BYTES,
    ties: TieOrder | None = None,
) -> Hits:
    """The map step: one shard's top k, positions counted from ``offset`` (the shard's first
    document in the whole collection), so that ``merge_topk`` can join shards' results."""
    import torch

    ties = ties or TieOrder()
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim != 2:
        raise ValueError(f"query vectors must be a 2-D array, got shape {queries.shape}")
    n_queries, dim = queries.shape
    query_block = max(1, min(n_queries, QUERY_BLOCK))
    doc_block = max(k, budget_bytes // (4 * query_block))
    buffer = np.empty(query_block * min(doc_block, _rows(shard)), dtype=np.float32)
    found_ids, found_scores = [], []
    for start in range(0, n_queries, query_block):
        block_queries = queries[start : start + query_block]
        best: tuple[torch.Tensor, torch.Tensor] | None = None
        for first, block in _blocks(shard, doc_block, dim):
            # numpy's product, as before torch came in: the same scores to the last bit
            scores = buffer[: len(block_queries) * len(block)].reshape(
                len(block_queries), len(block)
            )
            np.matmul(block_queries, block.T, out=scores)
            positions = torch.arange(offset + first, offset + first + len(block))
            found = _best(torch.from_numpy(scores), positions, k, ties)
            best = found if best is None else _merge(best, found, k, ties)
        if best is None:  # an empty shard
            best = (
                torch.empty((len(block_queries), 0)),
                torch.empty((len(block_queries), 0), dtype=torch.int64),
            )
        found_scores.append(best[0])
        found_ids.append(best[1])
    if not found_ids:
        return np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    top_scores, top_ids = _order(torch.cat(found_scores), torch.cat(found_ids), ties)
    return top_ids.numpy(), top_scores.numpy()


def merge_topk(
    parts: Iterable[Hits], k: int, ties: TieOrder | None = None, n_queries: int = 0
) -> Hits:
    """The reduce step: the top k of several shards' results (positions already global)."""
    import torch

    ties = ties or TieOrder()
    best: tuple[torch.Tensor, torch.Tensor] | None = None
    for ids, scores in parts:
        scores = np.require(scores, np.float32, ["C", "W"])
        ids = np.require(ids, np.int64, ["C", "W"])
        found = torch.from_numpy(scores), torch.from_numpy(ids)
        best = found if best is None else _merge(best, found, k, ties)
    if best is None:
        return np.zeros((n_queries, 0), dtype=np.int64), np.zeros((n_queries, 0), dtype=np.float32)
    top_scores, top_ids = _order(*best, ties)
    return top_ids.numpy(), top_scores.numpy()


def exact_search(
    queries: np.ndarray,
    docs: Shard | Sequence[Shard],
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    k: int,
    budget_bytes: int = SCORE_BUDGET_BYTES,
) -> Run:
    """Top-k run for every query. Unlike BEIR, a document whose id equals the query id is kept."""
    from clirbench.progress import progress

    shards = as_shards(docs)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    vector_dims(queries, shards, len(doc_ids))
    run: Run = {}
    block = QUERY_BLOCK
    with progress(f"searching {len(doc_ids)} documents", total=len(query_ids)) as advance:
        for start in range(0, len(query_ids), block):
            ids, scores = topk(queries[start : start + block], shards, k, budget_bytes, doc_ids)
            for qid, row_ids, row_scores in zip(
                query_ids[start : start + block], ids.tolist(), scores.tolist(), strict=True
            ):
                run[qid] = dict(zip([doc_ids[i] for i in row_ids], row_scores, strict=True))
            advance(len(ids))
    return run


def best_passage_search(
    queries: np.ndarray,
    passages: np.ndarray,
    owners: np.ndarray,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    k: int,
    budget_bytes: int = SCORE_BUDGET_BYTES,
) -> Run:
    """MaxP (Dai & Callan 2019): each document scores its best passage, exactly.

    ``passages`` holds passage vectors grouped by document: ``owners[i]`` is the position of
    passage i's document, ascending, every document present. Scores are computed for runs of
    whole documents within ``budget_bytes``, so the query x passage matrix is never held; the
    top k follows the same strict order as :func:`exact_search`.
    """
    import torch

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    passages = np.ascontiguousarray(passages, dtype=np.float32)
    ties = TieOrder(doc_ids)
    n_docs = len(doc_ids)
    run: Run = {}
    for start in range(0, len(query_ids), QUERY_BLOCK):
        block_queries = queries[start : start + QUERY_BLOCK]
        rows = max(1, budget_bytes // (4 * len(block_queries)))
        best: tuple[torch.Tensor, torch.Tensor] | None = None
        for first, scores in _best_passage_blocks(block_queries, passages, owners, n_docs, rows):
            positions = torch.arange(first, first + scores.shape[1])
            found = _best(torch.from_numpy(np.ascontiguousarray(scores)), positions, k, ties)
            best = found if best is None else _merge(best, found, k, ties)
        if best is None:
            continue
        ordered_scores, ordered_ids = _order(*best, ties)
        for qid, row_ids, row_scores in zip(
            query_ids[start : start + QUERY_BLOCK],
            ordered_ids.tolist(),
            ordered_scores.tolist(),
            strict=True,
        ):
            run[qid] = dict(zip([doc_ids[i] for i in row_ids], row_scores, strict=True))
    return run


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


def _best(
    scores: torch.Tensor, positions: torch.Tensor, k: int, ties: TieOrder
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best (score, position) of each row, in no particular order.

    ``positions`` is one row shared by all rows of ``scores`` or one row per row. torch's top
    k picks arbitrarily among scores equal to the k-th; rows where such a tie crosses the cut
    are redone exactly, by tie rank (rare: real vectors seldom tie).
    """
    import torch

    n_rows, n_columns = scores.shape
    shared = positions.dim() == 1
    if n_columns <= k:  # a copy: ``scores`` may be a buffer the next block overwrites
        return scores.clone(), positions.expand(n_rows, -1) if shared else positions
    values, columns = torch.topk(scores, k + 1, dim=1)
    tied = torch.nonzero(values[:, k - 1] == values[:, k]).flatten().tolist()
    values = values[:, :k].contiguous()
    found = (
        positions[columns[:, :k]] if shared else positions.gather(1, columns[:, :k])
    ).contiguous()
    for row in tied:
        row_positions = positions if shared else positions[row]
        values[row], found[row] = _cut_tie(scores[row], row_positions, values[row, k - 1], k, ties)
    return values, found


def _cut_tie(
    scores: torch.Tensor, positions: torch.Tensor, threshold: torch.Tensor, k: int, ties: TieOrder
) -> tuple[torch.Tensor, torch.Tensor]:
    """One row's k best when several scores equal the k-th: those above, then the tie by rank."""
    import torch

    above = torch.nonzero(scores > threshold).flatten()
    level = torch.nonzero(scores == threshold).flatten()
    level = level[torch.argsort(ties.of(positions[level]), stable=True)[: k - len(above)]]
    keep = torch.cat([above, level])
    return scores[keep], positions[keep]


def _merge(
    best: tuple[torch.Tensor, torch.Tensor],
    found: tuple[torch.Tensor, torch.Tensor],
    k: int,
    ties: TieOrder,
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    return _best(
        torch.cat([best[0], found[0]], dim=1), torch.cat([best[1], found[1]], dim=1), k, ties
    )


def _order(
    scores: torch.Tensor, positions: torch.Tensor, ties: TieOrder
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row sorted by score descending, then tie rank."""
    import torch

    scores, permutation = torch.sort(scores, dim=1, descending=True, stable=True)
    positions = positions.gather(1, permutation)
    for row in torch.nonzero((scores[:, 1:] == scores[:, :-1]).any(dim=1)).flatten().tolist():
        by_rank = torch.argsort(ties.of(positions[row]), stable=True)
        by_rank = by_rank[torch.argsort(scores[row, by_rank], descending=True, stable=True)]
        scores[row], positions[row] = scores[row, by_rank], positions[row, by_rank]
    return scores, positions


def as_shards(docs: Shard | Sequence[Shard]) -> list[Shard]:
    """One array or path as a list of one shard; a sequence of shards as a list."""
    if isinstance(docs, (np.ndarray, str, os.PathLike)):
        return [docs]
    return list(docs)


def _blocks(shard: Shard, rows: int, dim: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, block) pairs of at most ``rows`` rows; ``.npy`` files are read, not mapped,
    so a file's pages never count towards the process's memory."""
    if not isinstance(shard, (str, os.PathLike)):
        array = np.asarray(shard)
        if array.ndim != 2:
            raise ValueError(f"document vectors must be a 2-D array, got shape {array.shape}")
        if array.shape[1] != dim:
            raise ValueError(
                f"query vectors have {dim} dimensions, document vectors {array.shape[1]}"
            )
        for start in range(0, len(array), rows):  # float32, as the scores are (no copy if so)
            yield start, np.ascontiguousarray(array[start : start + rows], dtype=np.float32)
        return
    path = Path(shard)
    n_rows, n_dims, data_offset = _npy_header(path)
    if n_dims != dim:
        raise ValueError(
            f"query vectors have {dim} dimensions, document vectors in {path} {n_dims}"
        )
    buffer = np.empty((min(rows, n_rows), n_dims), dtype=np.float32)
    with path.open("rb") as file:
        file.seek(data_offset)
        for start in range(0, n_rows, rows):
            block = buffer[: min(rows, n_rows - start)]
            if file.readinto(block.data) != block.nbytes:
                raise InputError(path, None, "the file ends before its last vector; write it again")
            yield start, block


def _npy_header(path: Path) -> tuple[int, int, int]:
    """Rows, dimensions and data offset of a 2-D little-endian float32 C-order ``.npy`` file."""
    try:
        mapped = np.load(path, mmap_mode="r")  # reads the header only
    except OSError as error:
        raise InputError(
            path, None, f"cannot read document vectors: {error.strerror or error}"
        ) from None
    except ValueError as error:
        raise InputError(path, None, f"not a .npy file of vectors ({error})") from None
    shape, dtype, offset = mapped.shape, mapped.dtype, mapped.offset
    in_c_order = mapped.flags.c_contiguous
    del mapped
    if len(shape) != 2 or not in_c_order or dtype != np.dtype("<f4"):
        raise InputError(
            path,
            None,
            f"expected a 2-D float32 array in C order, got shape {shape}, dtype {dtype}; "
            "save it with np.save(path, np.ascontiguousarray(vectors, dtype='float32'))",
        )
    return shape[0], shape[1], offset


def vector_dims(queries: np.ndarray, shards: Sequence[Shard], n_doc_ids: int) -> int:
    """The vectors' dimensions, checked: queries and every shard alike, one id per document."""
    if queries.ndim != 2:
        raise ValueError(f"query vectors must be a 2-D array, got shape {queries.shape}")
    dims = {_dim(shard) for shard in shards}
    if dims - {queries.shape[1]}:
        raise ValueError(
            f"query vectors have {queries.shape[1]} dimensions, document vectors {sorted(dims)}"
        )
    n_docs = sum(_rows(shard) for shard in shards)
    if n_docs != n_doc_ids:
        raise ValueError(f"{n_doc_ids} document ids for {n_docs} document vectors")
    return queries.shape[1]


def _rows(shard: Shard) -> int:
    return _npy_header(Path(shard))[0] if isinstance(shard, (str, os.PathLike)) else len(shard)


def _dim(shard: Shard) -> int:
    if isinstance(shard, (str, os.PathLike)):
        return _npy_header(Path(shard))[1]
    shape = np.shape(shard)
    if len(shape) != 2:
        raise ValueError(f"document vectors must be a 2-D array, got shape {shape}")
    return shape[1]
