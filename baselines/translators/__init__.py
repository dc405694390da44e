"""Translators for translate-then-retrieve, each a :class:`clirbench.method.Translator`.

A translator is a class with a typed ``Options`` model (a :class:`TranslatorOptions`), built as
``Class(options, bitext)``, and declares what it can do instead of being recognised by type:
``learns_from_bitext`` (it trains on first use from the language pair's bitext and keeps the
model in clirbench's cache) and ``weighted_alternatives`` (it gives several weighted translations
per word, for structured queries). Languages are task-card codes (``eng_Latn``, ``nya_Latn``).

Adding one is a module plus a line in ``TRANSLATORS`` below, or, from another package, an entry
point in the group ``clirbench.translators``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clirbench.errors import MethodUnavailableError, OptionsError
from clirbench.registry import Registry

if TYPE_CHECKING:
    from collections.abc import Sequence

    from clirbench.bitext import Bitext


class TranslatorOptions(BaseModel):
    """Options every translator takes; a translator's own ``Options`` add to them."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    batch_size: int = Field(32, ge=1)
    seed: int = 0


class TranslatorBase:
    """Convenience base: holds the options and the bitext, and says what the translator can do."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[TranslatorOptions]] = TranslatorOptions
    learns_from_bitext: ClassVar[bool] = False
    """Trains on the language pair's bitext (given to the constructor) on first use."""
    weighted_alternatives: ClassVar[bool] = False
    """Gives several weighted translations per word: see :class:`AlternativesTranslator`."""

    def __init__(self, options: TranslatorOptions, bitext: Bitext | None = None) -> None:
        if self.learns_from_bitext and bitext is None:
            raise MethodUnavailableError(
                f"the {self.name} translator learns from a bitext, and none was given"
            )
        self.options = options
        self.bitext = bitext

    def translate(self, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


class AlternativesTranslator(Protocol):
    """What a translator with ``weighted_alternatives`` offers beyond :class:`Translator`."""

    def translate(
        self, texts: Sequence[str], source_lang: str, target_lang: str, alternatives: int = 1
    ) -> list[str]:
        """Each word as its ``alternatives`` most probable translations."""
        ...

    def top(self, source_lang: str, target_lang: str) -> Any:
        """``top(word, n) -> [(translation, probability), ...]`` for one direction."""
        ...


TRANSLATORS: Registry[type[TranslatorBase]] = Registry(
    "translator",
    "clirbench.translators",
    {
        "lexical": "clirbench.baselines.translators.lexical:LexicalTranslator",
        "marian-local": "clirbench.baselines.translators.marian_local:MarianLocalTranslator",
        "hf": "clirbench.baselines.translators.hf:HFTranslator",
        "ct2": "clirbench.baselines.translators.ct2:CT2Translator",
    },
)


def _name_the_class(name: str, cls: type[TranslatorBase]) -> None:
    cls.name = name


TRANSLATORS.on_load(_name_the_class)


def translator_options(name: str, values: Mapping[str, Any]) -> TranslatorOptions:
    """The options of translator ``name`` from ``values``; keys it does not take are left out,
    so one set of values (nmt's options) can configure every translator."""
    cls = TRANSLATORS.get(name)
    fields = cls.Options.model_fields
    try:
        return cls.Options(**{key: value for key, value in values.items() if key in fields})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise OptionsError(f"invalid options for translator {name!r}: {problems}") from None


def load_translator(
    name: str, values: Mapping[str, Any] | None = None, bitext: Bitext | None = None
) -> TranslatorBase:
    """Translator ``name`` built from option ``values`` (and ``bitext`` if it learns)."""
    cls = TRANSLATORS.get(name)
    return cls(translator_options(name, values or {}), bitext if cls.learns_from_bitext else None)
