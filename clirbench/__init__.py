"""clirbench: a benchmark harness and leaderboard for cross-lingual information retrieval.

The public names below load lazily, so ``import clirbench`` (and ``clirbench --help``) stay fast:
the Python API (``run``, ``load_task``, ``load_method``, ``evaluate``, ``Leaderboard``,
``as_mteb_task``, ``MTEBEncoder``; see ``clirbench.api``) and the plugin interface.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "register_method": "clirbench.registry",
    "MethodBase": "clirbench.method",
    "MethodOptions": "clirbench.method",
    "DenseEncoder": "clirbench.method",
    "Method": "clirbench.method",
    "Run": "clirbench.method",
    "Task": "clirbench.tasks.task",
    "TaskCard": "clirbench.tasks.card",
    "Document": "clirbench.tasks.task",
    "load_task": "clirbench.tasks",
    "ResultStore": "clirbench.store",
    # The Python API (clirbench/api.py), beside the command line.
    "run": "clirbench.api",
    "load_method": "clirbench.api",
    "evaluate": "clirbench.api",
    "Evaluation": "clirbench.api",
    "CellOutcome": "clirbench.runner",
    "Leaderboard": "clirbench.report.leaderboard",
    "as_mteb_task": "clirbench.mteb_task",
    "MTEBEncoder": "clirbench.mteb_model",
}

__all__ = ["__version__", *_EXPORTS]


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'clirbench' has no attribute {name!r}")
