"""Search + evaluation at scale: time and peak memory against the corpus size, per backend.

Synthetic clustered unit vectors (default 1,000,000 documents x 384 dimensions, float32) are
written once as ``.npy`` shards of 250,000 documents under ``--dir`` (default under /tmp). Each
(backend, corpus size) then runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own:

- ``sharded``: clirbench's exact search over the shard files, read block by block (never all
  in memory; target: peak memory flat in the corpus size beyond the shard size);
- ``in-memory``: clirbench's exact search over the whole matrix loaded into memory;
- ``numpy-before``: the numpy argpartition search clirbench had before, on the loaded matrix;
- ``flat``, ``hnsw``: faiss through clirbench (flat one shard at a time; hnsw builds an index
  of every vector, only at ``--hnsw-sizes``). Recall@k against exact search is printed.

Each query is a noisy copy of one document, judged relevant; nDCG@10 is computed through
clirbench's evaluation, inside the timed and measured part. Run from the repository root:
``nice -n 10 python benchmarks/bench_search.py [--sizes 250000,500000,1000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SHARD_DOCS = 250_000
CLUSTERS = 2_000
NOISE = 0.35  # a document: its cluster's centre plus this much noise (per dimension)
QUERY_NOISE = 2.0  # a query: its document plus noise of this norm (documents have norm 1)
MODES = ("sharded", "in-memory", "numpy-before", "flat", "hnsw")
HNSW = {"m": 16, "ef_construction": 64, "ef_search": 128}


class DocIds(Sequence):
    """``d0``, ``d1``, ... made on demand: a million id strings would weigh on the memory figure."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [f"d{j}" for j in range(*i.indices(self.n))]
        if not 0 <= i < self.n:
            raise IndexError(i)
        return f"d{i}"


