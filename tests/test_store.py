from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError
from clirbench.store import (
    CellKey,
    ResultStore,
    StoreError,
    TaskIdentity,
    config_hash,
    decode_segment,
    encode_segment,
    system_labels,
)

CODE = {"distribution": "clirbench", "distribution_version": "0.1.0", "method_version": "1"}


def _identity(key: CellKey, checksum: str = "abc", source: str = "synthetic") -> TaskIdentity:
    return TaskIdentity(name=key.task, split=key.split, source=source, checksum=checksum)


def _save(
    store: ResultStore,
    key: CellKey,
    checksum: str = "abc",
    value: float = 0.5,
    source: str = "synthetic",
    code: dict = CODE,
    options: dict | None = None,
    label: str | None = None,
):
    run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
    per_query = {"nDCG@10": {"q1": 1.0, "q2": value}}
    manifest = {
        "task": _identity(key, checksum, source).model_dump(),
        "method": {
            "name": key.method,
            "label": label,
            "identity": code,
            "identity_options": options or {},
            "config_hash": key.config_hash,
            "k": 100,
        },
    }
    return store.save(key, run, per_query, {"nDCG@10": (1.0 + value) / 2}, manifest)


def test_save_and_read_back(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("bible-en-ny/verse", "test", "bm25", config_hash("bm25", {"k1": 1.5}, 100))
    cell = _save(store, key)
    assert cell.path == tmp_path / "bible-en-ny%2Fverse" / "test" / f"bm25@{key.config_hash}"
    found, why = store.lookup(key, _identity(key), CODE)
    assert found is not None and found.aggregate == {"nDCG@10": 0.75} and why == ""
    assert cell.per_query == {"nDCG@10": {"q1": 1.0, "q2": 0.5}}
    assert cell.run == {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 0.5}}
    assert [c.path for c in store.cells()] == [cell.path]
    assert not [
        p for p in cell.path.parent.iterdir() if p.name.startswith(".") and p.is_dir()
    ]  # no temp left
    assert set(cell.manifest["files"]) == {"run.trec", "per_query.tsv", "aggregate.json"}
    assert json.loads((tmp_path / "store.json").read_text()) == {"format": 2}


def test_dev_and_test_are_two_cells(tmp_path: Path):
    store = ResultStore(tmp_path)
    dev, test = CellKey("t", "dev", "m", "0" * 12), CellKey("t", "test", "m", "0" * 12)
    _save(store, dev, value=0.0)
    _save(store, test, value=1.0)
    assert len(list(store.cells())) == 2
    assert store.lookup(dev, _identity(dev), CODE)[0].per_query["nDCG@10"]["q2"] == 0.0
    assert store.lookup(test, _identity(test), CODE)[0].per_query["nDCG@10"]["q2"] == 1.0
    with pytest.raises(StoreError, match="several splits"):
        store.find("t", "m")
    assert store.find("t", "m", split="dev").path == store.path(dev)


def test_other_task_data_or_code_is_not_reused(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "test", "m", "0" * 12)
    _save(store, key, checksum="old")
    assert store.lookup(key, _identity(key, "new"), CODE) == (None, "the task's data changed")
    newer = {**CODE, "method_version": "2"}
    cell, why = store.lookup(key, _identity(key, "old"), newer)
    assert cell is None and "method's code changed" in why and "method version 1 -> " in why
    assert store.lookup(key, _identity(key, "old"), CODE)[0] is not None


