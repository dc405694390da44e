"""Render the leaderboard context with Jinja2 into Markdown and HTML, and write both files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from clirbench.fileio import atomic_write_text
from clirbench.report.context import Settings, build_context
from clirbench.report.plots import task_bars
from clirbench.store import ResultStore

TEMPLATES = Path(__file__).parent / "templates"
MARKDOWN, HTML = "leaderboard.md", "leaderboard.html"


def write_report(
    store_root: Path,
    out_dir: Path,
    *,
    baseline: str | None = "bm25",
    measure: str | None = None,
    correction: str = "holm",
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``leaderboard.md`` and ``leaderboard.html`` for the store at ``store_root``.

    ``measure`` is the primary measure (default: the first measure of the task cards);
    ``correction`` ("holm", "bh" or "none") applies to every comparison in the report at once.
    """
    settings = Settings(measure=measure, baseline=baseline, correction=correction, alpha=alpha, n_resamples=n_resamples, seed=seed)
    context = build_context(ResultStore(store_root), settings)
    markdown, html = render(context)
    markdown_path, html_path = Path(out_dir) / MARKDOWN, Path(out_dir) / HTML
    atomic_write_text(markdown_path, markdown)
    atomic_write_text(html_path, html)
    return markdown_path, html_path


def render(context: dict[str, Any]) -> tuple[str, str]:
    """The Markdown and the HTML text of a leaderboard context."""
    from markupsafe import Markup

    environment = _environment()
    plots = {task["name"]: Markup(task_bars(task, context["settings"]["measure"])) for task in context["tasks"]}
    markdown = environment.get_template(f"{MARKDOWN}.j2").render(context)
    html = environment.get_template(f"{HTML}.j2").render(context, plots=plots)
    return markdown, html


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
        num=_number, signed=_signed, sortkey=_sort_key, md=_markdown_cell, md_code=_markdown_code
    )
    return environment


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _sort_key(value: float | None) -> str:
    """A table cell's ``data-sort`` value for the page's script: full precision, empty when missing."""
    return "" if value is None else repr(value)


# Markdown's active characters; "_" only at a word's edge (eng_Latn stays as it is), "]" only
# before "(", "[" or ":" (a link or a reference), "[" only before "^" (a footnote).
_MARKDOWN_SPECIAL = re.compile(r"[\\`*|~#<>&\r\n]|(?<![^\W_])_|_(?![^\W_])|\](?=[(\[:])|\[(?=\^)")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "}


def _markdown_cell(value: Any) -> str:
    """Text shown as itself in Markdown, table cells included: no HTML, links or emphasis.

    HTML's ``<``, ``>``, ``&`` become entities; Markdown's punctuation is backslash-escaped.
    """
    return _MARKDOWN_SPECIAL.sub(
        lambda found: _ENTITIES.get(found[0], "\\" + found[0]), str(value)
    )


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
