"""The Ray executor's fixed overhead per cell: many bm25 cells on a tiny task, local and ray.

Each cell is bm25 with its own k1 on the 6-document task of ``tests/data/tiny``, so a cell's
own work is a few milliseconds and what is left is the executor's cost: a Ray task, shipping
the task data and the result, and the driver saving the cell (as a local run does). The Ray
cluster is started before the timings (its start-up is printed apart), with one CPU by
default, so that its cells run one at a time as local ones do and the difference is the
overhead, not parallelism (``--cpus 2`` shows both together). Each executor runs the cells
``--repeats`` times (``overwrite``); the first Ray pass also starts the worker.
Run from the repository root: ``python benchmarks/bench_ray_overhead.py [--cells N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TINY = Path(__file__).resolve().parents[1] / "tests" / "data" / "tiny"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of the local Ray cluster")
    args = parser.parse_args()
    os.environ["CLIRBENCH_CACHE"] = tempfile.mkdtemp(prefix="clirbench-bench-")

    import ray

    from clirbench.registry import build_options
    from clirbench.runner import Executor, MethodSpec, run_cells
    from clirbench.store import ResultStore
    from clirbench.tasks import load_task

    task = load_task(str(TINY))
    specs = [
        MethodSpec("bm25", build_options("bm25", {"k1": round(0.5 + i / 100, 2)}))
        for i in range(args.cells)
    ]
    scratch = Path(tempfile.mkdtemp(prefix="clirbench-stores-"))
    print(
        f"{args.cells} bm25 cells on {task.name} ({len(task.corpus)} documents); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    started = time.perf_counter()
    ray.init(
        num_cpus=args.cpus, include_dashboard=False, logging_level="warning", log_to_driver=False
    )
    print(f"Ray cluster start ({args.cpus} CPUs): {time.perf_counter() - started:.2f} s")
    seconds: dict[str, list[float]] = {"local": [], "ray": []}
    for repeat in range(args.repeats):
        for kind in ("local", "ray"):
            store = ResultStore(scratch / kind)
            started = time.perf_counter()
            outcomes = run_cells(
                [task], specs, store, k=10, overwrite=True, executor=Executor(kind)
            )
            seconds[kind].append(time.perf_counter() - started)
            assert all(o.status == "computed" for o in outcomes)
            print(
                f"pass {repeat + 1}, {kind:<5}: {seconds[kind][-1]:7.2f} s, "
                f"{1000 * seconds[kind][-1] / args.cells:7.1f} ms a cell"
            )
    ray.shutdown()
    local, remote = min(seconds["local"]), min(seconds["ray"])
    print(
        f"best pass: local {1000 * local / args.cells:.1f} ms a cell, ray "
        f"{1000 * remote / args.cells:.1f} ms a cell (up to {args.cpus} at once): Ray adds "
        f"{1000 * (remote - local) / args.cells:+.1f} ms a cell"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
