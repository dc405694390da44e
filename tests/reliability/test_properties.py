"""Property: any bytes given to a reader give a valid result or a ClirbenchError, nothing else.

Each reader gets both raw bytes and near-valid input (real records with arbitrary values), so
that the search reaches past the first line's JSON or UTF-8 check.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirbench.bitext import read_bitext
from clirbench.cache import EMBEDDINGS_FILE, TRANSLATIONS_FILE, EmbeddingCache, TranslationCache
from clirbench.config import parse_assignments, read_options_file
from clirbench.errors import ClirbenchError
from clirbench.registry import build_options
from clirbench.tasks.beir import beir_task
from clirbench.tasks.records import id_problem
from clirbench.trec import read_qrels, read_run
from tests.reliability.conftest import write_folder

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.floats(), st.booleans())
texts = st.one_of(st.text(max_size=12), st.integers(), st.none(), st.lists(st.text(), max_size=2))
records = st.dictionaries(st.sampled_from(["_id", "text", "title", "other"]), st.one_of(ids, texts))
jsonl_bytes = st.lists(records, max_size=5).map(
    lambda rs: "".join(json.dumps(r) + "\n" for r in rs).encode()
)
raw = st.binary(max_size=300)
file_bytes = st.one_of(raw, jsonl_bytes, st.text(max_size=200).map(str.encode))
table_line = st.lists(st.text(alphabet=" \t\r\u00a0abq12.-e\x00\xe9nif", max_size=8), max_size=7)
table_bytes = st.lists(table_line, max_size=6).map(
    lambda rows: "".join(" ".join(row) + "\n" for row in rows).encode()
)
yaml_bytes = st.one_of(
    raw,
    st.text(alphabet="abk1:-[]{}\n \t'\"!&*.#e_", max_size=60).map(str.encode),
    st.dictionaries(
        st.sampled_from(["name", "split", "query_lang", "doc_lang", "measures", "x"]),
        st.one_of(st.text(max_size=8), st.integers(), st.lists(st.text(max_size=4))),
        max_size=4,
    ).map(lambda d: json.dumps(d).encode()),
)


_SCRATCH: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch() -> Iterator[None]:
    yield
    for path in _SCRATCH:
        shutil.rmtree(path, ignore_errors=True)


def _folder() -> Path:
    """A fresh folder per example (hypothesis reruns a test; tmp_path would be shared)."""
    _SCRATCH.append(Path(tempfile.mkdtemp(prefix="clirbench-prop-")))
    return _SCRATCH[-1] / "task"


def _load(folder: Path) -> None:
    task = beir_task(folder)
    task.qrels  # noqa: B018 - loads the corpus and the queries too


@SETTINGS
@given(data=file_bytes, which=st.sampled_from(["corpus", "queries"]))
def test_beir_jsonl_files(data: bytes, which: str):
    folder = write_folder(_folder(), **{which: data})
    try:
        task = beir_task(folder)
        task.qrels  # noqa: B018 - loading is lazy
    except ClirbenchError:
        return
    # Accepted: every id can be written as a column of a TREC file and read back whole.
    for identifier in [*task.corpus, *task.queries]:
        assert id_problem(identifier) is None and identifier.split() == [identifier]


@SETTINGS
@given(data=st.one_of(raw, table_bytes))
def test_beir_qrels(data: bytes):
    folder = write_folder(_folder(), qrels=data)
    with contextlib.suppress(ClirbenchError):
        _load(folder)


@SETTINGS
@given(data=yaml_bytes)
def test_task_yaml(data: bytes):
    folder = write_folder(_folder(), card=data)
    try:
        task = beir_task(folder)
    except ClirbenchError:
        return
    assert isinstance(task.card.name, str) and isinstance(task.card.split, str)


@SETTINGS
@given(data=st.one_of(raw, table_bytes))
def test_trec_run(data: bytes):
    path = _folder().parent / "run.trec"
    path.write_bytes(data)
    try:
        run = read_run(path)
    except ClirbenchError:
        return
    assert all(math.isfinite(score) for hits in run.values() for score in hits.values())


@SETTINGS
@given(data=st.one_of(raw, table_bytes))
def test_qrels_file(data: bytes):
    path = _folder().parent / "qrels.txt"
    path.write_bytes(data)
    try:
        qrels = read_qrels(path)
    except ClirbenchError:
        return
    assert all(isinstance(rel, int) for judged in qrels.values() for rel in judged.values())


pair_records = st.dictionaries(st.sampled_from(["source", "target", "x"]), texts)
bitext_bytes = st.one_of(
    file_bytes,
    st.lists(pair_records, max_size=4).map(
        lambda rs: "".join(json.dumps(r) + "\n" for r in rs).encode()
    ),
    table_bytes,
)


@SETTINGS
@given(data=bitext_bytes, suffix=st.sampled_from([".tsv", ".jsonl"]))
def test_bitext(data: bytes, suffix: str):
    path = _folder().parent / f"bitext{suffix}"
    path.write_bytes(data)
    try:
        bitext = read_bitext(path, "eng_Latn", "nya_Latn")
    except ClirbenchError:
        return
    assert all(s.strip() and t.strip() for s, t in bitext.pairs)
    assert len(bitext.pairs_sha256) == 64  # every pair encodes as UTF-8


@SETTINGS
@given(data=yaml_bytes)
def test_options_file(data: bytes):
    """The file and then the options it gives bm25: valid, or one ClirbenchError."""
    path = _folder().parent / "options.yaml"
    path.write_bytes(data)
    try:
        options = read_options_file(path)
        build_options("bm25", options.get("bm25", {}))
    except ClirbenchError:
        pass


@SETTINGS
@given(value=st.text(max_size=20), option=st.sampled_from(["k1", "b", "variant", "x"]))
def test_set_assignments(value: str, option: str):
    try:
        options = build_options("bm25", parse_assignments([f"bm25.{option}={value}"])["bm25"])
    except ClirbenchError:
        return
    assert math.isfinite(options.k1) and options.k1 >= 0 and 0 <= options.b <= 1


def _vectors(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in encoder: each text's vector derives from its bytes."""
    rows = [np.frombuffer(t.encode().ljust(16, b"\0")[:16], dtype=np.uint8) for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 16) + 0.5


