"""Inline SVG plots for the HTML page, drawn by hand so the page needs no plotting library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clirbench.report.model import Gain, ScoreTable, TaskRow, TaskSection

ROW_HEIGHT, BAR_HEIGHT, CHAR_WIDTH = 24, 14, 7.2
PLOT_WIDTH, MARGIN_TOP, MARGIN_BOTTOM, GAP = 420, 8, 28, 12
COLOURS = {"best": "#2b6cb0", "tied": "#63b3ed", "baseline": "#dd6b20", "other": "#a0aec0"}
# Significance marks: each kind its own colour, as in the page's tables and legend.
MARK_COLOURS = {"below-best": "#c53030", "above-baseline": "#2f855a", "below-baseline": "#6b46c1"}


def task_bars(task: TaskSection, measure: str) -> str:
    """Horizontal bars of the primary measure per system, best first, with bootstrap CI whiskers."""
    rows = task.rows
    highest = max(max(row.ci_high, row.primary) for row in rows)
    frame = _Frame([row.system for row in rows], highest, value_room=80)
    parts = [frame.open(f"{measure} per system on {task.name}")]
    for i, row in enumerate(rows):
        low, high, value = frame.x(row.ci_low), frame.x(row.ci_high), row.primary
        middle = frame.middle(i)
        interval = f"95% CI {row.ci_low:.4f}–{row.ci_high:.4f}"
        tooltip = f"{row.system}: {value:.4f} ({interval})"
        parts.append(
            _group(
                tooltip,
                frame.label(i, row.system),
                frame.bar(i, value, COLOURS[_role(row)]),
                _line(low, middle, high, middle, "whisker"),
                _line(low, middle - 4, low, middle + 4, "whisker"),
                _line(high, middle - 4, high, middle + 4, "whisker"),
                frame.note(i, max(row.ci_high, value), f"{value:.3f}", _marks(row)),
            )
        )
    return "".join(parts) + "</svg>"


def overall_bars(table: ScoreTable, measure: str, baseline: str | None) -> str:
    """The macro average over tasks per system (bars) and its worst task (diamonds).

    A system without every task has no average; its row says how many tasks it covers.
    """
    rows = table.rows
    highest = max(max(row.mean or 0.0, row.worst.value) for row in rows)
    frame = _Frame([row.system for row in rows], highest, value_room=170)
    top_mean = max((row.mean for row in rows if row.mean is not None), default=None)
    parts = [frame.open(f"{measure}: macro average over the tasks per system, and its worst task")]
    for i, row in enumerate(rows):
        system, mean, worst = row.system, row.mean, row.worst
        if mean is None:
            note = f"covers {row.covered}/{len(table.columns)} tasks: no average"
            label = frame.label(i, system)
            parts.append(_group(f"{system}: {note}", label, frame.note(i, 0, note)))
            continue
        role = "best" if mean == top_mean else "baseline" if system == baseline else "other"
        x, middle = frame.x(worst.value), frame.middle(i)
        diamond = f"M{x:.1f} {middle - 5:.1f} l5 5 l-5 5 l-5 -5 Z"
        parts.append(
            _group(
                f"{system}: mean {mean:.4f}, worst {worst.value:.4f} ({worst.label})",
                frame.label(i, system),
                frame.bar(i, mean, COLOURS[role]),
                f'<path d="{diamond}" class="worst"/>',
                frame.note(i, max(mean, worst.value), f"{mean:.3f} (worst {worst.value:.3f})"),
            )
        )
    return "".join(parts) + "</svg>"


class _Frame:
    """Rows of labelled horizontal bars on one axis: positions, the axis, labels and notes."""

    def __init__(self, labels: Sequence[str], highest: float, value_room: float) -> None:
        self.count = len(labels)
        self.label_width = max(len(label) for label in labels) * CHAR_WIDTH + GAP
        self.top, self.ticks = _axis(highest)
        self.height = MARGIN_TOP + ROW_HEIGHT * self.count + MARGIN_BOTTOM
        self.width = self.label_width + PLOT_WIDTH + value_room  # value_room: text right of a bar

    def x(self, value: float) -> float:
        return self.label_width + PLOT_WIDTH * max(value, 0.0) / self.top

    def middle(self, i: int) -> float:
        return MARGIN_TOP + ROW_HEIGHT * i + ROW_HEIGHT / 2

    def open(self, title: str) -> str:
        """The ``<svg>`` element and the axis with its grid lines."""
        axis_y = MARGIN_TOP + ROW_HEIGHT * self.count
        parts = [
            (
                f'<svg class="plot" role="img" width="{self.width:.0f}" height="{self.height}" '
                f'viewBox="0 0 {self.width:.0f} {self.height}" aria-label="{escape(title)}">'
            )
        ]
        for tick in self.ticks:
            x = self.x(tick)
            parts.append(_line(x, MARGIN_TOP, x, axis_y, "grid"))
            parts.append(_text(x, axis_y + 16, f"{tick:g}", "tick", anchor="middle"))
        return "".join(parts)

    def label(self, i: int, text: str) -> str:
        return _text(self.label_width - GAP / 2, self.middle(i) + 4, escape(text), "label", "end")

    def bar(self, i: int, value: float, colour: str) -> str:
        y, width = self.middle(i) - BAR_HEIGHT / 2, self.x(value) - self.label_width
        return (
            f'<rect x="{self.label_width:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{BAR_HEIGHT}" fill="{colour}"/>'
        )

    def note(self, i: int, after: float, text: str, markup: str = "") -> str:
        """``text`` (escaped) and ``markup`` right of the value ``after`` on row ``i``."""
        return _text(self.x(after) + GAP / 2, self.middle(i) + 4, escape(text) + markup, "value")


def _line(x1: float, y1: float, x2: float, y2: float, css: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{css}"/>'


def _text(x: float, y: float, markup: str, css: str, anchor: str | None = None) -> str:
    anchored = f' text-anchor="{anchor}"' if anchor else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{anchored} class="{css}">{markup}</text>'


def _group(tooltip: str, *parts: str) -> str:
    return f"<g><title>{escape(tooltip)}</title>{''.join(parts)}</g>"


def _marks(row: TaskRow) -> str:
    """Each significance mark of ``row`` in its own colour (``marks`` holds their glyphs)."""
    return "".join(
        f'<tspan class="mark-{kind}" fill="{MARK_COLOURS[kind]}" font-weight="700">'
        f"{escape(glyph)}</tspan>"
        for kind, glyph in zip(row.mark_kinds, row.marks, strict=True)
    )


def _role(row: TaskRow) -> str:
    if row.is_best:
        return "best"
    if row.tied_at_top:
        return "tied"
    return "baseline" if row.is_baseline else "other"


def _axis(highest: float) -> tuple[float, list[float]]:
    """The axis end and ticks: round steps (1, 2 or 5 times a power of ten), about five."""
    if highest <= 0.0:
        return 1.0, [0.0, 0.5, 1.0]
    magnitude = 10.0 ** math.floor(math.log10(highest / 5))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= highest / 5)
    count = math.ceil(highest / step - 1e-9)
    return step * count, [round(step * i, 10) for i in range(count + 1)]


SCATTER_WIDTH, SCATTER_HEIGHT, SCATTER_MARGIN = 640, 400, 56


def gain_scatter(gain: Gain, measure: str) -> str:
    """Per language, the gain of one system over another against the other's own score: a
    labelled point per language, the least-squares line, and a dashed line at no gain."""
    points = gain.points
    xs, ys = [p.reference for p in points], [p.gain for p in points]
    x_axis = _Span(min(0.0, *xs), max(xs), SCATTER_MARGIN, SCATTER_WIDTH - SCATTER_MARGIN / 2)
    bottom_pixel, top_pixel = SCATTER_HEIGHT - SCATTER_MARGIN, SCATTER_MARGIN / 2
    y_axis = _Span(min(0.0, *ys), max(0.0, *ys), bottom_pixel, top_pixel)
    system, reference = gain.system, gain.reference
    title = f"{system} minus {reference} ({measure}) against {reference}'s {measure}, per language"
    parts = [
        (
            f'<svg class="plot scatter" role="img" width="{SCATTER_WIDTH}" '
            f'height="{SCATTER_HEIGHT}" '
            f'viewBox="0 0 {SCATTER_WIDTH} {SCATTER_HEIGHT}" aria-label="{escape(title)}">'
        )
    ]
    bottom, left = y_axis.to_pixels(y_axis.low), x_axis.to_pixels(x_axis.low)
    for tick in x_axis.ticks:
        x = x_axis.to_pixels(tick)
        parts.append(_line(x, y_axis.to_pixels(y_axis.high), x, bottom, "grid"))
        parts.append(_text(x, bottom + 16, f"{tick:g}", "tick", anchor="middle"))
    for tick in y_axis.ticks:
        y = y_axis.to_pixels(tick)
        parts.append(_line(left, y, x_axis.to_pixels(x_axis.high), y, "grid"))
        parts.append(_text(left - 6, y + 4, f"{tick:g}", "tick", anchor="end"))
    zero = y_axis.to_pixels(0.0)
    parts.append(_line(left, zero, x_axis.to_pixels(x_axis.high), zero, "zero"))
    parts.append(
        _text(
            (left + x_axis.to_pixels(x_axis.high)) / 2,
            SCATTER_HEIGHT - 12,
            escape(f"{reference}: {measure}"),
            "label",
            anchor="middle",
        )
    )
    middle = (bottom + y_axis.to_pixels(y_axis.high)) / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" class="label" '
        f'transform="rotate(-90 14 {middle:.1f})">{escape(f"gain of {system}")}</text>'
    )
    if gain.fit is not None:
        slope, intercept = gain.fit.slope, gain.fit.intercept
        start, end = min(xs), max(xs)
        parts.append(
            _group(
                f"least squares: gain = {intercept:.4f} + {slope:.4f} × score",
                _line(
                    x_axis.to_pixels(start),
                    y_axis.to_pixels(intercept + slope * start),
                    x_axis.to_pixels(end),
                    y_axis.to_pixels(intercept + slope * end),
                    "fit",
                ),
            )
        )
    for point in points:
        x, y = x_axis.to_pixels(point.reference), y_axis.to_pixels(point.gain)
        parts.append(
            _group(
                f"{point.language}: {reference} {point.reference:.4f}, {system} "
                f"{point.system:.4f}, gain {point.gain:+.4f} ({', '.join(point.tasks)})",
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" class="point"/>',
                _text(x + 7, y - 6, escape(point.label), "point-label"),
            )
        )
    return "".join(parts) + "</svg>"


class _Span:
    """One axis of a scatter plot: data values (with round ticks) to pixels."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        _, ticks = _axis(high - low)
        step = ticks[1] - ticks[0]
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        last = max(last, first + 1)
        self.ticks = [round(step * i, 10) for i in range(first, last + 1)]
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.start, self.end = start, end

    def to_pixels(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)
