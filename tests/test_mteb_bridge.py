"""One deterministic encoder scored three ways: clirbench, MTEB (through the adapters) and BEIR.

The task reaches MTEB through ``clirbench.mteb_task.as_mteb_task``, the encoder through
``clirbench.mteb_model.MTEBEncoder``.

The three must agree. BEIR's exact search drops every hit whose document id equals the query id,
and tiny's q3 is relevant to the document also called q3, so BEIR can never find it there. The
three-way comparison therefore runs on a copy of tiny with that document renamed (d3), which
changes nothing else; on tiny itself clirbench and MTEB (which keeps such hits by default) must
still agree, and BEIR must score lower.
"""

from __future__ import annotations

import re
import socket
import zlib
from pathlib import Path

import numpy as np
import pytest

from clirbench.evaluation import aggregate, evaluate
from clirbench.method import DenseEncoder
from clirbench.mteb_model import MTEBEncoder, task_language
from clirbench.mteb_task import as_mteb_task, mteb_score_name
from clirbench.tasks.beir import beir_task
from clirbench.tasks.task import Task
from tests.conftest import TINY

pytest.importorskip("mteb")
pytest.importorskip("beir")

DIMENSIONS = 1024
K = 100
# clirbench measure -> (MTEB score name, BEIR score name); with K >= the corpus size, AP@100 is MAP.
MEASURES = {
    "nDCG@10": ("ndcg_at_10", "NDCG@10"),
    "AP@100": ("map_at_100", "MAP@100"),
    "R@100": ("recall_at_100", "Recall@100"),
}


class KeywordEncoder(DenseEncoder):
    """Hashed bag of words, L2-normalised; records the (lang, role) of every call."""

    name = "keyword"

    def __init__(self) -> None:
        super().__init__(self.Options(cache=False))  # every text reaches encode
        self.calls: set[tuple[str, str]] = set()

    def encode(self, texts, lang, role):
        self.calls.add((lang, role))
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(token.encode()) % DIMENSIONS] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def renamed_copy(tiny_copy: Path) -> Path:
    """tiny with document q3 renamed d3, so that no document id equals a query id."""
    for file in ("corpus.jsonl", "qrels/test.tsv"):
        path = tiny_copy / file
        path.write_text(
            path.read_text().replace('"_id": "q3"', '"_id": "d3"').replace("q3\tq3\t", "q3\td3\t")
        )
    return tiny_copy


def _clirbench_scores(task: Task) -> dict[str, float]:
    run = KeywordEncoder().retrieve(task, K)
    return aggregate(evaluate(run, task.qrels, MEASURES))


def _mteb_scores(task: Task, encoder: KeywordEncoder | None = None) -> dict[str, float]:
    import mteb

    result = mteb.evaluate(
        MTEBEncoder(encoder or KeywordEncoder()),
        as_mteb_task(task),
        cache=None,
        show_progress_bar=False,
        encode_kwargs={"batch_size": 4},
    )
    scores = result.task_results[0].scores[task.card.split][0]
    return {measure: scores[name] for measure, (name, _) in MEASURES.items()}


class _BeirModel:
    """BEIR's model interface over the encoder: documents are read as clirbench reads them."""

    def __init__(self, encoder: DenseEncoder, task: Task) -> None:
        self.encoder, self.card = encoder, task.card

    def encode_queries(self, queries, batch_size, **kwargs):
        return self.encoder.encode_all(list(queries), self.card.query_lang, "query")

    def encode_corpus(self, corpus, batch_size, **kwargs):
        texts = [f"{doc.get('title') or ''} {doc['text']}".strip() for doc in corpus]
        return self.encoder.encode_all(texts, self.card.doc_lang, "document")


def _beir_scores(task: Task) -> dict[str, float]:
    from beir.retrieval.evaluation import EvaluateRetrieval
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    search = DenseRetrievalExactSearch(_BeirModel(KeywordEncoder(), task), batch_size=4)
    retriever = EvaluateRetrieval(search, score_function="dot", k_values=[10, K])
    corpus = {i: {"title": d.title, "text": d.text} for i, d in task.corpus.items()}
    results = retriever.retrieve(corpus, dict(task.queries))
    ndcg, map_, recall, _ = retriever.evaluate(
        task.qrels, results, [10, K], ignore_identical_ids=False
    )
    beir = {**ndcg, **map_, **recall}
    return {measure: beir[name] for measure, (_, name) in MEASURES.items()}


