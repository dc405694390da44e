"""Hand any clirbench task to MTEB as a retrieval task (the reverse of ``mteb:`` task specs).

The MTEB task carries the task card (languages, split, checksum as the dataset revision) and
reads its data from the clirbench task, so a built-in task or a BEIR folder runs in MTEB with
no download. With :class:`clirbench.mteb_model.MTEBEncoder`, a clirbench encoder is scored by
MTEB's own evaluator on exactly the data clirbench scores it on::

    import mteb
    import clirbench
    from clirbench.mteb_model import MTEBEncoder
    from clirbench.mteb_task import as_mteb_task

    task = clirbench.load_task("bible-en-ny/verse")
    model = MTEBEncoder(clirbench.load_method("me5"))
    result = mteb.evaluate(model, as_mteb_task(task), cache=None)

Nothing here imports MTEB until a task is handed over.
"""

from __future__ import annotations

import re
from typing import Any

from clirbench.errors import ClirbenchError
from clirbench.tasks.card import UNKNOWN_LANGUAGE
from clirbench.tasks.task import Task

# ir_measures measure name -> the prefix of MTEB's score names (nDCG@10 -> ndcg_at_10).
_MTEB_SCORES = {
    "nDCG": "ndcg_at",
    "AP": "map_at",
    "RR": "mrr_at",
    "R": "recall_at",
    "P": "precision_at",
}
FALLBACK_MAIN_SCORE = "ndcg_at_10"


def mteb_score_name(measure: str) -> str | None:
    """MTEB's name of a cut-off measure (``nDCG@10`` -> ``ndcg_at_10``), None if it has none."""
    from clirbench.evaluation import canonical_measure

    match = re.fullmatch(r"(\w+)@(\d+)", canonical_measure(measure))
    if match is None or match.group(1) not in _MTEB_SCORES:
        return None
    return f"{_MTEB_SCORES[match.group(1)]}_{match.group(2)}"


def as_mteb_task(task: Task) -> Any:
    """An MTEB ``AbsTaskRetrieval`` over ``task``'s queries, corpus and judgements.

    Its main score is the card's first measure when MTEB computes it, else nDCG@10.
    """
    try:
        from mteb.abstasks.retrieval import AbsTaskRetrieval
        from mteb.abstasks.task_metadata import TaskMetadata
    except ImportError:
        raise ClirbenchError("a task for MTEB needs the mteb package: pip install mteb") from None
    card = task.card
    languages = [card.query_lang, card.doc_lang]
    if UNKNOWN_LANGUAGE in languages:
        raise ClirbenchError(
            f"task {card.name!r} does not name its query and document languages, which MTEB needs; "
            "load it with query_lang= and doc_lang= (e.g. eng_Latn, nya_Latn)"
        )
    main_score = next(filter(None, map(mteb_score_name, card.measures[:1])), FALLBACK_MAIN_SCORE)
    metadata = TaskMetadata(
        name=card.name.replace("/", "--"),
        description=card.description or f"The clirbench task {card.name} ({card.source}).",
        dataset={
            "path": card.source or f"clirbench/{card.name}",
            "revision": card.checksum or "local",
        },
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=[card.split],
        # Query language first: clirbench.mteb_model reads the sides in this order.
        eval_langs=[language.replace("_", "-") for language in dict.fromkeys(languages)],
        main_score=main_score,
    )

    class ClirbenchRetrieval(AbsTaskRetrieval):
        def load_data(
            self, num_proc: int | None = None, *, timer: Any = None, **kwargs: Any
        ) -> None:
            self.dataset = {"default": {card.split: _split_data(task)}}
            self.data_loaded = True

    ClirbenchRetrieval.metadata = metadata
    return ClirbenchRetrieval()


def _split_data(task: Task) -> Any:
    from datasets import Dataset
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

    corpus = Dataset.from_dict(
        {
            "id": list(task.corpus),
            "title": [document.title for document in task.corpus.values()],
            "text": [document.text for document in task.corpus.values()],
        }
    )
    queries = Dataset.from_dict({"id": list(task.queries), "text": list(task.queries.values())})
    return RetrievalSplitData(
        corpus=corpus, queries=queries, relevant_docs=task.qrels, top_ranked=None
    )
