"""The Leaderboard object: one typed report, five presentations, filters by task and method."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError, UnknownNameError
from clirbench.report import Leaderboard, write_report
from clirbench.report.context import ReportError
from clirbench.store import CellKey, ResultStore
from tests.reports.conftest import MEASURES, NOT_RUN_REASON, TASKS

RESAMPLES = 2000


@pytest.fixture
def board(report_store: Path) -> Leaderboard:
    return Leaderboard.from_store(report_store, n_resamples=RESAMPLES)


def test_markdown_and_html_are_what_the_report_command_writes(
    board: Leaderboard, report_store: Path, tmp_path: Path
):
    markdown_path, html_path = write_report(report_store, tmp_path / "out", n_resamples=RESAMPLES)
    assert board.to_markdown() == markdown_path.read_text(encoding="utf-8")
    assert board.to_html() == html_path.read_text(encoding="utf-8")
    assert (board.measure, board.systems, board.tasks) == (
        "nDCG@10",
        ["bm25", "clone", "strong"],
        sorted(TASKS),
    )


def test_to_dict_is_json_and_holds_the_tables(board: Leaderboard):
    data = board.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["settings"]["measure"] == "nDCG@10" and data["settings"]["baseline"] == "bm25"
    assert next(row["system"] for row in data["overall"]["rows"]) == "strong"
    assert data["not_run"][0]["reason"] == NOT_RUN_REASON
    data["systems"].append("changed")  # a copy: the leaderboard is unchanged
    assert board.systems == ["bm25", "clone", "strong"]
    # Every corrected test of the report, with its interval and both p-values.
    assert len(data["tests"]) == data["settings"]["comparisons"]
    assert all(t["p_adjusted"] >= t["p"] and t["ci_low"] <= t["ci_high"] for t in data["tests"])


def test_to_csv_has_a_row_per_task_and_system(board: Leaderboard):
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert len(rows) == len(TASKS) * 3
    by_key = {(row["task"], row["system"]): row for row in rows}
    for task in board.report.tasks:
        for rank, view in enumerate(task.rows, start=1):
            row = by_key[(task.name, view.system)]
            assert int(row["rank"]) == rank
            assert [float(row[m]) for m in MEASURES] == pytest.approx(view.scores, abs=0)
            assert float(row["nDCG@10_ci_low"]) == view.ci_low and row["marks"] == view.marks
    strong = by_key[("toy-en-ny", "strong")]
    assert strong["rank"] == "1" and strong["delta_vs_best"] == "" and strong["marks"] == "↑"
    assert float(by_key[("toy-en-ny", "clone")]["p_adjusted_vs_baseline"]) == 1.0


def test_to_latex_is_a_booktabs_table_with_bold_best_and_superscript_marks(board: Leaderboard):
    latex = board.to_latex()
    for command in (
        r"\begin{table}",
        r"\toprule",
        r"\midrule",
        r"\bottomrule",
        r"\end{tabular}",
        r"\caption{",
    ):
        assert command in latex
    assert r"\begin{tabular}{lrrr}" in latex  # system, two tasks, mean
    body = latex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0].strip().splitlines()
    assert [line.split(" & ")[0] for line in body] == ["strong", "bm25", "clone"]
    strong, bm25 = body[0].split(" & "), body[1].split(" & ")
    assert re.fullmatch(
        r"\\textbf\{0\.\d{4}\}\$\^\{\\uparrow\}\$", strong[1]
    )  # best, and above the baseline
    assert re.fullmatch(r"0\.\d{4}\$\^\{\\dagger\}\$", bm25[1])  # below the best
    assert strong[-1].startswith(r"\textbf{") and strong[-1].endswith(
        r"} \\"
    )  # the best mean, bold too
    assert r"$^{\dagger}$ significantly worse than the best system" in latex


def test_to_latex_of_one_task_shows_its_measures(board: Leaderboard):
    latex = board.to_latex("toy-en-fr", digits=3, label="tab:fr")
    assert r"System & nDCG@10 & RR@10 \\" in latex and r"\label{tab:fr}" in latex
    strong = next(line for line in latex.splitlines() if line.startswith("strong &"))
    assert re.fullmatch(
        r"strong & \\textbf\{0\.\d{3}\}\$\^\{\\uparrow\}\$ & \\textbf\{0\.\d{3}\} \\\\", strong
    )
    with pytest.raises(UnknownNameError, match="Did you mean 'toy-en-fr'"):
        board.to_latex("toy-en-fx")


def test_latex_escapes_system_names(report_store: Path):
    from clirbench.store import CellKey, ResultStore

    store = ResultStore(report_store)
    cell = next(store.cells())
    manifest = {
        **cell.manifest,
        "method": {**cell.manifest["method"], "name": "my_method", "label": "my_method[a=50%]"},
    }
    store.save(
        CellKey(cell.manifest["task"]["name"], "test", "my_method", "3" * 12),
        cell.run,
        cell.per_query,
        cell.aggregate,
        manifest,
    )
    latex = Leaderboard.from_store(report_store, n_resamples=100).to_latex()
    assert (
        r"my\_method[a=50\%]" in latex and "--" in latex
    )  # and it has only one task: a dash for the other


def test_filter_by_task_and_method(report_store: Path):
    board = Leaderboard.from_store(
        report_store, tasks=["toy-en-fr"], methods=["bm25", "strong"], n_resamples=100
    )
    assert board.tasks == ["toy-en-fr"] and board.systems == ["bm25", "strong"]
    assert [column.label for column in board.report.overall.columns] == ["toy-en-fr"]
    assert board.report.settings.comparisons == 1
    assert "| clone |" not in board.to_markdown() and "toy-en-ny" not in board.to_csv()
    assert board.report.not_run == ()  # mbert is not among the methods asked for
    with_mbert = Leaderboard.from_store(
        report_store, tasks=["toy-en-fr"], methods=["bm25", "mbert", "strong"], n_resamples=100
    )
    assert with_mbert.report.not_run[0].tasks == ("toy-en-fr",)


def test_filter_errors_name_what_the_store_holds(report_store: Path):
    with pytest.raises(UnknownNameError, match=r"unknown task in the store 'toy-en-fx'.*toy-en-fr"):
        Leaderboard.from_store(report_store, tasks=["toy-en-fx"])
    with pytest.raises(
        UnknownNameError, match=r"unknown method or system .* 'strnog'. Did you mean 'strong'"
    ):
        Leaderboard.from_store(report_store, methods=["strnog"])
    with pytest.raises(ReportError, match="no task of suite:bible in the store"):
        Leaderboard.from_store(report_store, tasks=["suite:bible"])
    with pytest.raises(ReportError, match="baseline 'bm25' is not among the systems"):
        Leaderboard.from_store(report_store, methods=["strong", "clone"])


def test_measures_shown_and_primary(report_store: Path):
    board = Leaderboard.from_store(
        report_store, measures=["MRR@10"], baseline=None, n_resamples=100
    )
    assert board.measure == "RR@10"
    assert all(task.measures == ("RR@10",) for task in board.report.tasks)
    board = Leaderboard.from_store(
        report_store, measure="nDCG@10", measures=["RR@10"], n_resamples=100
    )
    assert board.report.tasks[0].measures == ("nDCG@10", "RR@10")  # the primary joins the shown
    with pytest.raises(ClirbenchError, match="task 'toy-en-fr' is not scored by AP"):
        Leaderboard.from_store(report_store, measures=["nDCG@10", "AP"], n_resamples=100)


def test_report_command_filters_tasks_and_methods(report_store: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from clirbench.cli import app

    out = tmp_path / "filtered"
    args = [
        "report",
        "--store",
        str(report_store),
        "--out",
        str(out),
        "--resamples",
        "100",
        "-t",
        "toy-en-ny",
        "-m",
        "bm25,strong",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "| toy-en-ny |" in markdown and "| toy-en-fr |" not in markdown
    assert "| strong |" in markdown and "| clone |" not in markdown


def test_a_label_selects_one_system_a_method_name_all_its_configurations(report_store: Path):
    """``optical`` is the system so labelled, not ``optical[maxp]`` too; ``nmt``, where every
    configuration has a qualified label (``nmt[lexical]``, ...), stands for all of them."""
    store = ResultStore(report_store)
    for cell in list(store.cells()):
        if cell.system[0] != "strong":
            continue
        for method, k1, chash in (
            ("strong", 0.9, "f" * 12),
            ("tuned", 0.9, "e" * 12),
            ("tuned", 1.2, "d" * 12),
        ):
            manifest = copy.deepcopy(cell.manifest)
            manifest["method"].update(
                name=method, options={"k1": k1}, identity_options={"k1": k1}, config_hash=chash
            )
            key = CellKey(cell.key.task, cell.key.split, method, chash)
            store.save(key, cell.run, cell.per_query, cell.aggregate, manifest)
    everything = Leaderboard.from_store(report_store, n_resamples=100).systems
    assert {"strong", "strong[k1=0.9]", "tuned[k1=0.9]", "tuned[k1=1.2]"} <= set(everything)
    only_label = Leaderboard.from_store(report_store, methods=["bm25", "strong"], n_resamples=100)
    assert only_label.systems == ["bm25", "strong"]
    tuned = Leaderboard.from_store(
        report_store, methods=["bm25", "strong[k1=0.9]"], n_resamples=100
    )
    assert tuned.systems == ["bm25", "strong[k1=0.9]"]
    every = Leaderboard.from_store(report_store, methods=["bm25", "tuned"], n_resamples=100)
    assert every.systems == ["bm25", "tuned[k1=0.9]", "tuned[k1=1.2]"]
