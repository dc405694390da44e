"""Teacher and student encoders: token vectors, the tokens OT aligns, and sentence pooling.

Models are loaded with sentence-transformers, so any local transformers or sentence-transformers
folder (or a short name of ``clirbench.baselines.models``) works; the transformer's last hidden
states are the token vectors. A student narrower or wider than the teacher gets a trained linear
projection to the teacher's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from clirbench.errors import OptionsError

Pooling = Literal["mean", "cls"]


@dataclass(frozen=True)
class Batch:
    """Tokenised texts: model inputs, the tokens that count, and the prompt length."""

    inputs: dict[str, torch.Tensor]
    attention: torch.Tensor  # [B, L] bool: real tokens, pooled like the teacher pools
    content: torch.Tensor  # [B, L] bool: tokens of the text itself (no special or prompt tokens)


def load_sentence_transformer(name: str, device: str) -> tuple[Any, str]:
    """The model for a short name or folder, and its revision (changes when the weights do)."""
    from sentence_transformers import SentenceTransformer

    from clirbench.baselines.models import model_revision, resolve_model

    folder = resolve_model(name)
    return SentenceTransformer(folder, device=device), model_revision(name, folder)


def prompts_of(model: Any) -> dict[str, str]:
    """The model's query and document prompts (e5: "query: " / "passage: "; most models: none)."""
    prompts = dict(getattr(model, "prompts", None) or {})
    return {
        "query": prompts.get("query", ""),
        "document": prompts.get("passage") or prompts.get("document", ""),
    }


def pooling_of(model: Any) -> Pooling:
    """Mean or CLS pooling, from the model's Pooling module (mean when there is none)."""
    for module in model:
        config: dict[str, Any] = getattr(module, "get_config_dict", dict)()
        mode = config.get("pooling_mode")
        if mode is None and hasattr(
            module, "pooling_mode_cls_token"
        ):  # older sentence-transformers
            mode = "cls" if module.pooling_mode_cls_token else "mean"
        if mode is not None:
            if mode not in ("mean", "cls"):
                raise OptionsError(f"teacher pooling {mode!r} is not supported (mean or cls)")
            return mode
    return "mean"


class TokenEncoder(torch.nn.Module):
    """A transformer (plus an optional projection) that maps texts to token vectors."""

    def __init__(self, model: Any, width: int | None = None) -> None:
        super().__init__()
        self.tokenizer = model.tokenizer
        self.transformer = model[0].auto_model
        self.max_length = int(model.max_seq_length or self.tokenizer.model_max_length)
        hidden = int(self.transformer.config.hidden_size)
        self.width = width or hidden
        self.projection = torch.nn.Linear(hidden, self.width) if self.width != hidden else None

    def tokenize(self, texts: list[str], prompt: str, max_length: int) -> Batch:
        encoded = self.tokenizer(
            [prompt + text for text in texts],
            padding=True,
            truncation=True,
            max_length=min(max_length, self.max_length),
            return_tensors="pt",
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        offsets = encoded.pop("offset_mapping")
        special = encoded.pop("special_tokens_mask").bool()
        attention = encoded["attention_mask"].bool()
        content = attention & ~special & (offsets[:, :, 1] > len(prompt))
        content |= attention & ~content.any(
            dim=1, keepdim=True
        )  # a text of prompt only: use all tokens
        return Batch(dict(encoded), attention, content)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Token vectors ``[B, L, width]``."""
        device = next(self.parameters()).device
        inputs = {key: value.to(device) for key, value in batch.inputs.items()}
        states = self.transformer(**inputs).last_hidden_state
        return self.projection(states) if self.projection is not None else states


def pool(states: torch.Tensor, attention: torch.Tensor, mode: Pooling) -> torch.Tensor:
    """L2-normalised sentence vectors: mean over real tokens (prompt included, as
    sentence-transformers does) or the first token."""
    if mode == "cls":
        pooled = states[:, 0]
    else:
        mask = attention.to(states.device, states.dtype).unsqueeze(-1)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def freeze(encoder: TokenEncoder, embeddings: bool, layers: int) -> None:
    """Freeze the word embeddings and/or the lowest ``layers`` transformer layers."""
    transformer = encoder.transformer
    pooler = getattr(transformer, "pooler", None)
    if pooler is not None:  # unused: sentence vectors are pooled from the token vectors
        pooler.requires_grad_(False)
    if embeddings:
        transformer.get_input_embeddings().weight.requires_grad_(False)
    if layers:
        stack = getattr(getattr(transformer, "encoder", None), "layer", None)
        if stack is None or layers > len(stack):
            raise OptionsError(f"cannot freeze {layers} layers of {type(transformer).__name__}")
        for layer in stack[:layers]:
            layer.requires_grad_(False)
