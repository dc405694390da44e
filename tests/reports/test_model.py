"""The typed report: frozen records, the paired tests behind every mark, one record type for
the report's tests and ``compare``'s."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from clirbench.report import Leaderboard
from clirbench.report.model import MARKS, PairedTests, Report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    from tests.reports.conftest import build_store

    root = Path(tmp_path_factory.mktemp("model")) / "results"
    build_store(root)
    return Leaderboard.from_store(root, n_resamples=500).report


def test_records_are_frozen(report: Report):
    row = report.tasks[0].rows[0]
    with pytest.raises(ValidationError, match="frozen"):
        row.primary = 1.0
    with pytest.raises(TypeError):
        report.tasks[0].rows[0].scores[0] = 1.0  # type: ignore[index]


def test_each_rows_comparisons_are_its_paired_tests_seen_from_its_side(report: Report):
    by_pair = {(t.task, frozenset((t.a, t.b))): t for t in report.tests}
    assert len(by_pair) == len(report.tests) == report.settings.comparisons
    seen = set()
    for task in report.tasks:
        for row in task.rows:
            for other, versus in (
                (task.best, row.vs_best),
                (report.settings.baseline, row.vs_baseline),
            ):
                test = by_pair.get((task.name, frozenset((row.system, other))))
                if test is None:
                    assert versus.difference is None and not versus.significant
                    continue
                sign = 1 if test.a == row.system else -1
                assert versus.difference == sign * test.difference
                assert versus.effect_size == sign * test.d_z
                assert (versus.p_adjusted, versus.significant) == (
                    test.p_adjusted,
                    test.significant,
                )
                assert test.ci_low <= test.difference <= test.ci_high and test.p <= test.p_adjusted
                seen.add(test)
            assert row.marks == "".join(MARKS[kind] for kind in row.mark_kinds)
    assert seen == set(report.tests)  # every test is behind some row's comparison


def test_compare_json_is_the_reports_record_type(tmp_path: Path):
    from clirbench.cli import app
    from tests.reports.conftest import build_store

    build_store(tmp_path / "results")
    args = ["compare", "strong", "bm25", "--store", str(tmp_path / "results"), "--json"]
    result = CliRunner().invoke(app, [*args, "--resamples", "500"])
    assert result.exit_code == 0, result.output
    compared = PairedTests.model_validate_json(result.output)
    assert [t.task for t in compared.comparisons] == ["toy-en-fr", "toy-en-ny"]
    for test in compared.comparisons:
        assert (test.a, test.b, test.measure) == ("strong", "bm25", "nDCG@10")
        assert test.difference == pytest.approx(test.mean_a - test.mean_b, abs=1e-12)
        assert test.significant and test.d_z > 0
