"""Multilingual BERT (or any transformers encoder) as a dense retriever, zero-shot."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from clirbench.devices import DeviceOptions, autocast, resolve_device
from clirbench.errors import MethodUnavailableError
from clirbench.method import DenseEncoder, DenseEncoderOptions, Readiness, Role
from clirbench.methods.adaptation.stage import AdaptationOptions, AdaptedEncoderMixin
from clirbench.registry import register_method

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "bert-base-multilingual-cased"


class MBERTOptions(DenseEncoderOptions, AdaptationOptions, DeviceOptions):
    runtime_options = (
        DenseEncoderOptions.runtime_options
        | AdaptationOptions.runtime_options
        | DeviceOptions.runtime_options
    )
    model: str = DEFAULT_MODEL
    """A hub id or a local folder readable by transformers' AutoModel/AutoTokenizer."""
    pooling: Literal["mean", "cls"] = "mean"
    max_length: int = Field(256, ge=1)
    normalize: bool = True


@register_method("mbert")
class MBERT(AdaptedEncoderMixin, DenseEncoder):
    """Multilingual BERT through transformers AutoModel; mean or [CLS] pooling, zero-shot.
    With ``adapt``, the model is first MLM-adapted to the task's language."""

    Options = MBERTOptions
    options: MBERTOptions
    requires = ("transformers", "torch")
    rebuilt_on_adaptation = ("_loaded",)

    @classmethod
    def readiness(cls) -> Readiness:
        """Ready when the default model's weights are in the local Hugging Face cache."""
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(DEFAULT_MODEL, "config.json"), str):
            return Readiness(True)
        note = f"weights of {DEFAULT_MODEL} absent offline; --set mbert.model=FOLDER"
        return Readiness(False, note)

    @cached_property
    def device(self) -> str:
        return resolve_device(self.options.device)

    @cached_property
    def _loaded(self) -> tuple[Any, Any]:
        from transformers import AutoModel, AutoTokenizer

        source = self.model_source()

        def load(local_only: bool) -> tuple[Any, Any]:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            model = AutoModel.from_pretrained(source, local_files_only=local_only)
            return tokenizer, model.to(self.device).eval()

        try:
            return load(local_only=True)
        except OSError as local_error:
            if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
                reason = str(local_error).splitlines()[0]
            else:
                try:
                    return load(local_only=False)
                except OSError as error:
                    reason = str(error).splitlines()[0]
        raise MethodUnavailableError(
            f"mbert: weights of {self.options.model!r} not available on this machine ({reason}); "
            "give a local folder with --set mbert.model=PATH"
        )

    def describe(self) -> dict[str, Any]:
        from clirbench.baselines.models import model_revision

        model = self.options.model
        revision = model_revision(model, model)
        return {"model": model, "model_revision": revision, **self.adaptation_facts()}

    def label(self) -> str:
        model = self.options.model
        parts = [] if model == DEFAULT_MODEL else [model.rstrip("/").split("/")[-1]]
        parts += [self.adaptation_label()] if self.options.adapt else []
        return self.long_document_label(f"mbert[{','.join(parts)}]" if parts else self.name)

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        import torch

        tokenizer, model = self._loaded
        batch = tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.options.max_length,
            return_tensors="pt",
        )
        batch = batch.to(self.device)
        with torch.inference_mode(), autocast(self.device, self.options.precision):
            tokens = model(**batch).last_hidden_state.float()
        if self.options.pooling == "cls":
            pooled = tokens[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1)
        if self.options.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().cpu().numpy()
