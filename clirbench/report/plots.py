"""Inline SVG plots for the HTML page, drawn by hand so the page needs no plotting library."""

from __future__ import annotations

import math
from html import escape
from typing import Any

ROW_HEIGHT, BAR_HEIGHT, CHAR_WIDTH = 24, 14, 7.2
PLOT_WIDTH, MARGIN_TOP, MARGIN_BOTTOM, GAP = 420, 8, 28, 12
COLOURS = {"best": "#2b6cb0", "tied": "#63b3ed", "baseline": "#dd6b20", "other": "#a0aec0"}


def task_bars(task: dict[str, Any], measure: str) -> str:
    """Horizontal bars of the primary measure per system, best first, with bootstrap CI whiskers."""
    rows = task["rows"]
    label_width = max(len(row["system"]) for row in rows) * CHAR_WIDTH + GAP
    top, ticks = _axis(max(max(row["ci_high"], row["primary"]) for row in rows))
    height = MARGIN_TOP + ROW_HEIGHT * len(rows) + MARGIN_BOTTOM
    width = label_width + PLOT_WIDTH + 4 * GAP

    def x(value: float) -> float:
        return label_width + PLOT_WIDTH * max(value, 0.0) / top

    parts = [
        f'<svg class="plot" role="img" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" aria-label="{escape(measure)} per system on {escape(task["name"])}">'
    ]
    axis_y = MARGIN_TOP + ROW_HEIGHT * len(rows)
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{MARGIN_TOP}" x2="{x(tick):.1f}" y2="{axis_y}" class="grid"/>'
            f'<text x="{x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle" class="tick">{tick:g}</text>'
        )
    for i, row in enumerate(rows):
        y = MARGIN_TOP + ROW_HEIGHT * i + (ROW_HEIGHT - BAR_HEIGHT) / 2
        middle = y + BAR_HEIGHT / 2
        colour = COLOURS[_role(row)]
        tooltip = f'{row["system"]}: {row["primary"]:.4f} (95% CI {row["ci_low"]:.4f}–{row["ci_high"]:.4f})'
        parts.append(
            f'<g><title>{escape(tooltip)}</title>'
            f'<text x="{label_width - GAP / 2:.1f}" y="{middle + 4:.1f}" text-anchor="end" class="label">{escape(row["system"])}</text>'
            f'<rect x="{label_width:.1f}" y="{y:.1f}" width="{x(row["primary"]) - label_width:.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'
            f'<line x1="{x(row["ci_low"]):.1f}" y1="{middle:.1f}" x2="{x(row["ci_high"]):.1f}" y2="{middle:.1f}" class="whisker"/>'
            f'<line x1="{x(row["ci_low"]):.1f}" y1="{middle - 4:.1f}" x2="{x(row["ci_low"]):.1f}" y2="{middle + 4:.1f}" class="whisker"/>'
            f'<line x1="{x(row["ci_high"]):.1f}" y1="{middle - 4:.1f}" x2="{x(row["ci_high"]):.1f}" y2="{middle + 4:.1f}" class="whisker"/>'
            f'<text x="{x(max(row["ci_high"], row["primary"])) + GAP / 2:.1f}" y="{middle + 4:.1f}" class="value">{row["primary"]:.3f}{escape(row["marks"])}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
