"""Any transformers sequence-to-sequence translation model, by hub id or local folder.

Three families are told apart by their tokenizer:

- NLLB: language codes are the card codes themselves (``eng_Latn``); the tokenizer's
  ``src_lang`` is set and the target code is forced as the first generated token.
- M2M100: two-letter codes (``en``), mapped from the card code; as NLLB otherwise.
- anything else (Marian ``opus-mt-*`` and the like): one direction per model, no language
  codes; the caller picks the model that matches the languages.

Weights are read from the local Hugging Face cache only when ``HF_HUB_OFFLINE`` is set; a model
that cannot be loaded is a :class:`MethodUnavailableError`, which the runner records.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from clirbench.baselines.translators import TranslatorBase, TranslatorOptions
from clirbench.errors import MethodUnavailableError
from clirbench.tasks.languages import ISO_639_1

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clirbench.bitext import Bitext

NAME = "hf"
MAX_SOURCE_TOKENS = 512
Family = Literal["nllb", "m2m100", "plain"]


class ModelOptions(TranslatorOptions):
    model: str | None = None
    """A Hugging Face hub id or a local folder."""
    num_beams: int = Field(4, ge=1)


class HFTranslator(TranslatorBase):
    """Translate with a transformers seq2seq model (Marian, NLLB, M2M100) given by ``model``."""

    Options = ModelOptions

    def __init__(self, options: TranslatorOptions, bitext: Bitext | None = None) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        super().__init__(options, bitext)
        assert isinstance(options, ModelOptions)
        model_id = require_model(NAME, options.model)
        offline = hub_offline()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=offline)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(model_id, local_files_only=offline)
        except OSError as error:
            raise MethodUnavailableError(
                f"translation model {model_id!r}: weights are not available offline ({error})"
            ) from None
        self.model.eval()
        self.num_beams = options.num_beams
        self.family = model_family(self.tokenizer)
        self.revision = getattr(self.model.config, "_commit_hash", None) or folder_revision(
            Path(model_id)
        )

    def describe(self) -> dict[str, Any]:
        assert isinstance(self.options, ModelOptions)
        return {
            "translator": NAME,
            "model": self.options.model,
            "revision": self.revision,
            "num_beams": self.num_beams,
        }

    def translate(self, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        import torch

        target_token = set_languages(self.tokenizer, self.family, source_lang, target_lang)
        forced = (
            {}
            if target_token is None
            else {"forced_bos_token_id": self.tokenizer.convert_tokens_to_ids(target_token)}
        )
        outputs = [""] * len(texts)
        with torch.inference_mode():
            for batch in length_batches(texts, self.options.batch_size):
                inputs = self.tokenizer(
                    [texts[i] for i in batch],
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=MAX_SOURCE_TOKENS,
                )
                generated = self.model.generate(
                    **inputs,
                    num_beams=self.num_beams,
                    do_sample=False,
                    max_new_tokens=max_new_tokens(inputs["input_ids"].shape[1]),
                    **forced,
                )
                for i, text in zip(
                    batch,
                    self.tokenizer.batch_decode(generated, skip_special_tokens=True),
                    strict=True,
                ):
                    outputs[i] = text.strip()
        return outputs


def require_model(translator: str, model: str | None) -> str:
    if not model:
        raise MethodUnavailableError(
            f"translator {translator!r} needs a model: a Hugging Face hub id or a local folder "
            "(--set nmt.model=...)"
        )
    return model


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def max_new_tokens(source_tokens: int) -> int:
    """Room for a translation 1.5 times as long as its source, plus 10 tokens."""
    return int(1.5 * source_tokens) + 10


def length_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices of ``texts`` in batches of similar length (longest first), so little is padded.

    Blank texts are left out: their translation is the empty string.
    """
    order = sorted(
        (i for i, text in enumerate(texts) if text.strip()),
        key=lambda i: len(texts[i]),
        reverse=True,
    )
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def model_family(tokenizer: PreTrainedTokenizerBase) -> Family:
    if hasattr(tokenizer, "lang_code_to_token"):
        return "m2m100"
    if type(tokenizer).__name__.startswith("Nllb"):
        return "nllb"
    return "plain"


def set_languages(
    tokenizer: PreTrainedTokenizerBase, family: Family, source_lang: str, target_lang: str
) -> str | None:
    """Set the tokenizer's source language.

    Returns the target-language token to start with, if any.
    """
    if family == "plain":
        return None
    source, target = (_family_code(tokenizer, family, lang) for lang in (source_lang, target_lang))
    tokenizer.src_lang = source
    return tokenizer.get_lang_token(target) if family == "m2m100" else target


_TO_ISO_639_1 = {card: two for two, card in ISO_639_1.items()}


def _family_code(tokenizer: PreTrainedTokenizerBase, family: Family, lang: str) -> str:
    """The model's code for card code ``lang``: itself for NLLB, its two-letter code for M2M100."""
    if family == "nllb":
        known = lang in tokenizer.get_vocab()
        code = lang
    else:
        code = _TO_ISO_639_1.get(lang, lang.split("_")[0])
        known = code in tokenizer.lang_code_to_token
    if not known:
        raise MethodUnavailableError(f"the {family} model has no language code for {lang} ({code})")
    return code


def folder_revision(folder: Path) -> str:
    """A content hash of a local model folder (hub models have a commit hash instead)."""
    if not folder.is_dir():
        return "unknown"
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\0".encode())
        with path.open("rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
