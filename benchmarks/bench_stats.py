"""Time clirbench's all-pairs randomization test against ranx's ``compare`` on the same scores.

Per-query scores are precision@k values ``hits / k``; ranx gets synthetic qrels
and runs whose per-query precision@k is exactly those scores (checked before
timing).  ranx always runs in a subprocess with an empty numba cache, so its
first call includes numba's JIT compilation; the subprocess uses this
interpreter when it can import ranx, else ``--ranx-python``.

    python benchmarks/bench_stats.py [--systems 20 --queries 1000 --permutations 10000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

METRIC_NAME = "precision@{k}"
TARGET_SECONDS = 1.0
TARGET_SPEEDUP = 100.0


def make_hits(n_systems: int, n_queries: int, k: int, seed: int) -> np.ndarray:
    """Relevant documents in each system's top k, shape (n_systems, n_queries).

    The systems differ in quality.
    """
    rng = np.random.default_rng(seed)
    quality = np.linspace(0.3, 0.5, n_systems)[:, None]
    query_ease = rng.uniform(-0.2, 0.2, size=(1, n_queries))
    return rng.binomial(k, np.clip(quality + query_ease, 0.0, 1.0))


def system_names(n_systems: int) -> list[str]:
    return [f"system_{i:02d}" for i in range(n_systems)]


# ranx side: runs in a subprocess and imports only numpy and ranx --------------------------


def build_ranx_inputs(hits: np.ndarray, k: int):
    """Qrels with k relevant documents per query; run i ranks hits[i, q] of them in its top k."""
    from ranx import Qrels, Run

    query_ids = [
        f"q{q:07d}" for q in range(hits.shape[1])
    ]  # zero-padded: ranx orders queries by id
    qrels = Qrels.from_dict({q: {f"rel{d}": 1 for d in range(k)} for q in query_ids})
    runs = []
    for name, system_hits in zip(system_names(hits.shape[0]), hits, strict=True):
        ranking = {}
        for q, h in zip(query_ids, system_hits.tolist(), strict=True):
            docs = [f"rel{d}" for d in range(h)] + [f"non{d}" for d in range(k - h)]
            ranking[q] = {doc: float(k - rank) for rank, doc in enumerate(docs)}
        runs.append(Run.from_dict(ranking, name=name))
    return qrels, runs


def ranx_verify(hits: np.ndarray, k: int) -> dict:
    """Largest difference between ranx's per-query precision@k and the clirbench scores."""
    from ranx import evaluate

    qrels, runs = build_ranx_inputs(hits, k)
    metric = METRIC_NAME.format(k=k)
    errors = [
        np.abs(evaluate(qrels, run, metric, return_mean=False) - system_hits / k).max()
        for run, system_hits in zip(runs, hits, strict=True)
    ]
    return {"max_abs_error": float(max(errors))}


def ranx_time(hits: np.ndarray, k: int, n_permutations: int, max_p: float, seed: int) -> dict:
    """Seconds for a first (JIT-compiling) and a second ``ranx.compare``; its p-values, i < j."""
    from ranx import compare

    qrels, runs = build_ranx_inputs(hits, k)
    metric = METRIC_NAME.format(k=k)

    def run_compare():
        start = time.perf_counter()
        report = compare(
            qrels,
            runs,
            metrics=[metric],
            stat_test="fisher",
            n_permutations=n_permutations,
            max_p=max_p,
            random_seed=seed,
        )
        return time.perf_counter() - start, report

    cold_s, _ = run_compare()
    warm_s, report = run_compare()
    names = system_names(hits.shape[0])
    p_values = [
        float(report.comparisons[names[i], names[j]][metric]["p_value"])
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]
    return {"cold_s": cold_s, "warm_s": warm_s, "p_values": p_values}


def ranx_worker(mode: str, data_path: Path, out_path: Path) -> None:
    warnings.filterwarnings("ignore", message=".*unsafe cast")  # numba's note on ranx's own code
    with np.load(data_path) as data:
        hits, k = data["hits"], int(data["k"])
        if mode == "verify":
            result = ranx_verify(hits, k)
        else:
            result = ranx_time(
                hits, k, int(data["n_permutations"]), float(data["max_p"]), int(data["seed"])
            )
    out_path.write_text(json.dumps(result))


