"""Errors clirbench raises on purpose. The CLI prints them as ``Error: ...`` and exits."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clirbench.location import FsPath


class ClirbenchError(Exception):
    """Base of every error meant for the user rather than a traceback."""

    exit_code = 1


class InputError(ClirbenchError):
    """Bad data in a file: names the file, the line (1-based) and what is wrong."""

    exit_code = 2

    def __init__(self, path: str | Path | FsPath, line: int | None, problem: str) -> None:
        self.path = Path(path) if isinstance(path, str) else path
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}")


class UnknownNameError(ClirbenchError, KeyError):
    """A method, task or option name that does not exist; suggests close matches."""

    exit_code = 2

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(known) if known else "none"
        self.message = f"unknown {kind} {name!r}.{hint} Known: {listing}."
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class OptionsError(ClirbenchError):
    """Method options that do not validate."""

    exit_code = 2


class MissingDependencyError(ClirbenchError):
    """An optional package a method needs is not installed; says how to install it."""

    def __init__(self, method: str, packages: Iterable[str]) -> None:
        packages = list(packages)
        super().__init__(
            f"method {method!r} needs {', '.join(packages)}: pip install {' '.join(packages)}"
        )


class MethodUnavailableError(ClirbenchError):
    """A method that cannot run on this machine (e.g. weights not available offline)."""


class CacheError(ClirbenchError):
    """clirbench's cache cannot be read or written: names the file and what to do."""


class SourceUnavailableError(ClirbenchError):
    """A built-in task's source data is not on this machine and could not be fetched."""


class MethodFailedError(ClirbenchError):
    """A method ran but returned something that cannot be a result (e.g. NaN scores)."""
