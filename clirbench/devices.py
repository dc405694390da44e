"""Torch device and mixed precision of a dense method: runtime options, never part of a cell's
identity or of an embedding cache key (they change how fast a vector is made, and its last bits
in fp16/bf16, not what it stands for).

``device`` None means cuda when available, else cpu; ``CLIRBENCH_DEVICE`` sets that default
for a whole process (the test suite sets cpu, so tests run on the CPU of a GPU machine too).
``precision`` fp16/bf16 runs the forward passes under ``torch.autocast`` on cuda only: on cpu
and mps they are ignored, with one note on stderr, so one options file serves both machines.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import ClassVar, Literal

from pydantic import Field

from clirbench.method import MethodOptions

Precision = Literal["fp32", "fp16", "bf16"]
DEVICE_PATTERN = r"^(cpu|mps|cuda(:[0-9]+)?)$"
DEVICE_ENV = "CLIRBENCH_DEVICE"

_noted: set[tuple[str, str]] = set()


class DeviceOptions(MethodOptions):
    """Mixin of the options of torch-based methods."""

    runtime_options: ClassVar[frozenset[str]] = frozenset({"device", "precision"})
    device: str | None = Field(None, pattern=DEVICE_PATTERN)
    """torch device: cpu, cuda, cuda:N or mps; None: cuda when available, else cpu."""
    precision: Precision = "fp32"
    """fp16 or bf16: mixed precision (autocast) on cuda; ignored, with a note, elsewhere."""


def resolve_device(device: str | None) -> str:
    """The device to use: the option, else ``CLIRBENCH_DEVICE``, else cuda when available."""
    if device:
        return device
    if chosen := os.environ.get(DEVICE_ENV):
        return chosen
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def autocast(device: str, precision: Precision) -> AbstractContextManager[object]:
    """Mixed precision for the forward passes run inside, on cuda; nothing elsewhere."""
    if precision == "fp32":
        return nullcontext()
    if not device.startswith("cuda"):
        if (device, precision) not in _noted:
            _noted.add((device, precision))
            print(
                f"note: precision {precision} is for cuda; running fp32 on {device}",
                file=sys.stderr,
            )
        return nullcontext()
    import torch

    return torch.autocast("cuda", dtype=torch.float16 if precision == "fp16" else torch.bfloat16)
