"""Tasks from ir_datasets ids (``irds:hc4/fa/test``, ``irds:miracl/sw/dev``), from local data only.

ir_datasets downloads whatever it lacks on first use; clirbench never does. While a task's data
is read, every network source of ir_datasets is refused, and a dataset that would need one is
reported with the commands that fetch it. Documents, queries and judgements are checked as a
BEIR folder's are; errors name the dataset id and the record number.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from clirbench.errors import ClirbenchError
from clirbench.hashing import short_hash
from clirbench.tasks.card import UNKNOWN_LANGUAGE
from clirbench.tasks.languages import from_iso639_1
from clirbench.tasks.records import (
    DocumentRecord,
    QrelRecord,
    QueryRecord,
    card_from,
    collect_corpus,
    collect_qrels,
    collect_queries,
    task_data,
)
from clirbench.tasks.task import Task, TaskData

PREFIX = "irds:"
CATALOGUE = "https://ir-datasets.com/"

# Collections whose topics carry several languages (ir_datasets then gives no query language)
# but whose ``title`` field, the one read here, is English.
_ENGLISH_TITLES = ("hc4/", "neuclir/")
_SKIP_DISK_FREE = "IR_DATASETS_SKIP_DISK_FREE"


class _DownloadRefused(Exception):
    """Raised in place of any download ir_datasets attempts while clirbench reads a dataset."""


def _ir_datasets() -> Any:
    try:
        import ir_datasets
    except ImportError:
        raise ClirbenchError(
            "irds: tasks need the ir_datasets package: pip install ir_datasets"
        ) from None
    return ir_datasets


def _home() -> Path:
    return Path(_ir_datasets().util.home_path())


@contextlib.contextmanager
def _downloads_refused(attempted: list[str]) -> Iterator[None]:
    """Make every network source of ir_datasets raise instead of downloading; note what was wanted.

    All of ir_datasets' downloads go through these three classes' ``stream``; ir_datasets
    catches the error to try the next mirror (a local copy under ``downloads/`` still counts),
    so ``attempted`` is what tells the caller. Its free-disk check before a download is skipped,
    so that a missing dataset is reported as missing rather than as too large for the disk.
    """
    from ir_datasets.util import download

    sources = (
        download.RequestsDownload,
        download.GoogleDriveDownload,
        download.GoogleCloudBucketStream,
    )
    saved = {source: source.__dict__["stream"] for source in sources}

    def refuse(self: Any) -> None:
        url = cast(str, getattr(self, "url", None) or getattr(self, "uri", repr(self)))
        attempted.append(url)
        raise _DownloadRefused(f"clirbench reads local data only; not downloading {url}")

    skip_disk_check = os.environ.get(_SKIP_DISK_FREE)
    os.environ[_SKIP_DISK_FREE] = "true"
    for source in sources:
        source.stream = refuse
    try:
        yield
    finally:
        for source, stream in saved.items():
            source.stream = stream
        if skip_disk_check is None:
            del os.environ[_SKIP_DISK_FREE]
        else:
            os.environ[_SKIP_DISK_FREE] = skip_disk_check


def _absent(dataset_id: str, attempted: list[str]) -> ClirbenchError:
    export = "\n".join(
        f"  ir_datasets export {dataset_id} {part} > /dev/null"
        for part in ("docs", "queries", "qrels")
    )
    return ClirbenchError(
        f"ir_datasets {dataset_id!r} is not on this machine: it would download {attempted[0]}"
        f"{f' (and {len(attempted) - 1} more)' if len(attempted) > 1 else ''}. "
        "clirbench never downloads. "
        f"Fetch it once with the commands below; ir_datasets keeps it under {_home()} "
        f"(set IR_DATASETS_HOME to use another folder):\n{export}"
    )


def _not_provided(dataset_id: str, error: FileNotFoundError) -> ClirbenchError:
    top = dataset_id.split("/")[0]
    return ClirbenchError(
        f"ir_datasets {dataset_id!r} needs a file it cannot download: {error.filename or error}. "
        f"See {CATALOGUE}{top}.html for how to obtain it; ir_datasets looks under {_home()} "
        f"(set IR_DATASETS_HOME to use another folder)."
    )


def _dataset(dataset_id: str) -> Any:
    ir_datasets = _ir_datasets()
    try:
        return ir_datasets.load(dataset_id)
    except KeyError:
        close = difflib.get_close_matches(dataset_id, list(ir_datasets.registry), n=3, cutoff=0.7)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ClirbenchError(
            f"unknown ir_datasets id {dataset_id!r}.{hint} See {CATALOGUE}"
        ) from None


def _check_parts(dataset_id: str, dataset: Any) -> None:
    missing = [
        part for part in ("docs", "queries", "qrels") if not getattr(dataset, f"has_{part}")()
    ]
    if missing:
        children = sorted(
            name for name in _ir_datasets().registry if name.startswith(f"{dataset_id}/")
        )
        hint = f" Try one of: {', '.join(children[:8])}." if children else ""
        raise ClirbenchError(
            f"ir_datasets {dataset_id!r} has no {' or '.join(missing)}; "
            f"a task needs documents, queries and judgements.{hint}"
        )


def _query_lang(dataset_id: str, dataset: Any) -> str:
    language = from_iso639_1(dataset.queries_lang())
    if language == UNKNOWN_LANGUAGE and dataset_id.startswith(_ENGLISH_TITLES):
        return "eng_Latn"
    return language


def _citation(dataset: Any) -> str:
    """The BibTeX entries ir_datasets' bibliography holds for this dataset."""
    from importlib import resources

    documentation = dataset.documentation() if hasattr(dataset, "documentation") else {}
    keys = (documentation or {}).get("bibtex_ids") or []
    if not keys:
        return ""
    bibliography = (resources.files("ir_datasets") / "docs" / "bibliography.bib").read_text(
        encoding="utf-8"
    )
    return "\n".join(entry for key in keys if (entry := _bibtex_entry(bibliography, key)))


