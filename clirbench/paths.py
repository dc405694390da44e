"""Where clirbench keeps generated data, caches and results on disk."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of clirbench's cache (generated tasks, converted models, embeddings).

    ``CLIRBENCH_CACHE`` overrides the default ``~/.cache/clirbench``.
    """
    root = os.environ.get("CLIRBENCH_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "clirbench"
    path.mkdir(parents=True, exist_ok=True)
    return path
