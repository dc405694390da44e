"""Stores and caches at fsspec URLs.

The result store's contract on every kind of location: a local path, a ``file://`` URL (the
same local folder) and fsspec's ``memory://`` filesystem (an object store's semantics: no
folder rename, no lock). Save, load, digests, damage, orphans, ``store check`` and a report
behave the same on each. ``CLIRBENCH_CACHE`` takes the same URLs; a cache that is not local is
kept in a local folder, and clirbench says so."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import numpy as np
import pytest

import clirbench.store as store_module
from clirbench.cache import EmbeddingCache
from clirbench.cli import main
from clirbench.errors import ClirbenchError
from clirbench.location import FsPath, LocationError, open_location
from clirbench.paths import cache_dir
from clirbench.report.leaderboard import Leaderboard
from clirbench.store import (
    CellKey,
    FsspecResultStore,
    ResultStore,
    StoreError,
    TaskIdentity,
)
from tests.conftest import TINY
from tests.reports.conftest import build_store

KEY = CellKey("bible-en-ny/verse", "test", "nmt[lexical]", "a" * 12)
CODE = {"distribution": "clirbench", "method_version": "1"}
RUN = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
PER_QUERY = {"nDCG@10": {"q1": 1.0, "q2": 0.5}}
KINDS = ("path", "file", "memory")


def _identity(key: CellKey) -> TaskIdentity:
    return TaskIdentity(name=key.task, split=key.split, source="synthetic", checksum="c")


def _save(store: ResultStore, key: CellKey = KEY):
    manifest = {
        "task": _identity(key).model_dump(),
        "method": {"name": key.method, "config_hash": key.config_hash, "k": 100, "identity": CODE},
    }
    return store.save(key, RUN, PER_QUERY, {"nDCG@10": 0.75}, manifest)


@pytest.fixture(params=KINDS)
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store location of each kind, as the user would write it for --store."""
    if request.param == "path":
        yield str(tmp_path / "results")
    elif request.param == "file":
        yield (tmp_path / "results").as_uri()
    else:
        bucket = f"clirbench-test-{uuid.uuid4().hex}"
        yield f"memory://{bucket}/results"
        memory = fsspec.filesystem("memory")
        if memory.exists(f"/{bucket}"):
            memory.rm(f"/{bucket}", recursive=True)


def _local(root: str) -> bool:
    return not root.startswith("memory://")


def test_each_location_gets_its_store(root: str):
    store = ResultStore(root)
    if _local(root):
        assert type(store) is ResultStore and isinstance(store.root, Path)
        assert str(store.root).endswith("/results") and "://" not in str(store.root)
    else:
        assert type(store) is FsspecResultStore and isinstance(store.root, FsPath)
        assert str(store.root) == root


def test_save_and_load(root: str, capsys: pytest.CaptureFixture[str]):
    store = ResultStore(root)
    cell = _save(store)
    found, why = ResultStore(root).lookup(KEY, _identity(KEY), CODE)  # a new reader
    assert why == "" and found is not None and found.path == cell.path
    assert found.aggregate == {"nDCG@10": 0.75}
    assert found.run == RUN and found.per_query == PER_QUERY
    assert [c.path for c in ResultStore(root).cells()] == [cell.path]
    assert str(cell.path).endswith("/bible-en-ny%2Fverse/test/nmt[lexical]@" + "a" * 12)
    assert (store.root / "store.json").read_bytes() == b'{\n  "format": 2\n}\n'
    note = capsys.readouterr().err
    assert ("not protected" in note) == (not _local(root))  # said on object stores only


def test_the_same_bytes_on_every_location(tmp_path: Path):
    """A cell's files do not depend on where the store is."""
    stored = {}
    for kind, where in (("path", tmp_path / "a"), ("memory", f"memory://{uuid.uuid4().hex}/b")):
        cell = _save(ResultStore(where))
        stored[kind] = {n: (cell.path / n).read_bytes() for n in store_module.DATA_FILES}
    assert stored["path"] == stored["memory"]


def test_digests_are_recorded_and_verified(root: str):
    store = ResultStore(root)
    cell = _save(store)
    for name, digest in cell.manifest["files"].items():
        assert hashlib.sha256((cell.path / name).read_bytes()).hexdigest() == digest
    (cell.path / "run.trec").write_bytes(b"q1 Q0 d9 1 9.0 forged\n")
    found, why = store.lookup(KEY, _identity(KEY), CODE)
    assert found is None and "run.trec does not match its digest" in why
    with pytest.raises(ClirbenchError, match="damaged result cell"):
        list(store.cells())


