"""Tasks from Hugging Face dataset repositories (``hf:mteb/scifact``, ``hf:CIRAL/ciral/hausa``).

Only what is already on this machine is read; nothing is downloaded. A repository is looked for
in the Hub cache (where ``hf download`` and ``datasets.load_dataset`` put its files), then in
the ``datasets`` cache (what ``load_dataset`` prepared from them), in the libraries' offline
mode. A local folder laid out as the repository (``hf:path/to/folder``) works the same way.

Two layouts are understood:

- BEIR / MTEB mirrors: configs ``corpus`` (``_id`` or ``id``, ``title``, ``text``), ``queries``
  and the qrels as ``default`` or ``qrels`` (``query-id``, ``corpus-id``, ``score``), one split
  per qrels split. A subset (``hf:ORG/NAME/SUBSET``) selects MTEB's ``SUBSET-corpus``,
  ``SUBSET-queries`` and ``SUBSET-qrels``.
- CIRAL (``CIRAL/ciral``): English topics ``ciral-LANG/topics/topics.ciral-v1.0-CODE-SPLIT.tsv``
  (``qid<TAB>query``) and TREC qrels ``ciral-LANG/qrels/qrels.ciral-v1.0-CODE-SPLIT.tsv``;
  the passages live in another repository, ``CIRAL/ciral-corpus``, as
  ``passages-v1.0/LANG_passages.jsonl`` (``docid``, ``title``, ``text``, ``url``). Both
  repositories carry loading scripts, which ``datasets`` no longer runs, so their files are
  read directly. The subset is the language (``hausa``, ``somali``, ``swahili``, ``yoruba``);
  splits are ``dev``, ``test-a`` (the default), ``test-a-pools`` and ``test-b``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clirbench.errors import ClirbenchError, InputError
from clirbench.hashing import short_hash
from clirbench.tasks.languages import from_iso639_1
from clirbench.tasks.records import (
    DocumentRecord,
    QrelRecord,
    QueryRecord,
    card_from,
    collect_corpus,
    collect_qrels,
    collect_queries,
    qrel_records,
    task_data,
)
from clirbench.tasks.task import Task, TaskData

PREFIX = "hf:"
CIRAL_LANGUAGES = {"hausa": "ha", "somali": "so", "swahili": "sw", "yoruba": "yo"}
CIRAL_CORPUS_REPO = "CIRAL/ciral-corpus"
CIRAL_DEFAULT_SPLIT = "test-a"
CIRAL_CITATION = (
    "Mofetoluwa Adeyemi, Akintunde Oladipo, Xinyu Zhang, et al. 2024. CIRAL: A Test Collection for "
    "CLIR Evaluations in African Languages. SIGIR 2024. https://doi.org/10.1145/3626772.3657884"
)
_Rows = Iterable[dict[str, Any]]
_NumberedRow = tuple[str, int, dict[str, Any]]  # where, row number, row
# The configs each part may be stored under (the first one present is read), as MTEB reads them.
_CONFIGS = {"corpus": ("corpus",), "queries": ("queries", "query"), "qrels": ("default", "qrels")}


@contextlib.contextmanager
def hf_offline() -> Iterator[None]:
    """The Hugging Face libraries' offline mode while the block runs.

    ``HF_HUB_OFFLINE`` is read when the libraries are imported, which may have happened before
    clirbench was asked for a task, so the flags they consult at call time are set instead.
    """
    import datasets
    from huggingface_hub import constants

    saved = datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = saved


@dataclass(frozen=True)
class _Location:
    """Where a dataset's data was found: a folder of its files, or what ``datasets`` prepared."""

    description: str
    checksum: str
    datasets_cache: Path  # where datasets keeps what it prepares (and its locks)
    repo: str | None = None  # the Hub repository, None for a local folder
    folder: Path | None = None  # the repository's files (a Hub cache snapshot or a local folder)
    prepared: Path | None = (
        None  # else its prepared copy in the datasets cache, a folder per config
    )


def _hub_cache(cache_dir: Path | None) -> Path:
    from huggingface_hub import constants

    return cache_dir / "hub" if cache_dir else Path(constants.HF_HUB_CACHE)


def _datasets_cache(cache_dir: Path | None) -> Path:
    import datasets

    return cache_dir / "datasets" if cache_dir else Path(datasets.config.HF_DATASETS_CACHE)