def test_clirbench_mteb_and_beir_agree(renamed_copy: Path):
    task = beir_task(renamed_copy)
    clirbench, mteb, beir = _clirbench_scores(task), _mteb_scores(task), _beir_scores(task)
    assert clirbench["nDCG@10"] > 0.5  # the keyword encoder finds most relevant documents
    for measure in MEASURES:
        assert mteb[measure] == pytest.approx(clirbench[measure], abs=1e-4), measure
        assert beir[measure] == pytest.approx(clirbench[measure], abs=1e-4), measure


def test_a_document_named_like_its_query_counts_in_clirbench_and_mteb_not_beir():
    task = beir_task(TINY)
    clirbench, mteb, beir = _clirbench_scores(task), _mteb_scores(task), _beir_scores(task)
    for measure in MEASURES:
        assert mteb[measure] == pytest.approx(clirbench[measure], abs=1e-4), measure
    assert beir["nDCG@10"] < clirbench["nDCG@10"] - 0.1  # q3's only relevant document is dropped


def test_adapter_passes_role_and_task_languages():
    encoder = KeywordEncoder()
    _mteb_scores(beir_task(TINY), encoder)
    assert encoder.calls == {("eng_Latn", "query"), ("nya_Latn", "document")}
    from mteb.models.models_protocols import EncoderProtocol

    adapter = MTEBEncoder(encoder)
    assert isinstance(adapter, EncoderProtocol)
    assert adapter.mteb_model_meta.name == "clirbench/keyword"
    assert adapter.mteb_model_meta.similarity_fn_name.value == "dot"


def test_task_language_of_multilingual_subsets():
    import mteb

    metadata = mteb.get_task("BelebeleRetrieval").metadata
    assert task_language(metadata, "eng_Latn-hau_Latn", "query") == "hau_Latn"
    assert task_language(metadata, "eng_Latn-hau_Latn", "document") == "eng_Latn"
    assert task_language(metadata, "no-such-subset", "query") == "unknown"


class _RevisedEncoder(KeywordEncoder):
    def describe(self):
        return {"model": "keyword", "model_revision": "kw-2024-01"}


class _SaltedOptions(KeywordEncoder.Options):
    salt: int = 0


class _SaltedEncoder(KeywordEncoder):
    Options = _SaltedOptions


def test_adapter_reads_the_model_revision_encoders_write():
    assert MTEBEncoder(_RevisedEncoder()).mteb_model_meta.revision == "kw-2024-01"
    # Without one, the options stand in: two configurations get two revisions.
    plain, salted = _SaltedEncoder(), _SaltedEncoder()
    salted.options = _SaltedOptions(cache=False, salt=1)
    revisions = {MTEBEncoder(e).mteb_model_meta.revision for e in (plain, salted)}
    assert len(revisions) == 2 and all(re.fullmatch(r"[0-9a-f]{12}", r) for r in revisions)


def test_task_handed_to_mteb_carries_its_card():
    task = beir_task(TINY)
    mteb_task = as_mteb_task(task)
    metadata = mteb_task.metadata
    assert metadata.type == "Retrieval" and metadata.eval_splits == [task.card.split]
    assert metadata.eval_langs == ["eng-Latn", "nya-Latn"]
    assert metadata.dataset["revision"] == task.card.checksum
    assert metadata.main_score == mteb_score_name(task.card.measures[0]) == "ndcg_at_10"
    mteb_task.load_data()
    split = mteb_task.dataset["default"][task.card.split]
    assert sorted(split["queries"]["id"]) == sorted(task.queries)
    assert split["relevant_docs"] == task.qrels
    assert len(split["corpus"]) == len(task.corpus)


def test_mteb_score_names():
    names = [mteb_score_name(m) for m in ("nDCG@20", "MRR@10", "R@100", "P@5", "AP", "Judged@10")]
    assert names == ["ndcg_at_20", "mrr_at_10", "recall_at_100", "precision_at_5", None, None]


def test_a_task_without_languages_is_refused_clearly(tiny_copy: Path):
    from clirbench.errors import ClirbenchError

    (tiny_copy / "task.yaml").unlink(missing_ok=True)
    task = beir_task(tiny_copy)
    assert task.card.query_lang == "unknown"  # no card, no languages
    with pytest.raises(ClirbenchError, match="does not name its query and document languages"):
        as_mteb_task(task)
