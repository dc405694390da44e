"""The CLI's one error boundary: one line on stderr and a documented exit code for every failure;
a traceback only with --debug or CLIRBENCH_DEBUG=1."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from clirbench.cli import boundary
from tests.conftest import TINY

QRELS = str(TINY / "qrels" / "test.tsv")


def _one_line(err: str) -> str:
    """The one line of the error, apart from progress lines ("cell 1 of 1: ...")."""
    lines = [line for line in err.strip().splitlines() if not line.startswith("cell ")]
    assert len(lines) == 1, err
    return lines[0]


def test_missing_file(cli, tmp_path: Path):
    ended = cli("evaluate", str(tmp_path / "absent.trec"), QRELS)
    assert ended.code == 2
    assert _one_line(ended.err) == f"Error: {tmp_path / 'absent.trec'}: file not found"


def test_folder_given_for_a_file(cli, tmp_path: Path):
    ended = cli("evaluate", str(tmp_path), QRELS)
    assert (
        ended.code == 2
        and _one_line(ended.err) == f"Error: {tmp_path}: is a folder, expected a file"
    )


def test_file_given_for_the_store_or_the_report_folder(cli, tmp_path: Path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    ended = cli("run", "-m", "bm25", "-t", str(TINY), "--store", str(a_file))
    assert ended.code == 2
    assert (
        _one_line(ended.err)
        == f"Error: {a_file}: is a file, not a folder; give a result store folder (--store)"
    )
    assert cli("run", "-m", "bm25", "-t", str(TINY), "--store", str(tmp_path / "s")).code == 0
    report = cli(
        "report", "--store", str(tmp_path / "s"), "--out", str(a_file), "--resamples", "100"
    )
    assert (
        report.code == 2 and _one_line(report.err) == f"Error: {a_file}: is a file; give a folder"
    )


def test_name_too_long(cli, tmp_path: Path):
    store = tmp_path / ("x" * 300)
    ended = cli("run", "-m", "bm25", "-t", str(TINY), "--store", str(store))
    assert ended.code == 2
    assert _one_line(ended.err).endswith("file name too long; use a shorter name or path")


def test_options_file_in_another_encoding_names_the_file(cli, tmp_path: Path):
    options = tmp_path / "options.yaml"
    options.write_bytes("bm25:\n  k1: 1.2  # café\n".encode("latin-1"))
    ended = cli(
        "run",
        "-m",
        "bm25",
        "-t",
        str(TINY),
        "--store",
        str(tmp_path / "s"),
        "--options",
        str(options),
    )
    assert ended.code == 2
    message = _one_line(ended.err)  # the reader's decoding policy names file, line and byte
    assert (
        message.startswith(f"Error: {options}:2: not UTF-8: byte 0xe9")
        and "save the file as UTF-8" in message
    )


def test_disk_full_while_saving_a_cell(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def full(self, key, *args, **kwargs):
        path = self.path(key)  # noqa: F841 - the path the boundary finds among the locals
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("clirbench.store.ResultStore.save", full)
    ended = cli("run", "-m", "bm25", "-t", str(TINY), "--store", str(tmp_path / "s"))
    assert ended.code == 2
    message = _one_line(ended.err)
    assert message.startswith(f"Error: {tmp_path / 's' / 'tiny-en-ny'}")
    assert message.endswith(
        "no space left on the device; free space, rerun (finished cells are kept)"
    )


def _break_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr("clirbench.cli.listing.method_status", broken)


def test_internal_error_is_one_line_and_exit_3(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CLIRBENCH_DEBUG", raising=False)
    _break_listing(monkeypatch)
    ended = cli("list", "methods")
    assert ended.code == 3
    assert (
        _one_line(ended.err)
        == "internal error: RuntimeError: a bug; rerun with --debug and report it"
    )


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str, cli, monkeypatch: pytest.MonkeyPatch):
    _break_listing(monkeypatch)
    if how == "env":
        monkeypatch.setenv("CLIRBENCH_DEBUG", "1")
        ended = cli("list", "methods")
    else:
        monkeypatch.delenv("CLIRBENCH_DEBUG", raising=False)
        ended = cli("--debug", "list", "methods")
    assert ended.code == 3
    assert ended.err.startswith("Traceback (most recent call last)") and "in broken" in ended.err
    assert ended.err.strip().endswith(
        "internal error: RuntimeError: a bug; rerun with --debug and report it"
    )


def test_clirbench_errors_keep_their_exit_code(cli, tiny_copy: Path, tmp_path: Path):
    (tiny_copy / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\tyes\n")
    ended = cli("run", "-m", "bm25", "-t", str(tiny_copy), "--store", str(tmp_path))
    assert ended.code == 2
    assert (
        _one_line(ended.err)
        == f"Error: {tiny_copy / 'qrels' / 'test.tsv'}:2: relevance 'yes' is not a number"
    )


def test_usage_errors_exit_2_in_one_line(cli):
    ended = cli("run", "--stor", "x")
    assert ended.code == 2
    assert _one_line(ended.err).startswith("Error: No such option: --stor")
    assert ended.err.strip().endswith("Try 'clirbench run -h' for help.")


def test_interrupt_outside_run(cli, monkeypatch: pytest.MonkeyPatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("clirbench.cli.listing.method_status", interrupted)
    ended = cli("list", "methods")
    assert ended.code == 130 and _one_line(ended.err) == "Interrupted."


def test_ok_exits_0(cli):
    ended = cli("--version")
    assert ended.code == 0 and ended.out.startswith("clirbench ")


@pytest.mark.parametrize(
    "error, code",
    [
        (FileNotFoundError(errno.ENOENT, "x", "/a/b"), 2),
        (PermissionError(errno.EACCES, "x", "/a/b"), 2),
        (OSError(errno.EROFS, "x", "/a/b"), 2),
        (MemoryError(), 1),
        (ValueError("oops"), 3),
    ],
)
def test_failure_table(error: BaseException, code: int):
    found, message = boundary.failure(error)
    assert found == code and "\n" not in message
    assert ("/a/b: " in message) == isinstance(error, OSError)
