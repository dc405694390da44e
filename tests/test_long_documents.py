from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pytest

from clirbench.errors import OptionsError
from clirbench.method import DenseEncoder
from clirbench.registry import build_options, register_method
from clirbench.search import best_passage_search
from clirbench.sentences import sentence_windows, split_sentences
from clirbench.tasks import load_task
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData
from tests.conftest import TINY

VOCABULARY = ("rain", "fish", "maize", "ball")


@register_method("test-keywords")
class Keywords(DenseEncoder):
    """One dimension per keyword, counts as values: scores are keyword overlaps."""

    encoded: ClassVar[list[str]] = []

    def encode(self, texts, lang, role):
        type(self).encoded.extend(texts)
        words = [re.findall(r"\w+", text.lower()) for text in texts]
        return np.array([[w.count(v) for v in VOCABULARY] for w in words], dtype=np.float32)


def _method(**options) -> Keywords:
    return Keywords(build_options("test-keywords", {"cache": False, **options}))


def _task(docs: dict[str, str], queries: dict[str, str]) -> Task:
    card = TaskCard(name="long", source="test", query_lang="eng_Latn", doc_lang="eng_Latn")
    data = TaskData(
        queries=queries,
        corpus={d: Document(t) for d, t in docs.items()},
        qrels={q: {next(iter(docs)): 1} for q in queries},
    )
    return Task(card, lambda: data)


def test_sentences_of_several_scripts():
    assert split_sentences('In 3.14 days. He went!  "Why?" she said.') == [
        "In 3.14 days.",
        "He went!",
        '"Why?"',
        "she said.",
    ]
    assert split_sentences("Genesis 1:5. And light") == ["Genesis 1:5.", "And light"]
    assert split_sentences("هل أنت بخير؟ نعم۔ شكرا") == ["هل أنت بخير؟", "نعم۔", "شكرا"]
    assert split_sentences("ሰላም ነው። ደህና ነህ፧ አዎ") == ["ሰላም ነው።", "ደህና ነህ፧", "አዎ"]
    assert split_sentences("你好。你好吗？很好！谢谢") == ["你好。", "你好吗？", "很好！", "谢谢"]
    assert split_sentences("line one\nline two") == ["line one", "line two"]
    assert split_sentences("   ") == ["   "]


def test_windows_cover_every_sentence():
    text = "A. B. C. D. E."
    assert sentence_windows(text, 2, 2) == ["A. B.", "C. D.", "D. E."]
    assert sentence_windows(text, 3, 1) == ["A. B. C.", "B. C. D.", "C. D. E."]
    assert sentence_windows(text, 2, 1, first_only=True) == ["A. B."]
    assert sentence_windows("Short one.  Two.", 2, 1) == ["Short one.  Two."]  # unchanged


def test_options_hash_only_when_set_and_check_windows():
    assert build_options("me5", {}).identity() == {}
    assert build_options("me5", {"long_documents": "maxp"}).identity() == {"long_documents": "maxp"}
    with pytest.raises(OptionsError, match="need long_documents firstp or maxp"):
        build_options("me5", {"window_sentences": 2})
    with pytest.raises(OptionsError, match="skip sentences"):
        build_options("st", {"long_documents": "maxp", "window_sentences": 1, "window_stride": 2})
    method = _method(long_documents="maxp", window_sentences=2)
    assert "long_documents" not in str(method.cache_namespace("eng_Latn", "document"))


def test_firstp_and_maxp_by_hand():
    docs = {"d1": "Rain rain. Fish.", "d2": "Maize. Ball. Fish fish fish.", "d3": "Ball."}
    task = _task(docs, {"q1": "fish", "q2": "rain ball"})
    whole = _method().retrieve(task, 3)
    assert whole == {
        "q1": {"d2": 3.0, "d1": 1.0, "d3": 0.0},
        "q2": {"d1": 2.0, "d2": 1.0, "d3": 1.0},
    }
    one = {"window_sentences": 1, "window_stride": 1}
    firstp = _method(long_documents="firstp", **one).retrieve(task, 3)
    assert firstp == {
        "q1": {"d1": 0.0, "d2": 0.0, "d3": 0.0},
        "q2": {"d1": 2.0, "d3": 1.0, "d2": 0.0},
    }
    maxp = _method(long_documents="maxp", **one).retrieve(task, 3)
    assert maxp == {
        "q1": {"d2": 3.0, "d1": 1.0, "d3": 0.0},
        "q2": {"d1": 2.0, "d2": 1.0, "d3": 1.0},
    }
    assert _method(long_documents="maxp", **one).retrieve(task, 1) == {
        "q1": {"d2": 3.0},
        "q2": {"d1": 2.0},
    }
    Keywords.encoded.clear()
    pairs = _method(long_documents="maxp", window_sentences=2, window_stride=1).retrieve(task, 3)
    assert pairs["q1"]["d2"] == 3.0 and pairs["q2"]["d2"] == 1.0
    assert "Maize. Ball." in Keywords.encoded and "Ball. Fish fish fish." in Keywords.encoded


def test_maxp_equals_whole_on_one_sentence_documents(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    task = load_task(str(TINY))
    assert all(len(split_sentences(doc.full_text)) == 1 for doc in task.corpus.values())
    whole = Keywords(build_options("test-keywords", {})).retrieve(task, 10)
    Keywords.encoded.clear()
    maxp = Keywords(build_options("test-keywords", {"long_documents": "maxp"})).retrieve(task, 10)
    assert maxp == whole
    assert len(Keywords.encoded) == 0  # the windows are the whole documents: all from the cache


@pytest.mark.parametrize("budget", [16, 200, 1 << 28])  # small budgets split runs of documents
def test_best_passage_search_matches_brute_force(budget):
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 6, size=80)
    owners = np.repeat(np.arange(80), lengths)
    passages = rng.normal(size=(len(owners), 8)).astype(np.float32)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    doc_ids = [f"d{i:02d}" for i in range(80)]  # id order = position order: ties break alike
    run = best_passage_search(
        queries, passages, owners, ["q0", "q1", "q2", "q3", "q4"], doc_ids, 7, budget_bytes=budget
    )
    full = queries @ passages.T
    best = np.stack([full[:, owners == d].max(axis=1) for d in range(80)], axis=1)
    expected = np.argsort(-best, axis=1, kind="stable")[:, :7]
    for row, qid in enumerate(run):
        assert list(run[qid]) == [doc_ids[i] for i in expected[row]]
        assert np.allclose(list(run[qid].values()), best[row, expected[row]])


def test_labels_name_the_mode():
    from clirbench.registry import get_method_class

    def label(name: str, **options) -> str:
        return get_method_class(name)(build_options(name, options)).label()

    assert label("me5") == "me5" and label("me5", long_documents="maxp") == "me5[maxp]"
    assert label("me5", long_documents="maxp", window_sentences=2, window_stride=1) == (
        "me5[maxp-w2-s1]"
    )
    assert label("st", model="multilingual-e5-small", long_documents="firstp") == (
        "st[multilingual-e5-small,firstp]"
    )
    assert label("optical", long_documents="maxp") == "optical[maxp]"
    assert label("mbert", long_documents="firstp", window_sentences=5) == "mbert[firstp-w5]"
