"""Distil a frozen teacher into the student on bitext: seeded, checkpointed, resumable.

One step takes a batch of pairs (teacher-language sentence, target-language sentence) and adds
the enabled terms of the loss:

* ``ot``: ``<P, C>`` between the student's tokens of the target sentence and the teacher's
  tokens of the English one (``C = 1 - cos``, ``P`` an entropic OT plan, see ``sinkhorn``);
* ``mse``: squared distance between the student's sentence vector of the target sentence and
  the teacher's of the English one (Reimers & Gurevych 2020);
* ``anchor``: the same between the student's and the teacher's vectors of the English
  sentence, which keeps the student where the teacher is (against forgetting and collapse).

Sentence vectors are L2-normalised, so the squared distance is ``2 (1 - cos)``: MSE times the
width, on the same scale as the OT cost. Everything lives in one folder per configuration,
``cache_dir()/models/optical/<id>/``: ``state.pt`` while training (trainable weights, optimizer,
scheduler, step, RNG states; written every ``checkpoint_every`` steps and on Ctrl-C),
``student.pt`` and ``done.json`` once finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch

from clirbench.bitext import Bitext
from clirbench.fileio import file_sha256
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir
from clirbench.progress import loss_progress
from clirbench.training import epoch_batches, trainable_state

from .encoders import Batch, Pooling, TokenEncoder, pool
from .sinkhorn import ot_loss

TRAINING_FORMAT = 1  # bump when a change to this file changes what a configuration trains
STUDENT_FILE, STATE_FILE, DONE_FILE = "student.pt", "state.pt", "done.json"


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides the trained weights (hashed into the checkpoint id)."""

    steps: int
    batch_size: int
    max_length: int
    lr: float
    warmup: float
    weight_decay: float
    freeze_embeddings: bool
    frozen_layers: int
    ot_weight: float
    mse_weight: float
    anchor_weight: float
    center_tokens: bool
    sinkhorn_eps: float
    sinkhorn_iters: int
    marginals: Literal["uniform", "idf"]
    detach_plan: bool
    bitext_prompt: Literal["document", "query", "mixed"]
    seed: int


@dataclass(frozen=True)
class Pairing:
    """Which teacher and student, and how texts are prompted and pooled."""

    teacher: str
    teacher_revision: str
    student: str
    student_revision: str
    prompts: dict[str, str]  # role ("query", "document") -> prompt, the teacher's
    pooling: Pooling


def bitext_id(bitext: Bitext) -> str:
    digest = hashlib.sha256(f"{bitext.source_lang}\t{bitext.target_lang}\n".encode())
    for source, target in bitext.pairs:
        digest.update(f"{source}\t{target}\n".encode())
    return f"{bitext.origin}#{digest.hexdigest()[:16]}"


def checkpoint_id(config: TrainingConfig, pairing: Pairing, bitext: Bitext) -> str:
    payload = {
        "format": TRAINING_FORMAT,
        "config": asdict(config),
        "pairing": asdict(pairing),
        "bitext": bitext_id(bitext),
    }
    return json_hash(payload)


def checkpoint_dir(identifier: str) -> Path:
    return cache_dir() / "models" / "optical" / identifier


def _atomic_save(obj: Any, path: Path) -> None:
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    torch.save(obj, scratch)
    os.replace(scratch, path)


def idf_weights(encoder: TokenEncoder, texts: list[str]) -> torch.Tensor:
    """Smoothed IDF of every vocabulary id over ``texts``: ``log((1 + N) / (1 + df)) + 1``."""
    df = np.zeros(len(encoder.tokenizer), dtype=np.float64)
    for start in range(0, len(texts), 4096):
        for ids in encoder.tokenizer(texts[start : start + 4096], add_special_tokens=False)[
            "input_ids"
        ]:
            df[np.unique(np.asarray(ids, dtype=np.int64))] += 1
    return torch.from_numpy(np.log((1 + len(texts)) / (1 + df)) + 1).float()