@SETTINGS
@given(data=raw, keep_signature=st.booleans(), prefix_frames=st.integers(0, 2))
def test_embedding_cache_file(data: bytes, keep_signature: bool, prefix_frames: int):
    """Any bytes after (or instead of) intact records: correct vectors or a CacheError."""
    root = _folder().parent
    texts = [f"text {i}" for i in range(6)]
    cache = EmbeddingCache({"method": "prop"}, root=root)
    for i in range(prefix_frames):
        cache.encode(texts[2 * i : 2 * i + 2], _vectors, batch_size=2)
    file = cache.path / EMBEDDINGS_FILE
    before = file.read_bytes() if file.exists() else b""
    if not keep_signature:
        before = b""
    file.write_bytes(before + data)
    try:
        reopened = EmbeddingCache({"method": "prop"}, root=root)
        got = reopened.encode(texts, _vectors, batch_size=4)
    except ClirbenchError:
        return
    assert np.array_equal(got, _vectors(texts))
    third = EmbeddingCache({"method": "prop"}, root=root)
    assert np.array_equal(third.encode(texts, _vectors, 4), got)


@SETTINGS
@given(data=raw, prefix=st.booleans())
def test_translation_cache_file(data: bytes, prefix: bool):
    root = _folder().parent
    cache = TranslationCache({"method": "prop"}, root=root)
    if prefix:
        cache.translate(["a", "b"], lambda batch: [t.upper() for t in batch], batch_size=1)
    cache.path.write_bytes((cache.path.read_bytes() if prefix else b"") + data)
    try:
        again = TranslationCache({"method": "prop"}, root=root)
        got = again.translate(["a", "b", "c"], lambda batch: [t.upper() for t in batch], 2)
    except ClirbenchError:
        return
    assert got == ["A", "B", "C"]
    assert (cache.path.parent / TRANSLATIONS_FILE).exists()
