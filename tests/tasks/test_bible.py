from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.tasks import load_task
from clirbench.tasks.builtin import bible


def test_verse_task_shape():
    task = load_task("bible-en-ny/verse")
    assert (len(task.queries), len(task.corpus)) == (300, 3000)
    # Each query is relevant to exactly its aligned verse, which has the same id.
    assert all(task.qrels[qid] == {qid: 1} for qid in task.queries)
    pairs = {pair.ref: pair for pair in bible.aligned_verses()}
    qid = next(iter(task.queries))
    assert task.queries[qid] == pairs[qid].eng and task.corpus[qid].text == pairs[qid].nya
    assert "{" not in "".join(task.queries.values())  # WEB footnotes removed


def test_splits_are_disjoint_by_book():
    books = {split: {pair.book for pair in bible.split_pairs(split)} for split in ("train", "dev", "test")}
    assert books["train"].isdisjoint(books["dev"]) and books["train"].isdisjoint(books["test"])
    assert books["dev"].isdisjoint(books["test"])
    test_refs = set(load_task("bible-en-ny/verse").corpus)
    assert all(int(ref[:2]) in bible.TEST_BOOKS for ref in test_refs)


def test_generation_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folders = []
    for name in ("a", "b"):
        monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / name))
        folders.append(bible.verse_task_folder("test"))
    for file in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (folders[0] / file).read_bytes() == (folders[1] / file).read_bytes()
