"""The leaderboard from a small synthetic store: tables, significance marks, provenance, errors."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clirbench.cli import app
from clirbench.errors import ClirbenchError
from clirbench.report import Leaderboard, write_report
from clirbench.report.context import ReportError
from clirbench.store import CellKey, ResultStore, StoreError
from tests.reports.conftest import CELL_SECONDS, COMMAND, NOT_RUN_REASON, TASKS

RESAMPLES = 2000


def _task_section(markdown: str, task: str) -> str:
    return markdown.split(f"### {task}\n", 1)[1].split("\n#", 1)[0]


def _row(table: str, system: str) -> list[str]:
    (line,) = [line for line in table.splitlines() if line.startswith(f"| {system} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.fixture
def report(report_store: Path, tmp_path: Path) -> tuple[str, str]:
    markdown_path, html_path = write_report(report_store, tmp_path / "out", n_resamples=RESAMPLES)
    assert (markdown_path.name, html_path.name) == ("leaderboard.md", "leaderboard.html")
    return markdown_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")


def test_markdown_tables_and_best_system(report: tuple[str, str]):
    markdown, _ = report
    for heading in (
        "## Overall",
        "## By language",
        "## Low-resource tasks",
        "## Not run",
        "## Reproduce",
    ):
        assert heading in markdown
    overall = markdown.split("## Overall", 1)[1].split("\n## ", 1)[0]
    first_row = next(
        line
        for line in overall.splitlines()
        if line.startswith("| ") and not line.startswith("| System")
    )
    assert first_row.startswith("| strong | **")
    for task in TASKS:
        assert f"- {task}: strong\n" in markdown  # alone at the top: the others are far worse
    assert "| eng_Latn→nya_Latn |" in markdown.split("## By language", 1)[1]
    low_resource = markdown.split("## Low-resource tasks", 1)[1].split("\n## ", 1)[0]
    assert "toy-en-ny" in low_resource and "toy-en-fr" not in low_resource
    assert "holm correction over the whole report (6 comparisons)" in markdown


def test_significance_marks(report: tuple[str, str]):
    markdown, _ = report
    for task in TASKS:
        table = _task_section(markdown, task)
        strong, bm25, clone = _row(table, "strong"), _row(table, "bm25"), _row(table, "clone")
        assert strong[1].startswith("**") and strong[1].endswith("↑")  # better than the baseline
        assert bm25[1].endswith("†") and clone[1].endswith("†")  # worse than the best
        assert "↑" not in "".join(clone) and "↓" not in "".join(
            clone
        )  # clone is identical to the baseline
        assert clone[-2:] == ["+0.0000", "1.0000"]
        assert re.fullmatch(r"\[0\.\d{4}, 0\.\d{4}\]", strong[3])


def test_not_run_and_provenance(report: tuple[str, str]):
    markdown, html = report
    not_run = markdown.split("## Not run", 1)[1].split("\n## ", 1)[0]
    assert "| mbert |" in not_run and NOT_RUN_REASON in not_run
    assert f"`{COMMAND}`" in markdown
    assert (
        "f870ddcd0417" in markdown
        and "2026-11-25T12:00:00+00:00" in markdown
        and "numpy 2.4.6" in markdown
    )
    assert NOT_RUN_REASON in html and COMMAND in html
    reproduce = markdown.split("## Reproduce", 1)[1]
    runs = [line for line in reproduce.splitlines() if line.startswith("| toy-")]
    assert len(runs) == 6  # 2 tasks x 3 systems, each with its measured seconds
    assert all(line.strip("|").split("|")[5].strip() == f"{CELL_SECONDS:.0f}" for line in runs)
    assert f"| `{COMMAND}` | 6 | {6 * CELL_SECONDS:.0f} |" in reproduce  # the command's cost


def test_cells_without_a_recorded_time_are_counted_apart(report_store: Path, tmp_path: Path):
    store = ResultStore(report_store)
    cell = next(store.cells())
    untimed = {key: value for key, value in cell.manifest.items() if key != "timings"}
    store.save(
        CellKey(cell.manifest["task"]["name"], "test", *cell.system),
        cell.run,
        cell.per_query,
        cell.aggregate,
        untimed,
    )
    markdown = Leaderboard.from_store(report_store, n_resamples=100).to_markdown()
    assert f"| `{COMMAND}` | 6 | {5 * CELL_SECONDS:.0f} (1 not timed) |" in markdown


def test_html_is_self_contained(report: tuple[str, str]):
    _, html = report
    assert not re.search(
        r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, flags=re.IGNORECASE
    )
    assert "<script>" in html and "<style>" in html
    assert html.count("<svg") == len(TASKS) + 1  # one per task, one overall
    assert html.count('<table class="sortable">') == 3 + 2 + len(TASKS) + 2  # 2: the groupings


def test_labels_name_the_options_of_a_second_configuration(report_store: Path, tmp_path: Path):
    store = ResultStore(report_store)
    for cell in [c for c in store.cells() if c.path.name.startswith("bm25@")]:
        method = {
            **cell.manifest["method"],
            "identity_options": {"k1": 0.9},
            "config_hash": "0" * 12,
        }
        key = CellKey(cell.manifest["task"]["name"], "test", "bm25", "0" * 12)
        store.save(
            key, cell.run, cell.per_query, cell.aggregate, {**cell.manifest, "method": method}
        )
    markdown_path, _ = write_report(
        report_store, tmp_path / "out", baseline="bm25[k1=0.9]", n_resamples=100
    )
    markdown = markdown_path.read_text(encoding="utf-8")
    assert (
        "| bm25 |" in markdown
        and r"| bm25\[k1=0.9\] |"
        in markdown.replace("bm25[k1", r"bm25\[k1").replace("0.9]", r"0.9\]")
    ) or "bm25[k1=0.9]" in markdown
    assert "@" + "0" * 12 not in markdown  # no bare hash


def test_html_escapes_names(report_store: Path, tmp_path: Path):
    store = ResultStore(report_store)
    cell = next(store.cells())
    manifest = {**cell.manifest, "method": {**cell.manifest["method"], "name": "<b>x"}}
    store.save(
        CellKey(cell.manifest["task"]["name"], "test", "<b>x", "1" * 12),
        cell.run,
        cell.per_query,
        cell.aggregate,
        manifest,
    )
    _, html_path = write_report(report_store, tmp_path / "out", n_resamples=100)
    html = html_path.read_text(encoding="utf-8")
    assert "<b>x" not in html and "&lt;b&gt;x" in html


def test_empty_store_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ReportError, match=r"no results in .*; run `clirbench run` first"):
        write_report(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"baseline": "bm2"}, "baseline 'bm2' is not among the systems"),
        ({"measure": "AP"}, "measure 'AP' is not scored on every task"),
        ({"correction": "bonferroni"}, "unknown correction 'bonferroni'"),
        ({"alpha": 1.5}, "alpha must be between 0 and 1"),
    ],
)
def test_bad_settings(report_store: Path, tmp_path: Path, options: dict, message: str):
    with pytest.raises(ClirbenchError, match=re.escape(message)):
        write_report(report_store, tmp_path / "out", n_resamples=100, **options)


def test_other_primary_measure(report_store: Path, tmp_path: Path):
    markdown_path, _ = write_report(
        report_store, tmp_path / "out", measure="MRR@10", correction="bh", n_resamples=100
    )
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "Primary measure: **RR@10**" in markdown and "bh correction" in markdown


def test_cli_prints_both_paths(report_store: Path, tmp_path: Path):
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["report", "--store", str(report_store), "--out", str(out), "--resamples", "100"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "leaderboard.md"), str(out / "leaderboard.html")]


def test_too_few_resamples_for_the_correction_is_said_on_screen_and_in_the_report(
    report_store: Path, tmp_path: Path
):
    """With 1/(1+resamples) as the smallest p-value, Holm over m comparisons needs
    resamples >= m/alpha - 1 for anything to be significant: below that the report says so."""
    from clirbench.report import Leaderboard

    settings = Leaderboard.from_store(report_store, n_resamples=100).report.settings
    m = settings.comparisons
    assert m / 101 > 0.05  # the fixture has enough comparisons for 100 resamples to be too few
    needed = math.ceil(m / 0.05)
    for resamples, warned in [(100, True), (needed - 2, True), (needed, False)]:
        out = tmp_path / f"r{resamples}"
        args = ["report", "--store", str(report_store), "--out", str(out)]
        result = CliRunner().invoke(app, [*args, "--resamples", str(resamples)])
        assert result.exit_code == 0, result.output
        markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
        html = (out / "leaderboard.html").read_text(encoding="utf-8")
        if warned:
            expected = f"over {m} comparisons no difference can be significant at 0.05; rerun "
            expected += f"with --resamples {needed} or more"
            assert expected in result.stderr
            assert f"**Warning**: with {resamples} resamples" in markdown and expected in markdown
            assert expected in html
            assert "†" not in markdown.split("## Overall")[1].split("\n## ")[0]
        else:
            assert "warning" not in result.stderr and "**Warning**" not in markdown
            assert "Warning" not in html


def test_method_label_names_the_system(report_store: Path, tmp_path: Path):
    store = ResultStore(report_store)
    cell = next(store.cells())
    manifest = {
        **cell.manifest,
        "method": {**cell.manifest["method"], "name": "nmt", "label": "nmt[lexical]"},
    }
    store.save(
        CellKey(cell.manifest["task"]["name"], "test", "nmt", "2" * 12),
        cell.run,
        cell.per_query,
        cell.aggregate,
        manifest,
    )
    markdown_path, _ = write_report(report_store, tmp_path / "out", n_resamples=100)
    assert "nmt[lexical]" in markdown_path.read_text(encoding="utf-8")


def test_dev_and_test_of_one_task_are_shown_apart(report_store: Path, tmp_path: Path):
    store = ResultStore(report_store)
    for cell in [c for c in store.cells() if c.manifest["task"]["name"] == "toy-en-ny"]:
        task = {**cell.manifest["task"], "split": "dev"}
        key = CellKey(
            "toy-en-ny",
            "dev",
            cell.manifest["method"]["name"],
            cell.manifest["method"]["config_hash"],
        )
        store.save(key, cell.run, cell.per_query, cell.aggregate, {**cell.manifest, "task": task})
    markdown_path, _ = write_report(report_store, tmp_path / "out", n_resamples=100)
    markdown = markdown_path.read_text(encoding="utf-8")
    assert (
        "toy-en-ny (dev)" in markdown
        and "toy-en-ny (test)" in markdown
        and "toy-en-fr (" not in markdown
    )


def _split_by_task(root: Path, tmp_path: Path) -> list[Path]:
    """The cells of ``root`` in two stores, one per task, with the not-run record in both."""
    whole = ResultStore(root)
    parts = {task: ResultStore(tmp_path / task) for task in TASKS}
    for cell in whole.cells():
        task = cell.manifest["task"]["name"]
        parts[task].save(cell.key, cell.run, cell.per_query, cell.aggregate, cell.manifest)
    for item in whole.not_run():
        for task, part in parts.items():
            part.record_not_run(
                item["method"], item["config_hash"], item["reason"], [task], item["options"]
            )
    return [tmp_path / task for task in TASKS]


def test_several_stores_make_the_report_of_their_cells_together(report_store: Path, tmp_path: Path):
    parts = _split_by_task(report_store, tmp_path / "parts")
    one = Leaderboard.from_store(report_store, n_resamples=200)
    several = Leaderboard.from_store(parts, n_resamples=200)
    assert several.to_markdown() == one.to_markdown()
    assert several.report.not_run[0].tasks == tuple(TASKS)

    out = tmp_path / "reports"
    args = ["report", "--store", str(parts[0]), "--store", str(parts[1]), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert (out / "leaderboard.md").read_text(encoding="utf-8") == one.to_markdown()


def test_compare_takes_several_stores_as_one(report_store: Path, tmp_path: Path):
    """``compare --store a --store b`` tests the same pairs, with the same correction, as
    ``compare`` on one store holding both stores' cells; a cell in both is refused."""
    parts = _split_by_task(report_store, tmp_path / "parts")
    args = ["compare", "-m", "bm25,strong", "--resamples", "200", "--json"]
    one = CliRunner().invoke(app, [*args, "--store", str(report_store)])
    several = CliRunner().invoke(app, [*args, "--store", str(parts[0]), "--store", str(parts[1])])
    assert one.exit_code == 0 and several.exit_code == 0, several.output
    compared = json.loads(several.output)["comparisons"]
    assert compared == json.loads(one.output)["comparisons"]
    assert {row["task"] for row in compared} == set(TASKS) and len(compared) == len(TASKS)
    twice = CliRunner().invoke(app, [*args, "--store", str(report_store), "--store", str(parts[0])])
    assert isinstance(twice.exception, StoreError)  # exit code 2 with its message in `main`
    assert "same result is in two stores" in str(twice.exception)


def test_a_cell_in_two_stores_is_a_clear_error(report_store: Path, tmp_path: Path):
    parts = _split_by_task(report_store, tmp_path / "parts")
    with pytest.raises(StoreError, match=r"same result is in two stores: .*pass each store once"):
        Leaderboard.from_store([report_store, *parts], n_resamples=100)
