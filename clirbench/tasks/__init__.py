"""Tasks: the card, the BEIR-folder source, and the built-in tasks, resolved by name or path."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from clirbench.errors import UnknownNameError
from clirbench.tasks.task import Task

# Built-in task name -> "module:function(split) -> Task", imported only when asked for.
BUILTIN_TASKS = {
    "bible-en-ny/verse": "clirbench.tasks.builtin.bible:verse_task",
}
DEFAULT_TASKS = ("bible-en-ny/verse",)


def load_task(spec: str, split: str | None = None, **card_overrides: Any) -> Task:
    """A built-in task by name, or a BEIR folder by path (card values from ``card_overrides``)."""
    if spec in BUILTIN_TASKS:
        module, function = BUILTIN_TASKS[spec].split(":")
        factory = getattr(importlib.import_module(module), function)
        return factory(split or "test")
    if Path(spec).is_dir():
        from clirbench.tasks.beir import beir_task

        return beir_task(spec, split, **card_overrides)
    raise UnknownNameError("task (neither a built-in name nor a folder)", spec, BUILTIN_TASKS)
