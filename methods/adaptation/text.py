"""Monolingual text of one language for language-adaptive pre-training, never evaluated text.

Built-in text of a language is its side of the ``train`` split of every built-in bitext
(``clirbench.bitext.BUILTIN_BITEXTS``: a bitext added there is used with no change here). The
built-in sources ship no other text outside their dev and test units (the Bible packages have
no verse of a train book without its English counterpart, checked when this was written), so
that is all. A user's own text comes from a file (``text_file``): plain text, one text per
non-empty line, or JSONL with a ``text`` field per line.

Whatever its source, the text is decontaminated before training: a text is dropped when it
equals, or shares a run of :data:`OVERLAP_WORDS` words with, any dev or test query or document
in that language of any built-in task, or any text the caller excludes (the task being run).
This is the n-gram overlap test of GPT-3's contamination analysis (Brown et al. 2020, 13-grams),
with shorter runs because Bible verses average about 25 words. Words are compared casefolded
and with the noisy variants' diacritics stripped (:func:`clirbench.tasks.noise.strip_diacritics`),
so the same phrase spelt with and without Hausa's tildes is one phrase, a ``.../noisy`` variant
adapts on the same text as its base task, and a combining mark (Arabic harakat, the dot of
Turkish ``i̇``) no longer splits a word in two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from clirbench.errors import ClirbenchError, InputError, OptionsError
from clirbench.tasks.noise import strip_diacritics

if TYPE_CHECKING:
    from clirbench.tasks.task import Task

OVERLAP_WORDS = 8
HELD_OUT_SPLITS = ("dev", "test")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class AdaptationText:
    lang: str
    texts: tuple[str, ...]
    origin: str
    """``builtin:<bitext>/train+...`` or ``file:<path>``."""
    dropped: int = 0
    """Texts left out: overlapping evaluated text, or repeating an earlier text."""

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def sha256(self) -> str:
        """What a model adapted on this text depends on: the language and every text."""
        digest = hashlib.sha256(f"{self.lang}\n".encode())
        for text in self.texts:
            digest.update(text.encode() + b"\n")
        return digest.hexdigest()


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(strip_diacritics(text).casefold()))


def _ngrams(words: tuple[str, ...]) -> Iterable[int]:
    for start in range(len(words) - OVERLAP_WORDS + 1):
        yield hash(words[start : start + OVERLAP_WORDS])


class Decontaminator:
    """Knows the held-out texts and says whether a candidate overlaps one of them."""

    def __init__(self, held_out: Iterable[str]) -> None:
        self.exact: set[tuple[str, ...]] = set()
        self.grams: set[int] = set()
        for text in held_out:
            words = _words(text)
            self.exact.add(words)
            self.grams.update(_ngrams(words))

    def overlaps(self, text: str) -> bool:
        words = _words(text)
        return words in self.exact or any(gram in self.grams for gram in _ngrams(words))


def task_texts(task: Task, lang: str) -> list[str]:
    """The queries and documents of ``task`` that are in ``lang``: what its run may not adapt on."""
    texts = [*task.queries.values()] if task.card.query_lang == lang else []
    if task.card.doc_lang == lang:
        texts += (document.full_text for document in task.corpus.values())
    return texts


def held_out_texts(lang: str) -> list[str]:
    """Every dev and test query and document in ``lang`` of every built-in task."""
    from clirbench.tasks import BUILTIN_TASKS, load_task

    texts: list[str] = []
    for name, builtin in BUILTIN_TASKS.items():
        if lang not in (builtin.query_lang, builtin.doc_lang):
            continue
        for split in HELD_OUT_SPLITS:
            try:
                task = load_task(name, split)
            except (ValueError, ClirbenchError):  # the task has no such split
                continue
            texts += task_texts(task, lang)
    return texts


def builtin_texts(lang: str) -> tuple[list[str], list[str]]:
    """The ``lang`` side of every built-in bitext's train split, and the bitexts it came from."""
    from clirbench.bitext import BUILTIN_BITEXTS, builtin_bitext
    from clirbench.tasks import BUILTIN_TASKS

    # Each bitext's languages from the tasks that name it: no other source is read (or fetched).
    languages = {task.bitext: {task.query_lang, task.doc_lang} for task in BUILTIN_TASKS.values()}
    texts: list[str] = []
    origins: list[str] = []
    for name in BUILTIN_BITEXTS:
        if lang not in languages.get(name, {lang}):
            continue
        bitext = builtin_bitext(name, "train")
        if lang not in (bitext.source_lang, bitext.target_lang):
            continue
        side = 0 if bitext.source_lang == lang else 1
        texts += (pair[side] for pair in bitext.pairs)
        origins.append(bitext.origin.removeprefix("builtin:"))
    return texts, origins


def read_text_file(path: str | Path) -> list[str]:
    """Texts of a plain-text file (one per non-empty line) or a JSONL file (``{"text": ...}``)."""
    from clirbench.fileio import iter_lines, parse_json_line

    path = Path(path)
    texts = []
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            record = parse_json_line(path, line_no, line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise InputError(path, line_no, "expected an object with a string 'text'")
            line = record["text"]
        if line.strip():
            texts.append(" ".join(line.split()))
    if not texts:
        raise InputError(path, None, "no text (one text per line, or JSONL with 'text')")
    return texts


def adaptation_text(
    lang: str, text_file: str | Path | None = None, exclude: Iterable[str] = ()
) -> AdaptationText:
    """The decontaminated adaptation text of ``lang``: built-in, or the user's ``text_file``."""
    if text_file is not None:
        candidates, origin = read_text_file(text_file), f"file:{Path(text_file).resolve()}"
    else:
        candidates, origins = builtin_texts(lang)
        if not candidates:
            from clirbench.bitext import BUILTIN_BITEXTS

            raise OptionsError(
                f"no built-in train text in {lang} (built-in bitexts: "
                f"{', '.join(BUILTIN_BITEXTS)}); give your own with the adapt_text_file option"
            )
        origin = "builtin:" + "+".join(origins)
    checker = Decontaminator([*held_out_texts(lang), *exclude])
    kept = tuple(dict.fromkeys(t for t in candidates if not checker.overlaps(t)))
    if not kept:
        problem = f"every text overlaps evaluated text in {lang}; nothing left to adapt on"
        if text_file is not None:
            raise InputError(text_file, None, problem)
        raise OptionsError(f"{origin}: {problem}")
    return AdaptationText(lang, kept, origin, dropped=len(candidates) - len(kept))
