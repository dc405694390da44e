"""The Python API (clirbench/api.py): run, load_method, evaluate, the lazy exports and the
README's two Python examples, run as written."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import clirbench
from clirbench.cli import app
from clirbench.errors import OptionsError, UnknownNameError
from clirbench.store import ResultStore
from tests.conftest import TINY

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_block(after: str, index: int = 0) -> str:
    """The ``index``-th Python code block of the README after the line ``after``."""
    text = README.read_text(encoding="utf-8").split(f"\n{after}\n", 1)[1]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)[index]


def test_import_stays_light_and_exports_resolve():
    heavy = ("numpy", "torch", "transformers", "jinja2", "scipy", "mteb", "ir_measures")
    code = (
        "import sys, clirbench\n"
        "clirbench.run, clirbench.load_method, clirbench.evaluate, clirbench.Evaluation\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    for name in clirbench.__all__:
        assert getattr(clirbench, name) is not None, name
    assert {"run", "load_task", "load_method", "evaluate", "Leaderboard", "as_mteb_task"} <= set(
        dir(clirbench)
    )
    with pytest.raises(AttributeError):
        clirbench.no_such_name  # noqa: B018


def test_run_stores_cells_the_cli_then_reuses(tmp_path: Path):
    store = tmp_path / "results"
    outcomes = clirbench.run("bm25", [str(TINY)], store=store, k=10)
    assert [(o.status, o.method.name, o.task.name) for o in outcomes] == [
        ("computed", "bm25", "tiny-en-ny")
    ]
    cell = outcomes[0].cell
    assert cell.aggregate["nDCG@10"] > 0 and cell.manifest["method"]["k"] == 10
    assert (
        cell.manifest["command"]
        == f"clirbench.run(['bm25'], [{str(TINY)!r}], store={str(store)!r}, k=10)"
    )
    again = clirbench.run(["bm25"], str(TINY), store=store, k=10)
    assert again[0].status == "reused" and again[0].cell.path == cell.path
    result = CliRunner().invoke(
        app, ["run", "-m", "bm25", "-t", str(TINY), "--k", "10", "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    assert "reused" in result.output and len(list(ResultStore(store).cells())) == 1


def test_run_takes_options_task_objects_and_a_callback(tmp_path: Path):
    task = clirbench.load_task(str(TINY))
    seen = []
    outcomes = clirbench.run(
        ["bm25"], [task], store=tmp_path, options={"bm25": {"k1": 0.9}}, on_outcome=seen.append
    )
    assert seen == outcomes and outcomes[0].method.options.k1 == 0.9
    assert outcomes[0].cell.manifest["command"] is None  # a Task object has no spec to repeat
    default = clirbench.run(["bm25"], [task], store=tmp_path)
    assert default[0].status == "computed" and default[0].cell.path != outcomes[0].cell.path


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: clirbench.run([], "tiny"), OptionsError, "no method given"),
        (lambda: clirbench.run(["bm25"], []), OptionsError, "no task given"),
        (
            lambda: clirbench.run(["bm25"], str(TINY), k=0),
            OptionsError,
            "k (hits kept per query) must be at least 1",
        ),
        (
            lambda: clirbench.run(["bm25"], str(TINY), options={"me5": {}}),
            OptionsError,
            "not among the methods",
        ),
        (
            lambda: clirbench.run(["bm25"], str(TINY), options={"bm25": {"k9": 1}}),
            OptionsError,
            "invalid options for method 'bm25'",
        ),
        (lambda: clirbench.run(["bm52"], str(TINY)), UnknownNameError, "Did you mean 'bm25'"),
        (lambda: clirbench.load_method("bm25", {"k1": "high"}), OptionsError, "k1"),
    ],
)
def test_errors_are_clirbench_errors(
    call, error, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=re.escape(message)):
        call()
    assert not (tmp_path / "results").exists()


def test_load_method_retrieves():
    task = clirbench.load_task(str(TINY))
    method = clirbench.load_method("bm25", {"k1": 1.2})
    run = method.retrieve(task, 5)
    assert set(run) == set(task.queries) and all(len(hits) <= 5 for hits in run.values())


def test_evaluate_mappings_and_files(tmp_path: Path):
    qrels = {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}, "q3": {"d9": 1}}
    run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d1": 3.0, "d3": 1.0}}
    scores = clirbench.evaluate(run, qrels, ["RR@10", "NumRet", "NumQ"])
    assert scores.per_query["RR@10"] == {"q1": 1.0, "q2": 0.5, "q3": 0.0}  # q3 unanswered: 0
    assert scores.aggregate == {"RR@10": pytest.approx(0.5), "NumRet": 4.0, "NumQ": 2.0}
    (tmp_path / "run.trec").write_text(
        "q1 Q0 d1 1 2.0 x\nq1 Q0 d2 2 1.0 x\nq2 Q0 d1 1 3.0 x\nq2 Q0 d3 2 1.0 x\n"
    )
    (tmp_path / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\nq3\td9\t1\n"
    )
    from_files = clirbench.evaluate(
        tmp_path / "run.trec", str(tmp_path / "qrels.tsv"), ["RR@10", "NumRet", "NumQ"]
    )
    assert from_files == scores
    assert set(clirbench.evaluate(run, qrels).aggregate) == {
        "nDCG@10",
        "nDCG@20",
        "AP",
        "RR@10",
        "R@100",
    }


def test_leaderboard_from_a_store_made_by_run(tmp_path: Path):
    clirbench.run(["bm25"], [str(TINY)], store=tmp_path, options={"bm25": {"k1": 0.9}})
    board = clirbench.Leaderboard.from_store(tmp_path, baseline=None, n_resamples=100)
    data = board.to_dict()
    assert board.tasks == ["tiny-en-ny"] and json.loads(json.dumps(data)) == data
    assert "clirbench.run(['bm25']" in board.to_markdown()  # the Reproduce section names the call


@pytest.mark.slow
def test_readme_python_api_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.chdir(tmp_path)
    exec(compile(_readme_block("## Python API"), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"^computed bm25 0\.\d{4}$", printed, flags=re.MULTILINE)
    match = re.search(r"^computed nmt (0\.\d{4})$", printed, flags=re.MULTILINE)
    assert match and float(match.group(1)) > 0.5  # the lexical translator makes Chichewa findable
    assert "| nmt[lexical] |" in printed and r"\toprule" in printed and r"\textbf{" in printed
    aggregate = eval(printed.strip().splitlines()[-1])  # the dict the example printed
    assert aggregate["NumRet"] == 300 * 100 and 0.5 < aggregate["nDCG@10"] <= 1.0
    assert (tmp_path / "results").is_dir()


DIMENSIONS = 4096


def _hashed_bag_of_words(self, texts, lang, role):
    """A fast stand-in for me5's encoder: hashed character trigrams, L2-normalised (me5's own
    quality is tested in tests/baselines)."""
    _hashed_bag_of_words.texts += len(texts)
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(
            r"\w+", text.lower()
        ):  # character trigrams: names match across languages
            for gram in {f"<{word}>"[i : i + 3] for i in range(len(word))}:
                vectors[row, zlib.crc32(gram.encode()) % DIMENSIONS] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def test_readme_mteb_example_runs_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """The example as written, on the built-in task, with the network refused and me5's
    encoder replaced by a fast one: MTEB's score equals clirbench's, and clirbench then finds
    every vector in the embedding cache."""
    pytest.importorskip("mteb")
    from clirbench.baselines.me5 import ME5
    from clirbench.evaluation import aggregate, evaluate

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv(
        "CLIRBENCH_CACHE", str(tmp_path / "cache")
    )  # me5's cache holds stand-in vectors
    monkeypatch.setattr(ME5, "encode", _hashed_bag_of_words)
    _hashed_bag_of_words.texts = 0
    namespace: dict = {}
    exec(compile(_readme_block("## Python API", index=1), "README.md", "exec"), namespace)
    mteb_score = float(capsys.readouterr().out.strip().splitlines()[-1])
    task = clirbench.load_task("bible-en-ny/verse")
    distinct = len(set(task.queries.values())) + len({d.full_text for d in task.corpus.values()})
    assert _hashed_bag_of_words.texts == distinct > 3000  # each distinct text encoded once

    run = clirbench.load_method("me5").retrieve(task, 100)
    assert _hashed_bag_of_words.texts == distinct  # every vector came from the cache MTEB filled
    ours = aggregate(evaluate(run, task.qrels, ["nDCG@10"]))["nDCG@10"]
    assert mteb_score == pytest.approx(ours, abs=1e-4) and ours > 0.01
    assert namespace["result"].task_results[0].task_name == "bible-en-ny--verse"
