"""A loaded task: its card plus queries, corpus and relevance judgements, read on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from clirbench.tasks.card import TaskCard

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Document:
    text: str
    title: str = ""

    @property
    def full_text(self) -> str:
        """Title and body joined, as BEIR feeds documents to retrievers."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True)
class TaskData:
    queries: dict[str, str]
    corpus: dict[str, Document]
    qrels: Qrels


class Task:
    """A task card and a loader; the data is read (and validated) once, when first needed."""

    def __init__(self, card: TaskCard, load: Callable[[], TaskData]) -> None:
        self.card = card
        self._load = load

    @cached_property
    def _data(self) -> TaskData:
        return self._load()

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def queries(self) -> dict[str, str]:
        """The queries of this split: those that have judgements."""
        return self._data.queries

    @property
    def corpus(self) -> dict[str, Document]:
        return self._data.corpus

    @property
    def qrels(self) -> Qrels:
        return self._data.qrels

    def __repr__(self) -> str:
        return f"Task({self.card.name!r}, {self.card.languages}, split={self.card.split!r})"
