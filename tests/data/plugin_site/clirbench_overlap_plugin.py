"""A third-party clirbench method and translator, installed only through entry points."""

import re
import time

from clirbench import MethodBase, MethodOptions
from clirbench.baselines.translators import TranslatorBase


class OverlapOptions(MethodOptions):
    delay: float = 0.0  # seconds to sleep per task, so tests can interrupt a run midway


class Overlap(MethodBase):
    """Counts the lower-cased words a query shares with a document."""

    Options = OverlapOptions

    def retrieve(self, task, k):
        time.sleep(self.options.delay)
        words = {doc_id: set(re.findall(r"\w+", doc.full_text.lower())) for doc_id, doc in task.corpus.items()}
        run = {}
        for qid, text in task.queries.items():
            query = set(re.findall(r"\w+", text.lower()))
            scores = {doc_id: float(len(query & terms)) for doc_id, terms in words.items() if query & terms}
            run[qid] = dict(sorted(scores.items(), key=lambda hit: (-hit[1], hit[0]))[:k])
        return run


class Echo(TranslatorBase):
    """A third-party translator through the clirbench.translators entry point: no translation."""

    def translate(self, texts, source_lang, target_lang):
        return list(texts)

    def describe(self):
        return {"translator": "echo", "model": "identity", "revision": "1"}
