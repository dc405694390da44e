"""``clirbench store check``: every kind of damaged or orphaned entry is found, named with its
path, and removed by ``--repair``, never a healthy cell; exit 1 while damage is left."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from clirbench.cache import EMBEDDINGS_FILE, EmbeddingCache, check_namespace
from clirbench.cli import main
from clirbench.errors import ClirbenchError
from clirbench.store import FORMAT_FILE, CellKey, ResultStore, StoreError, TaskIdentity

KEY = CellKey("t", "test", "m", "a" * 12)
OTHER = CellKey("t2", "dev", "m", "b" * 12)


def _save(store: ResultStore, key: CellKey, value: float = 0.5) -> Path:
    identity = TaskIdentity(name=key.task, split=key.split, source="synthetic", checksum="c")
    manifest = {
        "task": identity.model_dump(),
        "method": {
            "name": key.method,
            "config_hash": key.config_hash,
            "k": 100,
            "identity": {"distribution": "clirbench"},
        },
        "command": f"clirbench run -m {key.method} -t {key.task}",
    }
    run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": value}}
    per_query = {"nDCG@10": {"q1": 1.0, "q2": value}}
    return store.save(key, run, per_query, {"nDCG@10": (1 + value) / 2}, manifest).path


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    results = ResultStore(tmp_path / "results")
    _save(results, KEY)
    _save(results, OTHER)
    return results


def _snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
    }


def _old(path: Path) -> Path:
    """Make ``path`` look like it was left long ago (temp files younger are left alone)."""
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def _copy_cell(store: ResultStore, to: Path) -> Path:
    shutil.copytree(store.path(KEY), to)
    return to


# Each damage: what to do to a healthy store -> (the path reported, kind, a word of the problem).
Damage = Callable[[ResultStore], Path]
DAMAGES: dict[str, tuple[Damage, str, str]] = {
    "run-digest": (lambda s: _append(s.path(KEY) / "run.trec"), "damaged", "digest"),
    "per-query-digest": (lambda s: _append(s.path(KEY) / "per_query.tsv"), "damaged", "digest"),
    "aggregate-edited": (
        lambda s: _write(s.path(KEY) / "aggregate.json", b'{"nDCG@10": 0.99}').parent,
        "damaged",
        "digest",
    ),
    "run-missing": (lambda s: _unlink(s.path(KEY) / "run.trec"), "damaged", "run.trec: missing"),
    "aggregate-missing": (lambda s: _unlink(s.path(KEY) / "aggregate.json"), "damaged", "missing"),
    "manifest-torn": (
        lambda s: _write(s.path(KEY) / "manifest.json", b'{"format": 2, "ta').parent,
        "damaged",
        "manifest",
    ),
    "manifest-latin1": (
        lambda s: _write(s.path(KEY) / "manifest.json", b'{"x": "caf\xe9"}').parent,
        "damaged",
        "unicode",
    ),
    "manifest-other-format": (lambda s: _edit_manifest(s, format=1), "damaged", "format"),
    "manifest-no-task-name": (
        lambda s: _edit_manifest(s, task={"split": "test"}),
        "damaged",
        "task.name",
    ),
    "manifest-missing": (
        lambda s: _unlink(s.path(KEY) / "manifest.json"),
        "damaged",
        "no manifest",
    ),
    "cell-copied-elsewhere": (
        lambda s: _copy_cell(s, s.root / "t3" / "test" / f"m@{'c' * 12}"),
        "damaged",
        "moved or copied here",
    ),
    "cell-under-other-split": (
        lambda s: _copy_cell(s, s.root / "t" / "dev" / f"m@{'a' * 12}"),
        "damaged",
        "moved or copied here",
    ),
    "not-run-record-torn": (
        lambda s: _write(s.root / "_not_run" / f"m@{'a' * 12}.json", b'{"meth'),
        "damaged",
        "did not run",
    ),
    "not-run-record-wrong-shape": (
        lambda s: _write(s.root / "_not_run" / "x.json", b'{"method": 3}'),
        "damaged",
        "method",
    ),
    "temp-folder-of-killed-save": (
        lambda s: _copy_cell(s, s.path(KEY).with_name(f".{s.path(KEY).name}.0123456789ab.tmp")),
        "orphan",
        "killed",
    ),
    "empty-temp-folder": (
        lambda s: _mkdir(s.path(KEY).with_name(f".{s.path(KEY).name}.00000000000f.tmp")),
        "orphan",
        "killed",
    ),
    "trash-beside-its-cell": (
        lambda s: _copy_cell(s, s.path(KEY).with_name(f".{s.path(KEY).name}.old")),
        "orphan",
        "previous version",
    ),
    "lock-without-cell": (
        lambda s: _write(s.path(KEY).with_name(f".m@{'d' * 12}.lock"), b""),
        "orphan",
        "lock",
    ),
    "stray-file-at-root": (lambda s: _write(s.root / "notes.txt", b"x"), "orphan", "not part"),
    "stray-folder-at-root": (lambda s: _mkdir(s.root / ".git"), "orphan", "not part"),
    "stray-file-in-task": (
        lambda s: _write(s.root / "t" / "README", b"x"),
        "orphan",
        "split folder",
    ),
    "stray-file-in-split": (
        lambda s: _write(s.path(KEY).parent / "run.trec", b"x"),
        "orphan",
        "not a result cell",
    ),
    "folder-not-a-cell": (
        lambda s: _mkdir(s.path(KEY).parent / "m@short"),
        "orphan",
        "not a result cell",
    ),
    "extra-file-in-cell": (
        lambda s: _write(s.path(KEY) / "run.trec.bak", b"x"),
        "orphan",
        "not a file of the cell",
    ),
    "stale-temp-file-at-root": (
        lambda s: _old(_write(s.root / f".{FORMAT_FILE}.0123456789ab.tmp", b"{")),
        "orphan",
        "temp file",
    ),
    "stale-temp-in-not-run": (
        lambda s: _old(_write(s.root / "_not_run" / ".x.json.0123456789ab.tmp", b"")),
        "orphan",
        "temp file",
    ),
    "foreign-file-in-not-run": (
        lambda s: _write(s.root / "_not_run" / "x.txt", b""),
        "orphan",
        "not a record",
    ),
}


def _append(path: Path) -> Path:
    path.write_bytes(path.read_bytes() + b"\n")
    return path.parent


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _unlink(path: Path) -> Path:
    path.unlink()
    return path.parent


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _edit_manifest(store: ResultStore, **changes: object) -> Path:
    path = store.path(KEY) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path.parent


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    captured = capsys.readouterr()
    return int(ended.value.code or 0), captured.out, captured.err


def test_a_healthy_store_has_no_problems(store: ResultStore, capsys: pytest.CaptureFixture[str]):
    assert store.check() == [] and store.check(repair=True) == []
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root))
    assert code == 0 and "0 damaged, 0 orphaned" in out
    assert len(list(store.cells())) == 2


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_each_problem_is_found_and_repaired(
    store: ResultStore, damage: str, capsys: pytest.CaptureFixture[str]
):
    make, kind, fragment = DAMAGES[damage]
    healthy = _snapshot(store.path(OTHER))
    path = make(store)
    [problem] = store.check()
    assert (problem.path, problem.kind) == (path, kind)
    assert fragment.lower() in problem.problem.lower() and not problem.repaired
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root))
    assert code == (1 if kind == "damaged" else 0) and str(path) in out, out
    assert path.exists()  # checking changes nothing
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--repair")
    assert code == 0 and "1 repaired" in out, out
    assert not path.exists() and store.check() == []
    assert _snapshot(store.path(OTHER)) == healthy  # never a healthy cell
    kept = {cell.path for cell in store.cells()}
    assert store.path(OTHER) in kept
    if kind == "orphan":  # the cell beside it was healthy, so it stays
        assert store.path(KEY) in kept


def test_a_cell_moved_aside_by_a_killed_save_is_put_back(
    store: ResultStore, capsys: pytest.CaptureFixture[str]
):
    final = store.path(KEY)
    before = _snapshot(final)
    trash = final.with_name(f".{final.name}.old")
    final.rename(trash)  # killed between the two renames of an --overwrite
    assert [c.path for c in store.cells()] == [store.path(OTHER)]
    [problem] = store.check()
    assert (problem.path, problem.kind, problem.repair) == (trash, "damaged", "put it back")
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--repair")
    assert code == 0 and "put back" in out
    assert _snapshot(final) == before and not trash.exists() and store.check() == []


def test_a_damaged_cell_moved_aside_is_removed_not_put_back(store: ResultStore):
    final = store.path(KEY)
    trash = final.with_name(f".{final.name}.old")
    final.rename(trash)
    _append(trash / "run.trec")
    [problem] = store.check(repair=True)
    assert problem.repaired and problem.repair == "removed"
    assert not final.exists() and not trash.exists() and store.check() == []


def test_the_next_save_puts_a_moved_aside_cell_back_before_replacing_it(store: ResultStore):
    final = store.path(KEY)
    final.rename(final.with_name(f".{final.name}.old"))
    _save(store, KEY, value=0.0)
    assert store.check() == []
    assert store.find("t", "m").per_query["nDCG@10"]["q2"] == 0.0


def test_many_problems_at_once_and_json(store: ResultStore, capsys: pytest.CaptureFixture[str]):
    paths = {
        DAMAGES[name][0](store)
        for name in ("run-digest", "lock-without-cell", "stray-file-at-root")
    }
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--json")
    found = json.loads(out)
    assert code == 1 and found["damaged_left"] == 1
    assert {Path(p["path"]) for p in found["problems"]} == paths
    assert {p["kind"] for p in found["problems"]} == {"damaged", "orphan"}
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--json", "--repair")
    assert code == 0 and all(p["repaired"] for p in json.loads(out)["problems"])
    assert [c.path for c in store.cells()] == [store.path(OTHER)]


def test_a_save_in_progress_is_not_an_orphan(store: ResultStore):
    from filelock import FileLock

    final = store.path(KEY)
    temp = _copy_cell(store, final.with_name(f".{final.name}.0123456789ab.tmp"))
    with FileLock(str(final.with_name(f".{final.name}.lock"))):  # a running save holds it
        assert store.check(repair=True) == []
        assert temp.exists()
    [problem] = store.check()
    assert problem.path == temp


def test_a_fresh_temp_file_is_left_alone(store: ResultStore):
    temp = _write(store.root / f".{FORMAT_FILE}.0123456789ab.tmp", b"{")  # a write under way
    assert store.check(repair=True) == [] and temp.exists()


@pytest.mark.parametrize("case", ["missing", "not-a-store", "a-file"])
def test_a_folder_that_is_not_a_store_is_refused(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
):
    target = tmp_path / "somewhere"
    if case == "not-a-store":
        _write(target / "thesis" / "draft.tex", b"keep me")
    elif case == "a-file":
        _write(target, b"x")
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError):
        ResultStore(target).check(repair=True)
    code, _, err = _cli(capsys, "store", "check", "--store", str(target), "--repair")
    assert code == 2 and err.startswith("Error: ") and str(target) in err and err.count("\n") == 1
    assert _snapshot(tmp_path) == before


def test_reads_refuse_what_check_reports(store: ResultStore):
    DAMAGES["cell-copied-elsewhere"][0](store)
    with pytest.raises(ClirbenchError, match="moved or copied here"):
        list(store.cells())
    store.check(repair=True)
    _write(store.root / "_not_run" / "x.json", b"[1]")
    with pytest.raises(ClirbenchError, match="store check --repair"):
        store.not_run()


# The cache, with --cache -----------------------------------------------------------------

NAMESPACE = {"method": "check", "role": "document"}


def _vectors(texts: list[str]) -> np.ndarray:
    return np.asarray([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


@pytest.mark.parametrize("damage", ["torn-tail", "foreign-file", "old-format"])
def test_cache_problems(
    store: ResultStore,
    tmp_path: Path,
    damage: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    root = tmp_path / "cache"
    monkeypatch.setenv("CLIRBENCH_CACHE", str(root))
    cache = EmbeddingCache(NAMESPACE, root=root)
    cache.encode(["a", "bb", "ccc"], _vectors, batch_size=2)
    file = cache.path / EMBEDDINGS_FILE
    intact = file.read_bytes()
    if damage == "torn-tail":
        file.write_bytes(intact + intact[-30:])
    elif damage == "foreign-file":
        file.write_bytes(b"PK\x03\x04")
    else:
        _write(cache.path / "keys.bin", b"k" * 16)
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root))
    assert code == 0 and "0 damaged" in out  # the cache only with --cache
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--cache")
    assert str(cache.path) in out and code == (0 if damage == "torn-tail" else 1), out
    code, out, _ = _cli(capsys, "store", "check", "--store", str(store.root), "--cache", "--repair")
    assert code == 0, out
    if damage == "torn-tail":
        assert file.read_bytes() == intact and check_namespace(cache.path) == []
    else:
        assert not cache.path.exists()
    again = EmbeddingCache(NAMESPACE, root=root)
    assert np.array_equal(
        again.encode(["a", "bb", "ccc"], _vectors, 2), _vectors(["a", "bb", "ccc"])
    )
