"""marian-local's training loss (a module of its own: marian_local loads no torch on import)."""

from __future__ import annotations

import torch

from .marian_local import PAD, Example, _pad


class TranslationLoss(torch.nn.Module):
    """Label-smoothed cross-entropy of the target tokens of a batch of examples, the decoder fed
    the target shifted right (teacher forcing, starting from PAD as Marian does)."""

    def __init__(self, model: torch.nn.Module, label_smoothing: float) -> None:
        super().__init__()
        self.model, self.label_smoothing = model, label_smoothing

    def forward(self, examples: list[Example]) -> torch.Tensor:
        sources = _pad([source for source, _ in examples], PAD)
        targets = [target for _, target in examples]
        decoder_inputs = _pad([[PAD, *target[:-1]] for target in targets], PAD)
        labels = _pad(targets, -100)
        logits = self.model(
            input_ids=sources, attention_mask=sources.ne(PAD), decoder_input_ids=decoder_inputs
        ).logits
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=-100,
            label_smoothing=self.label_smoothing,
        )