def test_a_folder_task_of_the_same_name_is_refused(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("mytask", "test", "m", "0" * 12)
    _save(store, key, source="beir-folder:/data/a/mytask")
    with pytest.raises(StoreError, match="already holds task 'mytask' from /data/a/mytask"):
        store.lookup(key, _identity(key, source="beir-folder:/data/b/mytask"), CODE)


@pytest.mark.parametrize(
    "damage", ["truncate-run", "delete-per-query", "edit-aggregate", "bad-manifest"]
)
def test_a_damaged_cell_is_never_used(tmp_path: Path, damage: str):
    store = ResultStore(tmp_path)
    key = CellKey("t", "test", "m", "0" * 12)
    path = _save(store, key).path
    if damage == "truncate-run":
        (path / "run.trec").write_text((path / "run.trec").read_text()[:10])
    elif damage == "delete-per-query":
        (path / "per_query.tsv").unlink()
    elif damage == "edit-aggregate":
        (path / "aggregate.json").write_text('{"nDCG@10": 0.99}')
    else:
        (path / "manifest.json").write_text("{")
    cell, why = store.lookup(key, _identity(key), CODE)
    assert cell is None and why.startswith("damaged cell")
    with pytest.raises(ClirbenchError, match="damaged result cell"):
        list(store.cells())
    _save(store, key)  # recomputing it repairs it
    assert store.lookup(key, _identity(key), CODE)[0] is not None


def test_overwrite_replaces_whole_cell(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "test", "m", "0" * 12)
    _save(store, key, value=0.0)
    _save(store, key, value=1.0)
    assert store.lookup(key, _identity(key), CODE)[0].per_query["nDCG@10"]["q2"] == 1.0
    assert len(list(store.cells())) == 1


def test_failed_save_leaves_nothing(tmp_path: Path):
    store = ResultStore(tmp_path)
    key = CellKey("t", "test", "m", "0" * 12)
    with pytest.raises(TypeError):
        store.save(key, {}, {}, {}, {"not json": object()})
    assert store.lookup(key, _identity(key), CODE) == (None, "")
    assert [p.name for p in (tmp_path / "t" / "test").iterdir() if p.is_dir()] == []


@pytest.mark.parametrize(
    "name", ["..", ".", "a/b", "a--b", "a%2Fb", ".hidden", "x/../../y", "名前", "a b"]
)
def test_task_names_are_safe_distinct_path_segments(tmp_path: Path, name: str):
    segment = encode_segment(name)
    assert "/" not in segment and not segment.startswith(".") and decode_segment(segment) == name
    store = ResultStore(tmp_path / "store")
    cell = _save(store, CellKey(name, "test", "m", "0" * 12))
    assert cell.path.resolve().is_relative_to((tmp_path / "store").resolve())
    assert store.find(name, "m").path == cell.path


def test_distinct_names_never_share_a_folder():
    names = ["a/b", "a--b", "a%2Fb", "a%252Fb", ".", "%2E", "..", "a b", "a+b"]
    assert len({encode_segment(n) for n in names}) == len(names)


def test_an_old_store_is_a_clear_error(tmp_path: Path):
    old = tmp_path / "results" / "bible-en-ny--verse" / "bm25@0123456789ab"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    with pytest.raises(StoreError, match=r"older clirbench.*mv .*results .*results\.old"):
        ResultStore(tmp_path / "results")


def test_config_hash_depends_on_every_part():
    base = config_hash("m", {"a": 1}, 100)
    assert base == config_hash("m", {"a": 1}, 100)
    assert (
        len(
            {
                base,
                config_hash("n", {"a": 1}, 100),
                config_hash("m", {"a": 2}, 100),
                config_hash("m", {"a": 1}, 10),
            }
        )
        == 4
    )


def test_labels_name_the_options_that_differ(tmp_path: Path):
    store = ResultStore(tmp_path)
    plain = _save(store, CellKey("t", "test", "bm25", "a" * 12))
    tuned = _save(store, CellKey("t", "test", "bm25", "b" * 12), options={"k1": 0.9})
    both = _save(store, CellKey("t", "test", "bm25", "c" * 12), options={"k1": 0.9, "b": 0.5})
    nmt = _save(
        store,
        CellKey("t", "test", "nmt", "d" * 12),
        options={"translators": ["lexical"]},
        label="nmt[lexical]",
    )
    nmt2 = _save(
        store,
        CellKey("t", "test", "nmt", "e" * 12),
        options={"translators": ["lexical"], "mode": "query"},
        label="nmt[lexical]",
    )
    labels = system_labels(store.cells())
    assert labels[plain.path] == "bm25"
    assert labels[tuned.path] == "bm25[k1=0.9]"
    assert labels[both.path] == "bm25[b=0.5,k1=0.9]"
    assert labels[nmt.path] == "nmt[lexical]" and labels[nmt2.path] == "nmt[lexical,mode=query]"
    assert len(set(labels.values())) == len(labels)
    assert store.find("t", "bm25[k1=0.9]").path == tuned.path
    assert store.find("t", "nmt[lexical,mode=query]").path == nmt2.path
    assert store.find("t", f"bm25@{'a' * 12}").path == plain.path
    assert store.find("t", "bm25").path == plain.path  # the label of the all-defaults configuration
    with pytest.raises(
        StoreError,
        match=r"several configurations on 't': "
        r"name one of nmt\[lexical,mode=query\], nmt\[lexical\]",
    ):
        store.find("t", "nmt")
    with pytest.raises(ClirbenchError, match="Did you mean 'bm25'"):
        store.find("t", "bm2")


def test_not_run_records(tmp_path: Path):
    store = ResultStore(tmp_path)
    store.record_not_run("mbert", "abc", "weights not available", ["t1"], {"model": "x"})
    assert store.not_run() == [
        {
            "method": "mbert",
            "config_hash": "abc",
            "reason": "weights not available",
            "tasks": ["t1"],
            "options": {"model": "x"},
        }
    ]
    assert list(store.cells()) == []
    store.clear_not_run("mbert", "abc")
    assert store.not_run() == []


@pytest.mark.parametrize(
    "stored",
    [{"": None}, {"distribution": 3}, {"dependencies": [{"": None}]}, {"dependencies": "x"}],
)
def test_a_garbled_stored_identity_is_a_reason_to_recompute(tmp_path: Path, stored):
    store = ResultStore(tmp_path)
    key = CellKey("t", "test", "m", "0" * 12)
    _save(store, key, code=stored)
    cell, why = store.lookup(key, _identity(key), CODE)
    assert cell is None and "method's code changed" in why


def test_export_without_runs_keeps_scores_and_provenance(tmp_path: Path):
    store = ResultStore(tmp_path / "results")
    key = CellKey("bible-en-ny/verse", "test", "bm25", config_hash("bm25", {}, 100))
    cell = _save(store, key)
    store.record_not_run("mbert", "abc", "weights not available", ["t1"], {})
    assert store.export(tmp_path / "light", runs=False) == 1

    light = ResultStore(tmp_path / "light")
    (copy,) = light.cells()
    assert copy.per_query == cell.per_query and copy.aggregate == cell.aggregate
    assert {k: v for k, v in copy.manifest.items() if k != "files"} == {
        k: v for k, v in cell.manifest.items() if k != "files"
    }
    assert not copy.has_run and not (copy.path / "run.trec").exists()
    assert light.not_run() == store.not_run()
    found, why = light.lookup(key, _identity(key), CODE)  # `clirbench run` reuses it
    assert found is not None and why == ""
    with pytest.raises(StoreError, match="exported without its run"):
        _ = copy.run
    assert light.check() == []

    assert store.export(tmp_path / "full") == 1
    (whole,) = ResultStore(tmp_path / "full").cells()
    assert whole.has_run and whole.run == cell.run


def test_a_scores_only_cell_is_checked_like_any_other(tmp_path: Path):
    store = ResultStore(tmp_path / "results")
    _save(store, CellKey("t", "test", "bm25", "0" * 12))
    with pytest.raises(StoreError, match="into itself"):
        store.export(tmp_path / "results")
    store.export(tmp_path / "light", runs=False)
    light = ResultStore(tmp_path / "light")
    (cell,) = light.cells()
    (cell.path / "run.trec").write_text("")  # not one of this cell's files
    assert [(p.kind, p.path.name) for p in light.check()] == [("orphan", "run.trec")]
    (cell.path / "per_query.tsv").write_text("query_id\tmeasure\tvalue\nq1\tnDCG@10\t0.1\n")
    assert [p.kind for p in light.check()] == ["damaged"]
