"""A complete clirbench plugin: TF-IDF cosine over character n-grams.

Character n-grams match what word tokens miss across languages: names, numbers and cognates
("Yerusalemu" / "Jerusalem"). The whole plugin is this module and an entry point in
pyproject.toml; clirbench itself is not touched.
"""

from __future__ import annotations

import math
from collections import Counter

from pydantic import Field

from clirbench.method import MethodBase, MethodOptions, Run


class CharNgramOptions(MethodOptions):
    n: int = Field(3, ge=1, le=8)
    """Length of the character n-grams."""
    lowercase: bool = True


class CharNgrams(MethodBase):
    """TF-IDF cosine over character n-grams of each word (padded with spaces)."""

    Options = CharNgramOptions
    requires = ("numpy",)
    version = "1"  # bump when the scores change for the same options

    def _grams(self, text: str) -> Counter[str]:
        text = text.lower() if self.options.lowercase else text
        n, grams = self.options.n, Counter()
        for word in text.split():
            padded = f" {word} "
            grams.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
        return grams

    def retrieve(self, task, k: int) -> Run:
        import numpy as np

        doc_ids = list(task.corpus)
        docs = [self._grams(task.corpus[d].full_text) for d in doc_ids]
        frequency = Counter(gram for grams in docs for gram in grams)
        idf = {gram: math.log(len(docs) / count) + 1.0 for gram, count in frequency.items()}
        vocabulary = {gram: i for i, gram in enumerate(idf)}

        def vector(grams: Counter[str]) -> np.ndarray:
            row = np.zeros(len(vocabulary), dtype=np.float32)
            for gram, count in grams.items():
                if gram in vocabulary:
                    row[vocabulary[gram]] = count * idf[gram]
            return row / (np.linalg.norm(row) or 1.0)

        matrix = np.stack([vector(grams) for grams in docs])
        run: Run = {}
        for qid, text in task.queries.items():
            scores = matrix @ vector(self._grams(text))
            top = np.argsort(-scores, kind="stable")[:k]
            run[qid] = {doc_ids[i]: float(scores[i]) for i in top}
        return run
