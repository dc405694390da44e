from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from clirbench.cli import main


@dataclass
class Ended:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ended]:
    """Run the installed command's ``main`` in this process: the error boundary included."""

    def invoke(*args: str) -> Ended:
        with pytest.raises(SystemExit) as ended:
            main(list(args))
        captured = capsys.readouterr()
        return Ended(ended.value.code, captured.out, captured.err)

    return invoke
