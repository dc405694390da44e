"""One resumable training loop for every stage that trains a model: MLM adaptation, OPTICAL's
distillation and marian-local's translation model (issue 15).

A stage gives the loop three things, in the manner of sentence-transformers: a loss, which is a
``torch.nn.Module`` that owns the model being trained and maps a batch to named loss terms
(:class:`LossTerms` composes weighted terms); ``batches(step)``, which must return the same
batch for the same step in every process (the data order is a function of the seed and the
step, never of a live iterator); and a folder of its own.

What the loop guarantees:

* Seeded and forked RNGs: torch's, numpy's and Python's global generators are seeded from
  ``seed`` on a fresh start (or left as the stage seeded them, ``seed=None``) and restored from
  the checkpoint on a resume, inside a fork, so the caller's random state is the same after
  training as before it.
* Checkpoints every ``every_steps`` steps or ``every_seconds`` seconds, whichever comes first,
  and on Ctrl-C: ``checkpoints/step-NNNNNNNN/`` holding the trainable weights, optimizer,
  scheduler and RNG states (all readable with ``torch.load(weights_only=True)``) and
  ``progress.json`` (step, loss log, seconds, sessions). A checkpoint folder is written under a
  temporary name and renamed into place, so a folder that exists is complete; a process killed
  at any moment resumes from the last one and ends with the same weights as an uninterrupted run.
* Ctrl-C finishes the current step, saves and raises ``KeyboardInterrupt``; a second Ctrl-C
  stops at once, without saving the half-done step (the last checkpoint stays).
* The loss on a progress bar (``clirbench.progress.loss_progress``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
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
    seed: int | None = 0
    """None: the stage seeded the generators itself, before building a model whose initialisation
    draws from them, and training continues from where that left them."""
    warmup_steps: int | None = None
    """The warm-up in steps, instead of ``warmup``'s share (0: decay from the first step)."""
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    """AdamW's (torch's defaults; Marian and fairseq use (0.9, 0.98) and 1e-9)."""


@dataclass(frozen=True)
class Checkpointing:
    """When to save (runtime choices: they never change the result)."""

    every_steps: int | None = 50
    every_seconds: float | None = None


@dataclass
class Progress:
    """What a checkpoint's ``progress.json`` holds besides the tensors."""

    step: int = 0
    log: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    sessions: list[dict[str, float]] = field(default_factory=list)
    """One ``{"start", "end", "seconds"}`` per process that trained (a resume starts one)."""


@dataclass
class TrainingResult:
    steps: int
    resumed_from: int
    seconds: float
    log: list[dict[str, float]] = field(default_factory=list)
    sessions: list[dict[str, float]] = field(default_factory=list)

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


