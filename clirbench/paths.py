"""Where clirbench keeps generated data, caches and results on disk."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "CLIRBENCH_CACHE"
LOCAL_CACHE_ENV = "CLIRBENCH_LOCAL_CACHE"


def cache_dir() -> Path:
    """Root of clirbench's cache (generated tasks, converted models, embeddings, translations).

    ``CLIRBENCH_CACHE`` overrides the default ``~/.cache/clirbench``: a folder or a ``file://``
    URL. The cache must be local: models load from folders, generated tasks and embedding
    shards are read as local files, and the embedding and translation record files are appended
    in place under a file lock, which object stores cannot do. So for any other URL
    (``s3://``, ``gs://``...) the cache is kept in ``CLIRBENCH_LOCAL_CACHE`` (else the
    default), and a note says so once per run.
    """
    from clirbench.location import is_url, note_once, open_location

    root = os.environ.get(CACHE_ENV)
    default = Path.home() / ".cache" / "clirbench"
    if root and is_url(root):
        where = open_location(root, CACHE_ENV)
        if isinstance(where, Path):
            path = where
        else:
            path = Path(os.environ.get(LOCAL_CACHE_ENV) or default)
            note_once(
                f"cache {root}",
                f"{CACHE_ENV}={root} is not a local folder; the cache is kept in {path} (set "
                f"{LOCAL_CACHE_ENV} to choose it): models, generated tasks and embedding shards "
                "are read from local files, and the embedding and translation record files are "
                "appended in place under a file lock, which this filesystem cannot do",
            )
    else:
        path = Path(root) if root else default
    path.mkdir(parents=True, exist_ok=True)
    return path
