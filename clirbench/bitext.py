"""Parallel sentences for methods that learn (OPTICAL, lexical and neural translation).

Bitext comes from the built-in suites' ``train`` splits (Bible books, or Qur'an surahs,
disjoint from every dev and test task; one bitext per language pair, named on each task's card)
or from a user's file: TSV (``source<TAB>target`` per line) or JSONL
(``{"source": ..., "target": ...}`` per line), with the two languages stated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from clirbench.errors import InputError, UnknownNameError
from clirbench.fileio import iter_lines, parse_json_line
from clirbench.tasks.builtin.quran import BITEXT_NAMES as QURAN_BITEXTS
from clirbench.tasks.card import TaskCard, language_code_problem
from clirbench.tasks.records import check_text

BUILTIN_BITEXTS = ("bible-en-ny", *QURAN_BITEXTS)


@dataclass(frozen=True)
class Bitext:
    source_lang: str
    target_lang: str
    pairs: tuple[tuple[str, str], ...]
    origin: str

    def __len__(self) -> int:
        return len(self.pairs)

    @cached_property
    def pairs_sha256(self) -> str:
        """SHA-256 of the pairs as ``source<TAB>target`` lines.

        It is what a model trained on them depends on.
        """
        digest = hashlib.sha256()
        for source, target in self.pairs:
            digest.update(f"{source}\t{target}\n".encode())
        return digest.hexdigest()

    def reversed(self) -> Bitext:
        """The same pairs with source and target swapped."""
        return Bitext(
            self.target_lang, self.source_lang, tuple((t, s) for s, t in self.pairs), self.origin
        )


def _check_languages(path: Path, source_lang: str, target_lang: str) -> None:
    problems = [p for p in map(language_code_problem, (source_lang, target_lang)) if p]
    if problems:
        raise InputError(path, None, f"bad language code: {'; '.join(problems)}")


def builtin_bitext(name: str = "bible-en-ny", split: str = "train") -> Bitext:
    """Verse pairs (English, other language) of ``split`` (``train`` by default: never evaluated
    on): ``bible-en-ny`` (Chichewa) or ``quran-en-XXX`` (XXX: clirbench.tasks.builtin.quran)."""
    if name not in BUILTIN_BITEXTS:
        raise UnknownNameError("built-in bitext", name, BUILTIN_BITEXTS)
    if name in QURAN_BITEXTS:
        from clirbench.tasks.builtin.quran import bitext_language, bitext_pairs

        return Bitext(
            "eng_Latn", bitext_language(name), bitext_pairs(name, split), f"builtin:{name}/{split}"
        )
    from clirbench.tasks.builtin.bible import split_pairs

    pairs = tuple((p.eng, p.nya) for p in split_pairs(split))
    return Bitext("eng_Latn", "nya_Latn", pairs, f"builtin:{name}/{split}")


def read_bitext(path: str | Path, source_lang: str, target_lang: str) -> Bitext:
    """Read a TSV or JSONL bitext file; every problem names the file and line."""
    path = Path(path)
    _check_languages(path, source_lang, target_lang)
    jsonl = path.suffix == ".jsonl"
    pairs = []
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        if jsonl:
            record = parse_json_line(path, line_no, line)
            if not isinstance(record, dict) or not {"source", "target"} <= record.keys():
                raise InputError(path, line_no, "expected an object with 'source' and 'target'")
            source, target = record["source"], record["target"]
            if not isinstance(source, str) or not isinstance(target, str):
                raise InputError(path, line_no, "'source' and 'target' must be strings")
        else:
            fields = line.split("\t")
            if len(fields) != 2:
                raise InputError(
                    path,
                    line_no,
                    f"expected 2 tab-separated columns (source, target), got {len(fields)}",
                )
            source, target = fields
        if not source.strip() or not target.strip():
            raise InputError(path, line_no, "empty sentence")
        check_text(path, line_no, "the sentence pair", source + target)
        pairs.append((source.strip(), target.strip()))
    if not pairs:
        raise InputError(path, None, "no sentence pairs")
    return Bitext(source_lang, target_lang, tuple(pairs), f"file:{path.resolve()}")


def task_bitext_name(task_card: TaskCard) -> str:
    """The built-in bitext a task trains on by default: the one its card names, else the only
    built-in bitext of its language pair. Raises when there is none, saying what to give."""
    from clirbench.errors import MethodUnavailableError

    if task_card.bitext:
        return task_card.bitext
    pair = {task_card.query_lang, task_card.doc_lang}
    from clirbench.tasks import BUILTIN_TASKS

    names = {
        t.bitext for t in BUILTIN_TASKS.values() if t.bitext and {t.query_lang, t.doc_lang} == pair
    }
    if len(names) == 1:
        return names.pop()
    raise MethodUnavailableError(
        f"task {task_card.name} ({task_card.query_lang}->{task_card.doc_lang}) names no bitext "
        "and no built-in bitext covers its languages: give bitext=NAME (a built-in bitext) or "
        "bitext_file with its two languages"
    )
