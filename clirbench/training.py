"""One resumable training loop for every stage that trains a model (MLM adaptation today;
OPTICAL and marian-local are to move onto it, issue 15).

A stage gives the loop three things, in the manner of sentence-transformers: a loss, which is a
``torch.nn.Module`` that owns the model being trained and maps a batch to named loss terms
(:class:`LossTerms` composes weighted terms); ``batches(step)``, which must return the same
batch for the same step in every process (the data order is a function of the seed and the
step, never of a live iterator); and a folder of its own.

What the loop guarantees:

* Seeded and forked RNGs: torch's, numpy's and Python's global generators are seeded from
  ``seed`` on a fresh start and restored from the checkpoint on a resume, inside a fork, so the
  caller's random state is the same after training as before it.
* Checkpoints every ``every_steps`` steps or ``every_seconds`` seconds, whichever comes first,
  and on Ctrl-C: ``checkpoints/step-NNNNNNNN/`` holding the trainable weights, optimizer,
  scheduler and RNG states (all readable with ``torch.load(weights_only=True)``) and
  ``progress.json``. A checkpoint folder is written under a temporary name and renamed into
  place, so a folder that exists is complete; a process killed at any moment resumes from the
  last one and ends with the same weights as an uninterrupted run.
* The loss on a progress bar (``clirbench.progress.loss_progress``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clirbench.fileio import atomic_write_json, create_temp_dir
from clirbench.progress import loss_progress

CHECKPOINTS = "checkpoints"
_STEP_PREFIX = "step-"
_LENGTH_GROUP = 32  # batches per group of similar-length examples (less padding, same randomness)


@dataclass(frozen=True)
class LoopConfig:
    """What decides the trained weights besides the data and the loss (hash it into the id)."""

    steps: int
    lr: float
    warmup: float = 0.1
    """Share of ``steps`` of linear warm-up, then linear decay to 0 (BERT, RoBERTa, HF Trainer)."""
    weight_decay: float = 0.01
    max_grad_norm: float | None = None
    """Clip the gradient's global norm to this (HF Trainer's default is 1.0); None: no clipping."""
    seed: int = 0


@dataclass(frozen=True)
class Checkpointing:
    """When to save (runtime choices: they never change the result)."""

    every_steps: int = 50
    every_seconds: float | None = None


@dataclass
class TrainingResult:
    steps: int
    resumed_from: int
    seconds: float
    log: list[dict[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The record a stage stores beside its model (the whole log included)."""
        return {
            "steps": self.steps,
            "resumed_from": self.resumed_from,
            "train_seconds": round(self.seconds, 1),
            "loss_first_10": _mean_loss(self.log[:10]),
            "loss_last_10": _mean_loss(self.log[-10:]),
            "log": self.log,
        }


class LossTerms(torch.nn.Module):
    """Weighted named loss terms over one batch; terms of weight 0 are not computed."""

    def __init__(self, terms: dict[str, torch.nn.Module], weights: dict[str, float] | None = None):
        super().__init__()
        weights = weights or {}
        self.weights = {name: float(weights.get(name, 1.0)) for name in terms}
        self.terms = torch.nn.ModuleDict({n: t for n, t in terms.items() if self.weights[n]})

    def forward(self, batch: Any) -> dict[str, torch.Tensor]:
        return {name: self.weights[name] * term(batch) for name, term in self.terms.items()}


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that training changes (frozen ones come back from the base model)."""
    return {n: p.detach().cpu().clone() for n, p in module.named_parameters() if p.requires_grad}


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """A seeded shuffle of the examples cut into batches of similar length, in shuffled order."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    group = batch_size * _LENGTH_GROUP
    batches = []
    for start in range(0, len(order), group):
        part = sorted(order[start : start + group], key=lengths.__getitem__)
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class StepBatches:
    """Step -> the indices of its batch: epochs of :func:`epoch_batches`, one kept at a time."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int) -> None:
        self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
        self._epoch = (0, epoch_batches(lengths, batch_size, seed, 0))
        self.per_epoch = len(self._epoch[1])

    def __call__(self, step: int) -> list[int]:
        epoch, index = divmod(step, self.per_epoch)
        if self._epoch[0] != epoch:
            self._epoch = (epoch, epoch_batches(self.lengths, self.batch_size, self.seed, epoch))
        return self._epoch[1][index]


@contextmanager
def forked_rng() -> Iterator[None]:
    """Run the block on torch's, numpy's and Python's global generators and give the caller its
    own states back afterwards."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _rng_state() -> dict[str, Any]:
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(state["python"])
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (numpy["kind"], keys, numpy["position"], numpy["has_gauss"], numpy["gauss"])
    )


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def _schedule(config: LoopConfig) -> Callable[[int], float]:
    warmup = max(1, round(config.warmup * config.steps))
    decay = max(1, config.steps - warmup)
    return lambda step: min((step + 1) / warmup, max(0.0, (config.steps - step) / decay))


