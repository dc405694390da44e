"""Encoding through clirbench against the bare model, and a warm-cache rerun against a cold run.

Targets: clirbench's throughput at least 0.95x sentence-transformers' own ``encode`` on the same
texts, and a rerun from the embedding cache at least 50x faster than the cold run.
Run from the repository root: ``python benchmarks/bench_encoding.py [--texts N --model NAME]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["CLIRBENCH_CACHE"] = tempfile.mkdtemp(prefix="clirbench-bench-")  # a cold cache

    from clirbench.baselines.st import SentenceTransformerEncoder
    from clirbench.registry import build_options
    from clirbench.tasks.builtin.bible import split_pairs

    texts = [pair.eng for pair in split_pairs("test")[: args.texts]]
    options = {"model": args.model, "batch_size": args.batch_size}
    uncached = SentenceTransformerEncoder(build_options("st", {**options, "cache": False}))
    bare = uncached.model  # the same loaded SentenceTransformer, called directly
    prompt = uncached.prompt("document") or None
    bare.encode(texts[:64], prompt=prompt)  # warm-up

    def best(function) -> float:
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
        return min(times)

    bare_s = best(
        lambda: bare.encode(
            texts,
            prompt=prompt,
            batch_size=args.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    )
    ours_s = best(lambda: uncached.encode_all(texts, "eng_Latn", "document"))
    print(
        f"{len(texts)} Bible verses, {args.model}, batch {args.batch_size}, best of {args.repeats}"
    )
    print(f"sentence-transformers encode: {len(texts) / bare_s:8.1f} texts/s")
    print(f"clirbench encode_all:         {len(texts) / ours_s:8.1f} texts/s")
    ratio = bare_s / ours_s
    print(
        f"throughput ratio clirbench / bare: {ratio:.3f}x "
        f"(target >= 0.95x: {'OK' if ratio >= 0.95 else 'MISSED'})"
    )

    cached = SentenceTransformerEncoder(build_options("st", options))
    cached.model  # load outside the timings  # noqa: B018
    started = time.perf_counter()
    cached.encode_all(texts, "eng_Latn", "document")
    cold_s = time.perf_counter() - started
    warm = SentenceTransformerEncoder(
        build_options("st", options)
    )  # a new method object: only the disk cache helps
    started = time.perf_counter()
    warm.encode_all(texts, "eng_Latn", "document")
    warm_s = time.perf_counter() - started
    speedup = cold_s / warm_s
    print(
        f"cold run {cold_s:.3f} s, warm-cache rerun {warm_s:.4f} s: {speedup:.0f}x faster "
        f"(target >= 50x: {'OK' if speedup >= 50 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
