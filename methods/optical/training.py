"""Distil a frozen teacher into the student on bitext: seeded, checkpointed, resumable.

One step takes a batch of pairs (teacher-language sentence, target-language sentence) and adds
the terms of the loss whose weight is not 0, each a ``torch.nn.Module`` composed by
:class:`clirbench.training.LossTerms` from the options (as sentence-transformers composes losses):

* ``ot`` (:class:`TokenOT`): ``<P, C>`` between the student's tokens of the target sentence and
  the teacher's tokens of the English one (``C = 1 - cos``, ``P`` an entropic OT plan, see
  ``sinkhorn``);
* ``mse`` (:class:`SentenceMSE`): squared distance between the student's sentence vector of the
  target sentence and the teacher's of the English one (Reimers & Gurevych 2020);
* ``anchor`` (:class:`AnchorMSE`): the same between the student's and the teacher's vectors of
  the English sentence, which keeps the student where the teacher is (against forgetting and
  collapse).

Sentence vectors are L2-normalised, so the squared distance is ``2 (1 - cos)``: MSE times the
width, on the same scale as the OT cost. Training runs on :class:`clirbench.training.TrainingLoop`
in one folder per configuration, ``cache_dir()/models/optical/<id>/``: the loop's
``checkpoints/`` while training (every ``checkpoint_every`` steps and on Ctrl-C), ``student.pt``
and ``done.json`` once finished. A ``state.pt`` left by the trainer's own loop (before issue 15)
becomes the loop's checkpoint on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from clirbench.bitext import Bitext
from clirbench.fileio import file_sha256
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir
from clirbench.training import (
    Checkpointing,
    LoopConfig,
    LossTerms,
    Progress,
    StepBatches,
    TrainingLoop,
    TrainingResult,
    forked_rng,
    trainable_state,
)

from .encoders import Batch, Pooling, TokenEncoder, pool
from .sinkhorn import ot_loss

TRAINING_FORMAT = 1  # bump when a change to this file changes what a configuration trains
STUDENT_FILE, DONE_FILE = "student.pt", "done.json"
OLD_STATE_FILE = "state.pt"  # the checkpoint of the trainer's own loop, before issue 15


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

    def loop(self) -> LoopConfig:
        return LoopConfig(self.steps, self.lr, self.warmup, self.weight_decay, None, self.seed)


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


class Encoded:
    """One batch of pairs through teacher and student, shared by the loss terms.

    The token vectors of the pairs are computed at once, the student's of the English side
    (``anchor`` only) on first use: the student's passes draw dropout masks from torch's
    generator, so each runs once per step, always in this order."""

    def __init__(self, loss: DistillationLoss, pairs: list[tuple[str, str]], prompt: str) -> None:
        self.loss, self.prompt = loss, prompt
        self.english, target = [p[0] for p in pairs], [p[1] for p in pairs]
        self.teacher_batch = loss.teacher.tokenize(self.english, prompt, loss.max_length)
        self.student_batch = loss.student.tokenize(target, prompt, loss.max_length)
        with torch.no_grad():
            self.teacher_tokens = loss.teacher(self.teacher_batch)
        self.student_tokens = loss.student(self.student_batch)

    @cached_property
    def teacher_vectors(self) -> torch.Tensor:
        return pool(self.teacher_tokens, self.teacher_batch.attention, self.loss.pooling)

    @cached_property
    def student_vectors(self) -> torch.Tensor:
        return pool(self.student_tokens, self.student_batch.attention, self.loss.pooling)

    @cached_property
    def english_vectors(self) -> torch.Tensor:
        """The student's sentence vectors of the English side."""
        student = self.loss.student
        batch = student.tokenize(self.english, self.prompt, self.loss.max_length)
        return pool(student(batch), batch.attention, self.loss.pooling)


class TokenOT(torch.nn.Module):
    """``ot``: the OT cost between the student's target tokens and the teacher's English ones."""

    def __init__(
        self,
        config: TrainingConfig,
        student_idf: torch.Tensor | None,
        teacher_idf: torch.Tensor | None,
        center: torch.Tensor | None,
    ) -> None:
        super().__init__()
        self.eps, self.iters, self.detach_plan = (
            config.sinkhorn_eps,
            config.sinkhorn_iters,
            config.detach_plan,
        )
        self.student_idf, self.teacher_idf, self.center = student_idf, teacher_idf, center

    def forward(self, encoded: Encoded) -> torch.Tensor:
        device = encoded.student_tokens.device
        return ot_loss(
            encoded.student_tokens,
            token_mass(encoded.student_batch, self.student_idf).to(device),
            encoded.teacher_tokens,
            token_mass(encoded.teacher_batch, self.teacher_idf).to(device),
            self.eps,
            self.iters,
            self.detach_plan,
            self.center,
        )


class SentenceMSE(torch.nn.Module):
    """``mse``: the student's target sentence vector against the teacher's English one."""

    def forward(self, encoded: Encoded) -> torch.Tensor:
        teacher = encoded.teacher_vectors
        return _squared_distance(encoded.student_vectors, teacher)


class AnchorMSE(torch.nn.Module):
    """``anchor``: the student's English sentence vector against the teacher's."""

    def forward(self, encoded: Encoded) -> torch.Tensor:
        teacher = encoded.teacher_vectors
        return _squared_distance(encoded.english_vectors, teacher)


