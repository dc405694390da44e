"""Helpers for the reliability suite: a small valid BEIR folder to damage, and error checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError

CORPUS = [
    {"_id": "d1", "title": "", "text": "mvula inagwa usiku"},
    {"_id": "d2", "text": "galu akuthamanga"},
    {"_id": "d3", "title": "Nyanja", "text": "nsomba zili m'nyanja"},
]
QUERIES = [{"_id": "q1", "text": "rain at night"}, {"_id": "q2", "text": "a running dog"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"
CARD = "name: rel-tiny\nquery_lang: eng_Latn\ndoc_lang: nya_Latn\n"


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def write_folder(folder: Path, **replace: bytes) -> Path:
    """A valid BEIR folder, with the files named in ``replace`` (``corpus``, ``queries``,
    ``qrels``, ``card``) holding the given bytes instead."""
    files = {
        "corpus": ("corpus.jsonl", jsonl(CORPUS)),
        "queries": ("queries.jsonl", jsonl(QUERIES)),
        "qrels": ("qrels/test.tsv", QRELS.encode()),
        "card": ("task.yaml", CARD.encode()),
    }
    for key, (name, data) in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(replace.get(key, data))
    return folder


def assert_clean(error: ClirbenchError, path: Path | None, line: int | None, fragment: str) -> None:
    """One line, naming the file and the line when given, and saying what is wrong."""
    message = str(error)
    assert "\n" not in message, message
    assert fragment.lower() in message.lower(), message
    if path is not None:
        assert str(path) in message, message
    if line is not None:
        assert f":{line}:" in message, message


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "task"