class TrainingLoop:
    """Train ``loss``'s trainable parameters for ``config.steps`` steps, resumably, in ``folder``.

    ``checkpointing`` defaults to every 50 steps."""

    def __init__(
        self,
        loss: torch.nn.Module,
        batches: Callable[[int], Any],
        config: LoopConfig,
        folder: Path,
        checkpointing: Checkpointing | None = None,
        description: str = "training",
    ) -> None:
        self.loss, self.batches, self.config = loss, batches, config
        self.folder, self.description = folder, description
        self.checkpointing = checkpointing or Checkpointing()
        self.parameters = [p for p in loss.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.parameters, lr=config.lr, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _schedule(config))

    @property
    def checkpoints(self) -> Path:
        return self.folder / CHECKPOINTS

    def last_checkpoint(self) -> Path | None:
        """The newest complete checkpoint folder, if any."""
        found = (
            sorted(self.checkpoints.glob(f"{_STEP_PREFIX}*")) if self.checkpoints.is_dir() else []
        )
        return found[-1] if found else None

    def run(self, on_step: Callable[[int, float], None] | None = None) -> TrainingResult:
        """Train from the last checkpoint (or from scratch) to ``config.steps``."""
        with forked_rng():
            step, log, seconds = self._resume()
            resumed_from = step
            self.loss.train()
            started = last_saved = time.perf_counter()
            try:
                with loss_progress(f"{self.description}", self.config.steps, step) as show:
                    while step < self.config.steps:
                        value, terms = self._step(step)
                        step += 1
                        log.append(
                            {
                                "step": step,
                                "loss": round(value, 6),
                                **{k: round(v, 6) for k, v in terms.items()},
                            }
                        )
                        show(step, value)
                        now = time.perf_counter()
                        if step < self.config.steps and self._due(step, now - last_saved):
                            self._save(step, log, seconds + now - started)
                            last_saved = now
                        if on_step is not None:
                            on_step(step, value)
            except KeyboardInterrupt:
                path = self._save(step, log, seconds + time.perf_counter() - started)
                print(
                    f"\n{self.description}: interrupted at step {step} of {self.config.steps}; "
                    f"checkpoint saved in {path}. Run the same command again to resume.",
                    file=sys.stderr,
                    flush=True,
                )
                raise
            finally:
                self.loss.eval()
        return TrainingResult(step, resumed_from, seconds + time.perf_counter() - started, log)

    def clear_checkpoints(self) -> None:
        """Drop the checkpoints (call once the stage has published its final model)."""
        shutil.rmtree(self.checkpoints, ignore_errors=True)

    def _step(self, step: int) -> tuple[float, dict[str, float]]:
        terms = self.loss(self.batches(step))
        total = terms if isinstance(terms, torch.Tensor) else sum(terms.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        named = {} if isinstance(terms, torch.Tensor) else {k: v.item() for k, v in terms.items()}
        return total.item(), named

    def _due(self, step: int, since_saved: float) -> bool:
        every_seconds = self.checkpointing.every_seconds
        return step % self.checkpointing.every_steps == 0 or (
            every_seconds is not None and since_saved >= every_seconds
        )

    def _resume(self) -> tuple[int, list[dict[str, float]], float]:
        path = self.last_checkpoint()
        if path is None:
            _seed(self.config.seed)
            return 0, [], 0.0
        device = self.parameters[0].device if self.parameters else torch.device("cpu")

        def load(name: str) -> Any:
            return torch.load(path / name, map_location=device, weights_only=True)

        weights = load("weights.pt")
        problems = self.loss.load_state_dict(weights, strict=False)
        missing = {n for n, p in self.loss.named_parameters() if p.requires_grad} - weights.keys()
        if problems.unexpected_keys or missing:
            from clirbench.errors import ClirbenchError

            raise ClirbenchError(
                f"checkpoint {path} does not fit this model (unexpected "
                f"{sorted(problems.unexpected_keys)[:3]}, missing {sorted(missing)[:3]}); "
                "delete the folder to train from scratch"
            )
        self.optimizer.load_state_dict(load("optimizer.pt"))
        self.scheduler.load_state_dict(load("scheduler.pt"))
        _set_rng_state(torch.load(path / "rng.pt", weights_only=True))
        progress = json.loads((path / "progress.json").read_text(encoding="utf-8"))
        return progress["step"], progress["log"], progress["seconds"]

    def _save(self, step: int, log: list[dict[str, float]], seconds: float) -> Path:
        """Publish ``checkpoints/step-NNNNNNNN`` atomically, then drop the older ones."""
        name = f"{_STEP_PREFIX}{step:08d}"
        final = self.checkpoints / name
        if final.is_dir():
            return final
        tmp = create_temp_dir(self.checkpoints, name)
        try:
            torch.save(trainable_state(self.loss), tmp / "weights.pt")
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(self.scheduler.state_dict(), tmp / "scheduler.pt")
            torch.save(_rng_state(), tmp / "rng.pt")
            atomic_write_json(tmp / "progress.json", {"step": step, "log": log, "seconds": seconds})
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for older in self.checkpoints.glob(f"{_STEP_PREFIX}*"):
            if older.name < name:
                shutil.rmtree(older, ignore_errors=True)
        return final


def _mean_loss(log: list[dict[str, float]]) -> float | None:
    return round(sum(entry["loss"] for entry in log) / len(log), 6) if log else None