class DistillationLoss(torch.nn.Module):
    """The weighted loss terms of a batch ``(pairs, prompt)``; the student is what it trains."""

    def __init__(
        self,
        student: TokenEncoder,
        teacher: TokenEncoder,
        terms: LossTerms,
        pooling: Pooling,
        max_length: int,
    ) -> None:
        super().__init__()
        self.student, self.teacher, self.terms = student, teacher, terms
        self.pooling, self.max_length = pooling, max_length

    def forward(self, batch: tuple[list[tuple[str, str]], str]) -> dict[str, torch.Tensor]:
        pairs, prompt = batch
        return self.terms(Encoded(self, pairs, prompt))

    def train(self, mode: bool = True) -> DistillationLoss:
        super().train(mode)
        self.teacher.eval()  # frozen: no dropout in its targets
        return self


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
        self.folder = folder
        self.device = next(student.parameters()).device
        teacher.eval().requires_grad_(False)
        weights = {"ot": config.ot_weight, "mse": config.mse_weight, "anchor": config.anchor_weight}
        terms: dict[str, Callable[[], torch.nn.Module]] = {
            "ot": self._token_ot,
            "mse": SentenceMSE,
            "anchor": AnchorMSE,
        }
        self.loss = DistillationLoss(
            student,
            teacher,
            LossTerms({name: terms[name]() for name in terms if weights[name]}, weights),
            pairing.pooling,
            config.max_length,
        )
        self.order = StepBatches(
            [len(target) for _, target in bitext.pairs], config.batch_size, config.seed
        )
        self.loop = TrainingLoop(
            self.loss,
            lambda step: (self.batch(step), self.prompt(step)),
            config.loop(),
            folder,
            Checkpointing(every_steps=checkpoint_every),
            description=f"optical: training {folder.name}",
        )

    def _token_ot(self) -> TokenOT:
        config, bitext = self.config, self.bitext
        student_idf = teacher_idf = None
        if config.marginals == "idf":
            teacher_idf = idf_weights(self.teacher, [p[0] for p in bitext.pairs]).to(self.device)
            student_idf = idf_weights(self.student, [p[1] for p in bitext.pairs]).to(self.device)
        center = self._teacher_mean() if config.center_tokens else None
        return TokenOT(config, student_idf, teacher_idf, center)

    def _teacher_mean(self, sentences: int = 512) -> torch.Tensor:
        """The teacher's mean content-token vector over a seeded sample of the English side."""
        pairs = random.Random(self.config.seed).sample(
            self.bitext.pairs, min(sentences, len(self.bitext))
        )
        total: float | torch.Tensor = 0.0
        count = 0
        with torch.no_grad():
            for start in range(0, len(pairs), 32):
                english = [p[0] for p in pairs[start : start + 32]]
                batch = self.teacher.tokenize(
                    english, self.pairing.prompts["document"], self.config.max_length
                )
                content = batch.content.to(self.device).unsqueeze(-1)
                total = total + (self.teacher(batch) * content).sum(dim=(0, 1))
                count += int(content.sum())
        mean = total / count
        assert isinstance(mean, torch.Tensor), "every batch adds the teacher's vectors"
        return mean

    def prompt(self, step: int) -> str:
        role = self.config.bitext_prompt
        if role == "mixed":
            role = "document" if step % 2 == 0 else "query"
        return self.pairing.prompts[role]

    def batch(self, step: int) -> list[tuple[str, str]]:
        """The pairs of ``step``: seeded epochs of pairs of similar length."""
        return [self.bitext.pairs[i] for i in self.order(step)]

    def run(self, on_step: Callable[[int, float], None] | None = None) -> dict[str, Any]:
        """Train to ``config.steps`` from the last checkpoint; return the ``done.json`` record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._take_over_old_state()
        return self._finish(self.loop.run(on_step))

    def _take_over_old_state(self) -> None:
        """Make ``state.pt`` of the trainer's own loop (before issue 15) the loop's checkpoint,
        so a training interrupted then goes on where it stopped."""
        path = self.folder / OLD_STATE_FILE
        if not path.is_file():
            return
        if self.loop.last_checkpoint() is None:
            # clirbench wrote it; numpy's generator state in it needs the full unpickler
            state = torch.load(path, map_location=self.device, weights_only=False)
            self.student.load_state_dict(state["student"], strict=False)
            self.loop.optimizer.load_state_dict(state["optimizer"])
            self.loop.scheduler.load_state_dict(state["scheduler"])
            rng = state["rng"]
            with forked_rng():
                torch.set_rng_state(rng["torch"])
                if torch.cuda.is_available() and rng.get("cuda") is not None:
                    torch.cuda.set_rng_state_all(rng["cuda"])
                random.setstate(rng["python"])
                np.random.set_state(rng["numpy"])
                self.loop.save(Progress(state["step"], state["log"], state["seconds"]))
        path.unlink()

    def _finish(self, result: TrainingResult) -> dict[str, Any]:
        _atomic_save(trainable_state(self.student), self.folder / STUDENT_FILE)
        summary = result.summary()
        record = {
            "checkpoint": self.folder.name,
            "student_sha256": file_sha256(self.folder / STUDENT_FILE)[:16],
            **{key: summary[key] for key in ("steps", "resumed_from", "train_seconds")},
            "pairs": len(self.bitext),
            "bitext": bitext_id(self.bitext),
            "config": asdict(self.config),
            "pairing": asdict(self.pairing),
            **{key: summary[key] for key in ("loss_first_10", "loss_last_10", "log")},
        }
        scratch = self.folder / f".{DONE_FILE}.{os.getpid()}"
        scratch.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(scratch, self.folder / DONE_FILE)
        self.loop.clear_checkpoints()
        return record
