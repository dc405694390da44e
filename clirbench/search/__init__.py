"""Top-k search over dense vectors: exact (torch, blocked, over shards) or through faiss.

Importing this package loads no numpy, torch or faiss: names are looked up on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from clirbench.search.options import (
    APPROXIMATE,
    SearchBackend,
    SearchOptions,
    describe_search,
    search_record,
)

_LAZY = {
    "exact_search": "exact",
    "best_passage_search": "exact",
    "topk": "exact",
    "shard_topk": "exact",
    "merge_topk": "exact",
    "TieOrder": "exact",
    "SCORE_BUDGET_BYTES": "exact",
    "search": "backends",
    "SearchDependencyError": "ann",
}

__all__ = [
    "APPROXIMATE",
    "SCORE_BUDGET_BYTES",
    "SearchBackend",
    "SearchDependencyError",
    "SearchOptions",
    "TieOrder",
    "best_passage_search",
    "describe_search",
    "exact_search",
    "merge_topk",
    "search",
    "search_record",
    "shard_topk",
    "topk",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"clirbench.search.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
