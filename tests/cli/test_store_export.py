from __future__ import annotations

from pathlib import Path

from clirbench.store import CellKey, ResultStore


def _store_with_one_cell(root: Path) -> None:
    key = CellKey("t", "test", "bm25", "0" * 12)
    manifest = {
        "task": {"name": "t", "split": "test", "source": "synthetic", "checksum": "c"},
        "method": {"name": "bm25", "config_hash": key.config_hash, "k": 100},
    }
    per_query = {"nDCG@10": {"q1": 1.0}}
    ResultStore(root).save(key, {"q1": {"d1": 1.0}}, per_query, {"nDCG@10": 1.0}, manifest)


def test_store_export_without_runs(cli, tmp_path: Path):
    _store_with_one_cell(tmp_path / "results")
    ended = cli(
        "store", "export", "--store", str(tmp_path / "results"), "--out", str(tmp_path / "x"),
        "--without-runs",
    )  # fmt: skip
    assert ended.code == 0, ended.err
    assert f"exported 1 cell from {tmp_path / 'results'}" in ended.out
    assert "scores only" in ended.out
    written = {p.name for p in (tmp_path / "x").rglob("*") if p.is_file()}
    assert written - {".bm25@000000000000.lock"} == {
        "store.json", "manifest.json", "per_query.tsv", "aggregate.json"
    }  # fmt: skip


def test_store_export_needs_a_store_and_an_out(cli, tmp_path: Path):
    ended = cli("store", "export", "--store", str(tmp_path / "results"))
    assert ended.code == 2 and "--out" in ended.err
    ended = cli("store", "export", "--store", str(tmp_path / "missing"), "--out", str(tmp_path))
    assert ended.code == 2 and "no such folder" in ended.err