def seed_generators(seed: int) -> None:
    """Seed torch's, numpy's and Python's global generators (inside :func:`forked_rng`)."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def _schedule(config: LoopConfig) -> Callable[[int], float]:
    """The learning-rate factor of each step: linear warm-up, then linear decay to 0."""
    if config.warmup_steps is not None:
        warmup = config.warmup_steps
    else:
        warmup = max(1, round(config.warmup * config.steps))
    decay = max(1, config.steps - warmup)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (config.steps - step) / decay)

    return factor


class _StopRequest:
    requested = False


@contextmanager
def _stop_on_ctrl_c() -> Iterator[_StopRequest]:
    """A first Ctrl-C asks to stop after the current step; a second one stops at once."""
    stop = _StopRequest()
    main_thread = threading.current_thread() is threading.main_thread()
    if not main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield stop  # someone else handles Ctrl-C: leave it alone
        return

    def request(signum: int, frame: object) -> None:
        stop.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, request)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class TrainingLoop:
    """Train ``loss``'s trainable parameters for ``config.steps`` steps, resumably, in ``folder``.

    ``checkpointing`` defaults to every 50 steps. ``parameters`` (default: the loss's trainable
    ones) are what the optimizer holds, in its order (a checkpoint's optimizer state is by
    position); frozen ones among them are left alone."""

    def __init__(
        self,
        loss: torch.nn.Module,
        batches: Callable[[int], Any],
        config: LoopConfig,
        folder: Path,
        checkpointing: Checkpointing | None = None,
        description: str = "training",
        parameters: list[torch.nn.Parameter] | None = None,
    ) -> None:
        self.loss, self.batches, self.config = loss, batches, config
        self.folder, self.description = folder, description
        self.checkpointing = checkpointing or Checkpointing()
        if parameters is None:
            parameters = [p for p in loss.parameters() if p.requires_grad]
        self.parameters = parameters
        self.optimizer = torch.optim.AdamW(
            self.parameters,
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
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
        """Train from the last checkpoint (or from scratch) to ``config.steps``.

        ``on_step(step, loss)`` is called after each step (progress, tests); a
        ``KeyboardInterrupt`` it raises saves a checkpoint like Ctrl-C."""
        steps = self.config.steps
        with forked_rng(), _stop_on_ctrl_c() as stop:
            progress = self._resume()
            resumed_from, seconds = progress.step, progress.seconds
            session = {"start": progress.step, "end": progress.step, "seconds": 0.0}
            progress.sessions.append(session)
            self.loss.train()
            started = last_saved = time.perf_counter()
            done = True  # the weights are those of ``progress.step``: a checkpoint may be taken
            try:
                with loss_progress(f"{self.description}", steps, progress.step) as show:
                    while progress.step < steps:
                        done = False
                        value, terms = self._step(progress.step)
                        progress.step += 1
                        progress.log.append(
                            {
                                "step": progress.step,
                                "loss": round(value, 6),
                                **{k: round(v, 6) for k, v in terms.items()},
                            }
                        )
                        now = time.perf_counter()
                        progress.seconds = seconds + now - started
                        session.update(end=progress.step, seconds=round(now - started, 1))
                        done = True
                        show(progress.step, value)
                        if progress.step < steps and self._due(progress.step, now - last_saved):
                            self.save(progress)
                            last_saved = now
                        if on_step is not None:
                            on_step(progress.step, value)
                        if stop.requested and progress.step < steps:
                            raise KeyboardInterrupt
            except KeyboardInterrupt:
                self._interrupted(progress, done)
                raise
            finally:
                self.loss.eval()
        return TrainingResult(
            progress.step, resumed_from, progress.seconds, progress.log, progress.sessions
        )

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

    def _interrupted(self, progress: Progress, done: bool) -> None:
        where = f"{self.description}: interrupted at step {progress.step} of {self.config.steps}"
        if done:
            saved = f"checkpoint saved in {self.save(progress)}"
        else:  # a second Ctrl-C, in the middle of a step: its state is half updated
            last = self.last_checkpoint()
            saved = f"resumes from {last}" if last else "no checkpoint yet"
        print(
            f"\n{where}; {saved}. Run the same command again to resume.",
            file=sys.stderr,
            flush=True,
        )

    def _due(self, step: int, since_saved: float) -> bool:
        every_steps, every_seconds = (
            self.checkpointing.every_steps,
            self.checkpointing.every_seconds,
        )
        return (every_steps is not None and step % every_steps == 0) or (
            every_seconds is not None and since_saved >= every_seconds
        )

    def _resume(self) -> Progress:
        path = self.last_checkpoint()
        if path is None:
            if self.config.seed is not None:
                seed_generators(self.config.seed)
            return Progress()
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
        return Progress(**{"sessions": [], **progress})

    def save(self, progress: Progress) -> Path:
        """Publish ``checkpoints/step-NNNNNNNN`` atomically, then drop the older ones.

        It holds the weights, optimizer and scheduler as they are and the global generators'
        states, which must be those of ``progress.step``."""
        name = f"{_STEP_PREFIX}{progress.step:08d}"
        final = self.checkpoints / name
        if final.is_dir():
            return final
        tmp = create_temp_dir(self.checkpoints, name)
        try:
            torch.save(trainable_state(self.loss), tmp / "weights.pt")
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(self.scheduler.state_dict(), tmp / "scheduler.pt")
            torch.save(_rng_state(), tmp / "rng.pt")
            atomic_write_json(tmp / "progress.json", asdict(progress))
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