def make_data(folder: Path, n_docs: int, n_queries: int, dim: int, shard_docs: int) -> None:
    """Shards of unit vectors around random cluster centres, and queries near known documents."""
    folder.mkdir(parents=True, exist_ok=True)
    centres = np.random.default_rng(0).standard_normal((CLUSTERS, dim), dtype=np.float32)
    for shard in range(-(-n_docs // shard_docs)):
        path = folder / f"docs-{shard:03d}.npy"
        rows = min(shard_docs, n_docs - shard * shard_docs)
        if path.exists() and np.load(path, mmap_mode="r").shape == (rows, dim):
            continue
        rng = np.random.default_rng(1 + shard)
        out = np.lib.format.open_memmap(
            folder / "partial.npy", mode="w+", dtype=np.float32, shape=(rows, dim)
        )
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            noise = rng.standard_normal((n, dim), dtype=np.float32)
            block = centres[rng.integers(0, CLUSTERS, n)] + NOISE * noise
            out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
        out.flush()
        del out
        os.replace(folder / "partial.npy", path)
    rng = np.random.default_rng(12345)
    first = np.load(folder / "docs-000.npy", mmap_mode="r")
    targets = np.sort(rng.choice(len(first), n_queries, replace=False))
    noise = rng.standard_normal((n_queries, dim), dtype=np.float32)
    queries = first[targets] + QUERY_NOISE * noise / np.sqrt(dim)
    np.save(
        folder / "queries.npy",
        (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32),
    )
    np.save(folder / "targets.npy", targets)


def numpy_before(queries: np.ndarray, docs: np.ndarray, k: int, budget_bytes: int = 256 * 2**20):
    """clirbench's exact search before torch: numpy argpartition per chunk, merged."""
    n_queries, n_docs = len(queries), len(docs)
    chunk = max(k, budget_bytes // (4 * n_queries))
    best_scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((n_queries, 0), dtype=np.int64)
    rows = np.arange(n_queries)[:, None]
    for start in range(0, n_docs, chunk):
        scores = queries @ docs[start : start + chunk].T
        part = np.argpartition(scores, -k, axis=1)[:, -k:]
        best_scores = np.concatenate([best_scores, scores[rows, part]], axis=1)
        best_ids = np.concatenate([best_ids, part + start], axis=1)
        keep = np.argpartition(best_scores, -k, axis=1)[:, -k:]
        best_scores, best_ids = best_scores[rows, keep], best_ids[rows, keep]
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return best_ids[rows, order], best_scores[rows, order]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(mode: str, folder: Path, n_docs: int, k: int, shard_docs: int) -> None:
    """One measurement in this (fresh) process; prints one JSON line."""
    import torch  # noqa: F401 - import costs stay out of the baseline

    from clirbench.evaluation import aggregate, evaluate
    from clirbench.search import SearchOptions, search

    queries = np.load(folder / "queries.npy")
    targets = np.load(folder / "targets.npy")
    shards = [folder / f"docs-{i:03d}.npy" for i in range(-(-n_docs // shard_docs))]
    doc_ids, query_ids = DocIds(n_docs), [f"q{i}" for i in range(len(queries))]
    qrels = {qid: {doc_ids[int(target)]: 1} for qid, target in zip(query_ids, targets, strict=True)}
    baseline = rss_mib()
    started = time.perf_counter()
    if mode == "sharded":
        run = search(queries, shards, query_ids, doc_ids, k)
    elif mode in ("in-memory", "numpy-before"):
        docs = np.empty((n_docs, queries.shape[1]), dtype=np.float32)
        for i, path in enumerate(shards):  # read straight into place: no second copy held
            offset = np.load(path, mmap_mode="r").offset
            with path.open("rb") as file:
                file.seek(offset)
                file.readinto(docs[i * shard_docs : (i + 1) * shard_docs])
        started = time.perf_counter()  # loading the matrix is not search
        if mode == "in-memory":
            run = search(queries, docs, query_ids, doc_ids, k)
        else:
            ids, scores = numpy_before(queries, docs, k)
            run = {
                q: {doc_ids[i]: s for i, s in zip(r, v, strict=True)}
                for q, r, v in zip(query_ids, ids.tolist(), scores.tolist(), strict=True)
            }
    else:
        options = SearchOptions(**HNSW) if mode == "hnsw" else SearchOptions()
        run = search(queries, shards, query_ids, doc_ids, k, backend=mode, options=options)
    scores = aggregate(evaluate(run, qrels, ["nDCG@10", f"R@{k}"]))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    top = np.array([[int(d[1:]) for d in run[q]] for q in query_ids])
    np.save(folder / f"top-{mode}-{n_docs}.npy", top)
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "baseline_mib": baseline, **scores}))


def measure(mode: str, folder: Path, n_docs: int, k: int, shard_docs: int) -> dict | None:
    command = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--dir",
        str(folder),
        "--k",
        str(k),
        "--sizes",
        str(n_docs),
        "--shard-docs",
        str(shard_docs),
    ]
    # OpenMP threads that spin while waiting lose badly on a shared, busy machine
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"{mode} at {n_docs} failed:\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="250000,500000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--hnsw-sizes", default="250000", help="hnsw builds slowly on 2 cores")
    parser.add_argument(
        "--shard-docs", type=int, default=SHARD_DOCS, help="sizes must be multiples"
    )
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "clirbench-bench-search"
    )
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.worker:
        worker(args.worker, args.dir, sizes[0], args.k, args.shard_docs)
        return
    print(f"load average before: {load()} ({os.cpu_count()} CPUs)")
    started = time.perf_counter()
    make_data(args.dir, max(sizes), args.queries, args.dim, args.shard_docs)
    print(
        f"data: {max(sizes)} x {args.dim} float32 in {args.dir} "
        f"({time.perf_counter() - started:.0f} s), "
        f"{args.queries} queries, top {args.k}, shards of {args.shard_docs}, faiss hnsw {HNSW}"
    )
    print(
        f"{'backend':13s} {'documents':>9s} {'time s':>7s} {'peak MiB':>9s} {'growth':>7s} "
        f"{'nDCG@10':>8s} {'R@' + str(args.k):>6s} {'recall vs exact':>15s}"
    )
    for n_docs in sizes:
        for mode in args.modes.split(","):
            if mode == "hnsw" and str(n_docs) not in args.hnsw_sizes.split(","):
                continue
            result = measure(mode, args.dir, n_docs, args.k, args.shard_docs)
            if result is None:
                continue
            recall = ""
            exact = args.dir / f"top-sharded-{n_docs}.npy"
            if mode != "sharded" and exact.exists():
                found, truth = np.load(args.dir / f"top-{mode}-{n_docs}.npy"), np.load(exact)
                overlaps = [
                    len(set(a) & set(b)) / len(b) for a, b in zip(found, truth, strict=True)
                ]
                recall = f"{np.mean(overlaps):.4f}"
            growth = result["peak_mib"] - result["baseline_mib"]
            print(
                f"{mode:13s} {n_docs:9d} {result['seconds']:7.2f} {result['peak_mib']:9.0f} "
                f"{growth:7.0f} "
                f"{result['nDCG@10']:8.4f} {result[f'R@{args.k}']:6.4f} {recall:>15s}",
                flush=True,
            )
    print(f"load average after: {load()}; growth = peak RSS - RSS before the search (MiB)")


if __name__ == "__main__":
    main()
