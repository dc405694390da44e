"""Inline SVG plots for the HTML page, drawn by hand so the page needs no plotting library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

ROW_HEIGHT, BAR_HEIGHT, CHAR_WIDTH = 24, 14, 7.2
PLOT_WIDTH, MARGIN_TOP, MARGIN_BOTTOM, GAP = 420, 8, 28, 12
COLOURS = {"best": "#2b6cb0", "tied": "#63b3ed", "baseline": "#dd6b20", "other": "#a0aec0"}
# Significance marks: each kind its own colour, as in the page's tables and legend.
MARK_COLOURS = {"below-best": "#c53030", "above-baseline": "#2f855a", "below-baseline": "#6b46c1"}


def task_bars(task: dict[str, Any], measure: str) -> str:
    """Horizontal bars of the primary measure per system, best first, with bootstrap CI whiskers."""
    rows = task["rows"]
    highest = max(max(row["ci_high"], row["primary"]) for row in rows)
    frame = _Frame([row["system"] for row in rows], highest, value_room=80)
    parts = [frame.open(f"{measure} per system on {task['name']}")]
    for i, row in enumerate(rows):
        y, middle = frame.row(i)
        x = frame.x
        tooltip = f'{row["system"]}: {row["primary"]:.4f} (95% CI {row["ci_low"]:.4f}–{row["ci_high"]:.4f})'
        parts.append(
            f"<g><title>{escape(tooltip)}</title>{frame.label(i, row['system'])}"
            f'{_bar(frame, y, row["primary"], COLOURS[_role(row)])}'
            f'<line x1="{x(row["ci_low"]):.1f}" y1="{middle:.1f}" x2="{x(row["ci_high"]):.1f}" y2="{middle:.1f}" class="whisker"/>'
            f'<line x1="{x(row["ci_low"]):.1f}" y1="{middle - 4:.1f}" x2="{x(row["ci_low"]):.1f}" y2="{middle + 4:.1f}" class="whisker"/>'
            f'<line x1="{x(row["ci_high"]):.1f}" y1="{middle - 4:.1f}" x2="{x(row["ci_high"]):.1f}" y2="{middle + 4:.1f}" class="whisker"/>'
            f'<text x="{x(max(row["ci_high"], row["primary"])) + GAP / 2:.1f}" y="{middle + 4:.1f}" class="value">'
            f'{row["primary"]:.3f}{_mark_spans(row["mark_kinds"], row["marks"])}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def overall_bars(table: dict[str, Any], measure: str, baseline: str | None) -> str:
    """The macro average over tasks per system (bars) and its worst task (diamonds).

    A system without every task has no average; its row says how many tasks it covers.
    """
    rows = table["rows"]
    highest = max(max(row["mean"] or 0.0, row["worst"]["value"]) for row in rows)
    frame = _Frame([row["system"] for row in rows], highest, value_room=170)
    top_mean = max((row["mean"] for row in rows if row["mean"] is not None), default=None)
    parts = [frame.open(f"{measure}: macro average over the tasks per system, and its worst task")]
    for i, row in enumerate(rows):
        y, middle = frame.row(i)
        worst = row["worst"]
        if row["mean"] is None:
            note = f"covers {row['covered']}/{len(table['columns'])} tasks: no average"
            parts.append(
                f"<g><title>{escape(row['system'])}: {escape(note)}</title>{frame.label(i, row['system'])}"
                f'<text x="{frame.x(0.0) + GAP / 2:.1f}" y="{middle + 4:.1f}" class="value">{escape(note)}</text></g>'
            )
            continue
        role = "best" if row["mean"] == top_mean else "baseline" if row["system"] == baseline else "other"
        tooltip = f"{row['system']}: mean {row['mean']:.4f}, worst {worst['value']:.4f} ({worst['label']})"
        cx = frame.x(worst["value"])
        parts.append(
            f"<g><title>{escape(tooltip)}</title>{frame.label(i, row['system'])}"
            f"{_bar(frame, y, row['mean'], COLOURS[role])}"
            f'<path d="M{cx:.1f} {middle - 5:.1f} L{cx + 5:.1f} {middle:.1f} L{cx:.1f} {middle + 5:.1f} '
            f'L{cx - 5:.1f} {middle:.1f} Z" class="worst"/>'
            f'<text x="{frame.x(max(row["mean"], worst["value"])) + GAP / 2:.1f}" y="{middle + 4:.1f}" class="value">'
            f"{row['mean']:.3f} (worst {worst['value']:.3f})</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


class _Frame:
    """Rows of labelled horizontal bars on one axis: positions, the axis and the labels."""

    def __init__(self, labels: Sequence[str], highest: float, value_room: float) -> None:
        self.count = len(labels)
        self.label_width = max(len(label) for label in labels) * CHAR_WIDTH + GAP
        self.top, self.ticks = _axis(highest)
        self.height = MARGIN_TOP + ROW_HEIGHT * self.count + MARGIN_BOTTOM
        self.width = self.label_width + PLOT_WIDTH + value_room  # value_room: text right of a bar

    def x(self, value: float) -> float:
        return self.label_width + PLOT_WIDTH * max(value, 0.0) / self.top

    def row(self, i: int) -> tuple[float, float]:
        """The top of row ``i``'s bar and its middle."""
        y = MARGIN_TOP + ROW_HEIGHT * i + (ROW_HEIGHT - BAR_HEIGHT) / 2
        return y, y + BAR_HEIGHT / 2

    def label(self, i: int, text: str) -> str:
        middle = self.row(i)[1]
        return (
            f'<text x="{self.label_width - GAP / 2:.1f}" y="{middle + 4:.1f}" text-anchor="end" '
            f'class="label">{escape(text)}</text>'
        )

    def open(self, title: str) -> str:
        """The ``<svg>`` element and the axis with its grid lines."""
        axis_y = MARGIN_TOP + ROW_HEIGHT * self.count
        parts = [
            f'<svg class="plot" role="img" width="{self.width:.0f}" height="{self.height}" '
            f'viewBox="0 0 {self.width:.0f} {self.height}" aria-label="{escape(title)}">'
        ]
        for tick in self.ticks:
            parts.append(
                f'<line x1="{self.x(tick):.1f}" y1="{MARGIN_TOP}" x2="{self.x(tick):.1f}" y2="{axis_y}" class="grid"/>'
                f'<text x="{self.x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle" class="tick">{tick:g}</text>'
            )
        return "".join(parts)


def _bar(frame: _Frame, y: float, value: float, colour: str) -> str:
    width = frame.x(value) - frame.label_width
    return f'<rect x="{frame.label_width:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'


def _mark_spans(kinds: Sequence[str], marks: str) -> str:
    """Each significance mark in its own colour (``marks`` holds their glyphs, in order)."""
    spans: list[str] = []
    for kind, glyph in zip(kinds, marks):
        spans.append(f'<tspan class="mark-{kind}" fill="{MARK_COLOURS[kind]}" font-weight="700">{escape(glyph)}</tspan>')
    return "".join(spans)


def _role(row: dict[str, Any]) -> str:
    if row["is_best"]:
        return "best"
    if row["tied_at_top"]:
        return "tied"
    return "baseline" if row["is_baseline"] else "other"


def _axis(highest: float) -> tuple[float, list[float]]:
    """The axis end and its ticks: round steps (1, 2 or 5 times a power of ten), about five of them."""
    if highest <= 0.0:
        return 1.0, [0.0, 0.5, 1.0]
    magnitude = 10.0 ** math.floor(math.log10(highest / 5))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= highest / 5)
    count = math.ceil(highest / step - 1e-9)
    return step * count, [round(step * i, 10) for i in range(count + 1)]
