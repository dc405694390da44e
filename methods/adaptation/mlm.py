"""Language-adaptive pre-training: continued masked-language-model training of an encoder on
monolingual text of one language (Ebrahimi & Kann, ACL 2021: continued MLM pre-training on the
New Testament was the best of their adaptation methods; Alabi et al., COLING 2022: AfroXLMR,
adaptation with the objective used in pre-training).

The objective is BERT's (Devlin et al. 2019), as XLM-R kept it: a share ``masking_rate`` (15%)
of the non-special tokens is chosen; of those, 80% become the mask token, 10% a token drawn
uniformly from the vocabulary and 10% stay as they are; the loss is the cross-entropy of the
chosen tokens only (computed on those positions alone, which saves most of a 250k-word softmax).
Masking is per subword (XLM-R, AfroXLMR) unless ``whole_word`` (the later BERT release's
whole-word masking) masks every piece of a chosen word together.

BERT-family models come with their pre-training head when the checkpoint has one. The converted
multilingual-e5-small is a bare ``BertModel`` without one: it gets a new head in the shape of
``BertForMaskedLM`` (dense + GELU + LayerNorm transform, then a decoder whose weight is tied to
the input word embeddings, bias zero), trained with the encoder. Freezing the embeddings
(``freeze_embeddings``) therefore freezes the decoder weight as well.

Continued MLM from a *new* head pulls a contrastively tuned retrieval encoder's space apart
(multilingual-e5-small on bible-en-ny/verse, quick preset: nDCG@10 0.953 untrained, 0.064 after
80 steps): the random head's gradients reach every layer from the first step. Three protections,
each a field of :class:`MLMConfig` (measured in ``stage``):

* ``head_warmup_steps``: first train the head alone (the encoder, and the decoder tied to its
  embeddings, frozen) at ``head_lr``, so the encoder only ever sees an informed head's gradient.
* ``anchor_weight``: a self-distillation anchor, :class:`EmbeddingAnchor`, the squared distance
  between the adapted and the frozen original encoder's sentence vectors of the same batch.
* ``frozen_layers``: the lowest transformer layers stay as they are.

The anchor acts on the function the retriever uses (its sentence vectors), not on the weights:
L2-SP (Li et al. 2018), weight decay toward the original weights, was not chosen because the
collapse above comes from weights that moved at most 80 x 5e-5 each (a parameter distance that
small can still rotate the space), and under AdamW its gradient is rescaled per weight with the
MLM gradient's, so no weight of it says how close the vectors stay.

Everything lives in ``cache_dir()/models/mlm/<id>/``, the id a hash of the model and its
revision, the text's digest and the config: ``head/`` while the head warms up (then its
``head.pt``), ``checkpoints/`` while training (``clirbench.training``), then ``model/`` (the
adapted encoder with its MLM head, a folder that transformers and sentence-transformers load,
with the source's sentence-transformers modules, pooling and prompts) and ``done.json``. A
finished id is never trained again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from clirbench.devices import resolve_device
from clirbench.errors import MethodUnavailableError, OptionsError
from clirbench.fileio import atomic_write_json, create_temp_dir, file_sha256
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir
from clirbench.training import (
    Checkpointing,
    LoopConfig,
    LossTerms,
    StepBatches,
    TrainingLoop,
    forked_rng,
    trainable_state,
)

from .text import AdaptationText

MLM_FORMAT = 1  # bump when a change to this file changes what a configuration trains
DONE_FILE, MODEL_DIR = "done.json", "model"
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1  # of the chosen tokens; the remaining 10% stay unchanged
_PROTECTIONS = ("head_warmup_steps", "anchor_weight", "frozen_layers")
HEAD_DIR, HEAD_FILE = "head", "head.pt"
_ST_FILES = ("modules.json", "config_sentence_transformers.json", "sentence_bert_config.json")


@dataclass(frozen=True)
class MLMConfig:
    """Everything that decides the adapted weights (hashed into the checkpoint id)."""

    steps: int
    batch_size: int
    max_length: int
    lr: float
    warmup: float = 0.1
    weight_decay: float = 0.01
    masking_rate: float = 0.15
    whole_word: bool = False
    freeze_embeddings: bool = True
    seed: int = 0
    head_warmup_steps: int = 0
    head_lr: float = 1e-3
    anchor_weight: float = 0.0
    frozen_layers: int = 0

    def loop(self) -> LoopConfig:
        # Gradient clipping at 1.0 as run_mlm / HF Trainer do for continued pre-training.
        return LoopConfig(self.steps, self.lr, self.warmup, self.weight_decay, 1.0, self.seed)

    def head_loop(self) -> LoopConfig:
        return LoopConfig(
            self.head_warmup_steps, self.head_lr, self.warmup, self.weight_decay, 1.0, self.seed
        )

    def key(self) -> dict[str, Any]:
        """The config as hashed: a protection that is off is left out, so a configuration
        without any keeps the checkpoint id it had before the protections existed."""
        values = asdict(self)
        if not self.head_warmup_steps:
            del values["head_lr"]
        return {k: v for k, v in values.items() if not (k in _PROTECTIONS and v == 0)}


@dataclass(frozen=True)
class AdaptedModel:
    """A finished adaptation: the encoder's folder, a revision naming it, and its record."""

    folder: Path
    revision: str
    record: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """What a method reports and keys its vectors by (the loss log left out)."""
        return {key: value for key, value in self.record.items() if key != "log"}


