from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.store import CellKey, ResultStore, config_hash


def _save(store: ResultStore, key: CellKey, checksum: str = "abc", value: float = 0.5):
    run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
    per_query = {"nDCG@10": {"q1": 1.0, "q2": value}}
    manifest = {"task": {"name": key.task, "checksum": checksum}, "method": {"name": key.method}}
    return store.save(key, run, per_query, {"nDCG@10": (1.0 + value) / 2}, manifest)


def test_save_and_read_back(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("bible-en-ny/verse", "bm25", config_hash("bm25", {"k1": 1.5}, 100))
    cell = _save(store, key)
    assert cell.path == tmp_path / "bible-en-ny--verse" / f"bm25@{key.config_hash}"
    assert store.get(key, "abc").aggregate == {"nDCG@10": 0.75}
    assert cell.per_query == {"nDCG@10": {"q1": 1.0, "q2": 0.5}}
    assert cell.run == {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
    assert [c.path for c in store.cells()] == [cell.path]
    assert not [p for p in cell.path.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_other_task_data_is_not_reused(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "m", "0" * 12)
    _save(store, key, checksum="old")
    assert store.get(key, "new") is None
    assert store.get(key, "old") is not None


def test_overwrite_replaces_whole_cell(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "m", "0" * 12)
    _save(store, key, value=0.0)
    _save(store, key, value=1.0)
    assert store.get(key).per_query["nDCG@10"]["q2"] == 1.0
    assert len(list(store.cells())) == 1


def test_failed_save_leaves_nothing(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "m", "0" * 12)
    with pytest.raises(TypeError):
        store.save(key, {}, {}, {}, {"not json": object()})
    assert store.get(key) is None
    assert list((tmp_path / "t").iterdir()) == []


def test_config_hash_depends_on_every_part():
    base = config_hash("m", {"a": 1}, 100)
    assert base == config_hash("m", {"a": 1}, 100)
    assert len({base, config_hash("n", {"a": 1}, 100), config_hash("m", {"a": 2}, 100), config_hash("m", {"a": 1}, 10)}) == 4


def test_not_run_records(tmp_path: Path):
    store = ResultStore(tmp_path)
    store.record_not_run("mbert", "abc", "weights not available", ["t1"], {"model": "x"})
    assert store.not_run() == [{"method": "mbert", "config_hash": "abc", "reason": "weights not available", "tasks": ["t1"], "options": {"model": "x"}}]
    assert list(store.cells()) == []
    store.clear_not_run("mbert", "abc")
    assert store.not_run() == []
