"""Labels, task names and recorded strings reach the Markdown leaderboard as text, not markup."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from clirbench.report.context import Settings, build_report
from clirbench.report.render import render_markdown
from clirbench.store import ResultStore
from tests.reports.conftest import COMMAND, build_store

HOSTILE = {
    "strong": "<img src=x onerror=alert(1)>|**x**",
    "clone": "[c](javascript:alert(1))",
    "toy-en-ny": "<script>t</script>_`x`_",
    "synthetic": "[src]: http://evil.example",
    COMMAND: "run `x` | y",
}


def _replace(value: Any) -> Any:
    if isinstance(value, str):
        return HOSTILE.get(value, value)
    if isinstance(value, BaseModel):
        fields = {name: _replace(getattr(value, name)) for name in type(value).model_fields}
        return value.model_copy(update=fields)
    if isinstance(value, dict):
        return {key: _replace(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_replace(item) for item in value)
    return value


@pytest.fixture(scope="module")
def markdown(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = Path(tmp_path_factory.mktemp("md")) / "results"
    build_store(root)
    return render_markdown(_replace(build_report(ResultStore(root), Settings(n_resamples=200))))


def test_no_raw_html_or_links(markdown: str):
    assert "<img" not in markdown and "<script" not in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert not re.search(r"(?<!\\)\]\(javascript", markdown) and "[c\\](javascript" in markdown
    assert "\n[src]:" not in markdown and "[src\\]:" in markdown


def test_table_rows_keep_their_columns(markdown: str):
    unescaped_pipe = re.compile(r"(?<!\\)\|")
    for table in re.findall(r"(?:^\|.*\n)+", markdown, flags=re.MULTILINE):
        rows = table.splitlines()
        widths = {len(unescaped_pipe.findall(row)) for row in rows}
        assert len(widths) == 1, rows


def test_emphasis_and_code_are_escaped(markdown: str):
    assert "\\*\\*x\\*\\*" in markdown and "&lt;script&gt;t&lt;/script&gt;\\_\\`x\\`\\_" in markdown
    assert "``run `x` \\| y``" in markdown  # a code span longer than the backticks inside
