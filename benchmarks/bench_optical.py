"""Time OPTICAL's training step and its Sinkhorn solver against their references, on one batch.

1. One training step (forward, backward, AdamW) with the OT loss against one step of
   sentence-level MSE distillation (Reimers & Gurevych: student(target) and student(English)
   against teacher(English)), same batch, same teacher and student. Target: OT <= 1.5x MSE.
2. The batched, masked torch Sinkhorn against POT on the same cost matrices and marginals:
   ``ot.sinkhorn(..., method="sinkhorn_log")`` looped over the pairs (padding dropped) and POT's
   batched solver ``ot.batch.solve_batch(..., method="log_sinkhorn")`` on the padded batch.

    python benchmarks/bench_optical.py [--teacher multilingual-e5-small --student ...]
                                       [--batch 16 --max-length 96 --repeats 5 --threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clirbench.methods.optical.method import Optical
    from clirbench.methods.optical.training import Distiller

TARGET_STEP_RATIO = 1.5


def timed(function: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class OpticalBench:
    """OPTICAL with its word embeddings frozen (its default) and one batch of typical length:
    the median of the first 50 length-grouped batches, with the document prompt."""

    method: Optical
    options: dict[str, Any]
    folder: Path  # a Distiller needs one; the steps timed here write nothing
    pairs: list[tuple[str, str]]
    prompt: str | None

    @classmethod
    def load(
        cls, teacher: str, student: str, threads: int, batch: int, max_length: int
    ) -> OpticalBench:
        from clirbench.methods.optical.encoders import freeze
        from clirbench.methods.optical.method import Optical, OpticalOptions

        options = {
            "bitext": "bible-en-ny",  # no task here for the bitext to follow
            "teacher": teacher,
            "student": student,
            "num_threads": threads,
            "train_batch_size": batch,
            "max_length": max_length,
        }
        method = Optical(OpticalOptions(**options))
        freeze(method.models.student, embeddings=True, layers=0)
        bench = cls(method, options, Path(tempfile.mkdtemp(prefix="bench-optical-")), [], None)
        probe = bench.distiller()
        sizes = sorted(range(50), key=lambda s: sum(len(t) for _, t in probe.batch(s)))
        bench.pairs = probe.batch(sizes[25])
        bench.prompt = method.models.pairing.prompts["document"]
        return bench

    def distiller(self, **weights: float) -> Distiller:
        """A Distiller of these models with the options' training config (loss weights given)."""
        from clirbench.methods.optical.method import OpticalOptions
        from clirbench.methods.optical.training import Distiller

        models = self.method.models
        config = OpticalOptions(**self.options, **weights).training_config()
        return Distiller(
            models.teacher, models.student, models.pairing, self.method.bitext, config, self.folder
        )

    def step(self, distiller: Distiller) -> Callable[[], None]:
        """One training step on the typical batch: forward, backward, AdamW."""

        def run() -> None:
            loss = sum(distiller.loss((self.pairs, self.prompt)).values())
            distiller.loop.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            distiller.loop.optimizer.step()

        return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="multilingual-e5-small")
    parser.add_argument("--student", default="multilingual-e5-small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import numpy as np
    import ot
    import torch
    from ot.batch import solve_batch

    from clirbench.methods.optical.sinkhorn import cosine_cost, sinkhorn_log
    from clirbench.methods.optical.training import token_mass

    torch.set_num_threads(args.threads)
    bench = OpticalBench.load(args.teacher, args.student, args.threads, args.batch, args.max_length)
    models, pairs, prompt = bench.method.models, bench.pairs, bench.prompt
    print(
        f"teacher {args.teacher}, student {args.student}; batch {len(pairs)} pairs, max length "
        f"{args.max_length}, {args.threads} thread(s)"
    )

    seconds = {}
    for name, weights in (
        ("OT", {"ot_weight": 1.0}),
        ("MSE", {"ot_weight": 0.0, "mse_weight": 1.0, "anchor_weight": 1.0}),
    ):
        models.student.train()
        seconds[name] = timed(bench.step(bench.distiller(**weights)), args.repeats)
        print(f"  {name} training step: {seconds[name]:.3f} s")
    ratio = seconds["OT"] / seconds["MSE"]
    verdict = "meets" if ratio <= TARGET_STEP_RATIO else "misses"
    print(f"OT step / MSE step = {ratio:.2f} ({verdict} the target <= {TARGET_STEP_RATIO})")

    teacher_batch = models.teacher.tokenize([p[0] for p in pairs], prompt, args.max_length)
    student_batch = models.student.tokenize([p[1] for p in pairs], prompt, args.max_length)
    with torch.no_grad():
        cost = cosine_cost(models.student(student_batch), models.teacher(teacher_batch)).double()
    a, b = token_mass(student_batch, None).double(), token_mass(teacher_batch, None).double()
    eps, iters = 0.05, 50
    ours = sinkhorn_log(cost, a, b, eps, iters)
    kept = [
        (a[i] > 0, b[i] > 0) for i in range(len(a))
    ]  # content tokens (prompt and specials carry no mass)
    numpy_inputs = [
        (a[i, r].numpy(), b[i, c].numpy(), cost[i][r][:, c].numpy())
        for i, (r, c) in enumerate(kept)
    ]

    def pot_loop() -> list[np.ndarray]:
        return [
            ot.sinkhorn(
                x, y, c, reg=eps, method="sinkhorn_log", numItermax=iters, stopThr=0.0, warn=False
            )
            for x, y, c in numpy_inputs
        ]

    def pot_batched() -> torch.Tensor:
        return solve_batch(
            cost, reg=eps, a=a, b=b, max_iter=iters, tol=0.0, method="log_sinkhorn", grad="detach"
        ).plan

    looped, batched = pot_loop(), pot_batched()
    loop_gap = max(
        float(np.abs(ours[i][r][:, c].numpy() - p).max())
        for i, ((r, c), p) in enumerate(zip(kept, looped, strict=True))
    )
    batch_gap = float((ours - batched).abs().max())
    shape = "x".join(map(str, cost.shape))
    print(
        f"Sinkhorn, {eps=}, {iters} iterations, cost {shape} (float64), plans: "
        f"max |ours - POT loop| {loop_gap:.1e}, max |ours - POT batched| {batch_gap:.1e} "
        "(POT batched updates u before v)"
    )
    repeats = 10 * args.repeats  # milliseconds each: more calls for a steadier median
    torch_s = timed(lambda: sinkhorn_log(cost, a, b, eps, iters), repeats)
    loop_s = timed(pot_loop, repeats)
    batch_s = timed(pot_batched, repeats)
    print(
        f"  torch batched {torch_s * 1e3:.1f} ms, POT ot.sinkhorn loop {loop_s * 1e3:.1f} ms, "
        f"POT solve_batch {batch_s * 1e3:.1f} ms"
    )
    print(
        f"POT loop / torch = {loop_s / torch_s:.1f}x, "
        f"POT solve_batch / torch = {batch_s / torch_s:.1f}x"
    )
    bench.folder.rmdir()


if __name__ == "__main__":
    main()
