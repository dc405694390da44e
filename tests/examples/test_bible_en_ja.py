"""examples/bible_en_ja.py writes a bitext file and a BEIR folder that clirbench reads as given."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from clirbench.bitext import read_bitext
from clirbench.tasks import load_task

EXAMPLE = Path(__file__).parents[2] / "examples" / "bible_en_ja.py"


def test_example_writes_a_task_and_a_disjoint_bitext(tmp_path, monkeypatch):
    out = tmp_path / "en-ja"
    monkeypatch.setattr(
        sys, "argv", [str(EXAMPLE), "--out", str(out), "--queries", "7", "--documents", "40"]
    )
    runpy.run_path(str(EXAMPLE), run_name="__main__")

    task = load_task(str(out / "task"))
    assert (task.card.query_lang, task.card.doc_lang) == ("eng_Latn", "jpn_Jpan")
    assert (len(task.queries), len(task.corpus)) == (7, 40)
    assert all(set(judged) == {query} for query, judged in task.qrels.items())  # the aligned verse
    assert all(doc_id.startswith(("4", "5", "6")) for doc_id in task.corpus)  # New Testament only

    bitext = read_bitext(out / "bitext.tsv", "eng_Latn", "jpn_Jpan")
    assert len(bitext) > 20000
    assert bitext.pairs[0] == (
        "In the beginning God created the heavens and the earth.",
        "元始に神天地を創造たまへり",
    )
    evaluated = {doc.text for doc in task.corpus.values()} | set(task.queries.values())
    assert not evaluated & {text for pair in bitext.pairs for text in pair}
