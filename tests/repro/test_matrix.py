from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clirbench.cli import app
from clirbench.errors import InputError
from clirbench.repro.matrix import load_matrix

runner = CliRunner()


def test_shipped_matrix_is_valid_and_has_a_cheap_subset():
    matrix = load_matrix()
    assert matrix.select(cheap_only=True)
    assert all(c.expected for c in matrix.conditions)


def test_cheap_conditions_reproduce(tmp_path: Path):
    result = runner.invoke(app, ["repro", "check", "--cheap", "--store", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cheap = load_matrix().select(cheap_only=True)
    assert f"{sum(len(c.expected) for c in cheap)} OK, 0 FAIL" in result.output


def test_a_wrong_expectation_fails_with_exit_code(tmp_path: Path):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        "conditions:\n  - name: bm25.tiny\n    method: bm25\n    task: tests/data/tiny\n"
        "    expected: {nDCG@10: 0.1, RR@10: 0.875}\n"
    )
    result = runner.invoke(
        app, ["repro", "check", "--matrix", str(matrix), "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 1
    assert "[FAIL] bm25.tiny nDCG@10: expected 0.1000, observed 0.9077" in result.output
    assert "[OK] bm25.tiny RR@10" in result.output
    again = runner.invoke(
        app,
        [
            "repro",
            "check",
            "--matrix",
            str(matrix),
            "--store",
            str(tmp_path / "s"),
            "-c",
            "bm25.tiny",
        ],
    )
    assert "(reused)" in again.output


def test_wide_tolerance_needs_a_reason(tmp_path: Path):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        "conditions:\n  - {name: x, method: bm25, task: t, expected: {AP: 0.1}, tolerance: 0.01}\n"
    )
    with pytest.raises(InputError, match="needs a reason"):
        load_matrix(matrix)
    matrix.write_text(
        "conditions:\n"
        "  - {name: x, method: bm25, task: t, expected: {AP: 0.1}}\n"
        "  - {name: x, method: bm25, task: t, expected: {AP: 0.1}}\n"
    )
    with pytest.raises(InputError, match="duplicate condition names: x"):
        load_matrix(matrix)


def test_pinned_matrix_checks_ok_against_the_store_it_came_from(tmp_path: Path):
    store, matrix = tmp_path / "s", tmp_path / "pinned.yaml"
    assert (
        runner.invoke(
            app, ["run", "-m", "bm25", "-t", "tests/data/tiny", "--store", str(store)]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app,
            [
                "run",
                "-m",
                "bm25",
                "-t",
                "tests/data/tiny",
                "--store",
                str(store),
                "--set",
                "bm25.k1=0.5",
            ],
        ).exit_code
        == 0
    )
    pinned = runner.invoke(
        app,
        ["repro", "pin", "--store", str(store), "--matrix", str(matrix), "--cheap", "bm25[k1=0.5]"],
    )
    assert pinned.exit_code == 0, pinned.output
    conditions = {c.name: c for c in load_matrix(matrix).conditions}
    assert set(conditions) == {
        "bm25.tiny-en-ny",
        "bm25[k1=0.5].tiny-en-ny",
    }  # two configs: labels name the option
    assert conditions["bm25.tiny-en-ny"].options == {}  # defaults are not pinned
    low = conditions["bm25[k1=0.5].tiny-en-ny"]
    assert (
        low.cheap
        and low.options["k1"] == 0.5
        and set(low.expected) == {"nDCG@10", "RR@10", "R@100"}
    )
    checked = runner.invoke(app, ["repro", "check", "--matrix", str(matrix), "--store", str(store)])
    assert (
        checked.exit_code == 0
        and "6 OK, 0 FAIL" in checked.output
        and "(computed)" not in checked.output
    )
    unknown = runner.invoke(
        app, ["repro", "pin", "--store", str(store), "--matrix", str(matrix), "--cheap", "bm42"]
    )
    assert "unknown system label in the store 'bm42'" in str(unknown.exception)
