from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clirbench.cli import app
from tests.conftest import TINY

runner = CliRunner()


def test_run_folder_stores_cells_and_prints_summary(tmp_path: Path):
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        [
            "run",
            "--methods",
            "bm25",
            "--tasks",
            str(TINY),
            "--store",
            str(out),
            "--set",
            "bm25.k1=1.2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "computed bm25 on tiny-en-ny" in result.output
    assert "nDCG@10" in result.output
    (cell,) = out.glob("tiny-en-ny/test/bm25@*")
    manifest = json.loads((cell / "manifest.json").read_text())
    assert manifest["method"]["options"]["k1"] == 1.2
    assert manifest["task"]["doc_lang"] == "nya_Latn"
    assert manifest["command"].startswith("clirbench ")
    assert {"packages", "machine", "git_commit"} <= manifest["environment"].keys()
    # q3 is both a query and its relevant document's id: the hit must survive.
    assert any(
        line.startswith("q3 Q0 q3 1 ") for line in (cell / "run.trec").read_text().splitlines()
    )

    again = runner.invoke(
        app,
        [
            "run",
            "--methods",
            "bm25",
            "--tasks",
            str(TINY),
            "--store",
            str(out),
            "--set",
            "bm25.k1=1.2",
        ],
    )
    assert "reused bm25 on tiny-en-ny" in again.output


def test_dry_run_computes_nothing(tmp_path: Path):
    result = runner.invoke(
        app, ["run", "-m", "bm25,me5", "-t", str(TINY), "--store", str(tmp_path), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "compute" in result.output and "me5" in result.output
    assert not any(tmp_path.iterdir())


def test_folder_languages_from_flags(tiny_copy: Path, tmp_path: Path):
    (tiny_copy / "task.yaml").unlink()
    result = runner.invoke(
        app,
        [
            "run",
            "-m",
            "bm25",
            "-t",
            str(tiny_copy),
            "--store",
            str(tmp_path / "r"),
            "--query-lang",
            "eng_Latn",
            "--doc-lang",
            "nya_Latn",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "eng_Latn->nya_Latn" in result.output


def test_errors_are_one_line_with_exit_code(tiny_copy: Path, tmp_path: Path):
    (tiny_copy / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\tyes\n")
    result = runner.invoke(
        app, ["run", "-m", "bm25", "-t", str(tiny_copy), "--store", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert isinstance(
        result.exception, Exception
    ) and "test.tsv:2: relevance 'yes' is not a number" in str(result.exception)
    result = runner.invoke(app, ["run", "-m", "bm25", "-t", str(TINY), "--set", "me5.batch_size=3"])
    assert "not among --methods" in str(result.exception)


def test_evaluate_command(tmp_path: Path):
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\nq2 Q0 d1 1 1.0 x\nq2 Q0 d4 2 0.5 x\n")
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(run),
            str(TINY / "qrels" / "test.tsv"),
            "--measures",
            "RR@10,R@1",
            "--per-query",
        ],
    )
    assert result.exit_code == 0, result.output
    # q1 and q2 found at ranks 1 and 2, q3 and q4 unanswered: RR@10 = (1 + 0.5) / 4.
    assert "0.3750" in result.output and "0.2500" in result.output


def test_list_methods():
    result = runner.invoke(app, ["list", "methods"])
    assert result.exit_code == 0
    assert "bm25" in result.output and "me5" in result.output


def test_list_tasks_and_describe():
    listed = runner.invoke(app, ["list", "tasks"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "bible-ny-en/passage" in listed.output and "300 x 3000" in listed.output
    assert "suite:lowres" in listed.output
    described = runner.invoke(app, ["describe", str(TINY)], env={"COLUMNS": "200"})
    assert described.exit_code == 0, described.output
    assert "tiny-en-ny" in described.output and "CC0-1.0" in described.output
    assert "5 (1.25 per query)" in described.output
