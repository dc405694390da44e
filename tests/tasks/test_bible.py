from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.errors import UnknownNameError
from clirbench.tasks import BUILTIN_TASKS, SUITES, expand_task_specs, load_task
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


def test_passage_task_holds_the_aligned_verse():
    task = load_task("bible-en-ny/passage")
    pairs = {pair.ref: pair for pair in bible.aligned_verses()}
    assert len(task.queries) == 300 and len(task.corpus) > 1000
    for qid, judged in task.qrels.items():
        (doc_id,) = judged
        assert doc_id[:5] == qid[:5]  # same book and chapter
        assert pairs[qid].nya in task.corpus[doc_id].text
        assert task.queries[qid] == pairs[qid].eng


def test_reverse_direction():
    task = load_task("bible-ny-en/verse", "dev")
    assert (task.card.query_lang, task.card.doc_lang) == ("nya_Latn", "eng_Latn")
    pairs = {pair.ref: pair for pair in bible.aligned_verses()}
    qid = next(iter(task.queries))
    assert task.queries[qid] == pairs[qid].nya and task.corpus[qid].text == pairs[qid].eng


def test_splits_are_disjoint_by_book():
    books = {
        split: {pair.book for pair in bible.split_pairs(split)}
        for split in ("train", "dev", "test")
    }
    assert books["train"].isdisjoint(books["dev"]) and books["train"].isdisjoint(books["test"])
    assert books["dev"].isdisjoint(books["test"])
    for name in SUITES["bible"]:
        for split, allowed in (("dev", bible.DEV_BOOKS), ("test", bible.TEST_BOOKS)):
            task = load_task(name, split)
            assert all(int(doc_id[:2]) in allowed for doc_id in task.corpus)
            assert all(int(qid[:2]) in allowed for qid in task.queries)


def test_train_split_is_not_a_task():
    with pytest.raises(ValueError, match="train is bitext"):
        load_task("bible-en-ny/verse", "train")


def test_generation_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folders = []
    for name in ("a", "b"):
        monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / name))
        folders.append(
            {
                (task, split): bible.task_folder(task, split)
                for task in SUITES["bible"]
                for split in ("dev", "test")
            }
        )
        checksums = {
            (task, split): load_task(task, split).card.checksum
            for task in SUITES["bible"]
            for split in ("dev", "test")
        }
        folders[-1]["checksums"] = checksums
    assert folders[0].pop("checksums") == folders[1].pop("checksums")
    for key, folder in folders[0].items():
        for file in ("corpus.jsonl", "queries.jsonl", f"qrels/{key[1]}.tsv"):
            assert (folder / file).read_bytes() == (folders[1][key] / file).read_bytes()


def test_cards_match_registry():
    for name in SUITES["bible"]:
        entry, card = BUILTIN_TASKS[name], load_task(name).card
        assert (card.query_lang, card.doc_lang, card.low_resource) == (
            entry.query_lang,
            entry.doc_lang,
            entry.low_resource,
        )


def test_suites_and_language_groups():
    assert set(SUITES["bible"]) < set(expand_task_specs(["suite:lowres"]))
    assert set(expand_task_specs(["lang:nya_Latn"])) == set(SUITES["bible"])
    assert expand_task_specs(["bible-en-ny/verse", "suite:default"]) == ["bible-en-ny/verse"]
    assert "suite:lowres" not in expand_task_specs(["suite:lowres", "some/folder"])
    assert set(SUITES) >= {"lowres", "bible", "quran", "african", "default"}
    with pytest.raises(UnknownNameError, match="Did you mean 'lowres'"):
        expand_task_specs(["suite:lowre"])
    with pytest.raises(UnknownNameError, match="nya_Latn"):
        expand_task_specs(["lang:yor_Latn"])
