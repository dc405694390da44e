"""What commands print: rich tables on a terminal; tab-separated lines, never truncated, when
stdout is piped or redirected; JSON with ``--json``."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TableData:
    """A table as plain strings, so that it can be drawn by rich or written as TSV."""

    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    title: str | None = None


def is_terminal() -> bool:
    return sys.stdout.isatty()


def _plain(value: str) -> str:
    return value.replace("\t", " ").replace("\n", " ")


def print_table(table: TableData, show_header: bool = True) -> None:
    """On a terminal a rich table; otherwise an optional ``# title`` line, a header line and
    one tab-separated line per row."""
    if is_terminal():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        drawn = Table(*table.columns, title=table.title, show_header=show_header)
        for row in table.rows:
            drawn.add_row(*(Text(cell) for cell in row))  # Text: "bm25[k1=0.9]" is not markup
        Console().print(drawn)
        return
    if table.title:
        print(f"# {_plain(table.title)}")
    if show_header:
        print("\t".join(map(_plain, table.columns)))
    for row in table.rows:
        print("\t".join(map(_plain, row)))


def print_line(markup: str) -> None:
    """A line of rich markup: styled on a terminal, plain text (markup removed) otherwise."""
    if is_terminal():
        from rich.console import Console

        Console().print(markup)
    else:
        from rich.text import Text

        print(Text.from_markup(markup).plain, flush=True)


def _finite(data: Any) -> Any:
    """NaN and infinities as null: strict JSON has no NaN (a d_z of identical systems is NaN)."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def print_json(data: Any) -> None:
    print(json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False))
