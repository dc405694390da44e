"""The result store under faults, in real ``clirbench`` processes: SIGKILL at each step of a
cell's publish, two ``run --overwrite`` of one cell at once, a read-only store, a full disk,
a report over a damaged cell. Each ends with nothing finished lost and the next run correct.

The slow steps come from an ordinary plugin method on PYTHONPATH (``tests/data/fault_site``):
it sleeps in ``retrieve`` and before each rename of the publish, and logs each step first.
A read-only store is a read-only bind mount in a private mount namespace (``unshare -m``); a
full disk is a file-size limit (RLIMIT_FSIZE) in the child, and a full tmpfs where mounts are
allowed. Tests that need a mount are skipped where ``unshare`` cannot make one.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest

from clirbench.store import ResultStore
from tests.conftest import DATA, TINY

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "clirbench"]
FAULT_SITE = DATA / "fault_site"
CELL_FILES = ("run.trec", "per_query.tsv", "aggregate.json")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAULT_SITE), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    return env


def _task(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    if not folder.exists():
        shutil.copytree(TINY, folder)
        (folder / "task.yaml").write_text(
            f"name: {name}\nquery_lang: eng_Latn\ndoc_lang: nya_Latn\n"
        )
    return folder


def _command(
    tmp_path: Path,
    store: Path,
    tasks: list[str],
    *extra: str,
    log: Path | None = None,
    retrieve_delay: float = 0.0,
    publish_delay: float = 0.0,
) -> list[str]:
    folders = ",".join(str(_task(tmp_path, name)) for name in tasks)
    options = [
        f"slowdisk.retrieve_delay={retrieve_delay}",
        f"slowdisk.publish_delay={publish_delay}",
    ]
    if log is not None:
        options.append(f"slowdisk.log={log}")
    sets = [arg for option in options for arg in ("--set", option)]
    return [*CLI, "run", "-m", "slowdisk", "-t", folders, "--store", str(store), *sets, *extra]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=300, **kwargs
    )


def _files(store: Path, task: str) -> dict[str, bytes]:
    """The data files of the one cell of ``task`` (its manifest holds times, so not it)."""
    [cell] = [c for c in ResultStore(store).cells() if c.manifest["task"]["name"] == task]
    return {name: (cell.path / name).read_bytes() for name in CELL_FILES}


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def _one_clean_line(stderr: str) -> str:
    """The one error line, last on stderr (progress lines, ``cell i of N``, may precede it)."""
    lines = stderr.splitlines()
    assert lines and lines[-1].startswith("Error: "), stderr
    assert all(line.startswith("cell ") for line in lines[:-1]), stderr
    return lines[-1]


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A store with two finished cells, of tasks ``a`` and ``b``."""
    store = tmp_path / "results"
    done = _run(_command(tmp_path, store, ["a", "b"]))
    assert done.returncode == 0, done.stderr
    return store


# SIGKILL at each step ---------------------------------------------------------------------

# The steps of `run --overwrite` of cell a, each logged before the sleep that precedes it:
# retrieving; then the publish: the temp folder's aggregate.json and manifest.json are renamed
# into it, the old cell is renamed aside, the new one into place.
STEPS = {
    "retrieve": 1,
    "temp-folder-half-written": 2,
    "temp-folder-without-manifest": 3,
    "temp-folder-complete": 4,
    "old-cell-moved-aside": 5,
}


