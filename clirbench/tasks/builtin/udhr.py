"""Coverage probe: the Universal Declaration of Human Rights, English paragraphs against each
language's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SOURCE = "builtin:udhr"


def is_coverage_probe(card: Mapping[str, Any]) -> bool:
    """Whether a task card is the coverage probe's: reported apart, in no average or test."""
    return str(card.get("source", "")).startswith(SOURCE)