@pytest.mark.parametrize("damage", ["run-edited", "per-query-missing", "manifest-torn"])
def test_a_damaged_cell_is_found_repaired_and_recomputed(root: str, damage: str):
    store = ResultStore(root)
    path = _save(store).path
    if damage == "run-edited":
        (path / "run.trec").write_bytes(b"")
    elif damage == "per-query-missing":
        (path / "per_query.tsv").unlink()
    else:
        (path / "manifest.json").write_bytes(b'{"format": 2, "task"')
    [problem] = store.check()
    assert (problem.path, problem.kind, problem.repaired) == (path, "damaged", False)
    assert store.check(repair=True)[0].repaired and store.check() == []
    assert list(store.cells()) == [] and store.lookup(KEY, _identity(KEY), CODE) == (None, "")
    _save(store)
    assert store.lookup(KEY, _identity(KEY), CODE)[0] is not None


@pytest.fixture
def killed_before_manifest(monkeypatch: pytest.MonkeyPatch) -> Callable[[ResultStore], None]:
    """Save a cell in a process killed as it writes the manifest: no cleanup runs."""

    class Killed(BaseException):
        pass

    def save(store: ResultStore) -> None:
        def kill(*args, **kwargs):
            raise Killed

        with monkeypatch.context() as patch:
            patch.setattr(store_module.shutil, "rmtree", lambda *a, **k: None)  # no cleanup
            patch.setattr(store_module, "atomic_write_json", kill)  # the local manifest
            if isinstance(store, FsspecResultStore):  # the object store's manifest
                write = FsPath.write_bytes
                patch.setattr(
                    FsPath,
                    "write_bytes",
                    lambda self, data: (
                        kill() if self.name == "manifest.json" else write(self, data)
                    ),
                )
            with pytest.raises(Killed):
                _save(store)

    return save


def test_a_killed_save_leaves_an_orphan_that_check_finds(
    root: str, killed_before_manifest, monkeypatch: pytest.MonkeyPatch
):
    store = ResultStore(root)
    other = _save(store, CellKey("t2", "dev", "bm25", "b" * 12))
    killed_before_manifest(store)
    assert store.lookup(KEY, _identity(KEY), CODE) == (None, "")  # no cell: nothing half-read
    assert [c.path for c in store.cells()] == [other.path]
    found = store.check()  # the temp folder and lock locally; the manifest-less cell elsewhere
    assert found and {(p.kind, p.repaired) for p in found} == {("orphan", False)}
    assert all(str(p.path).startswith(str(store.path(KEY).parent)) for p in found)
    assert any(p.path.name.startswith((KEY.method, f".{KEY.method}")) for p in found)
    monkeypatch.setattr(store_module, "TEMP_GRACE_S", 0.0)  # the kill was long ago
    repaired = store.check(repair=True)
    assert {p.path for p in repaired} == {p.path for p in found}
    assert all(p.repaired for p in repaired)
    assert store.check() == [] and [c.path for c in store.cells()] == [other.path]
    assert _save(store).aggregate == {"nDCG@10": 0.75}  # the next run saves it whole


def test_an_object_store_keeps_a_young_orphan_a_save_may_be_writing(
    killed_before_manifest: Callable[[ResultStore], None],
):
    store = ResultStore(f"memory://{uuid.uuid4().hex}/results")
    killed_before_manifest(store)
    [kept] = store.check(repair=True)
    assert not kept.repaired and "may still be writing" in kept.repair
    assert (store.path(KEY) / "run.trec").exists()


def test_a_save_that_fails_leaves_nothing(root: str):
    store = ResultStore(root)
    with pytest.raises(TypeError):
        store.save(KEY, RUN, PER_QUERY, {}, {"not json": object()})
    assert store.lookup(KEY, _identity(KEY), CODE) == (None, "")
    assert not store.path(KEY).exists()


def test_stray_files_are_orphans(root: str):
    store = ResultStore(root)
    _save(store)
    stray = store.path(KEY).parent / "notes.txt"
    stray.write_bytes(b"mine")
    extra = store.path(KEY) / "extra.bin"
    extra.write_bytes(b"x")
    found = {(p.path, p.kind) for p in store.check()}
    assert found == {(stray, "orphan"), (extra, "orphan")}
    store.check(repair=True)
    assert not stray.exists() and not extra.exists() and len(list(store.cells())) == 1