def _kill_at(command: list[str], log: Path, lines: int) -> None:
    child = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= lines:
            break
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL, "the run ended before the step"
    assert len(log.read_text().splitlines()) == lines, log.read_text()


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_during_publish_loses_nothing(tmp_path: Path, stored: Path, step: str):
    before = {task: _files(stored, task) for task in ("a", "b")}
    cells = {task: ResultStore(stored).find(task, "slowdisk").path for task in ("a", "b")}
    trees = {task: _tree(path) for task, path in cells.items()}  # manifests (times) included
    log = tmp_path / "steps.log"
    slow = _command(
        tmp_path, stored, ["a"], "--overwrite", log=log, retrieve_delay=1.0, publish_delay=1.0
    )
    _kill_at(slow, log, STEPS[step])

    problems = {(p.kind, p.path.name.split(".")[-1]) for p in ResultStore(stored).check()}
    assert problems <= {("orphan", "tmp"), ("damaged", "old")}
    if step == "old-cell-moved-aside":  # the finished cell is not lost: it is put back
        assert ("damaged", "old") in problems and not cells["a"].exists()
        ResultStore(stored).check(repair=True)
    assert {task: _tree(path) for task, path in cells.items()} == trees

    again = _run(_command(tmp_path, stored, ["a", "b"]))
    assert again.returncode == 0, again.stderr
    assert "reused slowdisk on a" in again.stdout and "reused slowdisk on b" in again.stdout
    assert {task: _files(stored, task) for task in ("a", "b")} == before
    left = ResultStore(stored).check(repair=True)  # the temp folder of a reused cell stays
    assert all(p.kind == "orphan" and p.repaired for p in left), left
    assert ResultStore(stored).check() == []
    assert {task: _files(stored, task) for task in ("a", "b")} == before


def test_sigkill_in_the_second_cell_keeps_the_first(tmp_path: Path):
    store, log = tmp_path / "results", tmp_path / "steps.log"
    slow = _command(tmp_path, store, ["a", "b"], log=log, retrieve_delay=1.0)
    _kill_at(slow, log, 2)  # retrieving b; a is finished
    assert [c.manifest["task"]["name"] for c in ResultStore(store).cells()] == ["a"]
    again = _run(_command(tmp_path, store, ["a", "b"]))
    assert again.returncode == 0, again.stderr
    assert "reused slowdisk on a" in again.stdout and "computed slowdisk on b" in again.stdout
    assert _files(store, "a") == _files(store, "b")  # the two tasks hold the same data
    assert ResultStore(store).check() == []


# Two writers at once ------------------------------------------------------------------------


