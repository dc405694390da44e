"""The CLI's one error boundary: every exception that reaches ``main`` becomes one line on
stderr and a documented exit code; a traceback only with ``--debug`` (or CLIRBENCH_DEBUG=1)."""

from __future__ import annotations

import errno
import io
import os
from dataclasses import dataclass
from types import ModuleType, TracebackType

import typer

from clirbench.errors import ClirbenchError

EXIT_OK = 0
EXIT_FAILED = 1  # some cell failed or did not run
EXIT_USAGE = 2  # usage or input error: a bad option, name, file or path
EXIT_INTERNAL = 3  # a bug in clirbench or a plugin
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 a cell failed or did not run; 2 usage or input error (bad option, "
    "name, file or path); 3 internal error (rerun with --debug and report it); 130 interrupted."
)


@dataclass
class Settings:
    """Global options, set by the app's callback before a command runs."""

    debug: bool = False
    verbose: bool = False


settings = Settings()


class Interrupted(ClirbenchError):
    """Ctrl-C during a command; the message says what was kept and how to resume."""

    exit_code = EXIT_INTERRUPTED


def debug_enabled() -> bool:
    return settings.debug or os.environ.get("CLIRBENCH_DEBUG", "") not in ("", "0")


_OS_PROBLEMS = {
    errno.ENOENT: "no such file or folder; check the path",
    errno.EISDIR: "is a folder; give a file",
    errno.ENOTDIR: "a part of this path is a file, not a folder; give a folder",
    errno.EACCES: "permission denied; choose a path you can write to (or read)",
    errno.EPERM: "operation not permitted; choose another path",
    errno.EROFS: "read-only file system; choose a writable folder (e.g. --store or --out)",
    errno.ENOSPC: "no space left on the device; free space, rerun (finished cells are kept)",
    errno.EDQUOT: "disk quota exceeded; free some space and rerun (finished cells are kept)",
    errno.EFBIG: "file too large for the file-size limit (ulimit -f) or the file system; "
    "raise the limit or free space, and rerun (finished cells are kept)",
    errno.ENAMETOOLONG: "file name too long; use a shorter name or path",
    errno.EEXIST: "already exists; remove it or choose another path",
    errno.ENOTEMPTY: "folder not empty; remove it or choose another path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) and rerun",
}


def _path_in_traceback(tb: TracebackType | None) -> str | None:
    """The file being read or written where an exception without a file name was raised: an
    open file object or a path among the locals of the innermost frame that has one."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        for value in values:
            if isinstance(value, io.IOBase):
                name = getattr(value, "name", None)
                if isinstance(name, str):
                    return name
        for value in values:
            if isinstance(value, os.PathLike):
                return os.fspath(value)
    return None


def _os_message(error: OSError) -> str:
    path = error.filename if error.filename is not None else _path_in_traceback(error.__traceback__)
    problem = _OS_PROBLEMS.get(error.errno or -1, error.strerror or str(error))
    if error.errno == errno.EEXIST and path is not None and os.path.isfile(path):
        problem = "is a file; give a folder"
    second = f" -> {error.filename2}" if error.filename2 is not None else ""
    return f"{os.fsdecode(path)}{second}: {problem}" if path is not None else problem


def _decode_message(error: UnicodeDecodeError) -> str:
    path = _path_in_traceback(error.__traceback__)
    byte = error.object[error.start : error.start + 1].hex().upper()
    problem = f"not valid {error.encoding} text (byte 0x{byte}); save the file as UTF-8"
    return f"{path}: {problem}" if path else problem


def click_exceptions() -> ModuleType:
    """The click exceptions typer raises: its vendored copy (typer >= 0.22), else click's."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def failure(error: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception that reached the CLI."""
    click = click_exceptions()

    if isinstance(error, Interrupted):
        return error.exit_code, f"Interrupted: {error}"
    if isinstance(error, ClirbenchError):
        return error.exit_code, f"Error: {error}"
    if isinstance(error, click.UsageError):
        message = error.format_message().rstrip()
        if error.ctx is not None:
            stop = "" if message.endswith((".", ")")) else "."
            message += f"{stop} Try '{error.ctx.command_path} -h' for help."
        return error.exit_code, f"Error: {message}"
    if isinstance(error, click.ClickException):
        return error.exit_code, f"Error: {error.format_message()}"
    if isinstance(error, (KeyboardInterrupt, typer.Abort)):
        return EXIT_INTERRUPTED, "Interrupted."
    if isinstance(error, UnicodeDecodeError):
        return EXIT_USAGE, f"Error: {_decode_message(error)}"
    if isinstance(error, OSError):
        return EXIT_USAGE, f"Error: {_os_message(error)}"
    if isinstance(error, MemoryError):
        return EXIT_FAILED, "Error: out of memory; try a smaller batch_size or fewer tasks at once"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return EXIT_INTERNAL, (
        f"internal error: {type(error).__name__}: {first_line}; rerun with --debug and report it"
    )