def checkpoint_id(model: str, revision: str, text: AdaptationText, config: MLMConfig) -> str:
    payload = {
        "format": MLM_FORMAT,
        "model": model,
        "revision": revision,
        "text": text.sha256,
        "config": config.key(),
    }
    return json_hash(payload)


def mask_tokens(
    input_ids: torch.Tensor,
    maskable: torch.Tensor,
    rate: float,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    word_ids: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's corruption of a batch: ``(inputs, labels)``, labels -100 where nothing is predicted.

    ``maskable`` marks real, non-special tokens. With ``word_ids`` (the word of each token, -1
    for special and padding tokens) whole words are chosen. At least one token is always
    chosen, so a batch of short texts still has a loss.
    """
    if word_ids is not None:
        words = int(word_ids.max().item()) + 1
        chosen_words = torch.rand(input_ids.shape[0], max(words, 1), generator=generator) < rate
        chosen = torch.gather(chosen_words, 1, word_ids.clamp(min=0)) & (word_ids >= 0)
    else:
        chosen = torch.rand(input_ids.shape, generator=generator) < rate
    chosen &= maskable
    if not chosen.any() and maskable.any():
        chosen.view(-1)[int(maskable.view(-1).nonzero()[0])] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    draw = torch.rand(input_ids.shape, generator=generator)
    inputs = input_ids.clone()
    inputs[chosen & (draw < MASK_SHARE)] = mask_id
    random_slots = chosen & (draw >= MASK_SHARE) & (draw < MASK_SHARE + RANDOM_SHARE)
    inputs[random_slots] = torch.randint(vocab_size, input_ids.shape, generator=generator)[
        random_slots
    ]
    return inputs, labels


def _step_seed(seed: int, step: int) -> int:
    return int.from_bytes(hashlib.sha256(f"mlm-mask:{seed}:{step}".encode()).digest()[:8], "big")


@dataclass
class MaskedBatch:
    """One step's masked texts; the encoder's states of them are computed once, for every term
    of that step. The states keep their graph: use a batch for one step (``replace(batch)`` is
    a fresh copy)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    _states: dict[int, torch.Tensor] = field(default_factory=dict, init=False, repr=False)

    def states(self, encoder: torch.nn.Module) -> torch.Tensor:
        """``encoder``'s last hidden states of the masked inputs, on its device."""
        if id(encoder) not in self._states:
            device = next(encoder.parameters()).device
            self._states[id(encoder)] = encoder(
                input_ids=self.input_ids.to(device),
                attention_mask=self.attention_mask.to(device),
            )[0]
        return self._states[id(encoder)]


class MaskedBatches:
    """Step -> a masked batch, the same in every process (seeded shuffle and masking)."""

    def __init__(self, tokenizer: Any, texts: tuple[str, ...], config: MLMConfig) -> None:
        if tokenizer.mask_token_id is None:
            raise OptionsError(f"tokenizer {type(tokenizer).__name__} has no mask token")
        self.tokenizer, self.texts, self.config = tokenizer, texts, config
        self.order = StepBatches([len(t) for t in texts], config.batch_size, config.seed)

    def __call__(self, step: int) -> MaskedBatch:
        texts = [self.texts[i] for i in self.order(step)]
        config = self.config
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=config.max_length,
            return_special_tokens_mask=True,
            return_tensors="pt",
        )
        attention = encoded["attention_mask"].bool()
        maskable = attention & ~encoded["special_tokens_mask"].bool()
        word_ids = None
        if config.whole_word:
            rows = [
                [-1 if w is None else w for w in encoded.word_ids(i)] for i in range(len(texts))
            ]
            word_ids = torch.tensor(rows, dtype=torch.long)
        generator = torch.Generator().manual_seed(_step_seed(config.seed, step))
        inputs, labels = mask_tokens(
            encoded["input_ids"],
            maskable,
            config.masking_rate,
            self.tokenizer.mask_token_id,
            len(self.tokenizer),
            generator,
            word_ids,
        )
        return MaskedBatch(inputs, encoded["attention_mask"], labels)


