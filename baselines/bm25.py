"""BM25 on clirbench.analyzer's words and CJK bigrams: the lexical floor of every leaderboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from clirbench.analyzer import ANALYZER, tokenize
from clirbench.method import MethodBase, MethodOptions, Run
from clirbench.registry import register_method

if TYPE_CHECKING:
    from clirbench.tasks.task import Task


class BM25Options(MethodOptions):
    k1: float = Field(1.5, ge=0)
    """Term-frequency saturation; 0 scores by IDF alone."""
    b: float = Field(0.75, ge=0, le=1)
    """Length normalisation, from none (0) to full (1)."""
    variant: Literal["robertson", "lucene", "atire", "bm25l", "bm25+"] = "lucene"


@register_method("bm25")
class BM25(MethodBase):
    """BM25 (bm25s) on lower-cased Unicode words and CJK bigrams; no stemming, no stopwords."""

    Options = BM25Options
    options: BM25Options
    requires = ("bm25s",)
    version = "2"  # 2: CJK text as character bigrams (clirbench.analyzer)

    def describe(self) -> dict[str, str]:
        return {"tokenizer": ANALYZER}

    def retrieve(self, task: Task, k: int) -> Run:
        doc_ids, query_ids = list(task.corpus), list(task.queries)
        hits = bm25_search(
            [task.corpus[d].full_text for d in doc_ids],
            [task.queries[q] for q in query_ids],
            k,
            self.options,
        )
        return hits_to_run(hits, query_ids, doc_ids)


def hits_to_run(hits: list[dict[int, float]], query_ids: list[str], doc_ids: list[str]) -> Run:
    """Turn per-query {document position: score} into a run keyed by ids."""
    return {
        qid: {doc_ids[d]: score for d, score in found.items()}
        for qid, found in zip(query_ids, hits, strict=True)
    }


def _index(doc_texts: Sequence[str], options: BM25Options) -> tuple[Any, dict[str, int]]:
    """A bm25s index over the documents' tokens, and its vocabulary (token -> id)."""
    import bm25s
    from bm25s.tokenization import Tokenized

    vocab: dict[str, int] = {}
    doc_tokens = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in doc_texts]
    index = bm25s.BM25(k1=options.k1, b=options.b, method=options.variant)
    index.index(
        Tokenized(ids=doc_tokens, vocab=dict(vocab)), show_progress=False
    )  # bm25s adds "" to its copy
    return index, vocab


def bm25_search(
    doc_texts: Sequence[str], query_texts: Sequence[str], k: int, options: BM25Options
) -> list[dict[int, float]]:
    """The top ``k`` documents of each query as {document position: score}.

    Only documents sharing a term with the query are hits; a query without any known term has none.
    """

    index, vocab = _index(doc_texts, options)
    query_tokens = [[vocab[t] for t in tokenize(text) if t in vocab] for text in query_texts]
    answerable = [
        i for i, tokens in enumerate(query_tokens) if tokens
    ]  # bm25s fails on empty queries
    hits: list[dict[int, float]] = [{} for _ in query_texts]
    if not answerable:
        return hits
    for i in answerable:
        scores = index.get_scores_from_ids(query_tokens[i])
        hits[i] = {int(j): float(scores[j]) for j in _top_k(scores, k)}
    return hits


def _top_k(scores: Any, k: int) -> Any:
    """Positions of the ``k`` best positive scores, best first, ties by position.

    Not bm25s's top-k: numpy's ``argpartition`` orders tied scores differently on CPUs with
    different SIMD instructions, which changed the documents tied at rank ``k`` between machines.
    A document sharing no term with the query (score 0) is not a hit.
    """
    import numpy as np

    positive = np.flatnonzero(scores > 0)
    return positive[np.lexsort((positive, -scores[positive]))][:k]


def bm25_weighted_search(
    doc_texts: Sequence[str], queries: Sequence[Mapping[str, float]], k: int, options: BM25Options
) -> list[dict[int, float]]:
    """Like :func:`bm25_search` for weighted bags of terms.

    A document scores sum(weight * BM25(term)).

    Terms are matched as :func:`~clirbench.analyzer.tokenize` writes them.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    index, vocab = _index(doc_texts, options)
    rows, cols, weights = [], [], []
    for row, query in enumerate(queries):
        for term, weight in query.items():
            if term in vocab:
                rows.append(row)
                cols.append(vocab[term])
                weights.append(weight)
    stored = index.scores  # per term, the BM25 score of each document holding it
    term_scores = csr_matrix(
        (stored["data"], stored["indices"], stored["indptr"]), shape=(len(vocab), len(doc_texts))
    )
    weighted = csr_matrix(
        (weights, (rows, cols)), shape=(len(queries), len(vocab)), dtype=np.float32
    )
    scores = (weighted @ term_scores).tocsr()
    if (
        index.nonoccurrence_array is not None
    ):  # bm25l and bm25+ give every document a floor per term
        scores.data += np.repeat(weighted @ index.nonoccurrence_array, np.diff(scores.indptr))
    hits: list[dict[int, float]] = []
    for row in range(len(queries)):
        start, end = scores.indptr[row], scores.indptr[row + 1]
        docs, values = scores.indices[start:end], scores.data[start:end]
        best = np.argsort(-values, kind="stable")[:k]
        hits.append({int(docs[j]): float(values[j]) for j in best if values[j] > 0})
    return hits
