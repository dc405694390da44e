"""Golden references: the report and ``compare`` render byte for byte as they did when these
files were written from the untyped context (before the typed report model).

A deliberate change of the output is made by rewriting the files with
``CLIRBENCH_WRITE_GOLDEN=1 pytest tests/reports/test_golden.py`` and reviewing the diff.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clirbench.report import Leaderboard
from clirbench.store import CellKey, ResultStore, config_hash
from tests.reports.conftest import (
    TASKS,
    _manifest,
    _scores,
    build_multilingual_store,
    build_store,
)

GOLDEN = Path(__file__).parent / "golden"
RESAMPLES = 200
APPROXIMATE_OPTIONS = {"search": "hnsw"}
_DECODER = json.JSONDecoder()


def _small_store(root: Path) -> ResultStore:
    """The report tests' store (2 tasks, 3 systems, one method not run).

    Plus an approximate system.
    """
    store = build_store(root)
    chash = config_hash("me5", APPROXIMATE_OPTIONS, 100)
    for seed, task in enumerate(TASKS):
        primary = {qid: value * 0.9 for qid, value in _scores(seed)["strong"].items()}
        per_query = {"nDCG@10": primary, "RR@10": {q: v / 2 for q, v in primary.items()}}
        aggregate = {m: sum(v.values()) / len(v) for m, v in per_query.items()}
        manifest = _manifest(task, "me5", chash)
        manifest["method"]["options"] = dict(APPROXIMATE_OPTIONS)
        run = {qid: {"d1": 1.0} for qid in primary}
        store.save(CellKey(task, "test", "me5", chash), run, per_query, aggregate, manifest)
    return store


STORES = {"small": _small_store, "multilingual": build_multilingual_store}


def _presentations(board: Leaderboard) -> dict[str, str]:
    """Every format of a leaderboard, by golden file suffix."""
    tables = ["tasks", "family", "resource", "gain", "coverage"]
    latex = [board.to_latex(), board.to_latex(board.tasks[0])]
    latex += [board.to_latex(grouping=key) for key in ("family", "resource")]
    return {
        "md": board.to_markdown(),
        "html": board.to_html(),
        "json": json.dumps(board.to_dict(), indent=1, ensure_ascii=False, sort_keys=True) + "\n",
        "csv": "".join(f"# {table}\n{board.to_csv(table)}" for table in tables),
        "tex": "".join(latex),
    }


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CLIRBENCH_WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    golden = path.read_text(encoding="utf-8")
    problem = f"{name} differs from its golden reference"
    if name.endswith(".json"):  # full-precision floats: the last bit depends on the CPU's SIMD
        (value, end), (expected, expected_end) = (_DECODER.raw_decode(t) for t in (text, golden))
        assert _same(value, expected) and text[end:] == golden[expected_end:], problem
    else:
        assert text == golden, problem


def _same(a: object, b: object) -> bool:
    """Equal, floats within 1e-9 relative (summation order differs between CPUs)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("store", sorted(STORES))
def test_report_renders_as_its_golden_reference(store: str, tmp_path: Path):
    STORES[store](tmp_path / "results")
    board = Leaderboard.from_store(tmp_path / "results", n_resamples=RESAMPLES)
    for suffix, text in _presentations(board).items():
        _check(f"{store}.{suffix}", text)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_compare_prints_its_golden_reference(as_json: bool, tmp_path: Path):
    from clirbench.cli import app

    _small_store(tmp_path / "results")
    args = ["compare", "-m", "bm25,clone,strong,me5", "--measures", "nDCG@10,RR@10"]
    args += ["--store", str(tmp_path / "results"), "--resamples", str(RESAMPLES)]
    result = CliRunner().invoke(app, [*args, "--json"] if as_json else args)
    assert result.exit_code == 0, result.output
    _check(f"compare.{'json' if as_json else 'txt'}", result.output)