def test_not_run_records(root: str):
    store = ResultStore(root)
    store.record_not_run("mbert", "c" * 12, "no weights", ["t"], {})
    assert [r["reason"] for r in ResultStore(root).not_run()] == ["no weights"]
    store.clear_not_run("mbert", "c" * 12)
    assert store.not_run() == []


def test_a_report_over_the_store(root: str, tmp_path: Path):
    build_store(root)
    build_store(tmp_path / "reference")
    board = Leaderboard.from_store(root, n_resamples=200)
    reference = Leaderboard.from_store(tmp_path / "reference", n_resamples=200)
    assert board.systems == reference.systems and len(board.systems) == 3
    assert board.tasks == reference.tasks == ["toy-en-fr", "toy-en-ny"]
    assert board.to_markdown() == reference.to_markdown()


def test_the_cli_runs_reports_and_checks_a_memory_store(tmp_path: Path, capsys):
    root = f"memory://{uuid.uuid4().hex}/results"

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as ended:
            main(list(args))
        return ended.value.code

    assert cli("run", "-m", "bm25", "-t", str(TINY), "--store", root) == 0
    assert f"Results stored in {root}/" in capsys.readouterr().out
    [cell] = ResultStore(root).cells()
    assert cell.manifest["task"]["name"] == "tiny-en-ny" and cell.per_query
    assert cli("run", "-m", "bm25", "-t", str(TINY), "--store", root) == 0  # reused
    assert "reused" in capsys.readouterr().out
    out = tmp_path / "board"
    assert (
        cli(
            "report", "--store", root, "--out", str(out), "--resamples", "100", "--baseline", "none"
        )
        == 0
    )
    assert "bm25" in (out / "leaderboard.md").read_text()
    (cell.path / "aggregate.json").write_bytes(b'{"nDCG@10": 1.0}')
    assert cli("store", "check", "--store", root) == 1
    assert "1 damaged, 0 orphaned in " + root in capsys.readouterr().out


def test_a_missing_filesystem_package_is_named():
    with pytest.raises(LocationError, match=r"needs the package s3fs.*pip install s3fs"):
        ResultStore("s3://bucket/prefix")
    with pytest.raises(LocationError, match=r"unknown filesystem 'memroy' \(did you mean memory"):
        ResultStore("memroy://x")


def test_cli_names_the_package(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as ended:
        main(["store", "check", "--store", "gs://bucket/results"])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err.count("\n") == 1
    assert "gs://bucket/results" in err and "pip install gcsfs" in err


def test_file_urls_are_local_paths(tmp_path: Path):
    assert open_location((tmp_path / "s").as_uri()) == tmp_path / "s"
    assert open_location("results") == Path("results") and open_location("C:/x") == Path("C:/x")


def test_a_file_is_not_a_store(tmp_path: Path):
    memory = f"memory://{uuid.uuid4().hex}/file"
    fsspec.filesystem("memory").pipe_file(memory.removeprefix("memory:/"), b"x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        ResultStore(memory)


def test_a_file_url_cache_is_that_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", (tmp_path / "cache").as_uri())
    assert cache_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_a_cache_url_that_is_not_local_keeps_the_cache_in_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    remote = f"memory://{uuid.uuid4().hex}/cache"
    monkeypatch.setenv("CLIRBENCH_CACHE", remote)
    monkeypatch.setenv("CLIRBENCH_LOCAL_CACHE", str(tmp_path / "local"))
    assert cache_dir() == cache_dir() == tmp_path / "local"
    cache = EmbeddingCache({"method": "fake", "role": "document"})
    vectors = cache.encode(["a", "b"], lambda texts: np.ones((len(texts), 3)), batch_size=8)
    assert vectors.shape == (2, 3) and cache.path.parent.parent.parent == tmp_path / "local"
    err = capsys.readouterr().err
    assert err.count("note: ") == 1, err  # once per run
    assert f"CLIRBENCH_CACHE={remote} is not a local folder" in err
    assert str(tmp_path / "local") in err and "CLIRBENCH_LOCAL_CACHE" in err
    assert not fsspec.filesystem("memory").exists(remote.removeprefix("memory:/"))


def test_a_cache_url_names_a_missing_package(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", "s3://bucket/cache")
    with pytest.raises(
        LocationError, match=r"^CLIRBENCH_CACHE s3://bucket/cache: .*pip install s3fs"
    ):
        cache_dir()
