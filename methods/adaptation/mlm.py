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

Everything lives in ``cache_dir()/models/mlm/<id>/``, the id a hash of the model and its
revision, the text's digest and the config: ``checkpoints/`` while training
(``clirbench.training``), then ``model/`` (the adapted encoder with its MLM head, a folder that
transformers and sentence-transformers load, with the source's sentence-transformers modules,
pooling and prompts) and ``done.json``. A finished id is never trained again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from clirbench.devices import resolve_device
from clirbench.errors import MethodUnavailableError, OptionsError
from clirbench.fileio import atomic_write_json, create_temp_dir, file_sha256
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir
from clirbench.training import Checkpointing, LoopConfig, StepBatches, TrainingLoop, forked_rng

from .text import AdaptationText

MLM_FORMAT = 1  # bump when a change to this file changes what a configuration trains
DONE_FILE, MODEL_DIR = "done.json", "model"
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1  # of the chosen tokens; the remaining 10% stay unchanged
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

    def loop(self) -> LoopConfig:
        # Gradient clipping at 1.0 as run_mlm / HF Trainer do for continued pre-training.
        return LoopConfig(self.steps, self.lr, self.warmup, self.weight_decay, 1.0, self.seed)


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
        "config": asdict(config),
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


class MaskedBatches:
    """Step -> a masked batch, the same in every process (seeded shuffle and masking)."""

    def __init__(self, tokenizer: Any, texts: tuple[str, ...], config: MLMConfig) -> None:
        if tokenizer.mask_token_id is None:
            raise OptionsError(f"tokenizer {type(tokenizer).__name__} has no mask token")
        self.tokenizer, self.texts, self.config = tokenizer, texts, config
        self.order = StepBatches([len(t) for t in texts], config.batch_size, config.seed)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
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
        return {"input_ids": inputs, "attention_mask": encoded["attention_mask"], "labels": labels}


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

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        labels = batch["labels"].to(device)
        states = self.model.base_model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
        )[0]
        chosen = labels != -100
        logits = self.head(states[chosen])
        return torch.nn.functional.cross_entropy(logits.float(), labels[chosen])


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
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None:  # not on the MLM path; would get no gradient
        pooler.requires_grad_(False)
    loop = TrainingLoop(
        MaskedLMLoss(model),
        MaskedBatches(tokenizer, text.texts, config),
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
    }
    atomic_write_json(folder / DONE_FILE, record)
    loop.clear_checkpoints()
