"""Render a leaderboard context with Jinja2: Markdown, and one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clirbench.report.plots import overall_bars, task_bars

TEMPLATES = Path(__file__).parent / "templates"
MARKDOWN, HTML = "leaderboard.md", "leaderboard.html"


def render_markdown(context: dict[str, Any]) -> str:
    return _environment().get_template(f"{MARKDOWN}.j2").render(context)


def render_html(context: dict[str, Any]) -> str:
    """The HTML page, with its plots drawn inline as SVG."""
    from markupsafe import Markup

    measure, baseline = context["settings"]["measure"], context["settings"]["baseline"]
    plots = {task["name"]: Markup(task_bars(task, measure)) for task in context["tasks"]}
    overall = Markup(overall_bars(context["overall"], measure, baseline))
    template = _environment().get_template(f"{HTML}.j2")
    return template.render(context, plots=plots, overall_plot=overall)


def _environment() -> Any:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        num=_number, signed=_signed, sortkey=_sort_key, md=_markdown_cell, breakable=_breakable
    )
    return environment


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _sort_key(value: float | None) -> str:
    """A table cell's ``data-sort`` value for the page's script: full precision, empty when missing."""
    return "" if value is None else repr(value)


def _breakable(value: Any) -> Any:
    """HTML text that may wrap after each ``/`` (task names in narrow table headers)."""
    from markupsafe import Markup, escape

    return Markup("/<wbr>").join(escape(part) for part in str(value).split("/"))


def _markdown_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")
