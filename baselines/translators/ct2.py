"""Translation with a CTranslate2 model folder (a converted Marian, NLLB or M2M100 model).

CTranslate2 runs the converted model with its own inference engine instead of torch. Make a
folder with :func:`convert_to_ct2`: it converts the transformers model and saves the source
model's tokenizer in the folder's ``tokenizer/`` subfolder, so the folder is all the translator
needs. A folder converted otherwise (``ct2-transformers-converter --copy_files ...``) works too
if the tokenizer files sit in the folder itself. Languages are handled as by the ``hf``
translator; the target-language token of NLLB and M2M100 models is the target prefix.

Checked here on a tiny Marian model only (greedy output equals the ``hf`` translator's).
CTranslate2 4.8's converter finds M2M100's language tokens through ``additional_special_tokens``,
which transformers 5 tokenizers built from scratch did not list: such a conversion stopped with
"Source vocabulary ... has size ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field

from clirbench.baselines.translators import TranslatorBase, TranslatorOptions
from clirbench.baselines.translators.hf import (
    MAX_SOURCE_TOKENS,
    folder_revision,
    length_batches,
    max_new_tokens,
    model_family,
    require_model,
    set_languages,
)
from clirbench.errors import MethodUnavailableError

if TYPE_CHECKING:
    from clirbench.bitext import Bitext

NAME = "ct2"
TOKENIZER_FOLDER = "tokenizer"


def convert_to_ct2(model: str | Path, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Convert a transformers model (folder or hub id) into CTranslate2 folder ``out_dir``.

    ``quantization`` is CTranslate2's (``int8``, ``int8_float32``, ...); None keeps float32.
    ``out_dir`` must not exist yet.
    """
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer

    out_dir = Path(out_dir)
    TransformersConverter(str(model)).convert(str(out_dir), quantization=quantization)
    AutoTokenizer.from_pretrained(str(model)).save_pretrained(out_dir / TOKENIZER_FOLDER)
    return out_dir


class CT2Options(TranslatorOptions):
    model: str | None = None
    """A CTranslate2 model folder (see :func:`convert_to_ct2`)."""
    beam_size: int = Field(4, ge=1)


class CT2Translator(TranslatorBase):
    """Translate with the CTranslate2 model folder ``model``."""

    Options = CT2Options

    def __init__(self, options: TranslatorOptions, bitext: Bitext | None = None) -> None:
        super().__init__(options, bitext)
        assert isinstance(options, CT2Options)
        try:
            import ctranslate2
        except ImportError:
            raise MethodUnavailableError(
                f"translator {NAME!r} needs ctranslate2: pip install ctranslate2"
            ) from None
        from transformers import AutoTokenizer

        folder = Path(require_model(NAME, options.model))
        if not (folder / "model.bin").is_file():
            raise MethodUnavailableError(
                f"{folder} is not a CTranslate2 model folder (no model.bin); make one with "
                "clirbench.baselines.translators.ct2.convert_to_ct2"
            )
        tokenizer_folder = (
            folder / TOKENIZER_FOLDER if (folder / TOKENIZER_FOLDER).is_dir() else folder
        )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                str(tokenizer_folder), local_files_only=True
            )
        except (OSError, ValueError) as error:
            raise MethodUnavailableError(
                f"no tokenizer for the CTranslate2 model {folder}: save the source model's "
                f"tokenizer in {folder / TOKENIZER_FOLDER} ({error})"
            ) from None
        self.translator = ctranslate2.Translator(str(folder), device="cpu")
        self.folder = folder
        self.beam_size = options.beam_size
        self.family = model_family(self.tokenizer)
        self.revision = folder_revision(folder)

    def describe(self) -> dict[str, Any]:
        return {
            "translator": NAME,
            "model": str(self.folder),
            "revision": self.revision,
            "beam_size": self.beam_size,
        }

    def translate(self, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        target_token = set_languages(self.tokenizer, self.family, source_lang, target_lang)
        outputs = [""] * len(texts)
        for batch in length_batches(texts, self.options.batch_size):
            sources = [self._tokens(texts[i]) for i in batch]
            results = self.translator.translate_batch(
                sources,
                target_prefix=None if target_token is None else [[target_token]] * len(batch),
                beam_size=self.beam_size,
                max_decoding_length=max_new_tokens(max(len(tokens) for tokens in sources)),
            )
            for i, result in zip(batch, results, strict=True):
                ids = self.tokenizer.convert_tokens_to_ids(result.hypotheses[0])
                text = cast(str, self.tokenizer.decode(ids, skip_special_tokens=True))
                outputs[i] = text.strip()
        return outputs

    def _tokens(self, text: str) -> list[str]:
        ids = self.tokenizer(text, truncation=True, max_length=MAX_SOURCE_TOKENS)["input_ids"]
        return cast("list[str]", self.tokenizer.convert_ids_to_tokens(ids))
