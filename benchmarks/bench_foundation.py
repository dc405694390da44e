"""Time clirbench's start-up and its search + evaluation against the floors and peers.

1. ``clirbench --help`` against ``python -c "import mteb"`` (target: at most 0.3 s).
2. Exact top-100 search and evaluation on precomputed random vectors (default 200k documents x
   1k queries x 384 dimensions) through clirbench, through plain numpy + pytrec_eval (the
   floor), and through BEIR's ``EvaluateRetrieval`` with exact dense search. Targets: clirbench
   at most 1.0x the floor and at most 0.9x BEIR, in the same run, with the same scores.

Run from the repository root: ``python benchmarks/bench_foundation.py [--docs N --queries N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

import numpy as np

MEASURES = {"nDCG@10": "ndcg_cut_10", "AP": "map", "R@100": "recall_100"}


def best_wall_time(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def startup(repeats: int) -> None:
    cli = shutil.which("clirbench")
    help_time = best_wall_time(
        [cli, "--help"] if cli else [sys.executable, "-m", "clirbench", "--help"], repeats
    )
    mteb_time = best_wall_time([sys.executable, "-c", "import mteb"], max(1, repeats // 2))
    print(
        f"clirbench --help     {help_time:8.3f} s (best of {repeats}; "
        f"target <= 0.3 s: {'OK' if help_time <= 0.3 else 'MISSED'})"
    )
    print(f"python -c 'import mteb' {mteb_time:5.3f} s")
    print(f"ratio import-mteb / clirbench-help: {mteb_time / help_time:.1f}x")


def make_data(n_docs: int, n_queries: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    docs = rng.standard_normal((n_docs, dim), dtype=np.float32)
    queries = rng.standard_normal((n_queries, dim), dtype=np.float32)
    doc_ids = [f"d{i}" for i in range(n_docs)]
    query_ids = [f"q{i}" for i in range(n_queries)]
    # Judge each query's true top-3 plus two random documents, so scores are not all zero.
    top = np.argsort(-(queries @ docs[: min(n_docs, 20000)].T), axis=1)[:, :3]
    qrels = {
        qid: {
            **{doc_ids[j]: 1 for j in top[i]},
            **{doc_ids[j]: 1 for j in rng.integers(0, n_docs, 2)},
        }
        for i, qid in enumerate(query_ids)
    }
    return docs, queries, doc_ids, query_ids, qrels


def clirbench_search_eval(docs, queries, doc_ids, query_ids, qrels, k):
    from clirbench.evaluation import aggregate, evaluate
    from clirbench.search import exact_search

    run = exact_search(queries, docs, query_ids, doc_ids, k)
    return aggregate(evaluate(run, qrels, list(MEASURES)))


def floor_search_eval(docs, queries, doc_ids, query_ids, qrels, k):
    """The least a harness must do: one matrix product, a partial sort, pytrec_eval."""
    import pytrec_eval

    scores = queries @ docs.T
    part = np.argpartition(scores, -k, axis=1)[:, -k:]
    part_scores = np.take_along_axis(scores, part, axis=1)
    run = {
        qid: {doc_ids[j]: s for j, s in zip(part[i].tolist(), part_scores[i].tolist(), strict=True)}
        for i, qid in enumerate(query_ids)
    }
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map", "recall.100"})
    per_query = evaluator.evaluate(run)
    return {
        ours: float(np.mean([per_query[q][theirs] for q in per_query]))
        for ours, theirs in MEASURES.items()
    }


def beir_search_eval(docs, queries, doc_ids, query_ids, qrels, k):
    """BEIR's exact dense search and evaluation, the encoder replaced by a vector lookup."""
    import logging

    from beir.retrieval.evaluation import EvaluateRetrieval
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    logging.getLogger("beir").setLevel(logging.WARNING)

    class Precomputed:
        def encode_queries(self, texts, **kwargs):
            import torch

            return torch.from_numpy(queries[[int(t) for t in texts]])

        def encode_corpus(self, corpus, **kwargs):
            import torch

            return torch.from_numpy(docs[[int(d["text"]) for d in corpus]])

    corpus = {doc_id: {"title": "", "text": str(i)} for i, doc_id in enumerate(doc_ids)}
    query_texts = {qid: str(i) for i, qid in enumerate(query_ids)}
    retriever = EvaluateRetrieval(
        DenseRetrievalExactSearch(Precomputed(), corpus_chunk_size=50000),
        score_function="dot",
        k_values=[10, 100],
    )
    results = retriever.retrieve(corpus, query_texts)
    ndcg, ap, recall, _ = retriever.evaluate(qrels, results, [10, 100])
    return {"nDCG@10": ndcg["NDCG@10"], "AP": ap["MAP@100"], "R@100": recall["Recall@100"]}


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def search(n_docs: int, n_queries: int, dim: int, k: int, repeats: int) -> None:
    data = make_data(n_docs, n_queries, dim)
    print(
        f"\nsearch + evaluation: {n_docs} documents x {n_queries} queries x {dim} dimensions, "
        f"top {k}"
    )
    import pytrec_eval  # noqa: F401

    import clirbench.evaluation  # noqa: F401 - keep first-import costs out of the timings

    rows = {}
    for name, function in [
        ("clirbench", clirbench_search_eval),
        ("numpy + pytrec_eval", floor_search_eval),
        ("BEIR EvaluateRetrieval", beir_search_eval),
    ]:
        times, result = [], None
        for _ in range(repeats):
            seconds, result = timed(function, *data, k)
            times.append(seconds)
        rows[name] = (min(times), result)
        print(
            f"{name:24s} {min(times):7.2f} s   "
            + "  ".join(f"{m} {v:.4f}" for m, v in result.items())
        )
    ratio = rows["clirbench"][0] / rows["numpy + pytrec_eval"][0]
    print(
        f"ratio clirbench / floor: {ratio:.2f}x "
        f"(target <= 1.0x: {'OK' if ratio <= 1.0 else 'MISSED'})"
    )
    ratio = rows["clirbench"][0] / rows["BEIR EvaluateRetrieval"][0]
    print(
        f"ratio clirbench / BEIR: {ratio:.2f}x "
        f"(target <= 0.9x: {'OK' if ratio <= 0.9 else 'MISSED'})"
    )
    printed = {
        name: {m: f"{v:.4f}" for m, v in result.items()} for name, (_, result) in rows.items()
    }
    same = len({tuple(scores.items()) for scores in printed.values()}) == 1
    print(f"same scores from all three (4 decimals): {'OK' if same else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--search-only", action="store_true", help="skip the start-up timings")
    args = parser.parse_args()
    if not args.search_only:
        startup(repeats=5)
    search(args.docs, args.queries, args.dim, args.k, args.repeats)


if __name__ == "__main__":
    main()
