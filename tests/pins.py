"""Digests of trained weights, pinned to show that a refactoring of a training loop trains the
same weights bit for bit (issue 15).

A digest is exact, so it holds only on the platform it was recorded on: the same torch release
on the same CPU instruction set (another one may round some kernels differently). Elsewhere the
pinned tests are skipped with the reason; the resume tests beside them, which compare two runs
of one process, hold everywhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

RECORDED_ON = {"torch": "2.13.0+cpu", "cpu": "AVX512"}
"""Where the pinned digests were computed."""


def state_digest(state: dict[str, Any]) -> str:
    """sha256 over the tensors of a state dict in key order (name, dtype, shape, raw bytes)."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}\t{tensor.dtype}\t{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def log_digest(log: list[dict[str, float]]) -> str:
    """sha256 of a training loss log (each entry's step, loss and terms, as logged)."""
    return hashlib.sha256(json.dumps(log, sort_keys=True).encode()).hexdigest()[:16]


def skip_unless_recorded_platform() -> None:
    import torch

    here = {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}
    if here != RECORDED_ON:
        pytest.skip(f"digests were pinned on {RECORDED_ON}, this is {here}")
