"""Tasks: the card, the sources, the built-in suite, resolved from names, paths and groups."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clirbench.errors import UnknownNameError
from clirbench.registry import Registry
from clirbench.tasks.languages import AFRICAN_LANGUAGES, LANGUAGES
from clirbench.tasks.noise import NOISY_NAME
from clirbench.tasks.task import Task


@dataclass(frozen=True)
class BuiltinTask:
    """What is known of a built-in task before its data is generated."""

    factory: str  # "module:function", called as function(name, split) -> Task
    query_lang: str
    doc_lang: str
    bitext: str = ""  # the built-in bitext of its language pair (clirbench.bitext)

    @property
    def low_resource(self) -> bool:
        """Whether one of its languages has Joshi class <= 2 (clirbench.tasks.languages)."""
        from clirbench.tasks.languages import is_low_resource

        return is_low_resource(self.query_lang, self.doc_lang)

    @property
    def language(self) -> str:
        """Its non-English language (the one its family, script and resource level describe)."""
        return self.doc_lang if self.query_lang == "eng_Latn" else self.query_lang


def _builtin_tasks() -> dict[str, BuiltinTask]:
    from clirbench.tasks.builtin.quran import TASK_NAMES as QURAN_TASKS
    from clirbench.tasks.builtin.quran import TRANSLATIONS, QuranTask

    bible = "clirbench.tasks.builtin.bible:bible_task"
    tasks = {
        f"bible-{q}-{d}/{unit}": BuiltinTask(bible, langs[0], langs[1], "bible-en-ny")
        for (q, d), langs in (
            (("en", "ny"), ("eng_Latn", "nya_Latn")),
            (("ny", "en"), ("nya_Latn", "eng_Latn")),
        )
        for unit in ("verse", "passage")
    }
    for name in QURAN_TASKS:
        task = QuranTask.parse(name)
        other = TRANSLATIONS[task.code].lang
        langs = ("eng_Latn", other) if task.query_side == "en" else (other, "eng_Latn")
        tasks[name] = BuiltinTask(
            "clirbench.tasks.builtin.quran:quran_task", *langs, f"quran-en-{task.code}"
        )
    return tasks


BUILTIN_TASKS = _builtin_tasks()
DEFAULT_TASKS = ("bible-en-ny/verse",)
SUITES = {
    # Every built-in task one of whose languages has Joshi et al. (2020) class <= 2.
    "lowres": tuple(name for name, task in BUILTIN_TASKS.items() if task.low_resource),
    "bible": tuple(name for name in BUILTIN_TASKS if name.startswith("bible-")),
    "quran": tuple(name for name in BUILTIN_TASKS if name.startswith("quran-")),
    "african": tuple(
        name for name, task in BUILTIN_TASKS.items() if task.language in AFRICAN_LANGUAGES
    ),
    "default": DEFAULT_TASKS,
    "noisy": tuple(
        f"{name}/noisy"
        for name, task in BUILTIN_TASKS.items()
        if task.low_resource and name.endswith("/verse")
    ),
}
_COMPARISONS = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}
SELECTORS = "suite:NAME, lang:CODE, family:NAME, resource:<=N (also <, =, >=, >)"


def _resource_tasks(value: str) -> list[str]:
    """``resource:<=2``: tasks whose non-English language's Joshi class compares so with N."""
    for symbol in sorted(_COMPARISONS, key=len, reverse=True):
        number = value.removeprefix(symbol)
        if number != value and number.isdigit():
            compare = _COMPARISONS[symbol]
            return [
                n
                for n, t in BUILTIN_TASKS.items()
                if compare(LANGUAGES[t.language].resource, int(number))
            ]
    raise UnknownNameError(
        "resource level (an operator <=, <, =, >=, > then a class 0-5)", value, ("<=2", ">=3", "=5")
    )


def is_builtin_task(spec: str) -> bool:
    """Whether ``spec`` names a built-in task or one of a built-in name pattern (a ``/noisy``
    variant, a UDHR probe task), not a folder or a prefixed source."""
    return spec in BUILTIN_TASKS or (not Path(spec).is_dir() and SOURCES.match(spec) is not None)


