"""Time generating the whole Qur'an suite (every task's dev and test folders and the bitexts)
from a cached alfanous wheel. Target: under 60 s on 2 CPU cores.

Run from the repository root: ``python benchmarks/bench_quran.py [--wheel PATH] [--repeats N]``.
Without ``--wheel`` the wheel in clirbench's cache is used (downloaded there first if missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheel", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from clirbench.tasks.builtin import quran

    wheel = args.wheel or quran.wheel_path()
    times, cpu = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="clirbench-quran-") as folder:
            started, cpu_started = time.perf_counter(), time.process_time()
            quran.generate_suite(Path(folder), wheel)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            summary = json.loads((Path(folder) / "suite.json").read_text(encoding="utf-8"))
    print(
        f"Qur'an suite: {len(quran.TASK_NAMES)} tasks, {len(quran.TRANSLATIONS)} bitexts; "
        f"verses per split {summary['verses']}, queries {summary['queries']}"
    )
    print(
        f"generation from {wheel.name}: median {statistics.median(times):.1f} s over "
        f"{len(times)} run(s) "
        f"(CPU {statistics.median(cpu):.1f} s; target < 60 s): "
        f"{'OK' if statistics.median(times) < 60 else 'TOO SLOW'}"
    )


if __name__ == "__main__":
    main()
