"""BM25 over language-agnostic word tokens: the lexical floor of every leaderboard."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from clirbench.method import MethodBase, MethodOptions, Run
from clirbench.registry import register_method

if TYPE_CHECKING:
    from clirbench.tasks.task import Task

_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased Unicode word characters: no stemming or stopwords, so any language works."""
    return _WORD.findall(text.lower())


class BM25Options(MethodOptions):
    k1: float = 1.5
    b: float = 0.75
    variant: Literal["robertson", "lucene", "atire", "bm25l", "bm25+"] = "lucene"


@register_method("bm25")
class BM25(MethodBase):
    """BM25 (bm25s) on lower-cased Unicode word tokens; no stemming, no stopwords."""

    Options = BM25Options
    requires = ("bm25s",)

    def describe(self) -> dict[str, str]:
        return {"tokenizer": "lowercase \\w+ (Unicode)"}

    def retrieve(self, task: Task, k: int) -> Run:
        import bm25s
        import numpy as np
        from bm25s.tokenization import Tokenized

        doc_ids = list(task.corpus)
        vocab: dict[str, int] = {}
        doc_tokens = [[vocab.setdefault(t, len(vocab)) for t in tokenize(task.corpus[d].full_text)] for d in doc_ids]
        index = bm25s.BM25(k1=self.options.k1, b=self.options.b, method=self.options.variant)
        index.index(Tokenized(ids=doc_tokens, vocab=vocab), show_progress=False)

        query_ids = list(task.queries)
        query_tokens = [[vocab[t] for t in tokenize(task.queries[q]) if t in vocab] for q in query_ids]
        answerable = [i for i, tokens in enumerate(query_tokens) if tokens]  # bm25s fails on empty queries
        run: Run = {qid: {} for qid in query_ids}
        if not answerable:
            return run
        found, scores = index.retrieve(
            Tokenized(ids=[query_tokens[i] for i in answerable], vocab=vocab),
            k=min(k, len(doc_ids)),
            show_progress=False,
            n_threads=1,
        )
        for row, i in enumerate(answerable):
            hits = np.flatnonzero(scores[row] > 0)  # a document sharing no term is not a hit
            run[query_ids[i]] = {doc_ids[found[row, j]]: float(scores[row, j]) for j in hits}
        return run
