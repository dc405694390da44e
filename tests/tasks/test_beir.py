from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.errors import InputError
from clirbench.tasks import load_task
from clirbench.tasks.beir import beir_task
from clirbench.tasks.card import UNKNOWN_LANGUAGE
from tests.conftest import TINY


def test_loads_folder_with_card():
    task = load_task(str(TINY))
    assert task.card.name == "tiny-en-ny"
    assert (task.card.query_lang, task.card.doc_lang) == ("eng_Latn", "nya_Latn")
    assert task.card.low_resource and task.card.split == "test"
    assert set(task.queries) == {"q1", "q2", "q3", "q4"}  # q5 has no judgements in this split
    assert len(task.corpus) == 6
    assert task.qrels["q4"] == {"d6": 2, "d4": 0}
    assert task.corpus["q3"].full_text.startswith("Chimanga Alimi")


def test_other_split_and_overrides():
    task = beir_task(TINY, "dev", doc_lang="swh_Latn")
    assert task.card.split == "dev" and task.card.doc_lang == "swh_Latn"
    assert set(task.queries) == {"q1"}


def test_folder_without_card_says_unknown(tiny_copy: Path):
    (tiny_copy / "task.yaml").unlink()
    card = beir_task(tiny_copy).card
    assert card.name == "tiny"
    assert card.query_lang == card.doc_lang == UNKNOWN_LANGUAGE


def test_checksum_follows_content(tiny_copy: Path):
    before = beir_task(tiny_copy).card.checksum
    assert before == beir_task(TINY).card.checksum
    with (tiny_copy / "corpus.jsonl").open("a") as corpus:
        corpus.write('{"_id": "d7", "text": "Zatsopano."}\n')
    assert beir_task(tiny_copy).card.checksum != before


def _damage(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "problem"),
    [
        ("corpus.jsonl", '{"_id": "d2"', '{"_id": "d2",,', 2, "malformed JSON"),
        ("corpus.jsonl", '{"_id": "d2", ', "{", 2, "missing '_id'"),
        (
            "corpus.jsonl",
            '"text": "Ana anapita kusukulu m\'mawa."',
            '"body": "x"',
            2,
            "missing 'text'",
        ),
        ("corpus.jsonl", '"_id": "d2"', '"_id": "d1"', 2, "duplicate document id 'd1'"),
        (
            "corpus.jsonl",
            '"text": "Ana anapita kusukulu m\'mawa."',
            '"text": "  "',
            2,
            "empty text",
        ),
        ("queries.jsonl", '"_id": "q2"', '"_id": "q1"', 2, "duplicate query id 'q1'"),
        ("queries.jsonl", '"text": "fish from Lake Malawi"', '"text": ""', 2, "empty text"),
        (
            "queries.jsonl",
            '{"_id": "q2", "text": "fish from Lake Malawi"}',
            "[1, 2]",
            2,
            "expected a JSON object",
        ),
        ("qrels/test.tsv", "q2\td4\t1", "q9\td4\t1", 3, "unknown query id 'q9'"),
        ("qrels/test.tsv", "q2\td4\t1", "q2\td99\t1", 3, "unknown document id 'd99'"),
        (
            "qrels/test.tsv",
            "q2\td4\t1",
            "q2\td4\trelevant",
            3,
            "relevance 'relevant' is not a number",
        ),
        ("qrels/test.tsv", "q2\td4\t1", "q2\td4", 3, "expected 3 columns"),
        ("qrels/test.tsv", "q2\td4\t1", "q1\td1\t1", 3, "judges document 'd1' twice"),
    ],
)
def test_bad_input_names_file_line_and_problem(tiny_copy: Path, file, old, new, line, problem):
    _damage(tiny_copy, file, old, new)
    with pytest.raises(InputError) as error:
        task = beir_task(tiny_copy)
        task.qrels  # noqa: B018 - loading is lazy
    assert error.value.path == tiny_copy / file
    assert error.value.line == line
    assert problem in str(error.value)
    assert f"{tiny_copy / file}:{line}:" in str(error.value)


def test_empty_split(tiny_copy: Path):
    (tiny_copy / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n")
    with pytest.raises(InputError, match="no relevance judgements"):
        beir_task(tiny_copy).qrels  # noqa: B018


def test_missing_split_lists_available():
    with pytest.raises(InputError, match="split 'train' not found; available splits: dev, test"):
        beir_task(TINY, "train")


def test_missing_file(tiny_copy: Path):
    (tiny_copy / "queries.jsonl").unlink()
    with pytest.raises(InputError, match="file not found"):
        beir_task(tiny_copy)


def test_bad_card(tiny_copy: Path):
    (tiny_copy / "task.yaml").write_text("name: x\nquery_lang: english\n")
    with pytest.raises(InputError, match="query_lang"):
        beir_task(tiny_copy)