def _bibtex_entry(bibliography: str, key: str) -> str:
    match = re.search(r"@\w+\{" + re.escape(key) + r",", bibliography)
    if not match:
        return ""
    depth = 0
    for end in range(bibliography.index("{", match.start()), len(bibliography)):
        depth += {"{": 1, "}": -1}.get(bibliography[end], 0)
        if depth == 0:
            return bibliography[match.start() : end + 1]
    return ""


def _query_text(query: Any) -> str:
    """``text`` for plain queries, ``title`` for TREC-style topics."""
    text = getattr(query, "text", None)
    return text if text is not None else getattr(query, "title", None) or ""


def _doc_fields(doc: Any) -> tuple[str, str]:
    text = getattr(doc, "text", None)
    if text is None:
        text = doc.default_text() if hasattr(doc, "default_text") else ""
    return str(getattr(doc, "title", "") or ""), str(text or "")


def _read(dataset_id: str, dataset: Any) -> TaskData:
    source = f"{PREFIX}{dataset_id}"
    attempted: list[str] = []
    try:
        with _downloads_refused(attempted):
            queries = collect_queries(
                QueryRecord(f"{source} queries", n, q.query_id, _query_text(q))
                for n, q in enumerate(dataset.queries_iter(), start=1)
            )
            corpus = collect_corpus(
                (
                    DocumentRecord(f"{source} docs", n, d.doc_id, *_doc_fields(d))
                    for n, d in enumerate(dataset.docs_iter(), start=1)
                ),
                f"{source} docs",
            )
            judgements = enumerate(dataset.qrels_iter(), start=1)
            qrels = collect_qrels(
                (
                    QrelRecord(f"{source} qrels", n, r.query_id, r.doc_id, int(r.relevance))
                    for n, r in judgements
                ),
                queries,
                corpus,
                f"{source} qrels",
            )
    except ClirbenchError:
        raise
    except Exception as error:
        if attempted:
            raise _absent(dataset_id, attempted) from None
        if isinstance(error, FileNotFoundError):
            raise _not_provided(dataset_id, error) from None
        raise ClirbenchError(
            f"ir_datasets could not read {dataset_id!r}: {type(error).__name__}: {error}"
        ) from error
    return task_data(queries, corpus, qrels)


def irds_task(dataset_id: str, split: str | None = None, **card_overrides: Any) -> Task:
    """A task from an ir_datasets id.

    ``split``, if given and not already the id's last part, is appended to the id.

    Languages come from ``docs_lang()`` / ``queries_lang()``; the card's split is the id's last
    part (``test``, ``dev``, ``hc4-filtered``). Nothing is read until the data is first used.
    """
    if split and dataset_id.rsplit("/", 1)[-1] != split:
        dataset_id = f"{dataset_id}/{split}"
    dataset = _dataset(dataset_id)
    _check_parts(dataset_id, dataset)
    version = _ir_datasets().__version__
    values: dict[str, Any] = {
        "name": f"{PREFIX}{dataset_id}",
        "query_lang": _query_lang(dataset_id, dataset),
        "doc_lang": from_iso639_1(dataset.docs_lang()),
        "split": dataset_id.rsplit("/", 1)[-1],
        "source": f"ir_datasets {version}: {dataset_id}",
        "citation": _citation(dataset),
        # ir_datasets checks every download against a fixed MD5, so id and version pin the data.
        "checksum": short_hash(f"ir_datasets {version} {dataset_id}"),
    }
    return Task(card_from(values, card_overrides), lambda: _read(dataset_id, dataset))
