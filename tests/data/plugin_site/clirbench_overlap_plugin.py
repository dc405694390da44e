"""A third-party clirbench method, translator and task source, installed only through entry
points."""

import re
import time

from clirbench import MethodBase, MethodOptions
from clirbench.baselines.translators import TranslatorBase
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData


class OverlapOptions(MethodOptions):
    delay: float = 0.0  # seconds to sleep per task, so tests can interrupt a run midway


class Overlap(MethodBase):
    """Counts the lower-cased words a query shares with a document."""

    Options = OverlapOptions

    def retrieve(self, task, k):
        time.sleep(self.options.delay)
        words = {
            doc_id: set(re.findall(r"\w+", doc.full_text.lower()))
            for doc_id, doc in task.corpus.items()
        }
        run = {}
        for qid, text in task.queries.items():
            query = set(re.findall(r"\w+", text.lower()))
            scores = {
                doc_id: float(len(query & terms))
                for doc_id, terms in words.items()
                if query & terms
            }
            run[qid] = dict(sorted(scores.items(), key=lambda hit: (-hit[1], hit[0]))[:k])
        return run


class Echo(TranslatorBase):
    """A third-party translator through the clirbench.translators entry point: no translation."""

    def translate(self, texts, source_lang, target_lang):
        return list(texts)

    def describe(self):
        return {"translator": "echo", "model": "identity", "revision": "1"}


def toy_task(rest, split, **card_overrides):
    """``toy:N``: N queries, each the exact words of one of N documents (a task source plugin)."""
    size = int(rest)
    card = TaskCard(
        name=f"toy-{size}",
        query_lang="eng_Latn",
        doc_lang="eng_Latn",
        split=split or "test",
        source=f"toy:{size}",
    )

    def load():
        words = [f"word{i} topic{i}" for i in range(size)]
        return TaskData(
            queries={f"q{i}": text for i, text in enumerate(words)},
            corpus={f"d{i}": Document(text) for i, text in enumerate(words)},
            qrels={f"q{i}": {f"d{i}": 1} for i in range(size)},
        )

    return Task(card, load)
