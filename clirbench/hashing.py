"""Short hashes that name stored things: result cells, cache folders, checkpoints, task versions.

Each is the first hex digits of a SHA-256. Their values are keys on disk, so how a value is
turned into bytes must never change (tests/test_hashing.py pins a few).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any


def short_hash(text: str, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def json_hash(value: Any, length: int = 16, default: Callable[[Any], Any] | None = None) -> str:
    """``short_hash`` of ``value`` as JSON with sorted keys (``default`` as in ``json.dumps``)."""
    return short_hash(json.dumps(value, sort_keys=True, default=default), length)