def token_mass(batch: Batch, idf: torch.Tensor | None) -> torch.Tensor:
    """OT marginal of each pair: uniform or IDF-weighted over the content tokens, summing to 1."""
    mass = batch.content.float()
    if idf is not None:
        mass = mass * idf[batch.inputs["input_ids"]]
    return mass / mass.sum(dim=1, keepdim=True)


def _squared_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).pow(2).sum(dim=-1).mean()


class Distiller:
    """One training run of a student against a frozen teacher on one bitext."""

    def __init__(
        self,
        teacher: TokenEncoder,
        student: TokenEncoder,
        pairing: Pairing,
        bitext: Bitext,
        config: TrainingConfig,
        folder: Path,
        checkpoint_every: int = 50,
    ) -> None:
        self.teacher, self.student, self.pairing, self.bitext, self.config = (
            teacher,
            student,
            pairing,
            bitext,
            config,
        )
        self.folder, self.checkpoint_every = folder, checkpoint_every
        self.device = next(student.parameters()).device
        teacher.eval().requires_grad_(False)
        uses_idf = config.marginals == "idf" and config.ot_weight > 0
        self.teacher_idf = (
            idf_weights(teacher, [p[0] for p in bitext.pairs]).to(self.device) if uses_idf else None
        )
        self.student_idf = (
            idf_weights(student, [p[1] for p in bitext.pairs]).to(self.device) if uses_idf else None
        )
        self.center = (
            self._teacher_mean() if config.center_tokens and config.ot_weight > 0 else None
        )
        self.parameters = [p for p in student.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.parameters, lr=config.lr, weight_decay=config.weight_decay
        )
        warmup = max(1, round(config.warmup * config.steps))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (config.steps - step) / max(1, config.steps - warmup))
            ),
        )
        self._lengths = [len(target) for _, target in bitext.pairs]
        self._epochs = {0: epoch_batches(self._lengths, config.batch_size, config.seed, 0)}
        self._per_epoch = len(self._epochs[0])

    def _teacher_mean(self, sentences: int = 512) -> torch.Tensor:
        """The teacher's mean content-token vector over a seeded sample of the English side."""
        pairs = random.Random(self.config.seed).sample(
            self.bitext.pairs, min(sentences, len(self.bitext))
        )
        total, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(pairs), 32):
                english = [p[0] for p in pairs[start : start + 32]]
                batch = self.teacher.tokenize(
                    english, self.pairing.prompts["document"], self.config.max_length
                )
                content = batch.content.to(self.device).unsqueeze(-1)
                total = total + (self.teacher(batch) * content).sum(dim=(0, 1))
                count += int(content.sum())
        return cast(torch.Tensor, total / count)  # count > 0: a batch was added

    def prompt(self, step: int) -> str:
        role = self.config.bitext_prompt
        if role == "mixed":
            role = "document" if step % 2 == 0 else "query"
        return self.pairing.prompts[role]

    def batch(self, step: int) -> list[tuple[str, str]]:
        epoch, index = divmod(step, self._per_epoch)
        return [self.bitext.pairs[i] for i in self._epoch(epoch)[index]]

    def _epoch(self, epoch: int) -> list[list[int]]:
        if epoch not in self._epochs:
            self._epochs = {
                epoch: epoch_batches(self._lengths, self.config.batch_size, self.config.seed, epoch)
            }
        return self._epochs[epoch]

    def loss(
        self, pairs: list[tuple[str, str]], prompt: str
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted loss of one batch and each term's value."""
        config, length = self.config, self.config.max_length
        english, target = [p[0] for p in pairs], [p[1] for p in pairs]
        teacher_batch = self.teacher.tokenize(english, prompt, length)
        student_batch = self.student.tokenize(target, prompt, length)
        with torch.no_grad():
            teacher_tokens = self.teacher(teacher_batch)
        student_tokens = self.student(student_batch)
        terms: dict[str, torch.Tensor] = {}
        if config.ot_weight:
            terms["ot"] = config.ot_weight * ot_loss(
                student_tokens,
                token_mass(student_batch, self.student_idf).to(self.device),
                teacher_tokens,
                token_mass(teacher_batch, self.teacher_idf).to(self.device),
                config.sinkhorn_eps,
                config.sinkhorn_iters,
                config.detach_plan,
                self.center,
            )
        if config.mse_weight or config.anchor_weight:
            teacher_vectors = pool(teacher_tokens, teacher_batch.attention, self.pairing.pooling)
        if config.mse_weight:
            vectors = pool(student_tokens, student_batch.attention, self.pairing.pooling)
            terms["mse"] = config.mse_weight * _squared_distance(vectors, teacher_vectors)
        if config.anchor_weight:
            english_batch = self.student.tokenize(english, prompt, length)
            vectors = pool(
                self.student(english_batch), english_batch.attention, self.pairing.pooling
            )
            terms["anchor"] = config.anchor_weight * _squared_distance(vectors, teacher_vectors)
        total = cast(torch.Tensor, sum(terms.values()))  # the options enable at least one term
        return total, {name: value.item() for name, value in terms.items()}

    def run(self, on_step: Callable[[int, float], None] | None = None) -> dict[str, Any]:
        """Train to ``config.steps`` from the last checkpoint; return the ``done.json`` record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        step, log, seconds = self._resume()
        resumed_from = step
        self.student.train()
        started = time.perf_counter()
        try:
            with loss_progress(
                f"optical: training {self.folder.name}", self.config.steps, step
            ) as show_loss:
                while step < self.config.steps:
                    loss, terms = self.loss(self.batch(step), self.prompt(step))
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                    self.scheduler.step()
                    step += 1
                    value = loss.item()
                    log.append(
                        {
                            "step": step,
                            "loss": round(value, 6),
                            **{k: round(v, 6) for k, v in terms.items()},
                        }
                    )
                    show_loss(step, value)
                    if step % self.checkpoint_every == 0 and step < self.config.steps:
                        self._save_state(step, log, seconds + time.perf_counter() - started)
                    if on_step is not None:
                        on_step(step, value)
        except KeyboardInterrupt:
            self._save_state(step, log, seconds + time.perf_counter() - started)
            raise
        self.student.eval()
        return self._finish(step, log, seconds + time.perf_counter() - started, resumed_from)

    def _resume(self) -> tuple[int, list[dict[str, float]], float]:
        path = self.folder / STATE_FILE
        if not path.exists():
            torch.manual_seed(self.config.seed)
            random.seed(self.config.seed)
            np.random.seed(self.config.seed)
            return 0, [], 0.0
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.student.load_state_dict(state["student"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        return state["step"], state["log"], state["seconds"]

    def _save_state(self, step: int, log: list[dict[str, float]], seconds: float) -> None:
        rng = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "python": random.getstate(),
            "numpy": np.random.get_state(),
        }
        state = {
            "student": trainable_state(self.student),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": step,
            "log": log,
            "seconds": seconds,
            "rng": rng,
        }
        _atomic_save(state, self.folder / STATE_FILE)

    def _finish(
        self, step: int, log: list[dict[str, float]], seconds: float, resumed_from: int
    ) -> dict[str, Any]:
        _atomic_save(trainable_state(self.student), self.folder / STUDENT_FILE)
        record = {
            "checkpoint": self.folder.name,
            "student_sha256": file_sha256(self.folder / STUDENT_FILE)[:16],
            "steps": step,
            "resumed_from": resumed_from,
            "train_seconds": round(seconds, 1),
            "pairs": len(self.bitext),
            "bitext": bitext_id(self.bitext),
            "config": asdict(self.config),
            "pairing": asdict(self.pairing),
            "loss_first_10": _mean_loss(log[:10]),
            "loss_last_10": _mean_loss(log[-10:]),
            "log": log,
        }
        scratch = self.folder / f".{DONE_FILE}.{os.getpid()}"
        scratch.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(scratch, self.folder / DONE_FILE)
        (self.folder / STATE_FILE).unlink(missing_ok=True)
        return record


def _mean_loss(log: list[dict[str, float]]) -> float | None:
    return round(sum(entry["loss"] for entry in log) / len(log), 6) if log else None