def _snapshot(repo: str, cache_dir: Path | None) -> Path | None:
    """The repository's files in the Hub cache (its ``main`` revision), or None."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo, repo_type="dataset", cache_dir=_hub_cache(cache_dir), local_files_only=True
            )
        )
    except LocalEntryNotFoundError:
        return None


def _prepared(repo: str, cache_dir: Path | None) -> Path | None:
    """The folder ``datasets`` prepared for this repository (one subfolder per config), or None."""
    from datasets.naming import camelcase_to_snakecase

    namespace, name = repo.split("/")
    folder = _datasets_cache(cache_dir) / f"{namespace}___{camelcase_to_snakecase(name)}"
    return folder if folder.is_dir() else None


def _folder_checksum(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        with path.open("rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _absent(repo: str, cache_dir: Path | None, files: str = "") -> ClirbenchError:
    return ClirbenchError(
        f"the Hugging Face dataset {repo!r} is not on this machine "
        f"(looked in {_hub_cache(cache_dir)} and {_datasets_cache(cache_dir)}). "
        "clirbench never downloads; fetch it once with:\n"
        f"  hf download {repo}{files} --repo-type dataset\n"
        "(or load it once with datasets.load_dataset while online; HF_HOME moves both caches)"
    )


def _locate(repo: str, cache_dir: Path | None) -> _Location:
    snapshot = _snapshot(repo, cache_dir)
    if snapshot is not None:
        return _Location(
            f"{repo}@{snapshot.name}",
            snapshot.name[:16],
            _datasets_cache(cache_dir),
            repo=repo,
            folder=snapshot,
        )
    prepared = _prepared(repo, cache_dir)
    if prepared is not None:
        # The prepared folders are named by the fingerprint of the data they were made from.
        fingerprints = sorted(
            path.relative_to(prepared).as_posix()
            for path in prepared.glob("*/*/*")
            if path.is_dir()
        )
        checksum = short_hash("\n".join(fingerprints))
        return _Location(
            f"{repo} (datasets cache)",
            checksum,
            _datasets_cache(cache_dir),
            repo=repo,
            prepared=prepared,
        )
    raise _absent(repo, cache_dir)


def _parse(spec: str) -> tuple[Path | None, str | None, str | None]:
    """``spec`` -> (local folder, Hub repository, subset).

    A folder may be followed by ``/SUBSET``.
    """
    path = Path(spec)
    if path.is_dir():
        return path, None, None
    if path.parent != Path(".") and path.parent.is_dir():
        return path.parent, None, path.name
    parts = spec.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ClirbenchError(f"hf: takes ORG/NAME[/SUBSET] or a local folder, got {spec!r}")
    return None, "/".join(parts[:2]), parts[2] if len(parts) == 3 else None


def hf_task(
    spec: str,
    split: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    **card_overrides: Any,
) -> Task:
    """A task from a Hugging Face dataset repository in the local cache, or a folder like one.

    ``cache_dir`` is a Hugging Face home (``hub/`` and ``datasets/`` under it); by default the
    libraries' own. Card values in ``card_overrides`` (None means not given) win.
    """
    cache = Path(cache_dir) if cache_dir else None
    folder, repo, subset = _parse(spec)
    if repo is not None:
        location = _locate(repo, cache)
        name = f"{PREFIX}{spec}"
    else:  # named by the folder, as BEIR folders are, so the name does not depend on the machine
        assert folder is not None  # _parse gives a folder or a repository
        location = _Location(
            str(folder.resolve()), _folder_checksum(folder), _datasets_cache(cache), folder=folder
        )
        name = f"{PREFIX}{folder.resolve().name}" + (f"/{subset}" if subset else "")
    if location.folder is not None and any(location.folder.glob("ciral-*/topics")):
        return _ciral_task(
            name, location, subset, split or CIRAL_DEFAULT_SPLIT, cache, card_overrides
        )
    return _mirror_task(name, location, subset, split or "test", card_overrides)


# --- BEIR / MTEB mirrors -------------------------------------------------------------------


def _available_configs(location: _Location) -> list[str]:
    import datasets

    if location.folder is not None:
        with hf_offline():
            return datasets.get_dataset_config_names(str(location.folder))
    assert location.prepared is not None  # a location has a folder or a prepared copy
    return sorted(path.name for path in location.prepared.iterdir() if path.is_dir())


def _config(part: str, subset: str | None, configs: list[str], name: str) -> str:
    candidates = (f"{subset}-{part}",) if subset else _CONFIGS[part]
    for config in candidates:
        if config in configs:
            return config
    raise ClirbenchError(
        f"{name}: no {' or '.join(map(repr, candidates))} config for the {part}; "
        f"configs: {', '.join(configs)}"
    )


def _splits(location: _Location, config: str) -> Mapping[str, _Rows]:
    """One config's splits: streamed from the files, or memory-mapped from the datasets cache."""
    import datasets

    cache_dir = str(location.datasets_cache)
    with hf_offline():
        if location.folder is not None:
            return datasets.load_dataset(
                str(location.folder), config, streaming=True, cache_dir=cache_dir
            )
        return datasets.load_dataset(location.repo, config, cache_dir=cache_dir)


