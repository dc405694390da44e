"""Property: any bytes in any file of a stored cell give a valid Cell or a ClirbenchError, through
every way the store is read: ``cells()``, ``lookup()``, ``find()``, the lazily read
``Cell.per_query`` and ``Cell.run``, and ``check()``. Never another exception.

A changed data file fails its digest before its content is parsed, so half the examples also
write the new file's digest into the manifest (a hand edit done thoroughly, or a bug): then the
per-query and run parsers see the bytes.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirbench.errors import ClirbenchError
from clirbench.fileio import file_sha256
from clirbench.store import Cell, CellKey, ResultStore, TaskIdentity

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = CellKey("t", "test", "m", "a" * 12)
IDENTITY = TaskIdentity(name="t", split="test", source="synthetic", checksum="c")
CODE = {"distribution": "clirbench", "distribution_version": "0", "method_version": "1"}

_SCRATCH: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch() -> Iterator[None]:
    yield
    for path in _SCRATCH:
        shutil.rmtree(path, ignore_errors=True)


def _store() -> ResultStore:
    """A fresh store holding one valid cell (hypothesis reruns a test; tmp_path is shared)."""
    _SCRATCH.append(Path(tempfile.mkdtemp(prefix="clirbench-store-prop-")))
    store = ResultStore(_SCRATCH[-1] / "results")
    manifest = {
        "task": IDENTITY.model_dump(),
        "method": {
            "name": "m",
            "config_hash": "a" * 12,
            "identity": CODE,
            "k": 100,
            "identity_options": {"k1": 0.9},
        },
        "command": "clirbench run -m m -t t",
    }
    run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
    store.save(KEY, run, {"nDCG@10": {"q1": 1.0, "q2": 0.5}}, {"nDCG@10": 0.75}, manifest)
    return store


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=6),
        st.sampled_from(["\ud800", "a\nb", "..", "/", "2", "test", "m", "a" * 12]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
raw = st.binary(max_size=300)
tsv_bytes = st.lists(
    st.lists(st.text(alphabet="qdm1.\t -eNnaif\x00\xe9\r", max_size=8), min_size=1, max_size=4),
    max_size=5,
).map(
    lambda rows: (
        "query_id\tmeasure\tvalue\n" + "".join("\t".join(r) + "\n" for r in rows)
    ).encode()
)
run_bytes = st.lists(
    st.lists(st.text(alphabet="qdQ0 1.5-einf\t\x00\xe9", max_size=6), min_size=1, max_size=7),
    max_size=5,
).map(lambda rows: "".join(" ".join(r) + "\n" for r in rows).encode())
aggregate_bytes = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
    st.dictionaries(
        st.text(max_size=6), st.one_of(st.floats(), st.integers(), st.text(max_size=3)), max_size=3
    ).map(lambda d: json.dumps(d).encode()),
)
MANIFEST_PLACES = [
    ("format",),
    ("task",),
    ("method",),
    ("files",),
    ("task", "name"),
    ("task", "split"),
    ("task", "source"),
    ("task", "checksum"),
    ("method", "name"),
    ("method", "config_hash"),
    ("method", "k"),
    ("method", "label"),
    ("method", "identity"),
    ("method", "identity_options"),
    ("method", "identity_options", "input_digests"),
    ("files", "run.trec"),
    ("command",),
]


def _set(manifest: dict, place: tuple[str, ...], value: object, delete: bool) -> dict:
    target = manifest
    for part in place[:-1]:
        if not isinstance(target.get(part), dict):
            return manifest
        target = target[part]
    if delete:
        target.pop(place[-1], None)
    else:
        target[place[-1]] = value
    return manifest


def _exercise(store: ResultStore) -> None:
    """Every way of reading the store: each gives valid values or a ClirbenchError."""
    for read in (
        lambda: list(store.cells()),
        lambda: [store.lookup(KEY, IDENTITY, CODE)[0]],
        lambda: [store.find("t", "m")],
    ):
        try:
            cells = read()
        except ClirbenchError:
            continue
        for cell in cells:
            if cell is not None:
                _check_cell(cell)
    for problem in store.check():
        assert problem.kind in ("damaged", "orphan") and "\n" not in problem.problem


def _check_cell(cell: Cell) -> None:
    assert all(isinstance(v, float) for v in cell.aggregate.values())
    assert isinstance(cell.system, tuple) and cell.task_identity.name
    for lazily in ("per_query", "run"):
        try:
            values = getattr(cell, lazily)
        except ClirbenchError as error:
            assert "\n" not in str(error), str(error)
            continue
        assert all(
            isinstance(v, float) and (lazily == "per_query" or math.isfinite(v))
            for by_id in values.values()
            for v in by_id.values()
        )


@SETTINGS
@given(
    data=st.one_of(raw, tsv_bytes, run_bytes, aggregate_bytes),
    name=st.sampled_from(["per_query.tsv", "run.trec", "aggregate.json"]),
    redigest=st.booleans(),
)
def test_any_bytes_in_a_data_file(data: bytes, name: str, redigest: bool):
    store = _store()
    path = store.path(KEY)
    (path / name).write_bytes(data)
    if redigest:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"][name] = file_sha256(path / name)
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _exercise(store)


@SETTINGS
@given(data=raw)
def test_any_bytes_as_the_manifest(data: bytes):
    store = _store()
    (store.path(KEY) / "manifest.json").write_bytes(data)
    _exercise(store)


@SETTINGS
@given(place=st.sampled_from(MANIFEST_PLACES), value=json_values, delete=st.booleans())
def test_any_value_anywhere_in_the_manifest(place: tuple[str, ...], value: object, delete: bool):
    store = _store()
    file = store.path(KEY) / "manifest.json"
    manifest = _set(json.loads(file.read_text(encoding="utf-8")), place, value, delete)
    file.write_bytes(json.dumps(manifest).encode("utf-8", "surrogatepass"))
    _exercise(store)


@pytest.mark.parametrize(
    "content, line",
    [
        (b"query_id\tmeasure\tvalue\nq1\tnDCG@10\tlots\n", 2),
        (b"query_id\tmeasure\tvalue\nq1\tnDCG@10\n", 2),
        (b"query_id\tmeasure\tvalue\nq1\tnDCG@10\t1\nq1\tnDCG@10\t0\n", 3),
        (b"qid\tmeasure\tvalue\n", 1),
        (b"query_id\tmeasure\tvalue\n\tnDCG@10\t1\n", 2),
        (b"query_id\tmeasure\tvalue\nq\xe91\tnDCG@10\t1\n", 2),
    ],
)
def test_a_bad_per_query_row_names_the_file_and_line(content: bytes, line: int):
    store = _store()
    path = store.path(KEY) / "per_query.tsv"
    path.write_bytes(content)
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["per_query.tsv"] = file_sha256(path)
    (path.parent / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    [cell] = store.cells()
    with pytest.raises(ClirbenchError) as error:
        cell.per_query  # noqa: B018 - read on first access
    assert f"{path}:{line}:" in str(error.value) and "store check --repair" in str(error.value)
    assert cell.run == {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
