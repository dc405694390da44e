from __future__ import annotations

from clirbench.baselines.bm25 import BM25, tokenize
from clirbench.tasks import load_task
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData
from tests.conftest import TINY


def test_tokenize_any_script():
    assert tokenize("Mwana WANGA, ndi 2 агуу! 中文") == [
        "mwana",
        "wanga",
        "ndi",
        "2",
        "агуу",
        "中文",
    ]


def test_finds_lexical_matches_and_skips_unknown_queries():
    corpus = {
        "a": Document("nyumba yaikulu"),
        "b": Document("galu wamng'ono"),
        "c": Document("nyumba ya galu"),
    }
    data = TaskData(
        queries={"q1": "galu", "q2": "zzz", "q3": "nyumba yaikulu"},
        corpus=corpus,
        qrels={"q1": {"b": 1}},
    )
    run = BM25().retrieve(Task(TaskCard(name="t", source="test"), lambda: data), k=10)
    assert set(run["q1"]) == {"b", "c"}
    assert run["q2"] == {}  # no known token: no hits, no crash
    assert max(run["q3"], key=run["q3"].get) == "a"
    assert "b" not in run["q3"]  # sharing no term is not a hit


def test_tiny_task():
    run = BM25().retrieve(load_task(str(TINY)), k=3)
    assert max(run["q4"], key=run["q4"].get) == "d6"
