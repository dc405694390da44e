"""Time one MLM adaptation step against one OPTICAL step, same batch size, same texts.

Both steps are forward, backward and AdamW on multilingual-e5-small as the student: OPTICAL's
OT distillation (teacher forward, word embeddings frozen, its default) on a batch of
English-Chichewa pairs; MLM on the Chichewa side of the same pairs (15% masked, the head run on
the masked positions only), with the embeddings (and so the tied 250k-word decoder) trained,
the stage's default, and frozen.

    python benchmarks/bench_mlm.py [--batch 16 --max-length 96 --repeats 5 --threads 1]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

# the same timer and OPTICAL set-up as bench_optical (a script's folder is on sys.path)
from bench_optical import OpticalBench, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from clirbench.baselines.models import resolve_model
    from clirbench.methods.adaptation.mlm import (
        MaskedBatches,
        MaskedLMLoss,
        MLMConfig,
        load_mlm_model,
    )

    torch.set_num_threads(args.threads)
    bench = OpticalBench.load(args.model, args.model, args.threads, args.batch, args.max_length)
    pairs = bench.pairs
    print(
        f"{args.model}; batch {len(pairs)}, max length {args.max_length}, {args.threads} thread(s)"
    )
    bench.method.models.student.train()
    optical_step = bench.step(bench.distiller())

    seconds = {"OPTICAL (OT)": timed(optical_step, args.repeats)}

    tokenizer, model, _ = load_mlm_model(resolve_model(args.model))
    config = MLMConfig(steps=1, batch_size=args.batch, max_length=args.max_length, lr=5e-5)
    batch = MaskedBatches(tokenizer, tuple(target for _, target in pairs), config)(0)
    print(f"  {int((batch.labels != -100).sum())} masked tokens in the MLM batch")
    for frozen in (False, True):
        model.get_input_embeddings().weight.requires_grad_(not frozen)
        loss = MaskedLMLoss(model).train()
        optimizer = torch.optim.AdamW([p for p in loss.parameters() if p.requires_grad], lr=5e-5)

        def mlm_step(
            loss: MaskedLMLoss = loss, optimizer: torch.optim.Optimizer = optimizer
        ) -> None:
            value = loss(replace(batch))  # a fresh batch: its encoder states are per step
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()

        name = "MLM, embeddings " + ("frozen" if frozen else "trained (default)")
        seconds[name] = timed(mlm_step, args.repeats)
    optical = seconds["OPTICAL (OT)"]
    for name, value in seconds.items():
        print(f"  {name} step: {value:.3f} s ({value / optical:.2f}x OPTICAL)")
    bench.folder.rmdir()


if __name__ == "__main__":
    main()
