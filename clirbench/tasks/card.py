"""The task card: what a task is, in which languages, under which licence, scored how."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

DEFAULT_MEASURES = ("nDCG@10", "nDCG@20", "AP", "RR@10", "R@100")
UNKNOWN_LANGUAGE = "unknown"
MAX_NAME_BYTES = 200  # of a name percent-encoded for the store; file names allow 255
_LANGUAGE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


def language_code_problem(value: str) -> str | None:
    """Why ``value`` is not a language code a card takes, or None when it is one."""
    if value != UNKNOWN_LANGUAGE and not _LANGUAGE.match(value):
        return (
            f"{value!r} is not a language code of the form xxx_Xxxx "
            "(ISO 639-3 + script, e.g. eng_Latn) or 'unknown'"
        )
    return None


class TaskCard(BaseModel):
    """Metadata of one evaluation task (one query language, one document language, one split).

    Languages are ISO 639-3 code plus ISO 15924 script (``eng_Latn``, ``nya_Latn``), or
    ``unknown`` when a folder comes without a card. Measures are ir_measures names, stored in
    their canonical form (``MRR@10`` becomes ``RR@10``, ``MAP`` becomes ``AP``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    query_lang: str = UNKNOWN_LANGUAGE
    doc_lang: str = UNKNOWN_LANGUAGE
    split: str = "test"
    source: str
    license: str = "unknown"
    citation: str = ""
    checksum: str = ""
    low_resource: bool = False
    bitext: str = ""
    """The built-in bitext of this task's language pair (``bible-en-ny``), disjoint from its
    evaluation data: what methods that learn train on by default. Empty if there is none."""
    measures: tuple[str, ...] = DEFAULT_MEASURES
    description: str = ""

    @field_validator("name", "split")
    @classmethod
    def _storable_name(cls, value: str) -> str:
        """Names become one path segment of the result store each: they must be non-empty,
        printable, without surrounding spaces, and short enough for a file name once encoded."""
        from clirbench.store import encode_segment

        if not value or value != value.strip():
            raise ValueError(f"{value!r}: give a non-empty name without leading or trailing spaces")
        if not value.isprintable():
            raise ValueError(f"{value!r} holds a control character")
        if len(encode_segment(value).encode()) > MAX_NAME_BYTES:
            raise ValueError(
                f"{value[:40]!r}... is too long for a file name ({len(value)} characters); "
                "shorten it"
            )
        return value

    @field_validator("query_lang", "doc_lang")
    @classmethod
    def _language_code(cls, value: str) -> str:
        problem = language_code_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("measures")
    @classmethod
    def _canonical_measures(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from clirbench.errors import ClirbenchError
        from clirbench.evaluation import canonical_measure

        try:
            return tuple(dict.fromkeys(canonical_measure(name) for name in value))
        except ClirbenchError as error:
            raise ValueError(str(error)) from None

    @property
    def languages(self) -> str:
        return f"{self.query_lang}->{self.doc_lang}"
