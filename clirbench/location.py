"""Where the result store and the cache live: a local folder or any fsspec URL.

A plain path, and a ``file://`` URL, is a local folder: a :class:`pathlib.Path`, so the store
keeps publishing a cell by renaming a finished folder into place under a file lock. Any other
URL (``s3://bucket/prefix``, ``gs://...``, ``memory://name``, chained ``simplecache::s3://...``)
becomes an :class:`FsPath`: the few pathlib calls the store makes, on that fsspec filesystem.
Object stores can neither rename a folder at once nor lock, so there a cell is published by
writing its files and then its manifest, last (see ``clirbench.store``).
"""

from __future__ import annotations

import glob
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any

from clirbench.errors import ClirbenchError

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+(://|::)")  # two letters at least: C:/ is a path


class LocationError(ClirbenchError):
    """A store or cache URL that cannot be opened (unknown filesystem, package missing)."""

    exit_code = 2


def is_url(where: str | Path) -> bool:
    return isinstance(where, str) and bool(_URL.match(where))


def open_location(where: str | Path, what: str = "--store") -> Path | FsPath:
    """``where`` as a local :class:`Path` (plain paths, ``file://`` URLs) or an :class:`FsPath`.

    ``what`` names the option or variable the URL came from, for the error messages."""
    if not is_url(where):
        return Path(where)
    import fsspec.core
    from fsspec.implementations.local import LocalFileSystem

    text = str(where).rstrip("/")
    protocol = text.split("::")[-1].split("://")[0] if "://" in text else text.split("::")[0]
    try:
        fs, path = fsspec.core.url_to_fs(text)
    except ImportError:
        raise LocationError(_missing_package(what, text, protocol)) from None
    except ValueError as error:
        if "Protocol not known" not in str(error):
            raise LocationError(f"{what} {text}: {error}") from None
        raise LocationError(_unknown_protocol(what, text, protocol)) from None
    if isinstance(fs, LocalFileSystem):
        return Path(path)
    return FsPath(text, path.rstrip("/"), fs)


def _unknown_protocol(what: str, url: str, protocol: str) -> str:
    import difflib

    from fsspec.registry import known_implementations

    close = difflib.get_close_matches(protocol, known_implementations, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"{what} {url}: unknown filesystem {protocol!r}{hint}; give a folder or a URL that "
        f"fsspec knows: {', '.join(sorted(known_implementations))}"
    )


def _missing_package(what: str, url: str, protocol: str) -> str:
    from fsspec.registry import known_implementations

    package = known_implementations.get(protocol, {}).get("class", protocol).split(".")[0]
    return (
        f"{what} {url}: the {protocol}:// filesystem needs the package {package}, which is not "
        f"installed: pip install {package}"
    )


@dataclass(frozen=True)
class _Stat:
    st_size: int
    st_mtime: float | None  # None: the filesystem does not say


@dataclass(frozen=True, order=True)
class FsPath:
    """A file or folder on an fsspec filesystem, with the pathlib calls the store makes.

    ``url`` is what messages show (the user's URL and the names below it); ``path`` is the
    filesystem's own. Folders are implicit on object stores: one exists while it holds a
    file, and removing its last file removes it."""

    url: str
    path: str = field(compare=False)
    fs: Any = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.url

    def __truediv__(self, name: str | PurePath) -> FsPath:
        parts = PurePosixPath(name).parts
        return FsPath("/".join((self.url, *parts)), "/".join((self.path, *parts)), self.fs)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def parent(self) -> FsPath:
        """The folder above; the top of the URL is its own parent, as ``Path("/")`` is."""
        below = self.url.rpartition("://")[2]
        if "/" not in below.strip("/") or "/" not in self.path.strip("/"):
            return self
        return FsPath(self.url.rsplit("/", 1)[0], self.path.rsplit("/", 1)[0], self.fs)

    @property
    def parents(self) -> list[FsPath]:
        found, here = [], self
        while (up := here.parent) != here:
            found.append(up)
            here = up
        return found

    def relative_to(self, other: FsPath) -> PurePosixPath:
        if not self.path.startswith(other.path + "/"):
            raise ValueError(f"{self} is not under {other}")
        return PurePosixPath(self.path[len(other.path) + 1 :])

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def is_dir(self) -> bool:
        return self.fs.isdir(self.path)

    def iterdir(self) -> Iterator[FsPath]:
        for entry in self.fs.ls(self.path, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name:  # some stores list the folder itself
                yield self / name

    def glob(self, pattern: str) -> Iterator[FsPath]:
        base = self.path + "/"
        for found in self.fs.glob(glob.escape(base) + pattern):
            if found.startswith(base):
                yield self / found[len(base) :]

    def stat(self) -> _Stat:
        info = self.fs.info(self.path)
        try:
            mtime: float | None = self.fs.modified(self.path).timestamp()
        except (NotImplementedError, OSError):
            mtime = None
        return _Stat(int(info.get("size") or 0), mtime)

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        return self.fs.open(self.path, mode, **kwargs)

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        """One whole write: on an object store, one object that appears complete or not at all."""
        self.fs.pipe_file(self.path, data)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def rmdir(self) -> None:
        """Remove an empty folder; a folder that still holds something is an OSError."""
        if any(True for _ in self.iterdir()):
            raise OSError(f"{self}: folder not empty")
        if self.fs.exists(self.path):
            self.fs.rmdir(self.path)

    def remove_tree(self) -> None:
        """Remove this file or folder with all it holds (``[`` in a name is no pattern)."""
        self.fs.rm(glob.escape(self.path), recursive=True)


Location = Path | FsPath

_noted: set[str] = set()


def note_once(key: str, text: str) -> None:
    """``text`` as a note on stderr, once per process for each ``key``."""
    if key not in _noted:
        _noted.add(key)
        print(f"note: {text}", file=sys.stderr)
