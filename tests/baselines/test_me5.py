from __future__ import annotations

import pytest

from clirbench.baselines.me5 import ME5
from clirbench.evaluation import aggregate, evaluate
from clirbench.tasks.builtin.bible import split_pairs
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData


@pytest.mark.slow
def test_me5_finds_aligned_chichewa_verses():
    pairs = split_pairs("dev")[:60]
    data = TaskData(
        queries={p.ref: p.eng for p in pairs[:20]},
        corpus={p.ref: Document(p.nya) for p in pairs},
        qrels={p.ref: {p.ref: 1} for p in pairs[:20]},
    )
    task = Task(
        TaskCard(name="dev-sample", source="test", query_lang="eng_Latn", doc_lang="nya_Latn"),
        lambda: data,
    )
    method = ME5()
    vectors = method.encode(["hello"], "eng_Latn", "query")
    assert vectors.shape == (1, 384)
    scores = aggregate(evaluate(method.retrieve(task, k=10), task.qrels, ["R@1", "RR@10"]))
    assert scores["R@1"] >= 0.6, scores
