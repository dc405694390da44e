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


def test_matches_unsegmented_chinese_and_japanese_by_bigrams():
    corpus = {
        "zh": Document("不信道者，你對他們加以警告與否，這在他們是一樣的。"),
        "ja": Document("本当に信仰を拒否する者は，あなたが警告しても同じである。"),
        "en": Document("Those who disbelieve, it is the same to them."),
    }
    data = TaskData(
        queries={"q1": "他們不信道", "q2": "信仰を拒否する者", "q3": "警告"},
        corpus=corpus,
        qrels={"q1": {"zh": 1}},
    )
    run = BM25().retrieve(Task(TaskCard(name="t", source="test"), lambda: data), k=10)
    assert max(run["q1"], key=run["q1"].get) == "zh"  # whole clauses were one word before
    assert max(run["q2"], key=run["q2"].get) == "ja"
    assert set(run["q3"]) == {"zh", "ja"}  # "警告" is a bigram of both


def test_tiny_task():
    run = BM25().retrieve(load_task(str(TINY)), k=3)
    # "football in Malawi": d4 and d6 share only "malawi", with the same length: a tie
    assert set(run["q4"]) == {"d4", "d6"}
    assert run["q4"]["d4"] == run["q4"]["d6"] > 0


def test_documents_tied_at_the_cut_are_taken_in_corpus_order():
    """numpy's argpartition orders ties differently on different CPUs; bm25's top-k does not."""
    ids = ["e", "b", "d", "a", "c"]  # not sorted: the order is the corpus's, not the ids'
    corpus = {doc_id: Document("galu wamng'ono") for doc_id in ids}
    corpus["z"] = Document("galu")  # shorter: the best
    data = TaskData(queries={"q1": "galu"}, corpus=corpus, qrels={"q1": {"z": 1}})
    task = Task(TaskCard(name="t", source="test"), lambda: data)
    run = BM25().retrieve(task, k=3)
    assert set(run["q1"]) == {"z", "e", "b"}
    assert run["q1"]["z"] > run["q1"]["e"] == run["q1"]["b"]