def _split(splits: Mapping[str, _Rows], split: str, where: str, only_one_is_fine: bool) -> _Rows:
    if split in splits:
        return splits[split]
    if only_one_is_fine and len(splits) == 1:
        return next(iter(splits.values()))
    raise ClirbenchError(
        f"{where}: split {split!r} not found; available splits: {', '.join(splits)}"
    )


def _column(row: dict[str, Any], keys: tuple[str, ...], where: str, number: int) -> Any:
    for key in keys:
        if key in row:
            return row[key]
    raise InputError(where, number, f"missing {' or '.join(map(repr, keys))}")


def _rows(
    location: _Location, config: str, split: str, name: str, only_one_is_fine: bool
) -> Iterator[_NumberedRow]:
    where = f"{name} {config}"
    for number, row in enumerate(
        _split(_splits(location, config), split, where, only_one_is_fine), start=1
    ):
        yield where, number, row


def _documents(rows: Iterable[_NumberedRow]) -> Iterator[DocumentRecord]:
    for where, n, row in rows:
        doc_id = str(_column(row, ("_id", "id"), where, n))
        text = _column(row, ("text",), where, n)
        yield DocumentRecord(where, n, doc_id, row.get("title") or "", text)


def _queries(rows: Iterable[_NumberedRow]) -> Iterator[QueryRecord]:
    for where, n, row in rows:
        query_id = str(_column(row, ("_id", "id"), where, n))
        yield QueryRecord(where, n, query_id, _column(row, ("text",), where, n))


def _judgements(rows: Iterable[_NumberedRow]) -> Iterator[QrelRecord]:
    for where, n, row in rows:
        query_id, doc_id = (
            str(_column(row, (key,), where, n)) for key in ("query-id", "corpus-id")
        )
        yield QrelRecord(where, n, query_id, doc_id, int(_column(row, ("score",), where, n)))


def _read_mirror(name: str, location: _Location, subset: str | None, split: str) -> TaskData:
    configs = _available_configs(location)
    corpus_config, queries_config, qrels_config = (
        _config(part, subset, configs, name) for part in _CONFIGS
    )
    corpus = collect_corpus(
        _documents(_rows(location, corpus_config, split, name, True)), f"{name} {corpus_config}"
    )
    queries = collect_queries(_queries(_rows(location, queries_config, split, name, True)))
    qrels_rows = _rows(location, qrels_config, split, name, only_one_is_fine=False)
    qrels = collect_qrels(_judgements(qrels_rows), queries, corpus, f"{name} {qrels_config}")
    return task_data(queries, corpus, qrels)


def _readme_license(folder: Path | None) -> str | None:
    if folder is None or not (folder / "README.md").is_file():
        return None
    from huggingface_hub.repocard import metadata_load

    license_ = (metadata_load(folder / "README.md") or {}).get("license")
    return license_ if isinstance(license_, str) else None


def _mirror_task(
    name: str, location: _Location, subset: str | None, split: str, overrides: dict[str, Any]
) -> Task:
    values: dict[str, Any] = {
        "name": name,
        "split": split,
        "source": f"Hugging Face dataset {location.description}",
        "checksum": location.checksum,
    }
    if license_ := _readme_license(location.folder):
        values["license"] = license_
    return Task(card_from(values, overrides), lambda: _read_mirror(name, location, subset, split))


# --- CIRAL ---------------------------------------------------------------------------------