def expand_task_specs(specs: list[str]) -> list[str]:
    """Replace selectors (``suite:NAME``, ``lang:CODE``, ``family:NAME``, ``resource:<=N``) by
    the built-in tasks they stand for; anything else is kept as a task spec."""
    expanded: list[str] = []
    for spec in specs:
        kind, _, value = spec.partition(":")
        if kind == "suite" and value == "udhr":  # known once the probe is generated
            from clirbench.tasks.builtin.udhr import task_names

            expanded.extend(task_names())
        elif kind == "suite":
            if value not in SUITES:
                raise UnknownNameError("suite", value, [*SUITES, "udhr"])
            expanded.extend(SUITES[value])
        elif kind == "lang":
            names = [n for n, t in BUILTIN_TASKS.items() if value in (t.query_lang, t.doc_lang)]
            if not names:
                languages = {
                    lang for t in BUILTIN_TASKS.values() for lang in (t.query_lang, t.doc_lang)
                }
                raise UnknownNameError("language among the built-in tasks", value, languages)
            expanded.extend(names)
        elif kind == "family":
            families = {LANGUAGES[t.language].family for t in BUILTIN_TASKS.values()}
            match = {family.casefold(): family for family in families}.get(value.casefold())
            if match is None:
                raise UnknownNameError("language family among the built-in tasks", value, families)
            expanded.extend(
                n for n, t in BUILTIN_TASKS.items() if LANGUAGES[t.language].family == match
            )
        elif kind == "resource":
            expanded.extend(_resource_tasks(value.replace(" ", "")))
        else:
            expanded.append(spec)
    return list(dict.fromkeys(expanded))


def _sources() -> Registry[Callable[..., Task]]:
    """Every way to name a task, resolved by ``load_task`` in this order:

    1. a prefix (``irds:ID``): ``function(rest, split, **card_overrides) -> Task``;
    2. a task name (built-in or a plugin's): ``function(name, split) -> Task``;
    3. a BEIR folder (not in the registry: any existing directory);
    4. a name pattern, matched whole: ``function(match, split) -> Task``.
    """
    prefixes = {
        "irds:": "clirbench.tasks.irds:irds_task",
        "hf:": "clirbench.tasks.hf:hf_task",
        "mteb:": "clirbench.tasks.mteb_source:mteb_task",
    }
    names = {name: task.factory for name, task in BUILTIN_TASKS.items()}
    patterns = {
        # <built-in task>/noisy[-rateR][-seedS]: orthographic noise on the non-English side.
        NOISY_NAME: "clirbench.tasks.noise:noisy_variant",
        # udhr-en-XXX/paragraph: the UDHR coverage probe (known once it is generated).
        r"udhr-en-.*/paragraph": "clirbench.tasks.builtin.udhr:probe_task",
    }
    return Registry("task source", "clirbench.sources", {**prefixes, **names}, patterns)


SOURCES = _sources()


def load_task(spec: str, split: str | None = None, **card_overrides: Any) -> Task:
    """A task by prefix spec (``irds:ID``, ``hf:REPO``, ``mteb:TASK``, a plugin's), by name, by
    BEIR folder path, or by name pattern, in that order (``SOURCES``).

    Card values in ``card_overrides`` (None means not given) override what the source says.
    """
    if (prefixed := SOURCES.pattern(spec)) is not None:
        source, rest = prefixed
        return source(rest, split, **card_overrides)
    if spec in SOURCES.names():
        return SOURCES.get(spec)(spec, split or "test")
    if Path(spec).is_dir():
        from clirbench.tasks.beir import beir_task

        return beir_task(spec, split, **card_overrides)
    if (matched := SOURCES.match(spec)) is not None:
        source, found = matched
        return source(found, split or "test")
    prefixes = SOURCES.prefixes()
    listed = f"{', '.join(prefixes[:-1])} or {prefixes[-1]}" if len(prefixes) > 1 else prefixes[0]
    raise UnknownNameError(
        f"task (not a built-in name, a folder, or an {listed} spec)", spec, BUILTIN_TASKS
    )


def load_tasks(specs: list[str], split: str | None = None, **card_overrides: Any) -> list[Task]:
    """Every task ``specs`` names (``suite:`` and ``lang:`` expanded), each loaded once."""
    return [load_task(spec, split, **card_overrides) for spec in expand_task_specs(specs)]
