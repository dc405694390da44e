"""Tasks from MTEB retrieval tasks (``mteb:SciFact``, ``mteb:BelebeleRetrieval/eng_Latn-hau_Latn``).

The card comes from the task's ``TaskMetadata`` (languages, licence, citation, dataset
revision); the data comes from MTEB's own loader, run in the Hugging Face libraries' offline
mode, so only a dataset already in the local cache is read. A multilingual task needs a
subset after a slash, one of its ``eval_langs`` keys.
"""

from __future__ import annotations

from typing import Any

from clirbench.errors import ClirbenchError
from clirbench.hashing import short_hash
from clirbench.tasks import records
from clirbench.tasks.card import UNKNOWN_LANGUAGE
from clirbench.tasks.records import DocumentRecord, QrelRecord, QueryRecord, card_from
from clirbench.tasks.task import Task, TaskData

PREFIX = "mteb:"
# MTEB lists a subset's languages without saying which side each is on. Most tasks list the
# query language first; these load their corpus from the first one.
_DOCUMENT_LANGUAGE_FIRST = frozenset({"BelebeleRetrieval"})
# CLIR tasks that list only the document language; their queries are English.
_ENGLISH_QUERIES = frozenset(
    {
        "NeuCLIR2022Retrieval",
        "NeuCLIR2022RetrievalHardNegatives",
        "NeuCLIR2023Retrieval",
        "NeuCLIR2023RetrievalHardNegatives",
    }
)


def _code(mteb_language: str) -> str:
    """MTEB's ``hau-Latn`` -> ``hau_Latn``."""
    return mteb_language.replace("-", "_")


def card_languages(task_name: str, languages: list[str]) -> tuple[str, str]:
    """(query language, document language) of one subset from its MTEB language list."""
    codes = [_code(language) for language in languages]
    if len(set(codes)) == 1:
        return ("eng_Latn" if task_name in _ENGLISH_QUERIES else codes[0]), codes[0]
    if len(codes) == 2:
        return (
            (codes[1], codes[0]) if task_name in _DOCUMENT_LANGUAGE_FIRST else (codes[0], codes[1])
        )
    return UNKNOWN_LANGUAGE, UNKNOWN_LANGUAGE


def _mteb_task(name: str, subset: str | None, split: str | None) -> tuple[Any, str, str]:
    """The MTEB task restricted to one subset and one split, with the subset and split chosen."""
    try:
        import mteb
    except ImportError:
        raise ClirbenchError("mteb: tasks need the mteb package: pip install mteb") from None
    try:
        task = mteb.get_task(name)
    except KeyError as error:
        detail = str(error.args[0]).removeprefix("KeyError: ") if error.args else repr(name)
        raise ClirbenchError(f"unknown MTEB task: {detail}") from None
    metadata = task.metadata
    if metadata.type != "Retrieval":
        raise ClirbenchError(
            f"MTEB task {name!r} is a {metadata.type} task; clirbench reads Retrieval tasks"
        )
    subsets = list(metadata.hf_subsets_to_langscripts)
    if subset is None and len(subsets) == 1:
        subset = subsets[0]
    if subset not in subsets:
        shown = ", ".join(subsets[:12]) + (
            f", ... ({len(subsets)} in all)" if len(subsets) > 12 else ""
        )
        raise ClirbenchError(
            f"MTEB task {name!r} needs a subset: mteb:{name}/SUBSET with SUBSET one of {shown}"
        )
    split = split or metadata.eval_splits[0]
    if split not in metadata.eval_splits:
        raise ClirbenchError(
            f"MTEB task {name!r} has no split {split!r}; "
            f"its splits: {', '.join(metadata.eval_splits)}"
        )
    hf_subsets = [subset] if metadata.is_multilingual else None
    return mteb.get_task(name, hf_subsets=hf_subsets, eval_splits=[split]), subset, split


def _absent(task: Any, error: Exception) -> ClirbenchError:
    import datasets

    dataset = task.metadata.dataset
    return ClirbenchError(
        f"the data of MTEB task {task.metadata.name!r} "
        f"({dataset['path']} at revision {dataset['revision']}) "
        f"is not in the local cache ({datasets.config.HF_DATASETS_CACHE}): "
        f"{type(error).__name__}: {error}. "
        "clirbench never downloads; load it once while online, e.g.\n"
        f'  python -c "import mteb; mteb.get_task({task.metadata.name!r}).load_data()"'
    )


def _read(task: Any, name: str, subset: str, split: str) -> TaskData:
    from clirbench.tasks.hf import hf_offline

    with hf_offline():
        try:
            task.load_data()
        except (OSError, ValueError) as error:  # datasets' "not cached" errors, offline
            raise _absent(task, error) from None
    task.convert_v1_dataset_format_to_v2(num_proc=None)  # older tasks fill queries/corpus instead
    data = task.dataset[subset][split]
    source = f"{PREFIX}{name}"
    corpus = records.collect_corpus(
        (
            DocumentRecord(
                f"{source} corpus", n, str(row["id"]), row.get("title") or "", row.get("text") or ""
            )
            for n, row in enumerate(data["corpus"], start=1)
        ),
        f"{source} corpus",
    )
    queries = records.collect_queries(
        QueryRecord(f"{source} queries", n, str(row["id"]), row.get("text") or "")
        for n, row in enumerate(data["queries"], start=1)
    )
    judged = (
        (qid, docid, int(score))
        for qid, docs in data["relevant_docs"].items()
        for docid, score in docs.items()
    )
    qrels = records.collect_qrels(
        (
            QrelRecord(f"{source} qrels", n, str(qid), str(docid), score)
            for n, (qid, docid, score) in enumerate(judged, start=1)
        ),
        queries,
        corpus,
        f"{source} qrels",
    )
    return records.task_data(queries, corpus, qrels)


def mteb_task(spec: str, split: str | None = None, **card_overrides: Any) -> Task:
    """A task from an MTEB retrieval task's metadata; its data is read when first used.

    ``spec`` is ``TaskName`` or ``TaskName/SUBSET``; the split defaults to the task's first
    evaluation split. Card values in ``card_overrides`` (None means not given) win.
    """
    task_name, _, subset = spec.partition("/")
    task, subset, split = _mteb_task(task_name, subset or None, split)
    metadata = task.metadata
    query_lang, doc_lang = card_languages(metadata.name, metadata.hf_subsets_to_langscripts[subset])
    revision = metadata.dataset.get("revision") or ""
    values = {
        "name": f"{PREFIX}{spec}",
        "query_lang": query_lang,
        "doc_lang": doc_lang,
        "split": split,
        "source": f"MTEB {metadata.name} ({metadata.dataset['path']}@{revision}, subset {subset})",
        "license": metadata.license or "unknown",
        "citation": (metadata.bibtex_citation or "").strip(),
        "checksum": short_hash(f"{metadata.dataset['path']}@{revision} {subset}"),
        "description": metadata.description or "",
    }
    return Task(card_from(values, card_overrides), lambda: _read(task, spec, subset, split))