def run_ranx(python: str, mode: str, data_path: Path, workdir: Path) -> dict:
    """Run a ranx worker in ``python`` with a fresh numba cache: nothing compiled is reused."""
    out_path = workdir / f"{mode}.json"
    env = {**os.environ, "NUMBA_CACHE_DIR": tempfile.mkdtemp(dir=workdir)}
    command = [
        python,
        str(Path(__file__).resolve()),
        "--ranx-worker",
        mode,
        "--data",
        str(data_path),
        "--out",
        str(out_path),
    ]
    subprocess.run(command, check=True, env=env)
    return json.loads(out_path.read_text())


# clirbench side -------------------------------------------------------------------------


def time_clirbench(
    scores: np.ndarray, n_permutations: int, seed: int, repeats: int
) -> tuple[list[float], np.ndarray]:
    try:
        from clirbench.stats import all_pairs_randomization
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from clirbench.stats import all_pairs_randomization

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        p_values = all_pairs_randomization(scores, n_resamples=n_permutations, seed=seed)
        times.append(time.perf_counter() - start)
    return times, p_values


def ranx_python(requested: str | None) -> str:
    if requested:
        return requested
    if importlib.util.find_spec("ranx") is not None:
        return sys.executable
    sys.exit(
        "ranx is not importable here; install it in a venv and pass "
        "--ranx-python /path/to/venv/bin/python"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=20)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=10, help="cut-off of the precision@k scores")
    parser.add_argument("--alpha", type=float, default=0.05, help="ranx's max_p")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="timed clirbench calls")
    parser.add_argument(
        "--ranx-python", help="interpreter with ranx installed (default: this one, if it has ranx)"
    )
    parser.add_argument("--ranx-worker", choices=["verify", "time"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.ranx_worker:
        ranx_worker(args.ranx_worker, args.data, args.out)
        return

    python = ranx_python(args.ranx_python)
    hits = make_hits(args.systems, args.queries, args.k, args.seed)
    scores = hits / args.k
    n_pairs = args.systems * (args.systems - 1) // 2
    print(
        f"{args.systems} systems x {args.queries} queries, {n_pairs} pairs, "
        f"{args.permutations} permutations"
    )
    print(f"ranx interpreter: {python}")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data_path = workdir / "data.npz"
        np.savez(
            data_path,
            hits=hits,
            k=args.k,
            n_permutations=args.permutations,
            max_p=args.alpha,
            seed=args.seed,
        )
        check = run_ranx(python, "verify", data_path, workdir)
        if check["max_abs_error"] != 0.0:
            sys.exit(
                f"ranx {METRIC_NAME.format(k=args.k)} differs from the clirbench scores by "
                f"{check['max_abs_error']}"
            )
        print(
            f"ranx per-query {METRIC_NAME.format(k=args.k)} == clirbench scores: "
            "yes (max abs error 0.0)"
        )

        times, p_clirbench = time_clirbench(scores, args.permutations, args.seed, args.repeats)
        ranx = run_ranx(python, "time", data_path, workdir)

    clirbench_s = max(times)
    p_diff = np.abs(np.asarray(ranx["p_values"]) - p_clirbench).max()
    print(
        f"clirbench all_pairs_randomization: first {times[0]:.3f} s, best {min(times):.3f} s, "
        f"worst {clirbench_s:.3f} s ({args.repeats} calls)"
    )
    print(
        f"ranx compare (fisher): cold {ranx['cold_s']:.2f} s (includes numba JIT), "
        f"warm {ranx['warm_s']:.2f} s"
    )
    print(
        "  (ranx.compare also evaluates the metric and tests every ordered pair, "
        "i.e. each pair twice)"
    )
    print(
        f"ratio ranx / clirbench (worst): cold {ranx['cold_s'] / clirbench_s:.0f}x, "
        f"warm {ranx['warm_s'] / clirbench_s:.0f}x"
    )
    noise = np.sqrt(2 * 0.25 / args.permutations)
    print(
        f"max |p_ranx - p_clirbench| over pairs: {p_diff:.4f} "
        f"(Monte-Carlo sd of a difference is at most {noise:.4f})"
    )
    met = clirbench_s < TARGET_SECONDS and ranx["warm_s"] / clirbench_s >= TARGET_SPEEDUP
    print(
        f"target (< {TARGET_SECONDS:g} s and >= {TARGET_SPEEDUP:g}x faster than warm ranx): "
        f"{'MET' if met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
