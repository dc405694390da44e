"""Reading and writing files: one decoding policy for every reader, atomic writes, digests.

Every text input (BEIR files, TREC runs and qrels, bitext, YAML) is read through
:func:`iter_lines` or :func:`read_text`: UTF-8, a leading byte-order mark tolerated, and any
other byte an :class:`~clirbench.errors.InputError` naming the file and line. Files written here
get the modes the umask gives (``0666 & ~umask``), as any other program's files do.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clirbench.errors import InputError

if TYPE_CHECKING:
    from clirbench.location import FsPath

_BOM = codecs.BOM_UTF8


def _open_error(path: Path | FsPath, error: OSError) -> InputError:
    if isinstance(error, FileNotFoundError):
        return InputError(path, None, "file not found")
    if isinstance(error, IsADirectoryError):
        return InputError(path, None, "is a folder, expected a file")
    return InputError(path, None, f"cannot read ({error.strerror or error})")


def _decode_error(path: Path | FsPath) -> InputError:
    """The error for the first line of ``path`` that is not UTF-8 (read again, in binary)."""
    with path.open("rb") as data:
        for line_no, raw in enumerate(data, start=1):
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start]
                return InputError(
                    path,
                    line_no,
                    f"not UTF-8: byte 0x{byte:02x} at column {error.start + 1} "
                    "(save the file as UTF-8)",
                )
    return InputError(path, None, "not UTF-8 (save the file as UTF-8)")


def _as_path(path: str | Path | FsPath) -> Path | FsPath:
    return Path(path) if isinstance(path, str) else path


def iter_lines(path: str | Path | FsPath) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, line)`` of a UTF-8 text file, 1-based, without the line ending.

    ``\\n``, ``\\r\\n`` and ``\\r`` end lines. A missing file, a folder or a byte that is not
    UTF-8 is an :class:`InputError`. ``path`` may be on an fsspec filesystem (a result store's).
    """
    path = _as_path(path)
    try:
        lines = path.open(encoding="utf-8-sig", errors="strict", newline=None)
    except OSError as error:
        raise _open_error(path, error) from None
    with lines:
        try:
            for line_no, line in enumerate(lines, start=1):
                yield line_no, line.rstrip("\n")
        except UnicodeDecodeError:
            raise _decode_error(path) from None


def read_text(path: str | Path) -> str:
    """The whole text of a UTF-8 file (for YAML and other small files); errors as iter_lines."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _open_error(path, error) from None
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise _decode_error(path) from None


def read_yaml(path: str | Path) -> Any:
    """The YAML document in ``path`` (None when empty); a parse error names the line."""
    import yaml

    path = Path(path)
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise InputError(
            path, mark.line + 1 if mark else None, f"malformed YAML ({problem})"
        ) from None
    except RecursionError:
        raise InputError(path, None, "malformed YAML (nested too deeply)") from None


def parse_json_line(path: Path, line_no: int, line: str) -> Any:
    """One JSON value of a JSONL file; anything json rejects (deep nesting too) is an InputError."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(
            path, line_no, f"malformed JSON ({error.msg} at column {error.colno})"
        ) from None
    except (ValueError, RecursionError) as error:  # 5,000-digit numbers, [[[[...]]]]
        raise InputError(path, line_no, f"malformed JSON ({error})") from None


def iter_json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_no, object)`` for each non-blank line of a JSONL file of JSON objects."""
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        record = parse_json_line(path, line_no, line)
        if not isinstance(record, dict):
            raise InputError(path, line_no, "expected a JSON object")
        yield line_no, record


def create_temp_file(folder: Path, name: str) -> tuple[int, Path]:
    """A new, empty file beside ``folder / name``: an open descriptor and its path.

    Unlike :func:`tempfile.mkstemp` (always 0600), its mode follows the umask, so the file
    renamed into place has the mode any other new file would.
    """
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def create_temp_dir(folder: Path, name: str) -> Path:
    """A new, empty folder beside ``folder / name``, its mode following the umask (not 0700)."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            tmp.mkdir(0o777)
            return tmp
        except FileExistsError:
            continue


def atomic_write_bytes(path: Path | FsPath, data: bytes) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one.

    On an fsspec filesystem it is one whole write, as atomic as that filesystem makes it (an
    object store's put is)."""
    if not isinstance(path, Path):
        path.write_bytes(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | FsPath, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_bytes(data: Any) -> bytes:
    """``data`` as the JSON files clirbench writes: indented, keys sorted, UTF-8."""
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def atomic_write_json(path: Path | FsPath, data: Any) -> None:
    atomic_write_bytes(path, json_bytes(data))


def file_sha256(path: Path | FsPath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def build_folder_once(final: Path, build: Callable[[Path], None], marker: str) -> Path:
    """``final``, made by ``build(folder)`` in a temporary folder beside it and renamed into
    place, unless ``final / marker`` already exists. A process that loses the race to publish
    keeps what the winner published; nothing half-built is ever at ``final``."""
    if (final / marker).is_file():
        return final
    tmp = create_temp_dir(final.parent, final.name)
    try:
        build(tmp)
        tmp.rename(final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / marker).is_file():  # not a lost race with another process
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
