"""The installed ``clirbench`` command in real subprocesses: plugins, start-up, interrupted runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PLUGIN_SITE, TINY

CLI = [sys.executable, "-m", "clirbench"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_SITE), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"  # rich would otherwise truncate table cells
    return env


def test_entry_point_plugin_is_listed_and_runs(tmp_path: Path):
    listed = subprocess.run(
        [*CLI, "list", "methods"], env=_env(), capture_output=True, text=True, check=True
    )
    assert "overlap" in listed.stdout and "clirbench_overlap_plugin:Overl" in listed.stdout
    # A plugin that fails to import is shown with its error; it does not hide the others.
    assert "cannot load: ModuleNotFoundError" in listed.stdout
    ran = subprocess.run(
        [*CLI, "run", "-m", "overlap", "-t", str(TINY), "--store", str(tmp_path)],
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert "computed overlap on tiny-en-ny" in ran.stdout
    (cell,) = tmp_path.glob("tiny-en-ny/test/overlap@*")
    assert (cell / "per_query.tsv").read_text().count("\n") > 4


def test_entry_point_translator_serves_nmt(tmp_path: Path):
    """A plugin translator (echo: no translation) through nmt ranks exactly as bm25 does."""
    import json

    args = [
        *CLI,
        "run",
        "-m",
        "nmt,bm25",
        "-t",
        str(TINY),
        "--store",
        str(tmp_path),
        "--set",
        "nmt.translators=[echo]",
    ]
    ran = subprocess.run(args, env=_env(), capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    (nmt,) = tmp_path.glob("tiny-en-ny/test/nmt@*")
    (bm25,) = tmp_path.glob("tiny-en-ny/test/bm25@*")
    assert json.loads((nmt / "manifest.json").read_text())["method"]["label"] == "nmt[echo]"
    assert (nmt / "aggregate.json").read_text() == (bm25 / "aggregate.json").read_text()


def test_entry_point_task_source_runs(tmp_path: Path):
    """A plugin's ``toy:`` prefix (clirbench.sources) loads a task that bm25 solves exactly."""
    import json

    args = [*CLI, "run", "-m", "bm25", "-t", "toy:5", "--store", str(tmp_path)]
    ran = subprocess.run(args, env=_env(), capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    (cell,) = tmp_path.glob("toy-5/test/bm25@*")
    manifest = json.loads((cell / "manifest.json").read_text())
    assert manifest["task"]["source"] == "toy:5"
    assert (cell / "per_query.tsv").read_text().count("\n") > 5
    unknown = subprocess.run(
        [*CLI, "run", "-m", "bm25", "-t", "nope", "--store", str(tmp_path)],
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert unknown.returncode != 0 and "irds:, hf:, mteb: or toy: spec" in unknown.stderr


def test_import_and_help_load_no_heavy_modules():
    heavy = [
        "torch",
        "transformers",
        "scipy",
        "jinja2",
        "sentence_transformers",
        "ir_measures",
        "numpy",
        "ray",
        "fsspec",
    ]
    code = (
        "import sys, clirbench\n"
        "from clirbench.cli import app\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['run', '--help']).exit_code == 0\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def _tasks(tmp_path: Path, n: int) -> list[str]:
    folders = []
    for i in range(n):
        folder = tmp_path / f"task{i}"
        shutil.copytree(TINY, folder)
        (folder / "task.yaml").write_text(
            f"name: tiny-{i}\nquery_lang: eng_Latn\ndoc_lang: nya_Latn\n"
        )
        folders.append(str(folder))
    return folders


def _cells(store: Path) -> dict[str, dict[str, bytes]]:
    return {
        str(cell.relative_to(store)): {
            f: (cell / f).read_bytes() for f in ("run.trec", "per_query.tsv", "aggregate.json")
        }
        for cell in sorted(store.glob("*/*/*@*"))
        if not cell.name.startswith(".") and cell.is_dir()
    }


@pytest.mark.slow
def test_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path: Path):
    tasks = ",".join(_tasks(tmp_path, 4))
    args = ["run", "-m", "bm25,overlap", "-t", tasks, "--set", "overlap.delay=1.5"]
    store = tmp_path / "interrupted"
    process = subprocess.Popen(
        [*CLI, *args, "--store", str(store)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    # Kill once bm25's four cells and the first overlap cell exist, while the second sleeps.
    while len(_cells(store)) < 5 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = _cells(store)
    assert 5 <= len(finished) < 8, "the kill should land midway"

    rerun = subprocess.run(
        [*CLI, *args, "--store", str(store)], env=_env(), capture_output=True, text=True, check=True
    )
    assert rerun.stdout.count("reused") == len(finished)
    assert rerun.stdout.count("computed") == 8 - len(finished)
    resumed = _cells(store)
    assert {
        k: v for k, v in resumed.items() if k in finished
    } == finished  # finished cells untouched

    clean = tmp_path / "clean"
    subprocess.run(
        [*CLI, *args, "--store", str(clean)], env=_env(), capture_output=True, text=True, check=True
    )
    assert resumed == _cells(clean)


def test_piped_output_is_never_truncated(tmp_path: Path):
    env = _env()
    env["COLUMNS"] = "40"  # a narrow terminal would truncate rich tables; piped output is plain
    long_name = "a-task-name-far-longer-than-forty-columns-" + "x" * 40
    folder = tmp_path / "task"
    shutil.copytree(TINY, folder)
    (folder / "task.yaml").write_text(
        f"name: {long_name}\nquery_lang: eng_Latn\ndoc_lang: nya_Latn\n"
    )
    ran = subprocess.run(
        [*CLI, "run", "-m", "bm25", "-t", str(folder), "--store", str(tmp_path / "s")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"computed bm25 on {long_name} (" in ran.stdout
    assert f"# {long_name} (eng_Latn->nya_Latn, 4 queries)" in ran.stdout.splitlines()
    assert "cell 1 of 1: bm25 on " + long_name in ran.stderr  # progress goes to stderr
    listed = subprocess.run(
        [*CLI, "list", "methods"], env=env, capture_output=True, text=True, check=True
    )
    assert "\tclirbench_overlap_plugin:Overlap\t" in listed.stdout


def test_ctrl_c_says_what_was_kept_and_exits_130(tmp_path: Path):
    # A background job inherits SIGINT ignored; install Python's handler as a terminal would.
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from clirbench.cli import main; main()"
    )
    store = tmp_path / "store"
    tasks = ",".join(_tasks(tmp_path, 2))
    args = [sys.executable, "-c", code, "run", "-m", "bm25,overlap", "-t", tasks]
    args += ["--set", "overlap.delay=1.5", "--store", str(store)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    process = subprocess.Popen(args, env=_env(), **pipes)
    seen = []
    while not any("computed bm25 on tiny-1" in line for line in seen):  # both bm25 cells are done
        line = process.stdout.readline()
        assert line, "the run ended before the interrupt"
        seen.append(line)
    time.sleep(0.5)  # now inside overlap's first sleep
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        f"Interrupted: 2 of 4 cells finished and kept in {store}/; "
        "rerun the same command to resume (finished cells are reused)"
    )
    assert "Traceback" not in err
    rerun = subprocess.run(args, env=_env(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.count("reused bm25") == 2 and rerun.stdout.count("computed overlap") == 2