def mlm_head(model: Any) -> torch.nn.Module:
    """The prediction head of a transformers *ForMaskedLM model (BERT or XLM-R family)."""
    for name in ("cls", "lm_head"):
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return getattr(model, name)
    raise OptionsError(
        f"MLM adaptation supports BERT- and XLM-R-family models; {type(model).__name__} has no "
        "'cls' or 'lm_head' prediction head"
    )


class MaskedLMLoss(torch.nn.Module):
    """Cross-entropy of the chosen tokens, the head run on those positions only."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.head = mlm_head(model)

    def forward(self, batch: MaskedBatch) -> torch.Tensor:
        states = batch.states(self.model.base_model)
        labels = batch.labels.to(states.device)
        chosen = labels != -100
        logits = self.head(states[chosen])
        return torch.nn.functional.cross_entropy(logits.float(), labels[chosen])


def mean_pooled(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """L2-normalised mean of the token states (e5's pooling, the default student's)."""
    mask = attention_mask.to(states.device).unsqueeze(-1).to(states.dtype)
    vectors = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(vectors.float(), dim=-1)


class EmbeddingAnchor(torch.nn.Module):
    """Self-distillation anchor: ``|v - v0|^2`` (= 2 - 2 cos) averaged over the batch, ``v`` the
    adapted encoder's mean-pooled vector of a masked text and ``v0`` the frozen original's of
    the same input. Sharing the MLM term's forward pass, it costs one gradient-free forward.
    Mean pooling whatever the model's own pooling: it ties every token state to the original.
    The adapted side runs with dropout (the MLM pass), the original without: before any update
    the term is already about 0.022 on multilingual-e5-small (cos 0.989), a floor that also asks
    for vectors robust to dropout."""

    def __init__(self, model: Any, original: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.original = original.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> EmbeddingAnchor:
        super().train(mode)
        self.original.eval()  # a fixed target: no dropout
        return self

    def forward(self, batch: MaskedBatch) -> torch.Tensor:
        adapted = mean_pooled(batch.states(self.model.base_model), batch.attention_mask)
        with torch.no_grad():
            original = mean_pooled(batch.states(self.original), batch.attention_mask)
        return (adapted - original).pow(2).sum(-1).mean()


def load_mlm_model(folder: str) -> tuple[Any, Any, str]:
    """Tokenizer, MLM model and what its head is: ``pretrained`` or ``new, tied to the input
    embeddings`` (a checkpoint without one, like the converted multilingual-e5-small)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # a missing head is expected here, and said in the record
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model, info = AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
    except (OSError, ValueError) as error:
        raise MethodUnavailableError(
            f"MLM adaptation: cannot load {folder!r} as a masked language model "
            f"({str(error).splitlines()[0]}); give a local BERT or XLM-R folder"
        ) from None
    finally:
        logging.set_verbosity(verbosity)
    head_prefixes = ("cls.", "lm_head.")
    new_head = any(key.startswith(head_prefixes) for key in info["missing_keys"])
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    if new_head and not tied:
        model.tie_weights()
    head = "new, tied to the input embeddings" if new_head else "pretrained"
    return tokenizer, model, head


def _publish_model(model: Any, tokenizer: Any, source: str, folder: Path) -> None:
    """Write ``folder/model`` atomically: weights, tokenizer, and the source's
    sentence-transformers modules (pooling, normalisation, prompts) when it has them."""
    target = folder / MODEL_DIR
    tmp = create_temp_dir(folder, MODEL_DIR)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source_path = Path(source)
        if (source_path / "modules.json").is_file():
            for name in _ST_FILES:
                if (source_path / name).is_file():
                    shutil.copy2(source_path / name, tmp / name)
            for module in json.loads((source_path / "modules.json").read_text(encoding="utf-8")):
                sub = module.get("path", "")
                if sub and (source_path / sub).is_dir():
                    shutil.copytree(source_path / sub, tmp / sub)
        shutil.rmtree(target, ignore_errors=True)  # a model left by a run killed before done.json
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def adapted_dir(identifier: str) -> Path:
    return cache_dir() / "models" / "mlm" / identifier


def adapt(
    model: str,
    text: AdaptationText,
    config: MLMConfig,
    checkpointing: Checkpointing | None = None,
    device: str | None = None,
    on_step: Any = None,
) -> AdaptedModel:
    """The encoder ``model`` (short name, hub id or folder) adapted to ``text``: trained now,
    resumed from its last checkpoint, or found finished in the cache. ``on_step(step, loss)``
    is called after each step (progress, tests)."""
    from filelock import FileLock

    from clirbench.baselines.models import model_revision, resolve_model

    source = resolve_model(model)
    revision = model_revision(model, source)
    identifier = checkpoint_id(model, revision, text, config)
    folder = adapted_dir(identifier)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".lock")):
        if not (folder / DONE_FILE).is_file():
            _train(model, source, revision, text, config, folder, checkpointing, device, on_step)
    record = json.loads((folder / DONE_FILE).read_text(encoding="utf-8"))
    return AdaptedModel(folder / MODEL_DIR, f"{revision}+mlm-{identifier}", record)


