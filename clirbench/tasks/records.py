"""Checking records from libraries (ir_datasets, Hugging Face datasets, MTEB) and their cards.

The BEIR reader checks files line by line; these sources hand over records instead. Each record
carries where it came from (a file, or a name such as ``irds:miracl/sw/dev docs``) and its
1-based number there, so an error names the dataset and the record, as the BEIR reader names the
file and the line. The checks are the same: empty texts, duplicate ids, qrels that name a query
or a document that does not exist, a split without judgements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from clirbench.errors import ClirbenchError, InputError
from clirbench.location import Location
from clirbench.tasks.card import TaskCard
from clirbench.tasks.languages import is_low_resource
from clirbench.tasks.task import Document, Qrels, TaskData

Where = str | Location


class QueryRecord(NamedTuple):
    where: Where
    number: int
    query_id: str
    text: str


class DocumentRecord(NamedTuple):
    where: Where
    number: int
    doc_id: str
    title: str
    text: str


class QrelRecord(NamedTuple):
    where: Where
    number: int
    query_id: str
    doc_id: str
    relevance: int


# str.split() splits on exactly what \s matches; C0/C1 controls and surrogates are not text.
_BAD_ID_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a query or document id, or None when it can.

    TREC run and qrels files separate their columns by whitespace, so an id holding a space
    would be split apart there (the qrel would judge another document); control characters and
    lone surrogates cannot be written to those files at all.
    """
    if not value:
        return "is empty"
    if found := _BAD_ID_CHAR.search(value):
        if found[0].isspace():
            return f"contains whitespace {found[0]!r}"
        return f"contains {found[0]!r} (a control character or lone surrogate)"
    return None


def check_id(where: Where, number: int | None, kind: str, value: str) -> str:
    """``value`` if it is a valid id; else an InputError naming the file (or source) and line."""
    problem = id_problem(value)
    if problem:
        raise InputError(
            where,
            number,
            f"{kind} id {value!r} {problem}: ids must be non-empty, without "
            "whitespace or control characters (they are columns of TREC run and qrels files)",
        )
    return value


def check_text(where: Where, number: int | None, what: str, text: str) -> str:
    """``text`` if it can be encoded as UTF-8 (a JSON ``\\ud800`` escape cannot)."""
    if found := _SURROGATE.search(text):
        raise InputError(where, number, f"{what} holds a lone surrogate {found[0]!r} (not Unicode)")
    return text


def collect_queries(records: Iterable[QueryRecord]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for where, number, query_id, text in records:
        check_id(where, number, "query", query_id)
        if not text or not text.strip():
            raise InputError(where, number, f"query {query_id!r} has empty text")
        check_text(where, number, f"query {query_id!r}", text)
        if query_id in queries:
            raise InputError(where, number, f"duplicate query id {query_id!r}")
        queries[query_id] = text
    return queries


def collect_corpus(records: Iterable[DocumentRecord], source: Where) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for where, number, doc_id, title, text in records:
        check_id(where, number, "document", doc_id)
        if not (text or "").strip() and not (title or "").strip():
            raise InputError(where, number, f"document {doc_id!r} has empty text")
        check_text(where, number, f"document {doc_id!r}", f"{title or ''} {text or ''}")
        if doc_id in corpus:
            raise InputError(where, number, f"duplicate document id {doc_id!r}")
        corpus[doc_id] = Document(text=text or "", title=title or "")
    if not corpus:
        raise InputError(source, None, "the corpus is empty")
    return corpus


def collect_qrels(
    records: Iterable[QrelRecord],
    queries: dict[str, str],
    corpus: dict[str, Document],
    source: Where,
) -> Qrels:
    """Judgements, each checked against the queries and the corpus. Duplicates are an error."""
    qrels: Qrels = {}
    for where, number, query_id, doc_id, relevance in records:
        if query_id not in queries:
            raise InputError(
                where, number, f"unknown query id {query_id!r} (not among the queries)"
            )
        if doc_id not in corpus:
            raise InputError(where, number, f"unknown document id {doc_id!r} (not in the corpus)")
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            raise InputError(where, number, f"query {query_id!r} judges document {doc_id!r} twice")
        judged[doc_id] = relevance
    if not qrels:
        raise InputError(source, None, "the split has no relevance judgements")
    return qrels


def qrel_records(path: Path) -> Iterator[QrelRecord]:
    """The judgements of a TREC qrels file (``clirbench.trec``), as records of that file."""
    from clirbench.trec import iter_qrels

    return (QrelRecord(path, n, qid, docid, rel) for n, qid, docid, rel in iter_qrels(path))


def task_data(queries: dict[str, str], corpus: dict[str, Document], qrels: Qrels) -> TaskData:
    """The task's data; as with BEIR folders, only queries that have judgements are kept."""
    return TaskData(queries={qid: queries[qid] for qid in qrels}, corpus=corpus, qrels=qrels)


def card_from(values: dict[str, Any], overrides: dict[str, Any]) -> TaskCard:
    """The card from a source's ``values`` and the user's ``overrides`` (None means not given).

    ``low_resource`` follows the final languages unless given.
    """
    values = {**values, **{key: value for key, value in overrides.items() if value is not None}}
    values.setdefault(
        "low_resource", is_low_resource(values.get("query_lang", ""), values.get("doc_lang", ""))
    )
    try:
        return TaskCard(**values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ClirbenchError(f"invalid task card for {values.get('name')!r}: {problems}") from None