def test_two_overwrites_of_one_cell_at_once(tmp_path: Path, stored: Path):
    before = _files(stored, "a")
    command = _command(tmp_path, stored, ["a"], "--overwrite", publish_delay=0.05)
    for _ in range(10):
        children = [
            subprocess.Popen(
                command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        for child in children:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, err
            assert "computed slowdisk on a" in out
        assert ResultStore(stored).check() == []
        assert _files(stored, "a") == before


# A read-only store ---------------------------------------------------------------------------


@cache
def _unshare() -> list[str] | None:
    """``unshare`` arguments that give a private mount namespace where mounts work, or None."""
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    for option in ("-m", "-rm"):
        try:
            done = subprocess.run(
                ["unshare", option, "mount", "--bind", str(probe), str(probe)],
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode == 0:
            return ["unshare", option]
    return None


def _read_only(store: Path, command: list[str]) -> list[str]:
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    return [*_unshare(), "sh", "-c", script, str(store), *command]


needs_mounts = pytest.mark.skipif(_unshare() is None, reason="unshare cannot mount here")


@needs_mounts
def test_read_only_store_is_one_clean_error_and_nothing_changes(tmp_path: Path, stored: Path):
    orphan = stored / "a" / "test" / f".slowdisk@{'0' * 12}.lock"
    orphan.touch()
    before = _tree(stored)
    checked = _run(_read_only(stored, [*CLI, "store", "check", "--store", str(stored), "--repair"]))
    assert checked.returncode == 0, checked.stderr  # an orphan left is no damage
    assert (
        f"{orphan}: the lock of a cell that is not there (not removed: Read-only" in checked.stdout
    )
    new_cell = _run(_read_only(stored, _command(tmp_path, stored, ["c"])))
    assert new_cell.returncode == 2, new_cell.stderr
    message = _one_clean_line(new_cell.stderr)
    assert "cannot write the result cell" in message and "Read-only file system" in message
    assert "--store" in message
    overwrite = _run(_read_only(stored, _command(tmp_path, stored, ["a"], "--overwrite")))
    assert overwrite.returncode == 2 and "Read-only" in _one_clean_line(overwrite.stderr)
    reused = _run(_read_only(stored, _command(tmp_path, stored, ["a", "b"])))
    assert reused.returncode == 0, reused.stderr  # nothing to write: reading is fine
    assert _tree(stored) == before


# A full disk ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 150])
def test_file_size_limit_during_publish(tmp_path: Path, stored: Path, limit: int):
    """0: the first byte of the cell fails; 150: run.trec is cut after 150 bytes."""
    before = _files(stored, "a")

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    done = _run(_command(tmp_path, stored, ["a"], "--overwrite"), preexec_fn=limited)
    assert done.returncode == 2, done.stderr
    message = _one_clean_line(done.stderr)
    assert "File too large" in message and "free some space" in message and "kept" in message
    assert _files(stored, "a") == before
    assert ResultStore(stored).check() == []  # no temp folder left behind


@needs_mounts
def test_full_tmpfs_during_publish(tmp_path: Path, stored: Path):
    before = _files(stored, "a")
    mount, after = tmp_path / "tmpfs", tmp_path / "after"
    mount.mkdir()
    command = " ".join(
        f"'{arg}'" for arg in _command(tmp_path, mount / "results", ["a"], "--overwrite")
    )
    script = (
        f"mount -t tmpfs -o size=512k tmpfs {mount} && cp -a {stored} {mount}/results"
        f" && (dd if=/dev/zero of={mount}/fill bs=4k 2>/dev/null; true)"
        f" && {command}; echo $? > {tmp_path}/rc; rm {mount}/fill; cp -a {mount}/results {after}"
    )
    done = _run([*_unshare(), "sh", "-c", script])
    assert (tmp_path / "rc").read_text().strip() == "2", done.stderr
    message = _one_clean_line(done.stderr)
    assert "No space left on device" in message and "free some space" in message
    assert _files(after, "a") == before
    assert ResultStore(after).check() == []


# A report over a damaged cell ----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["run-edited", "aggregate-deleted", "manifest-torn"])
def test_report_on_a_damaged_cell_names_it_and_what_to_run(
    tmp_path: Path, stored: Path, damage: str
):
    cell = ResultStore(stored).find("a", "slowdisk").path
    if damage == "run-edited":
        (cell / "run.trec").write_text("q1 Q0 d1 1 9.0 edited\n")
    elif damage == "aggregate-deleted":
        (cell / "aggregate.json").unlink()
    else:
        (cell / "manifest.json").write_bytes((cell / "manifest.json").read_bytes()[:40])
    out = tmp_path / "reports"
    report = [*CLI, "report", "--store", str(stored), "--out", str(out), "--baseline", "none"]
    done = _run(report)
    assert done.returncode == 2, done.stderr
    message = _one_clean_line(done.stderr)
    assert str(cell) in message and "damaged result cell" in message
    assert f"clirbench store check --repair --store {stored}" in message
    if damage != "manifest-torn":  # the manifest still says which command made the cell
        assert "rerun `clirbench run -m slowdisk" in message
    assert not (out / "leaderboard.md").exists()
    rerun = _run(_command(tmp_path, stored, ["a", "b"]))  # recomputes the damaged cell
    assert rerun.returncode == 0 and "computed slowdisk on a" in rerun.stdout, rerun.stderr
    assert _run(report).returncode == 0 and (out / "leaderboard.md").exists()


def test_report_under_a_file_size_limit(tmp_path: Path, stored: Path):
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    out = tmp_path / "reports"
    done = _run(
        [*CLI, "report", "--store", str(stored), "--out", str(out), "--baseline", "none"],
        preexec_fn=limited,
    )
    assert done.returncode == 2, done.stderr
    message = _one_clean_line(done.stderr)
    assert "file too large for the file-size limit (ulimit -f)" in message, message
    assert not [p for p in out.rglob("*") if p.is_file()]  # no half-written report, no temp file
