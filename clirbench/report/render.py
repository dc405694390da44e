"""Render a report with Jinja2: Markdown, and one self-contained HTML page.

The templates' variables are the fields of :class:`clirbench.report.model.Report` (``tasks``,
``overall``, ...) and ``marks_by_kind``; the HTML page gets its plots besides.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clirbench.report.plots import gain_scatter, overall_bars, task_bars

if TYPE_CHECKING:
    from clirbench.report.model import Report

TEMPLATES = Path(__file__).parent / "templates"
MARKDOWN, HTML = "leaderboard.md", "leaderboard.html"


def render_markdown(report: Report) -> str:
    return _environment().get_template(f"{MARKDOWN}.j2").render(_variables(report))


def render_html(report: Report) -> str:
    """The HTML page, with its plots drawn inline as SVG."""
    from markupsafe import Markup

    measure, baseline = report.settings.measure, report.settings.baseline
    plots = {task.name: Markup(task_bars(task, measure)) for task in report.tasks}
    overall = Markup(overall_bars(report.overall, measure, baseline))
    gain = report.gain
    gain_plot = Markup(gain_scatter(gain, measure)) if gain is not None else None
    template = _environment().get_template(f"{HTML}.j2")
    return template.render(
        _variables(report), plots=plots, overall_plot=overall, gain_plot=gain_plot
    )


def _variables(report: Report) -> dict[str, Any]:
    """The report's fields as the templates' variables."""
    fields = {name: getattr(report, name) for name in type(report).model_fields}
    return {**fields, "marks_by_kind": report.marks_by_kind}


def _environment() -> Any:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        num=_number,
        signed=_signed,
        sortkey=_sort_key,
        md=_markdown_cell,
        md_code=_markdown_code,
        breakable=_breakable,
    )
    return environment


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _sort_key(value: float | None) -> str:
    """A table cell's ``data-sort`` value for the page's script.

    Full precision, and empty when the value is missing.
    """
    return "" if value is None else repr(value)


def _breakable(value: Any) -> Any:
    """HTML text that may wrap after each ``/`` (task names in narrow table headers)."""
    from markupsafe import Markup, escape

    return Markup("/<wbr>").join(escape(part) for part in str(value).split("/"))


# Markdown's active characters; "_" only at a word's edge (eng_Latn stays as it is), "]" only
# before "(", "[" or ":" (a link or a reference), "[" only before "^" (a footnote).
_MARKDOWN_SPECIAL = re.compile(r"[\\`*|~#<>&\r\n]|(?<![^\W_])_|_(?![^\W_])|\](?=[(\[:])|\[(?=\^)")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "}


def _markdown_cell(value: Any) -> str:
    """Text shown as itself in Markdown, table cells included: no HTML, links or emphasis.

    HTML's ``<``, ``>``, ``&`` become entities; Markdown's punctuation is backslash-escaped.
    """
    return _MARKDOWN_SPECIAL.sub(lambda found: _ENTITIES.get(found[0], "\\" + found[0]), str(value))


def _markdown_code(value: Any) -> str:
    """A code span showing ``value`` as it is, even inside a table cell.

    Backslash escapes do not work in code spans, so the span's fence is one backtick longer
    than the longest run in the text; GFM tables still need ``|`` escaped there.
    """
    text = " ".join(str(value).splitlines()) or " "
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"
