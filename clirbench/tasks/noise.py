"""Orthographic noise: the task variant ``<built-in task>/noisy`` (robustness to how people type).

Users of low-resource languages often type without the standard diacritics and make typos.
A noisy variant loads its base task and rewrites the side that is not English (documents when
the document language is not English, queries when the query language is not) in two steps:

1. **Diacritics stripped.** Unicode NFD, then every combining mark (category Mn) on a Latin,
   Greek or Cyrillic letter is dropped, and the text is recomposed (NFC): Hausa's ``ã`` becomes
   ``a``, Chichewa's ``ŵ`` ``w``. Letters that are not built from a combining mark stay as they
   are (Hausa's hooked ``ɗ``, ``ƙ``, ``ɓ``). In Arabic script only the optional vowel marks
   (harakat U+064B-U+0652 and the superscript alef U+0670) are dropped; hamza marks are kept,
   since Uyghur's ``ئ`` is a letter. Marks of other scripts are vowels, not diacritics, and
   are kept (Ethiopic syllables are precomposed and do not change).
2. **Typos.** Each word (a run of letters, at least two long) independently gets one typo with
   probability ``rate``: a deleted letter, two neighbouring letters swapped, or a letter
   replaced by a neighbour: a QWERTY neighbour for a-z (case kept), else the previous or next
   code point when that is a letter of the same script (an Ethiopic syllable's other vowel
   order), else the letter is deleted.

Noise is deterministic per text: the random generator of each text is seeded by
SHA-256(seed, role, text id), so a text's noise does not depend on the other texts. Variant
names: ``.../noisy`` (rate 0.03, seed 0), ``.../noisy-rate0.1``, ``.../noisy-seed2``,
``.../noisy-rate0-seed1`` (diacritics only); names with default values are written without them.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clirbench.errors import ClirbenchError
from clirbench.hashing import short_hash

if TYPE_CHECKING:
    from clirbench.tasks.task import Document, Task, TaskData

NOISE_VERSION = 1
"""Bump when the noise of the same text, rate and seed changes: task checksums change with it."""
DEFAULT_RATE = 0.03
DEFAULT_SEED = 0

NOISY_NAME = r"(?P<base>.+)/noisy(?:-rate(?P<rate>[0-9.]+))?(?:-seed(?P<seed>[0-9]+))?"
"""A noisy variant's name: ``<base task>/noisy[-rateR][-seedS]`` (the task registry's pattern)."""

_MARKED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
_ARABIC_VOWEL_MARKS = frozenset(map(chr, [*range(0x064B, 0x0653), 0x0670]))
_WORD = re.compile(r"[^\W\d_]{2,}")
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


class NoiseError(ClirbenchError):
    """A noisy variant name whose rate or seed cannot be used."""

    exit_code = 2


@dataclass(frozen=True)
class Noise:
    """Diacritics stripped, then one typo in a ``rate`` share of the words, seeded."""

    rate: float = DEFAULT_RATE
    seed: int = DEFAULT_SEED

    @property
    def suffix(self) -> str:
        """The variant's name suffix, defaults left out: ``noisy``, ``noisy-rate0.1``."""
        rate = "" if self.rate == DEFAULT_RATE else f"-rate{self.rate:g}"
        seed = "" if self.seed == DEFAULT_SEED else f"-seed{self.seed}"
        return f"noisy{rate}{seed}"

    def apply(self, text: str, role: str, text_id: str) -> str:
        digest = hashlib.sha256(f"{self.seed}\0{role}\0{text_id}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        stripped = strip_diacritics(text)
        if not self.rate:
            return stripped
        return _WORD.sub(lambda word: _maybe_typo(word.group(), self.rate, rng), stripped)


def noisy_base(name: str) -> str | None:
    """The base task of a noisy variant's name (``quran-en-hau/verse`` for
    ``quran-en-hau/verse/noisy``); None for any other name."""
    found = re.fullmatch(NOISY_NAME, name)
    return found["base"] if found is not None else None


def strip_diacritics(text: str) -> str:
    """The rule of step 1 in this module's docstring."""
    kept: list[str] = []
    base_script = ""
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char) != "Mn":
            base_script = unicodedata.name(char, "").partition(" ")[0]
            kept.append(char)
        elif not (base_script in _MARKED_SCRIPTS or char in _ARABIC_VOWEL_MARKS):
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _maybe_typo(word: str, rate: float, rng: random.Random) -> str:
    if rng.random() >= rate:
        return word
    kind = rng.choice(("delete", "swap", "substitute"))
    at = rng.randrange(len(word))
    if kind == "delete":
        return word[:at] + word[at + 1 :]
    if kind == "swap":
        at = min(at, len(word) - 2)
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    choices = _neighbours(word[at])
    return word[:at] + (rng.choice(choices) if choices else "") + word[at + 1 :]


