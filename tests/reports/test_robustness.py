"""The report's robustness section: noisy variants against their clean tasks, kept out of the
main tables, tested paired within the report's one correction."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from clirbench.report import Leaderboard
from clirbench.report.context import ReportError
from clirbench.stats import adjust, compare_systems
from clirbench.store import CellKey, ResultStore, config_hash
from tests.reports.conftest import _manifest

CLEAN = "toy-en-ny"
NOISY = "toy-en-ny/noisy"
QUERIES = 60


def _save(
    store: ResultStore, task: str, method: str, primary: dict[str, float], split: str = "test"
) -> None:
    chash = config_hash(method, {}, 100)
    manifest = _manifest(CLEAN, method, chash)
    manifest["task"].update(name=task, split=split)
    per_query = {"nDCG@10": primary, "RR@10": dict(primary)}
    aggregate = {measure: sum(v.values()) / len(v) for measure, v in per_query.items()}
    run = {qid: {"d1": 1.0} for qid in primary}
    store.save(CellKey(task, split, method, chash), run, per_query, aggregate, manifest)


def _scores() -> dict[str, dict[str, dict[str, float]]]:
    """``fragile`` loses 0.3 on every query under noise; ``steady`` keeps its scores; ``lexical``
    is weaker than both on clean text and loses a little."""
    rng = random.Random(3)
    base = {f"q{i}": rng.uniform(0.5, 0.9) for i in range(QUERIES)}
    return {
        "fragile": {
            CLEAN: base,
            NOISY: {qid: value - 0.3 for qid, value in base.items()},
        },
        "steady": {CLEAN: dict(base), NOISY: dict(base)},
        "lexical": {
            CLEAN: {qid: value - 0.4 for qid, value in base.items()},
            NOISY: {qid: value - 0.4 - rng.uniform(0.0, 0.02) for qid, value in base.items()},
        },
    }


@pytest.fixture
def noisy_store(tmp_path: Path) -> tuple[Path, dict[str, dict[str, dict[str, float]]]]:
    store = ResultStore(tmp_path / "results")
    scores = _scores()
    for method, by_task in scores.items():
        for task, primary in by_task.items():
            _save(store, task, method, primary)
    return tmp_path / "results", scores


def test_noisy_tasks_stay_out_of_the_main_tables(noisy_store) -> None:
    root, scores = noisy_store
    report = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000).report

    assert [task.name for task in report.tasks] == [CLEAN]
    assert [column.label for column in report.overall.columns] == [CLEAN]
    assert [column.tasks for column in report.languages.columns] == [(CLEAN,)]
    assert [column.tasks for column in report.low_resource.columns] == [(CLEAN,)]
    for grouping in report.groupings:
        assert {t for column in grouping.columns for t in column.tasks} == {CLEAN}
    # ... but their runs are in the provenance
    assert {run.task for run in report.runs} == {CLEAN, NOISY}
    means = {row.system: row.mean for row in report.overall.rows}
    for system, by_task in scores.items():
        clean = by_task[CLEAN]
        assert means[system] == pytest.approx(sum(clean.values()) / len(clean))


def test_each_system_is_tested_noisy_against_clean_in_one_correction(noisy_store) -> None:
    root, scores = noisy_store
    report = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000).report

    (task,) = report.robustness.tasks
    assert (task.name, task.base, task.queries) == (NOISY, CLEAN, QUERIES)
    rows = {row.system: row for row in task.rows}
    assert rows["fragile"].change.difference == pytest.approx(-0.3)
    assert rows["fragile"].mark == "↓"
    assert rows["steady"].change.difference == pytest.approx(0.0)
    assert rows["steady"].mark == ""
    # The noise tests are in the report's family: the correction counts them, and the recorded
    # p-values are the uncorrected test's.
    noise_tests = [test for test in report.tests if test.task == NOISY]
    assert len(noise_tests) == 3
    adjusted = adjust([test.p for test in report.tests], "holm")
    assert [test.p_adjusted for test in report.tests] == pytest.approx(list(adjusted))
    clean_only = Leaderboard.from_store(root, tasks=[CLEAN], baseline="lexical", n_resamples=2000)
    assert len(clean_only.report.tests) == len(report.tests) - 3
    fragile = next(test for test in noise_tests if test.a == "fragile (noisy)")
    expected = compare_systems(
        {"noisy": scores["fragile"][NOISY], "clean": scores["fragile"][CLEAN]},
        pairs=[("noisy", "clean")],
        correction="none",
        n_resamples=2000,
        seed=0,
    )[0]
    assert fragile.p == pytest.approx(expected.p_value)
    assert fragile.p_adjusted >= fragile.p


def test_summary_puts_the_most_robust_system_first(noisy_store) -> None:
    root, _ = noisy_store
    summary = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000).report.robustness
    order = [row.system for row in summary.summary]
    assert order[0] == "steady"
    assert order[-1] == "fragile"
    fragile = summary.summary[-1]
    assert fragile.significant_drops == 1
    assert fragile.relative == pytest.approx(
        -0.3 / (sum(_scores()["steady"][CLEAN].values()) / QUERIES)
    )
    assert fragile.worst.label == NOISY
    assert fragile.worst.value == pytest.approx(-0.3)
    assert summary.summary[0].worst is None  # steady: no score fell


def test_rendered_in_markdown_and_html(noisy_store) -> None:
    root, _ = noisy_store
    board = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000)
    markdown, html = board.to_markdown(), board.to_html()
    assert "## Robustness to orthographic noise" in markdown
    assert "| fragile | 1 |" in markdown
    assert 'id="robustness"' in html and 'href="#robustness"' in html
    assert "### toy\\-en\\-ny/noisy" in markdown or "### toy-en-ny/noisy" in markdown


def test_a_report_without_noisy_results_has_no_section(report_store) -> None:
    board = Leaderboard.from_store(report_store, n_resamples=2000)
    assert board.report.robustness is None
    assert "Robustness" not in board.to_markdown()


def test_a_noisy_task_without_its_clean_task_is_shown_untested(noisy_store) -> None:
    root, scores = noisy_store
    store = ResultStore(root.parent / "other")
    for system, by_task in scores.items():
        _save(store, NOISY, system, by_task[NOISY])
        _save(store, "toy-en-fr", system, by_task[CLEAN])
        _save(store, CLEAN, system, by_task[CLEAN], split="dev")  # not the noisy task's split
    report = Leaderboard.from_store(store.root, baseline=None, n_resamples=2000).report
    (task,) = report.robustness.tasks
    assert task.base == ""
    assert all(row.clean is None and row.change.p_adjusted is None for row in task.rows)
    assert report.robustness.summary == ()
    assert not [test for test in report.tests if test.task == NOISY]
    assert "not in this report on this split" in Leaderboard(report).to_markdown()


def test_the_clean_task_of_the_same_split_is_paired(noisy_store) -> None:
    root, scores = noisy_store
    store = ResultStore(root)
    for system, by_task in scores.items():
        _save(store, CLEAN, system, dict.fromkeys(by_task[CLEAN], 0.0), split="dev")
    report = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000).report
    (task,) = report.robustness.tasks
    assert task.base == f"{CLEAN} (test)"
    assert {row.system: row.change.difference for row in task.rows}["fragile"] == pytest.approx(
        -0.3
    )


def test_a_system_on_the_noisy_task_only_is_shown_untested(noisy_store) -> None:
    root, scores = noisy_store
    _save(ResultStore(root), NOISY, "noisy-only", scores["steady"][NOISY])
    report = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000).report
    rows = {row.system: row for row in report.robustness.tasks[0].rows}
    assert rows["noisy-only"].clean is None and rows["noisy-only"].change.p_adjusted is None
    assert "noisy-only" not in {row.system for row in report.robustness.summary}
    assert rows["fragile"].change.significant


def test_noisy_and_clean_results_on_different_queries_are_a_clear_error(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    for system, by_task in _scores().items():
        _save(store, CLEAN, system, by_task[CLEAN])
        _save(store, NOISY, system, dict(list(by_task[NOISY].items())[:-1]))
    with pytest.raises(ReportError, match=r"different queries.*--overwrite"):
        Leaderboard.from_store(store.root, n_resamples=2000, baseline=None)


def test_noisy_results_alone_make_no_report(noisy_store) -> None:
    root, scores = noisy_store
    store = ResultStore(root.parent / "noisy-only")
    for system, by_task in scores.items():
        _save(store, NOISY, system, by_task[NOISY])
    with pytest.raises(ReportError, match="noisy-variant results"):
        Leaderboard.from_store(store.root, n_resamples=2000)


def test_csv_has_one_row_per_noisy_task_and_system(noisy_store) -> None:
    import csv
    import io

    root, _ = noisy_store
    board = Leaderboard.from_store(root, baseline="lexical", n_resamples=2000)
    rows = list(csv.DictReader(io.StringIO(board.to_csv("robustness"))))
    assert {row["system"] for row in rows} == {"fragile", "steady", "lexical"}
    fragile = next(row for row in rows if row["system"] == "fragile")
    assert (fragile["task"], fragile["clean_task"]) == (NOISY, CLEAN)
    assert float(fragile["change"]) == pytest.approx(-0.3)
    assert fragile["significant"] == "True"
    assert float(fragile["clean"]) - float(fragile["noisy"]) == pytest.approx(0.3)
