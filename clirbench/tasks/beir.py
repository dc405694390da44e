"""Tasks read from a BEIR folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

Everything read is validated, and each problem is reported with its file and line. An optional
``task.yaml`` beside the files holds the task card (at least ``name``, ``query_lang``,
``doc_lang``); card values given on the command line override it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from clirbench.errors import InputError
from clirbench.fileio import iter_json_objects, read_yaml
from clirbench.tasks.card import TaskCard
from clirbench.tasks.records import (
    DocumentRecord,
    QueryRecord,
    collect_corpus,
    collect_qrels,
    collect_queries,
    qrel_records,
)
from clirbench.tasks.task import Document, Qrels, Task, TaskData

CARD_FILE = "task.yaml"


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(
            path,
            None,
            "file not found "
            "(a BEIR folder needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv)",
        )
    return path


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    return iter_json_objects(_require_file(path))


def _field(path: Path, line_no: int, record: dict[str, Any], key: str) -> str:
    if key not in record:
        raise InputError(path, line_no, f"missing {key!r}")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(path, line_no, f"{key!r} must be a string, got {type(value).__name__}")
    return str(value)


def _title(path: Path, line_no: int, record: dict[str, Any]) -> str:
    title = record.get("title")
    if title is None:
        return ""
    if not isinstance(title, str):
        raise InputError(path, line_no, f"'title' must be a string, got {type(title).__name__}")
    return title


def read_corpus(path: Path) -> dict[str, Document]:
    records = (
        DocumentRecord(
            path, n, _field(path, n, r, "_id"), _title(path, n, r), _field(path, n, r, "text")
        )
        for n, r in _iter_jsonl(path)
    )
    return collect_corpus(records, path)


def read_queries(path: Path) -> dict[str, str]:
    return collect_queries(
        QueryRecord(path, n, _field(path, n, r, "_id"), _field(path, n, r, "text"))
        for n, r in _iter_jsonl(path)
    )


def read_split_qrels(path: Path, queries: dict[str, str], corpus: dict[str, Document]) -> Qrels:
    """Read one split's qrels, checking every id against the queries and the corpus.

    A query id that equals a document id is fine: clirbench never drops such a hit.
    """
    return collect_qrels(qrel_records(path), queries, corpus, path)


def qrels_path(folder: Path, split: str) -> Path:
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise InputError(
            path,
            None,
            f"split {split!r} not found; available splits: {', '.join(available) or 'none'}",
        )
    return path


def load_beir_folder(folder: Path, split: str) -> TaskData:
    corpus = read_corpus(folder / "corpus.jsonl")
    all_queries = read_queries(folder / "queries.jsonl")
    qrels = read_split_qrels(qrels_path(folder, split), all_queries, corpus)
    queries = {qid: all_queries[qid] for qid in qrels}
    return TaskData(queries=queries, corpus=corpus, qrels=qrels)


def folder_checksum(folder: Path, split: str) -> str:
    """SHA-256 (first 16 hex digits) over the corpus, the queries and the split's qrels."""
    digest = hashlib.sha256()
    for path in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_path(folder, split)):
        with _require_file(path).open("rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def read_card_file(folder: Path) -> dict[str, Any]:
    path = folder / CARD_FILE
    if not path.is_file():
        return {}
    values = read_yaml(path)
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(key, str) for key in values):
        raise InputError(path, None, "expected a mapping of card fields (name: ..., doc_lang: ...)")
    return values


FOLDER_SOURCE = "beir-folder:"  # a folder task's card source: this prefix, then the absolute path


def beir_task(folder: str | Path, split: str | None = None, **card_overrides: Any) -> Task:
    """A task from a BEIR folder; the card comes from ``task.yaml``, then ``card_overrides``.

    The split is ``split``, else the card's, else ``test``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, None, "not a directory")
    values: dict[str, Any] = {
        "name": folder.resolve().name,
        "source": f"{FOLDER_SOURCE}{folder.resolve()}",
    }
    values.update(read_card_file(folder))
    values.update({key: value for key, value in card_overrides.items() if value is not None})
    split = split or values.get("split") or "test"
    if not isinstance(split, str) or Path(split).name != split or split in (".", ".."):
        raise InputError(folder, None, f"split {split!r} must be a plain name such as test or dev")
    values["split"] = split
    values["checksum"] = folder_checksum(folder, split)
    try:
        card = TaskCard(**values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InputError(folder / CARD_FILE, None, f"invalid task card: {problems}") from None
    return Task(card, lambda: load_beir_folder(folder, split))
