"""Tasks: the card, the sources, the built-in suite, resolved from names, paths and groups."""

from __future__ import annotations

import importlib
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clirbench.errors import UnknownNameError
from clirbench.tasks.languages import AFRICAN_LANGUAGES, LANGUAGES
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
    from clirbench.tasks.builtin.quran import QuranTask, TRANSLATIONS

    bible = "clirbench.tasks.builtin.bible:bible_task"
    tasks = {
        f"bible-{q}-{d}/{unit}": BuiltinTask(bible, langs[0], langs[1], "bible-en-ny")
        for (q, d), langs in ((("en", "ny"), ("eng_Latn", "nya_Latn")), (("ny", "en"), ("nya_Latn", "eng_Latn")))
        for unit in ("verse", "passage")
    }
    for name in QURAN_TASKS:
        task = QuranTask.parse(name)
        other = TRANSLATIONS[task.code].lang
        langs = ("eng_Latn", other) if task.query_side == "en" else (other, "eng_Latn")
        tasks[name] = BuiltinTask("clirbench.tasks.builtin.quran:quran_task", *langs, f"quran-en-{task.code}")
    return tasks


BUILTIN_TASKS = _builtin_tasks()
DEFAULT_TASKS = ("bible-en-ny/verse",)
SUITES = {
    # Every built-in task one of whose languages has Joshi et al. (2020) class <= 2.
    "lowres": tuple(name for name, task in BUILTIN_TASKS.items() if task.low_resource),
    "bible": tuple(name for name in BUILTIN_TASKS if name.startswith("bible-")),
    "quran": tuple(name for name in BUILTIN_TASKS if name.startswith("quran-")),
    "african": tuple(name for name, task in BUILTIN_TASKS.items() if task.language in AFRICAN_LANGUAGES),
    "default": DEFAULT_TASKS,
    "noisy": tuple(f"{name}/noisy" for name, task in BUILTIN_TASKS.items()
                   if task.low_resource and name.endswith("/verse")),
}
_COMPARISONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "=": operator.eq}
SELECTORS = "suite:NAME, lang:CODE, family:NAME, resource:<=N (also <, =, >=, >)"


def _resource_tasks(value: str) -> list[str]:
    """``resource:<=2``: tasks whose non-English language's Joshi class compares so with N."""
    for symbol in sorted(_COMPARISONS, key=len, reverse=True):
        number = value.removeprefix(symbol)
        if number != value and number.isdigit():
            compare = _COMPARISONS[symbol]
            return [n for n, t in BUILTIN_TASKS.items() if compare(LANGUAGES[t.language].resource, int(number))]
    raise UnknownNameError("resource level (an operator <=, <, =, >=, > then a class 0-5)", value, ("<=2", ">=3", "=5"))


@dataclass(frozen=True)
class TaskPattern:
    """A family of task names, each resolved by one function (as ir_datasets' register_pattern)."""

    pattern: re.Pattern[str]
    factory: str  # "module:function", called as function(match, split) -> Task


TASK_PATTERNS: list[TaskPattern] = []


def register_task_pattern(pattern: str, factory: str) -> None:
    """Make every task name that ``pattern`` matches (whole) load with ``factory``."""
    TASK_PATTERNS.append(TaskPattern(re.compile(pattern), factory))


# <built-in task>/noisy[-rateR][-seedS]: orthographic noise on the non-English side (noise.py).
register_task_pattern(
    r"(?P<base>.+)/noisy(?:-rate(?P<rate>[0-9.]+))?(?:-seed(?P<seed>[0-9]+))?",
    "clirbench.tasks.noise:noisy_variant",
)


def _pattern_of(spec: str) -> tuple[TaskPattern, re.Match[str]] | None:
    for entry in TASK_PATTERNS:
        if (found := entry.pattern.fullmatch(spec)) is not None:
            return entry, found
    return None


def is_builtin_task(spec: str) -> bool:
    """Whether ``spec`` names a built-in task or a variant of one (not a folder or a source)."""
    return spec in BUILTIN_TASKS or (not Path(spec).is_dir() and _pattern_of(spec) is not None)


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
                languages = {lang for t in BUILTIN_TASKS.values() for lang in (t.query_lang, t.doc_lang)}
                raise UnknownNameError("language among the built-in tasks", value, languages)
            expanded.extend(names)
        elif kind == "family":
            families = {LANGUAGES[t.language].family for t in BUILTIN_TASKS.values()}
            match = {family.casefold(): family for family in families}.get(value.casefold())
            if match is None:
                raise UnknownNameError("language family among the built-in tasks", value, families)
            expanded.extend(n for n, t in BUILTIN_TASKS.items() if LANGUAGES[t.language].family == match)
        elif kind == "resource":
            expanded.extend(_resource_tasks(value.replace(" ", "")))
        else:
            expanded.append(spec)
    return list(dict.fromkeys(expanded))


# Spec prefix -> "module:function(name, split, **card_overrides) -> Task", imported when used.
EXTERNAL_SOURCES = {
    "irds:": "clirbench.tasks.irds:irds_task",
    "hf:": "clirbench.tasks.hf:hf_task",
    "mteb:": "clirbench.tasks.mteb_source:mteb_task",
}


def load_task(spec: str, split: str | None = None, **card_overrides: Any) -> Task:
    """A built-in task by name, a BEIR folder by path, or ``irds:ID``, ``hf:REPO``, ``mteb:TASK``.

    Card values in ``card_overrides`` (None means not given) override what the source says.
    """
    for prefix, source in EXTERNAL_SOURCES.items():
        if spec.startswith(prefix):
            module, function = source.split(":")
            return getattr(importlib.import_module(module), function)(spec[len(prefix) :], split, **card_overrides)
    if spec in BUILTIN_TASKS:
        module, function = BUILTIN_TASKS[spec].factory.split(":")
        factory = getattr(importlib.import_module(module), function)
        return factory(spec, split or "test")
    if not Path(spec).is_dir() and (resolved := _pattern_of(spec)) is not None:
        entry, found = resolved
        module, function = entry.factory.split(":")
        return getattr(importlib.import_module(module), function)(found, split or "test")
    from clirbench.tasks.builtin.udhr import is_probe_name, udhr_task

    if is_probe_name(spec):
        return udhr_task(spec, split or "test")
    if Path(spec).is_dir():
        from clirbench.tasks.beir import beir_task

        return beir_task(spec, split, **card_overrides)
    raise UnknownNameError("task (not a built-in name, a folder, or an irds:, hf: or mteb: spec)", spec, BUILTIN_TASKS)


def load_tasks(specs: list[str], split: str | None = None, **card_overrides: Any) -> list[Task]:
    """Every task ``specs`` names (``suite:`` and ``lang:`` expanded), each loaded once."""
    return [load_task(spec, split, **card_overrides) for spec in expand_task_specs(specs)]