def _train(
    model_name: str,
    source: str,
    revision: str,
    text: AdaptationText,
    config: MLMConfig,
    folder: Path,
    checkpointing: Checkpointing | None,
    device: str | None,
    on_step: Any,
) -> None:
    with forked_rng():  # a new head's initialisation is part of what the seed decides
        torch.manual_seed(config.seed)
        tokenizer, model, head = load_mlm_model(source)
    model.to(resolve_device(device))
    batches = MaskedBatches(tokenizer, text.texts, config)
    warmup = (
        _warm_up_head(model, batches, config, folder, checkpointing)
        if config.head_warmup_steps
        else None
    )
    terms: dict[str, torch.nn.Module] = {"mlm": MaskedLMLoss(model)}
    if config.anchor_weight:
        terms["anchor"] = EmbeddingAnchor(model, copy.deepcopy(model.base_model))
    _set_trainable(model, config)
    loop = TrainingLoop(
        LossTerms(terms, {"anchor": config.anchor_weight}),
        batches,
        config.loop(),
        folder,
        checkpointing,
        description=f"mlm: adapting {Path(model_name).name} to {text.lang}",
    )
    result = loop.run(on_step)
    _publish_model(model, tokenizer, source, folder)
    weights = sorted((folder / MODEL_DIR).glob("*.safetensors"))
    record = {
        "checkpoint": folder.name,
        "model": model_name,
        "model_revision": revision,
        "weights_sha256": file_sha256(weights[0])[:16] if weights else None,
        "head": head,
        "lang": text.lang,
        "text": {
            "origin": text.origin,
            "texts": len(text),
            "dropped": text.dropped,
            "sha256": text.sha256[:16],
        },
        "config": asdict(config),
        **result.summary(),
        "mlm_loss_first_10": _mean_term(result.log[:10], "mlm"),
        "mlm_loss_last_10": _mean_term(result.log[-10:], "mlm"),
    }
    if warmup is not None:
        record["head_warmup"] = warmup
    atomic_write_json(folder / DONE_FILE, record)
    loop.clear_checkpoints()
    shutil.rmtree(folder / HEAD_DIR, ignore_errors=True)


def _set_trainable(model: Any, config: MLMConfig) -> None:
    """Every weight trains but the frozen ones: the embeddings (with the tied decoder) when
    ``freeze_embeddings``, the lowest ``frozen_layers`` layers, and the pooler (off the MLM
    path, it would get no gradient)."""
    model.requires_grad_(True)
    base = model.base_model
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    pooler = getattr(base, "pooler", None)
    if pooler is not None:
        pooler.requires_grad_(False)
    if config.frozen_layers:
        stack = getattr(getattr(base, "encoder", None), "layer", None)
        if stack is None or config.frozen_layers > len(stack):
            raise OptionsError(
                f"mlm_frozen_layers={config.frozen_layers}: {type(base).__name__} has "
                f"{len(stack) if stack is not None else 'no'} layers to freeze; give fewer"
            )
        for layer in stack[: config.frozen_layers]:
            layer.requires_grad_(False)


def _warm_up_head(
    model: Any,
    batches: MaskedBatches,
    config: MLMConfig,
    folder: Path,
    checkpointing: Checkpointing | None,
) -> dict[str, Any]:
    """Train the head alone for ``head_warmup_steps`` (resumably, in ``folder/head``), or load
    the head it ended with; its record. A decoder tied to the input embeddings stays frozen:
    it is the encoder's own embedding matrix."""
    target = folder / HEAD_DIR / HEAD_FILE
    if not target.is_file():
        model.requires_grad_(False)
        mlm_head(model).requires_grad_(True)
        model.get_input_embeddings().weight.requires_grad_(False)
        loop = TrainingLoop(
            MaskedLMLoss(model),
            batches,
            config.head_loop(),
            folder / HEAD_DIR,
            checkpointing,
            description="mlm: warming up the head",
        )
        result = loop.run()
        summary = {k: v for k, v in result.summary().items() if k != "log"}
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        torch.save({"state": trainable_state(model), "record": summary}, tmp)
        tmp.rename(target)
        loop.clear_checkpoints()
    saved = torch.load(target, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(saved["state"], strict=False)
    return saved["record"]


def _mean_term(log: list[dict[str, float]], name: str) -> float | None:
    values = [entry[name] for entry in log if name in entry]
    return round(sum(values) / len(values), 6) if values else None
