"""Translators for translate-then-retrieve, each a :class:`clirbench.method.Translator`.

Every translator class is built as ``Class(settings: TranslatorSettings)``, is named by its
registry key, and translates between task-card language codes (``eng_Latn``, ``nya_Latn``).
Those that learn (``lexical``, ``marian-local``) train on first use from the settings' bitext
and keep the trained model in clirbench's cache, keyed by their configuration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from clirbench.errors import UnknownNameError

if TYPE_CHECKING:
    from clirbench.bitext import Bitext
    from clirbench.method import Translator

TRANSLATORS = {
    "lexical": "clirbench.baselines.translators.lexical:LexicalTranslator",
    "marian-local": "clirbench.baselines.translators.marian_local:MarianLocalTranslator",
    "hf": "clirbench.baselines.translators.hf:HFTranslator",
    "ct2": "clirbench.baselines.translators.ct2:CT2Translator",
}


@dataclass(frozen=True)
class TranslatorSettings:
    """What any translator may need; each uses the fields that concern it."""

    bitext: Bitext | None = None  # training pairs, for translators that learn
    preset: Literal["quick", "full"] = "quick"  # training budget of translators that learn
    model: str | None = None  # hub id or local folder, for hf and ct2
    batch_size: int = 32
    seed: int = 0


def load_translator(name: str, settings: TranslatorSettings) -> Translator:
    if name not in TRANSLATORS:
        raise UnknownNameError("translator", name, TRANSLATORS)
    module, _, attribute = TRANSLATORS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)(settings)
