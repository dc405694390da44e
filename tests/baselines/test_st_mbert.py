from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clirbench.baselines.mbert import MBERT
from clirbench.baselines.st import SentenceTransformerEncoder
from clirbench.errors import MethodUnavailableError
from clirbench.evaluation import aggregate, evaluate
from clirbench.registry import build_options
from clirbench.runner import MethodSpec, run_cells
from clirbench.store import ResultStore
from clirbench.tasks import load_task
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData
from tests.conftest import TINY
from tests.tiny_models import make_tiny_bert


def _english_task() -> Task:
    corpus = {
        "d1": Document("Heavy rain fell all night over the capital."),
        "d2": Document("The fishermen caught many fish on the lake."),
        "d3": Document("Farmers harvested a large maize crop this year."),
        "d4": Document("The football team won the national cup."),
    }
    queries = {
        "q1": "rainfall during the night",
        "q2": "fishing on a lake",
        "q3": "maize harvest",
        "q4": "soccer championship",
    }
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}, "q4": {"d4": 1}}
    card = TaskCard(name="en-mini", source="test", query_lang="eng_Latn", doc_lang="eng_Latn")
    return Task(card, lambda: TaskData(queries, corpus, qrels))


def test_st_default_model_retrieves_english():
    method = SentenceTransformerEncoder()
    scores = aggregate(
        evaluate(method.retrieve(_english_task(), k=4), _english_task().qrels, ["R@1"])
    )
    assert scores["R@1"] == 1.0
    assert method.describe()["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert method.label() == "st"


def test_st_uses_model_prompts_unless_overridden():
    method = SentenceTransformerEncoder(build_options("st", {"model": "multilingual-e5-small"}))
    assert (method.prompt("query"), method.prompt("document")) == ("query: ", "passage: ")
    assert method.label() == "st[multilingual-e5-small]"
    vectors = method.encode(["madzi"], "nya_Latn", "document")
    assert vectors.shape == (1, 384) and np.isclose(np.linalg.norm(vectors), 1.0, atol=1e-4)
    custom = SentenceTransformerEncoder(
        build_options("st", {"query_prompt": "Q: ", "document_prompt": ""})
    )
    assert (custom.prompt("query"), custom.prompt("document")) == ("Q: ", "")


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_mbert_runs_on_a_local_folder(tmp_path: Path, pooling: str):
    folder = make_tiny_bert(tmp_path / "tiny-bert")
    method = MBERT(build_options("mbert", {"model": str(folder), "pooling": pooling}))
    run = method.retrieve(load_task(str(TINY)), k=3)
    assert set(run) == {"q1", "q2", "q3", "q4"} and all(len(hits) == 3 for hits in run.values())
    vectors = method.encode(["water", "madzi madzi"], "eng_Latn", "query")
    assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert method.label() == "mbert[tiny-bert]"


def test_mbert_without_weights_is_not_run_with_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store = ResultStore(tmp_path)
    specs = [
        MethodSpec("mbert", build_options("mbert", {})),
        MethodSpec("bm25", build_options("bm25", {})),
    ]
    outcomes = run_cells([load_task(str(TINY))], specs, store, k=10)
    assert [o.status for o in outcomes] == ["not run", "computed"]
    assert (
        "bert-base-multilingual-cased" in outcomes[0].reason
        and "not available" in outcomes[0].reason
    )
    assert store.not_run()[0]["method"] == "mbert"
    with pytest.raises(MethodUnavailableError):
        MBERT().encode(["x"], "eng_Latn", "query")