def _ciral_language(folder: Path, subset: str | None, name: str) -> tuple[str, str]:
    """(language name, ISO 639-1 code) from the subset, which may be either."""
    by_code = {code: language for language, code in CIRAL_LANGUAGES.items()}
    language = by_code.get(subset or "", subset)
    if language not in CIRAL_LANGUAGES or not (folder / f"ciral-{language}").is_dir():
        present = sorted(
            path.name.removeprefix("ciral-") for path in folder.glob("ciral-*") if path.is_dir()
        )
        raise ClirbenchError(
            f"{name}: CIRAL needs a language as subset, e.g. hf:CIRAL/ciral/hausa; "
            f"present: {', '.join(present)}"
        )
    return language, CIRAL_LANGUAGES[language]


def _ciral_files(
    folder: Path, language: str, code: str, split: str, name: str
) -> tuple[Path, Path]:
    base = folder / f"ciral-{language}"
    qrels = base / "qrels" / f"qrels.ciral-v1.0-{code}-{split}.tsv"
    topics = base / "topics" / f"topics.ciral-v1.0-{code}-{split.removesuffix('-pools')}.tsv"
    if not qrels.is_file() or not topics.is_file():
        prefix = f"qrels.ciral-v1.0-{code}-"
        available = sorted(
            p.name.removeprefix(prefix).removesuffix(".tsv")
            for p in (base / "qrels").glob(f"{prefix}*.tsv")
        )
        raise ClirbenchError(
            f"{name}: split {split!r} not found; available splits: {', '.join(available) or 'none'}"
        )
    return topics, qrels


def _ciral_passages(location: _Location, language: str, cache_dir: Path | None) -> tuple[Path, str]:
    """The passages file and the revision it comes from.

    They are in CIRAL/ciral-corpus, or in a local folder.
    """
    relative = f"passages-v1.0/{language}_passages.jsonl"
    if location.repo is None:
        assert location.folder is not None  # a local folder
        if not (location.folder / relative).is_file():
            raise InputError(
                location.folder / relative,
                None,
                f"file not found (the CIRAL passages, from {CIRAL_CORPUS_REPO})",
            )
        return location.folder / relative, ""
    snapshot = _snapshot(CIRAL_CORPUS_REPO, cache_dir)
    if snapshot is None or not (snapshot / relative).is_file():
        raise _absent(CIRAL_CORPUS_REPO, cache_dir, f" {relative}")
    return snapshot / relative, snapshot.name


def _topics(path: Path) -> Iterator[QueryRecord]:
    from clirbench.fileio import iter_lines

    for number, line in iter_lines(path):
        if not line.strip():
            continue
        query_id, tab, text = line.partition("\t")
        if number == 1 and query_id.strip().lower() in {"qid", "query_id", "id"}:
            continue  # a header
        if not tab:
            raise InputError(path, number, "expected query id<TAB>query text")
        yield QueryRecord(path, number, query_id.strip(), text.strip())


def _passages(path: Path) -> Iterator[DocumentRecord]:
    from clirbench.fileio import iter_json_objects

    for number, record in iter_json_objects(path):
        if "docid" not in record:
            raise InputError(path, number, "missing 'docid'")
        yield DocumentRecord(
            path,
            number,
            str(record["docid"]),
            str(record.get("title") or ""),
            str(record.get("text") or ""),
        )


def _read_ciral(topics_path: Path, qrels_path: Path, passages_path: Path) -> TaskData:
    queries = collect_queries(_topics(topics_path))
    corpus = collect_corpus(_passages(passages_path), passages_path)
    qrels = collect_qrels(qrel_records(qrels_path), queries, corpus, qrels_path)
    return task_data(queries, corpus, qrels)


def _ciral_task(
    name: str,
    location: _Location,
    subset: str | None,
    split: str,
    cache_dir: Path | None,
    overrides: dict[str, Any],
) -> Task:
    assert location.folder is not None  # CIRAL is recognised by its folder's files
    language, code = _ciral_language(location.folder, subset, name)
    topics, qrels = _ciral_files(location.folder, language, code, split, name)
    passages, corpus_revision = _ciral_passages(location, language, cache_dir)
    if corpus_revision:
        checksum = short_hash(f"{location.checksum} {corpus_revision}")
    else:
        checksum = location.checksum
    values = {
        "name": name,
        "query_lang": "eng_Latn",
        "doc_lang": from_iso639_1(code),
        "split": split,
        "source": f"Hugging Face datasets {location.description} (topics, qrels) and "
        f"{CIRAL_CORPUS_REPO} (passages)",
        "license": "Apache-2.0",
        "citation": CIRAL_CITATION,
        "checksum": checksum,
    }
    return Task(card_from(values, overrides), lambda: _read_ciral(topics, qrels, passages))
