"""The executor chosen in the options file (``executor``, ``address`` at its top level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.config import OptionsFile, parse_options_file, read_options_file
from clirbench.errors import InputError
from clirbench.runner import Executor
from tests.conftest import TINY


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_options_file_names_the_executor_beside_the_methods(tmp_path: Path):
    path = _file(tmp_path, "executor: ray\naddress: ray://head:10001\nbm25:\n  k1: 1.2\n")
    assert parse_options_file(path) == OptionsFile({"bm25": {"k1": 1.2}}, "ray", "ray://head:10001")
    assert read_options_file(path) == {"bm25": {"k1": 1.2}}
    assert parse_options_file(_file(tmp_path, "bm25: {}\n")) == OptionsFile({"bm25": {}})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("executor: dask\n", "executor: 'dask' is not an executor; use local or ray"),
        ("executor: {kind: ray}\n", "is not an executor; use local or ray"),
        ("executor: ray\naddress: 7\n", "address: 7 is not a Ray cluster; use auto or ray://"),
        ("executor: ray\naddress: ' '\n", "is not a Ray cluster"),
        ("address: auto\n", "address names a Ray cluster: add executor: ray"),
        ("executor: local\naddress: auto\n", "address names a Ray cluster: add executor: ray"),
        ("executor: ray\nbm25: 3\n", "expected a mapping of method name"),
    ],
)
def test_a_bad_executor_in_the_options_file_names_the_file(
    tmp_path: Path, text: str, fragment: str
):
    path = _file(tmp_path, text)
    with pytest.raises(InputError) as error:
        parse_options_file(path)
    assert str(error.value).startswith(f"{path}: ") and fragment in str(error.value)
    assert error.value.exit_code == 2


@pytest.mark.parametrize(
    ("flag", "address", "in_file", "expected"),
    [
        (None, None, OptionsFile(), Executor("local")),
        (None, None, OptionsFile({}, "ray", "auto"), Executor("ray", "auto")),
        ("local", None, OptionsFile({}, "ray", "auto"), Executor("local")),  # the flag wins
        ("ray", None, OptionsFile({}, "ray", "auto"), Executor("ray", "auto")),
        (None, "ray://h:1", OptionsFile({}, "ray", "auto"), Executor("ray", "ray://h:1")),
        ("ray", None, OptionsFile({}, "local"), Executor("ray")),
    ],
)
def test_each_flag_wins_over_the_options_file(flag, address, in_file, expected):
    pytest.importorskip("ray")
    from clirbench.cli.run import _executor

    assert _executor(flag, address, in_file) == expected


def test_address_without_ray_from_flags_or_file_is_a_usage_error():
    import typer

    from clirbench.cli.run import _executor

    with pytest.raises(typer.BadParameter, match="add --executor ray"):
        _executor(None, "auto", OptionsFile({}, "local"))


def test_run_takes_the_executor_from_the_options_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    pytest.importorskip("ray")
    from clirbench import runner
    from clirbench.cli import main

    used: list[Executor] = []
    real = runner.run_cells

    def recording(*args, executor: Executor, **kwargs):
        used.append(executor)
        return real(*args, executor=Executor(), **kwargs)  # no cluster needed to see the choice

    monkeypatch.setattr(runner, "run_cells", recording)
    options = _file(tmp_path, "executor: ray\naddress: auto\nbm25:\n  k1: 1.1\n")
    common = ["run", "-m", "bm25", "-t", str(TINY), "--store", str(tmp_path / "s")]
    for extra in ([], ["--executor", "local"]):
        with pytest.raises(SystemExit) as ended:
            main([*common, "--options", str(options), *extra])
        assert ended.value.code == 0
    assert used == [Executor("ray", "auto"), Executor("local")]
    bad = _file(tmp_path, "executor: dask\n")
    with pytest.raises(SystemExit) as ended:
        main([*common, "--options", str(bad)])
    assert ended.value.code == 2
