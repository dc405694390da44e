from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clirbench.cli import app
from tests.conftest import TINY

runner = CliRunner()


def test_compare_two_stored_systems(tmp_path: Path):
    store = str(tmp_path)
    for options in (["--set", "bm25.k1=1.2"], ["--set", "bm25.k1=0.5"]):
        assert (
            runner.invoke(
                app, ["run", "-m", "bm25", "-t", str(TINY), "--store", store, *options]
            ).exit_code
            == 0
        )
    ambiguous = runner.invoke(
        app, ["compare", "bm25", "bm25", "-t", "tiny-en-ny", "--store", store]
    )
    assert r"several configurations on 'tiny-en-ny': name one of bm25[k1=0.5], bm25[k1=1.2]" in str(
        ambiguous.exception
    )
    result = runner.invoke(
        app,
        ["compare", "bm25[k1=0.5]", "bm25[k1=1.2]", "-t", "tiny-en-ny", "--store", store],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    # The two BM25 settings rank the four tiny queries identically: no difference, p = 1.
    assert "+0.0000 [+0.0000, +0.0000]" in result.output and "1.0000" in result.output
    missing = runner.invoke(
        app, ["compare", "bm25[k1=0.5]", "me5", "-t", "tiny-en-ny", "--store", store]
    )
    assert "unknown system on task 'tiny-en-ny'" in str(missing.exception) and "'me5'" in str(
        missing.exception
    )


def test_compare_takes_a_task_folder_as_run_does(tmp_path: Path):
    store = str(tmp_path)
    for options in (["--set", "bm25.k1=1.2"], ["--set", "bm25.k1=0.5"]):
        assert (
            runner.invoke(
                app, ["run", "-m", "bm25", "-t", str(TINY), "--store", store, *options]
            ).exit_code
            == 0
        )
    hashes = sorted(
        p.name.replace("bm25@", "")
        for p in (tmp_path / "tiny-en-ny" / "test").iterdir()
        if p.is_dir()
    )
    result = runner.invoke(
        app,
        ["compare", f"bm25@{hashes[0]}", "bm25[k1=1.2]", "-t", str(TINY), "--store", store],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "tiny-en-ny" in result.output and "+0.0000 [+0.0000, +0.0000]" in result.output
