from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.bitext import builtin_bitext, read_bitext
from clirbench.errors import InputError
from clirbench.tasks import BUILTIN_TASKS, load_task


def test_builtin_train_bitext_never_meets_evaluation_data():
    bitext = builtin_bitext()
    assert (bitext.source_lang, bitext.target_lang) == ("eng_Latn", "nya_Latn")
    assert len(bitext) == 22752
    train_english = {s for s, _ in bitext.pairs}
    train_chichewa = {t for _, t in bitext.pairs}
    for name in BUILTIN_TASKS:
        for split in ("dev", "test"):
            task = load_task(name, split)
            texts = set(task.queries.values())
            documents = {doc.text for doc in task.corpus.values()}
            # No evaluation query or document is a training sentence (identical verses
            # such as formulaic repeats across books are the only possible overlap).
            overlap = (texts | documents) & (train_english | train_chichewa)
            assert len(overlap) <= 0.01 * len(texts | documents), (name, split, sorted(overlap)[:3])


def test_reversed():
    bitext = builtin_bitext().reversed()
    assert bitext.source_lang == "nya_Latn" and bitext.pairs[0][1].startswith("In the beginning")


def test_tsv_and_jsonl(tmp_path: Path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("good morning\tmwadzuka bwanji\n\nthank you\tzikomo\n")
    assert read_bitext(tsv, "eng_Latn", "nya_Latn").pairs == (("good morning", "mwadzuka bwanji"), ("thank you", "zikomo"))
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"source": "water", "target": "madzi"}\n')
    assert len(read_bitext(jsonl, "eng_Latn", "nya_Latn")) == 1


@pytest.mark.parametrize(
    ("name", "content", "line", "problem"),
    [
        ("a.tsv", "one\ttwo\nthree\n", 2, "expected 2 tab-separated columns"),
        ("b.tsv", "one\t \n", 1, "empty sentence"),
        ("c.jsonl", '{"source": "x", "target": "y"}\n{"source": "x"\n', 2, "malformed JSON"),
        ("d.jsonl", '{"source": "x"}\n', 1, "'source' and 'target'"),
        ("e.tsv", "\n", None, "no sentence pairs"),
    ],
)
def test_bad_bitext(tmp_path: Path, name, content, line, problem):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as error:
        read_bitext(path, "eng_Latn", "nya_Latn")
    assert error.value.line == line and error.value.path == path


def test_bad_language(tmp_path: Path):
    with pytest.raises(InputError, match="xxx_Xxxx"):
        read_bitext(tmp_path / "x.tsv", "english", "nya_Latn")