def _keyboard_neighbours() -> dict[str, str]:
    """Keys next to each letter on a QWERTY keyboard (rows staggered)."""
    neighbours: dict[str, str] = {}
    for row, keys in enumerate(_KEYBOARD):
        for i, key in enumerate(keys):
            near = [keys[j] for j in (i - 1, i + 1) if 0 <= j < len(keys)]
            if row > 0:
                near += [_KEYBOARD[row - 1][j] for j in (i, i + 1)]
            if row + 1 < len(_KEYBOARD):
                below = _KEYBOARD[row + 1]
                near += [below[j] for j in (i - 1, i) if 0 <= j < len(below)]
            neighbours[key] = "".join(near)
    return neighbours


_QWERTY = _keyboard_neighbours()


def _neighbours(letter: str) -> list[str]:
    """Letters a slip of the finger could give instead of ``letter``."""
    lower = letter.lower()
    if lower in _QWERTY:
        return [c.upper() if letter.isupper() else c for c in _QWERTY[lower]]
    script = unicodedata.name(letter, "").partition(" ")[0]
    near = [chr(ord(letter) + step) for step in (-1, 1) if 0 <= ord(letter) + step < 0x110000]
    return [c for c in near if c.isalpha() and unicodedata.name(c, "").partition(" ")[0] == script]


def noisy_task(base: Task, noise: Noise) -> Task:
    """``base`` with ``noise`` on its non-English side; a new name, description and checksum."""
    from clirbench.tasks.card import TaskCard
    from clirbench.tasks.task import Task

    card = base.card
    noisy_queries = not card.query_lang.startswith("eng_")
    noisy_documents = not card.doc_lang.startswith("eng_")
    sides = " and ".join(
        side
        for side, noisy in (("queries", noisy_queries), ("documents", noisy_documents))
        if noisy
    )
    what = (
        f"orthographic noise v{NOISE_VERSION} on the {sides or 'no side (both English)'}: "
        f"diacritics stripped, one typo in {noise.rate * 100:g}% of the words "
        f"(seed {noise.seed})"
    )
    checksum = short_hash(f"{card.checksum}\0{what}")
    values = card.model_dump()
    values.update(
        name=f"{card.name}/{noise.suffix}",
        source=f"{card.source}; {what}",
        checksum=checksum,
        description=f"{card.description} Variant: {what}.".strip(),
    )

    def load() -> TaskData:
        from clirbench.tasks.task import TaskData

        queries, corpus = base.queries, base.corpus
        if noisy_queries:
            queries = {qid: noise.apply(text, "query", qid) for qid, text in queries.items()}
        if noisy_documents:
            corpus = {doc_id: _noisy_document(doc, noise, doc_id) for doc_id, doc in corpus.items()}
        return TaskData(queries=queries, corpus=corpus, qrels=base.qrels)

    return Task(TaskCard(**values), load)


def _noisy_document(document: Document, noise: Noise, doc_id: str) -> Document:
    from clirbench.tasks.task import Document

    title = noise.apply(document.title, "title", doc_id) if document.title else ""
    return Document(text=noise.apply(document.text, "document", doc_id), title=title)


def noisy_variant(found: re.Match[str], split: str) -> Task:
    """The task a name matched by the ``/noisy`` pattern (``clirbench.tasks``) stands for."""
    from clirbench.errors import UnknownNameError
    from clirbench.tasks import BUILTIN_TASKS, load_task

    base = found["base"]
    if base not in BUILTIN_TASKS:
        raise UnknownNameError("built-in task to add noise to", base, BUILTIN_TASKS)
    try:
        rate = float(found["rate"]) if found["rate"] is not None else DEFAULT_RATE
    except ValueError:
        raise NoiseError(f"task {found.string!r}: rate {found['rate']!r} is not a number") from None
    if not 0 <= rate <= 1:
        raise NoiseError(
            f"task {found.string!r}: the typo rate must be within 0..1, e.g. noisy-rate0.05"
        )
    seed = int(found["seed"]) if found["seed"] is not None else DEFAULT_SEED
    return noisy_task(load_task(base, split), Noise(rate, seed))
