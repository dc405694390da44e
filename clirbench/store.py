"""The result store: one folder per cell, written atomically and verified when reused.

A cell is one (task, split, method, configuration). Its folder is found from what the user
chose; its manifest records what the result is made of, and a stored cell is reused only when
all of it still holds::

    store.json                                  the store's format
    <task name>/<split>/<method>@<config hash>/
        run.trec         the TREC run
        per_query.tsv    query_id, measure, value
        aggregate.json   measure -> value, each measure aggregated its own way
        manifest.json    task identity, method identity, options, file digests, versions, ...
    _not_run/<method>@<config hash>.json        why a method could not run, on which tasks

- The config hash covers the method's name, its result-affecting options that differ from
  their defaults (runtime options such as batch size or device never count) and the depth k.
- The manifest holds the task identity (name, split, source, content digest) and the method
  identity (the distribution that provides it, its version, the method's own ``version``).
  When either differs from the task and code of this run, the cell is recomputed in place:
  edited task data or a new method version is never answered from an old cell. A task of the
  same name from another folder is refused rather than mixed.
- Task names and splits are percent-encoded into single path segments, so no name can leave
  the store or share a folder with another name.
- A cell appears in one rename under a lock, complete; each of its files' SHA-256 is in the
  manifest and checked whenever the cell is read, so a damaged cell is never used. A cell
  replaced by ``--overwrite`` is first renamed to ``.<cell>.old``; if the save is killed
  before the new cell is in place, the next save (or ``store check --repair``) puts it back.
- :meth:`ResultStore.check` finds what killed saves and hand edits leave behind (damaged
  cells, temp folders, trash, stray files and locks); ``clirbench store check`` shows it.
- The store may be at an fsspec URL (``--store s3://bucket/prefix``, ``memory://name``). A
  ``file://`` URL is a local folder like any path. Elsewhere folders cannot be renamed at once
  nor locked: :class:`FsspecResultStore` writes a cell's files, then its manifest last, and does
  not protect two runs saving the same cell at once (a note says so once per run).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from clirbench.errors import ClirbenchError, InputError, UnknownNameError
from clirbench.evaluation import PerQueryScores
from clirbench.fileio import atomic_write_json, create_temp_dir, file_sha256, iter_lines, json_bytes
from clirbench.hashing import json_hash
from clirbench.location import FsPath, Location, note_once, open_location
from clirbench.method import Run
from clirbench.tasks.beir import FOLDER_SOURCE
from clirbench.trec import format_run, read_run

STORE_FORMAT = 2
RUN_FILE, PER_QUERY_FILE, AGGREGATE_FILE, MANIFEST_FILE = (
    "run.trec",
    "per_query.tsv",
    "aggregate.json",
    "manifest.json",
)
FORMAT_FILE = "store.json"
DATA_FILES = (RUN_FILE, PER_QUERY_FILE, AGGREGATE_FILE)
NOT_RUN_DIR = "_not_run"  # methods that could not run here, with the reason, for the leaderboard


class StoreError(ClirbenchError):
    """A result store that cannot be used as it is (another format, a name clash)."""

    exit_code = 2


def config_hash(method: str, options: Mapping[str, Any], k: int) -> str:
    """12 hex digits naming one configuration of a method: its name, the options that decide
    its results (see ``MethodOptions.identity``) and the depth ``k``; the same on every task."""
    return json_hash({"method": method, "options": options, "k": k}, 12, default=str)


def encode_segment(name: str) -> str:
    """``name`` as one safe path segment, reversibly: ``/`` and every other byte that could
    mean something to a filesystem is percent-encoded, and so is a leading dot."""
    encoded = quote(name, safe="-_+=@,[]")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def decode_segment(segment: str) -> str:
    return unquote(segment)


@dataclass(frozen=True)
class CellKey:
    task: str
    split: str
    method: str
    config_hash: str

    @property
    def relative_path(self) -> Path:
        return (
            Path(encode_segment(self.task))
            / encode_segment(self.split)
            / f"{encode_segment(self.method)}@{self.config_hash}"
        )


class TaskIdentity(BaseModel):
    """What a task's results are made of: the same name and split may hold other data."""

    model_config = ConfigDict(frozen=True)

    name: str
    split: str
    source: str
    checksum: str


class _TaskRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    split: str
    source: str
    checksum: str


class _MethodRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    config_hash: str
    label: str | None = None
    k: int = 100
    identity: dict[str, Any] | None = None
    identity_options: dict[str, Any] = {}

    @field_validator("identity_options")
    @classmethod
    def _digests_are_strings(cls, options: dict[str, Any]) -> dict[str, Any]:
        digests = options.get("input_digests", {})
        if not isinstance(digests, dict) or not all(isinstance(d, str) for d in digests.values()):
            raise ValueError("input_digests must map names to SHA-256 strings")
        return options


class Manifest(BaseModel):
    """The parts of ``manifest.json`` that reuse and reports rely on; other keys ride along."""

    model_config = ConfigDict(extra="allow")

    format: Literal[2]  # STORE_FORMAT
    task: _TaskRecord
    method: _MethodRecord
    files: dict[str, str]

    @property
    def key(self) -> CellKey:
        """The key whose folder this cell belongs in."""
        return CellKey(self.task.name, self.task.split, self.method.name, self.method.config_hash)


@dataclass(frozen=True)
class Cell:
    """A finished (task, split, method, configuration) result as stored."""

    path: Location
    manifest: dict[str, Any]
    aggregate: dict[str, float]

    @property
    def task_identity(self) -> TaskIdentity:
        task = self.manifest["task"]
        return TaskIdentity(
            name=task["name"], split=task["split"], source=task["source"], checksum=task["checksum"]
        )

    @property
    def system(self) -> tuple[str, str]:
        """(method name, config hash): the same system on every task."""
        return self.manifest["method"]["name"], self.manifest["method"]["config_hash"]

    @property
    def key(self) -> CellKey:
        """The key this cell is stored under (its task, split and system)."""
        task = self.manifest["task"]
        return CellKey(task["name"], task["split"], *self.system)

    @property
    def per_query(self) -> PerQueryScores:
        """measure -> query id -> value, from ``per_query.tsv``; a bad row is an InputError."""
        try:
            return _read_per_query(self.path / PER_QUERY_FILE)
        except InputError as error:
            raise _damaged(error, self.path.parents[2]) from None

    @property
    def has_run(self) -> bool:
        """False for a cell exported without its run (``clirbench store export --without-runs``):
        its scores serve reports and comparisons, not methods that read runs (fuse)."""
        return RUN_FILE in self.manifest["files"]

    @property
    def run(self) -> Run:
        """The stored TREC run; a method that found nothing stored an empty one."""
        if not self.has_run:
            command = self.manifest.get("command") or "the command that made it"
            raise StoreError(
                f"{self.path}: this cell was exported without its run (scores only); rerun "
                f"`{command}` with --overwrite in a store of your own to get the run"
            )
        path = self.path / RUN_FILE
        try:
            return {} if path.is_file() and path.stat().st_size == 0 else read_run(path)
        except InputError as error:
            raise _damaged(error, self.path.parents[2]) from None


_PER_QUERY_HEADER = ["query_id", "measure", "value"]


def _read_per_query(path: Location) -> PerQueryScores:
    scores: PerQueryScores = {}
    for line_no, line in iter_lines(path):
        fields = line.split("\t")
        if line_no == 1:
            if fields != _PER_QUERY_HEADER:
                raise InputError(path, line_no, f"expected the header {_PER_QUERY_HEADER}")
            continue
        if len(fields) != 3 or not fields[0] or not fields[1]:
            raise InputError(path, line_no, "expected query_id, measure and value")
        qid, measure, value = fields
        try:
            number = float(value)
        except ValueError:
            raise InputError(path, line_no, f"value {value!r} is not a number") from None
        by_query = scores.setdefault(measure, {})
        if qid in by_query:
            raise InputError(path, line_no, f"{measure} of query {qid!r} given twice")
        by_query[qid] = number
    return scores


def _repair_hint(root: Location) -> str:
    import shlex

    return f"remove it with `clirbench store check --repair --store {shlex.quote(str(root))}`"


def _damaged(error: InputError, root: Location) -> InputError:
    """``error`` in a stored cell's file, saying what to do about the cell."""
    return InputError(
        error.path,
        error.line,
        f"{error.problem}; the result cell is damaged: "
        f"{_repair_hint(root)} and rerun the command that made it",
    )


def _per_query_tsv(per_query: PerQueryScores) -> str:
    lines = ["query_id\tmeasure\tvalue\n"]
    for measure in sorted(per_query):
        for qid in sorted(per_query[measure]):
            lines.append(f"{qid}\t{measure}\t{per_query[measure][qid]!r}\n")
    return "".join(lines)


class ResultStore:
    """The result store at a folder or an fsspec URL (see ``clirbench.location``).

    ``ResultStore(url)`` of a URL that is not local gives an :class:`FsspecResultStore`, as
    ``Path`` gives a ``PosixPath``."""

    def __new__(cls, root: str | Path) -> ResultStore:
        remote = cls is ResultStore and isinstance(open_location(root), FsPath)
        return super().__new__(FsspecResultStore if remote else cls)

    def __init__(self, root: str | Path) -> None:
        self.root: Location = open_location(root)
        self._check_format()

    def _check_format(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(
                f"{self.root}: is a file, not a folder; give a result store folder (--store)"
            )
        marker = self.root / FORMAT_FILE
        if marker.is_file():
            try:
                found = json.loads(marker.read_text(encoding="utf-8")).get("format")
            except (OSError, ValueError, AttributeError) as error:
                raise StoreError(
                    f"{marker}: unreadable ({error}); is {self.root} a clirbench result store?"
                ) from None
            if found != STORE_FORMAT:
                raise StoreError(
                    f"{self.root} is a result store of format {found}; this clirbench reads format "
                    f"{STORE_FORMAT}: use a clirbench that matches, or a new --store folder"
                )
        elif self.root.is_dir() and any(self.root.glob(f"*/*/{MANIFEST_FILE}")):
            raise StoreError(
                f"{self.root} was written by an older clirbench, whose cells did not record the "
                "split or the method's version (dev and test, or two versions, could share a "
                "cell). Its results cannot be reused safely: move it aside "
                f"(mv {self.root} {self.root}.old) and run again."
            )

    def path(self, key: CellKey) -> Location:
        return self.root / key.relative_path

    def lookup(
        self, key: CellKey, task: TaskIdentity, method: Mapping[str, Any]
    ) -> tuple[Cell | None, str]:
        """The stored cell for ``key`` if it was made from this task data by this method code,
        else None and why not (empty when there is no cell). Raises StoreError when the cell
        belongs to another task folder of the same name."""
        path = self.path(key)
        if not (path / MANIFEST_FILE).is_file():
            return None, ""
        try:
            cell = self._read(path)
        except ClirbenchError as error:
            return None, f"damaged cell ({error})"
        stored = cell.task_identity
        if (
            stored.source != task.source
            and stored.source.startswith(FOLDER_SOURCE)
            and task.source.startswith(FOLDER_SOURCE)
        ):
            raise StoreError(
                f"{self.root} already holds task {task.name!r} from "
                f"{stored.source.removeprefix(FOLDER_SOURCE)}, not from "
                f"{task.source.removeprefix(FOLDER_SOURCE)}: give one of them another name (name: "
                "in its task.yaml), use another --store, or pass --overwrite to replace the stored "
                "results"
            )
        if stored != task:
            return None, "the task's data changed"
        if (was := cell.manifest["method"].get("identity")) != dict(method):
            return (
                None,
                f"the method's code changed "
                f"({_describe_identity(was)} -> {_describe_identity(method)})",
            )
        return cell, ""

    def save(
        self,
        key: CellKey,
        run: Run | None,
        per_query: PerQueryScores,
        aggregate: dict[str, float],
        manifest: dict[str, Any],
    ) -> Cell:
        """Write the whole cell to a temporary folder, then move it into place in one rename,
        under a lock so that two runs that finish the same cell at once cannot collide.
        ``run=None`` keeps the scores only (an export without runs)."""
        final = self.path(key)
        try:
            return self._publish(final, key, run, per_query, aggregate, manifest)
        except OSError as error:  # read-only store, full disk, file-size limit
            raise StoreError(_write_problem(final, error)) from None

    def _publish(
        self,
        final: Location,
        key: CellKey,
        run: Run | None,
        per_query: PerQueryScores,
        aggregate: dict[str, float],
        manifest: dict[str, Any],
    ) -> Cell:
        from filelock import FileLock

        assert isinstance(final, Path), "a store at an fsspec URL is an FsspecResultStore"
        final.parent.mkdir(parents=True, exist_ok=True)
        if not (self.root / FORMAT_FILE).exists():
            atomic_write_json(self.root / FORMAT_FILE, {"format": STORE_FORMAT})
        with FileLock(str(_lock_path(final))):
            _recover(final)
            tmp = create_temp_dir(final.parent, final.name)
            try:
                if run is not None:
                    (tmp / RUN_FILE).write_text(
                        format_run(run, tag=f"{key.method}@{key.config_hash}"), encoding="utf-8"
                    )
                (tmp / PER_QUERY_FILE).write_text(_per_query_tsv(per_query), encoding="utf-8")
                atomic_write_json(tmp / AGGREGATE_FILE, aggregate)
                files = {name: file_sha256(tmp / name) for name in _data_files(run is not None)}
                stamped = {**_stamped(manifest, key), "format": STORE_FORMAT, "files": files}
                atomic_write_json(tmp / MANIFEST_FILE, stamped)
                if final.exists():
                    trash = _trash_path(final)
                    final.rename(trash)  # killed from here to the next rename: _recover undoes it
                    tmp.rename(final)
                    shutil.rmtree(trash, ignore_errors=True)  # else: store check removes it
                else:
                    tmp.rename(final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return self._read(final)  # under the lock: another save may replace it next

    def record_not_run(
        self,
        method: str,
        config_hash: str,
        reason: str,
        tasks: list[str],
        options: Mapping[str, Any],
    ) -> None:
        atomic_write_json(
            self.root / NOT_RUN_DIR / f"{encode_segment(method)}@{config_hash}.json",
            {
                "method": method,
                "config_hash": config_hash,
                "reason": reason,
                "tasks": tasks,
                "options": dict(options),
            },
        )

    def clear_not_run(self, method: str, config_hash: str) -> None:
        record = self.root / NOT_RUN_DIR / f"{encode_segment(method)}@{config_hash}.json"
        if record.exists():  # a store that is read-only refuses even the unlink of nothing
            record.unlink(missing_ok=True)

    def not_run(self) -> list[dict[str, Any]]:
        """Methods recorded as unable to run: method, config_hash, reason, tasks, options."""
        records: list[Location] = sorted((self.root / NOT_RUN_DIR).glob("*.json"))
        return [_read_not_run(path) for path in records]

    def export(self, destination: str | Path, *, runs: bool = True) -> int:
        """Copy every cell (each verified as it is read) and every not-run record into the
        store at ``destination``, replacing what it holds for them; the number of cells.

        Without ``runs`` a cell keeps its scores and manifest only, a few KB instead of about
        1.5 MB: the form in which a leaderboard's results can be committed beside it, so that a
        new machine re-renders or extends the report without recomputing them.
        """
        self._check_is_store()
        target = ResultStore(destination)
        if str(target.root) == str(self.root):
            raise StoreError(f"{self.root}: cannot export a store into itself; give another --out")
        count = 0
        for cell in self.cells():
            run = cell.run if runs and cell.has_run else None
            target.save(cell.key, run, cell.per_query, cell.aggregate, cell.manifest)
            count += 1
        for item in self.not_run():
            target.record_not_run(
                item["method"], item["config_hash"], item["reason"], item["tasks"], item["options"]
            )
        return count

    def cells(self) -> Iterator[Cell]:
        """Every finished cell in the store, in path order, each verified against its digests."""
        manifests: list[Location] = sorted(self.root.glob(f"*/*/*/{MANIFEST_FILE}"))
        for manifest in manifests:
            # its task, split and cell folders; a name with a leading dot is no cell's
            if not any(manifest.parents[up].name.startswith(".") for up in range(3)):
                yield self._read(manifest.parent)

    def find(
        self, task: str, system: str, split: str | None = None, cells: Iterable[Cell] | None = None
    ) -> Cell:
        """The one cell of ``task`` for ``system`` among ``cells`` (default: this store's); see
        ``find_cell``."""
        return find_cell(self.cells() if cells is None else cells, task, system, split, self.root)

    def _read(self, path: Location) -> Cell:
        """The cell in ``path``, verified: its manifest, its files' digests, its aggregate, and
        that it is in the folder its manifest names (a copied cell would count twice)."""
        try:
            manifest = Manifest.model_validate_json((path / MANIFEST_FILE).read_bytes())
            for name in _data_files(RUN_FILE in manifest.files):
                if file_sha256(path / name) != manifest.files.get(name):
                    raise ValueError(f"{name} does not match its digest in the manifest")
            aggregate = _aggregate(json.loads((path / AGGREGATE_FILE).read_bytes()))
            home = self.path(manifest.key)  # a name that is not UTF-8 (a lone surrogate) fails
        except (OSError, ValueError, RecursionError) as error:
            problem = f"damaged result cell ({_reason(error)}); {self._redo(path)}"
            raise InputError(path, None, problem) from None
        if home != path:
            task, method = manifest.task, manifest.method
            raise InputError(
                path,
                None,
                f"a result cell of task {task.name!r} ({task.split}) and "
                f"{method.name}@{method.config_hash}, whose place is {home}: it was moved or "
                f"copied here; {_repair_hint(self.root)}",
            )
        dumped = manifest.model_dump(exclude_unset=True)
        return Cell(path=path, manifest=dumped, aggregate=aggregate)

    def _redo(self, path: Location) -> str:
        """What to do about the damaged cell in ``path``: its command recomputes it."""
        try:
            command = json.loads((path / MANIFEST_FILE).read_bytes()).get("command")
        except (OSError, ValueError, RecursionError, AttributeError):
            command = None
        known = isinstance(command, str) and command.isprintable() and command
        rerun = f"rerun `{command}`" if known else "rerun the command that made it"
        return f"{rerun} to recompute it, or {_repair_hint(self.root)}"

    def _check_is_store(self) -> None:
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: no such folder; give a result store (--store)")
        if not (self.root / FORMAT_FILE).is_file() and any(self.root.iterdir()):
            raise StoreError(
                f"{self.root} is not a clirbench result store (it has no "
                f"{FORMAT_FILE}); give the folder that `clirbench run --store` wrote"
            )

    def check(self, repair: bool = False) -> list[StoreProblem]:
        """Every damaged or orphaned entry of the store; with ``repair``, each is removed (or,
        for a cell a killed save moved aside, put back) unless a running save holds its lock.

        Damaged entries make reads fail or hide a result; orphans (temp folders and trash of
        killed saves, stray files, locks without a cell) are ignored by reads.
        """
        self._check_is_store()
        found: list[StoreProblem] = []
        entries: list[Location] = sorted(self.root.iterdir())
        for entry in entries:
            if entry.name == FORMAT_FILE:
                continue
            if entry.name == NOT_RUN_DIR and entry.is_dir():
                found += _check_not_run(entry, repair)
            elif _is_temp(entry):
                found += _stale_temp(entry, repair)
            elif entry.is_dir() and not entry.name.startswith("."):
                splits: list[Location] = sorted(entry.iterdir())
                for split in splits:
                    if split.is_dir() and not split.name.startswith("."):
                        found += self._check_split(split, repair)
                        _remove_if_emptied(split, repair)
                    elif _is_temp(split):
                        found += _stale_temp(split, repair)
                    else:
                        found.append(_orphan(split, "not a split folder of a task", repair))
                _remove_if_emptied(entry, repair)
            else:
                found.append(_orphan(entry, "not part of a result store", repair))
        return found

    def _check_split(self, folder: Location, repair: bool) -> list[StoreProblem]:
        """The entries of one split folder, grouped by the cell they belong to, each group
        checked (and repaired) under that cell's lock."""
        assert isinstance(folder, Path), "a store at an fsspec URL is an FsspecResultStore"
        groups: dict[str, dict[str, list[Path]]] = {}
        found = []
        for entry in sorted(folder.iterdir()):
            match = _ENTRY.fullmatch(entry.name)
            roles = match.groupdict() if match else {}
            role = next((name for name, value in roles.items() if value), None)
            if match is None or role is None or (role == "lock") == entry.is_dir():
                found.append(_orphan(entry, "not a result cell", repair))
                continue
            cell = match.group(role)
            groups.setdefault(cell, {}).setdefault(role, []).append(entry)
        for name, entries in groups.items():
            found += self._check_group(folder / name, entries, repair)
        return found

    def _check_group(
        self, final: Path, entries: dict[str, list[Path]], repair: bool
    ) -> list[StoreProblem]:
        from filelock import FileLock, Timeout

        lock = _lock_path(final)
        found: list[StoreProblem] = []
        held = FileLock(str(lock), timeout=0) if lock.exists() else None
        try:  # a running save holds the lock: its temp folder is no orphan
            if held is not None:
                held.acquire()
        except Timeout:
            return []
        except OSError:  # a read-only store: nothing can be saved (or repaired) there
            held = None
        try:
            had_cell = final.exists() or _trash_path(final).exists()
            if "cell" in entries:
                found += self._check_cell(final, repair)
            for trash in entries.get("trash", []):
                if final.exists():
                    found.append(_orphan(trash, "the previous version of a replaced cell", repair))
                else:
                    found.append(self._restore(trash, final, repair))
            for temp in entries.get("temp", []):
                what = "the unfinished folder of a save that was killed"
                found.append(_orphan(temp, what, repair))
            if lock.exists() and not final.exists() and not _trash_path(final).exists():
                if had_cell:  # its cell was damaged and is gone now: the lock goes with it
                    lock.unlink()
                else:
                    found.append(_orphan(lock, "the lock of a cell that is not there", repair))
        finally:
            if held is not None:
                held.release()
        return found

    def _check_cell(self, path: Location, repair: bool) -> list[StoreProblem]:
        if not (path / MANIFEST_FILE).exists():
            return [_problem(path, "damaged", "no manifest.json: not a finished cell", repair)]
        try:
            cell = self._read(path)
        except InputError as error:
            return [_problem(path, "damaged", error.problem.split("; ")[0], repair)]
        known = {MANIFEST_FILE, *cell.manifest["files"]}
        entries: list[Location] = sorted(path.iterdir())
        return [
            _orphan(extra, "not a file of the cell", repair)
            for extra in entries
            if extra.name not in known
        ]

    def _restore(self, trash: Path, final: Path, repair: bool) -> StoreProblem:
        what = (
            f"the cell {final.name}, moved aside by a save that was killed before its new "
            "version was in place"
        )
        if not repair:
            return StoreProblem(trash, "damaged", what, "put it back")
        try:
            trash.rename(final)
        except OSError as error:
            return StoreProblem(trash, "damaged", what, f"not put back: {error.strerror or error}")
        try:
            self._read(final)
        except InputError:
            shutil.rmtree(final, ignore_errors=True)
            return StoreProblem(trash, "damaged", what + " (damaged)", "removed", repaired=True)
        return StoreProblem(trash, "damaged", what, "put back", repaired=True)


class FsspecResultStore(ResultStore):
    """A result store on a filesystem that can neither rename a folder at once nor lock
    (object stores such as ``s3://`` and ``gs://``, ``memory://``), reached through fsspec.

    A cell is published by writing its data files, then its manifest, last: a cell without a
    manifest does not exist (lookups and reports skip it, ``check`` reports its files as an
    orphan). Saving over a cell first removes its manifest, so an interrupted ``--overwrite``
    loses the old cell rather than mixing two. Nothing keeps apart two runs that save the same
    cell at once: the last manifest written wins, and files it does not match make the cell
    read as damaged (then recomputed), never as a wrong result.
    """

    root: FsPath

    def _publish(
        self,
        final: Location,
        key: CellKey,
        run: Run | None,
        per_query: PerQueryScores,
        aggregate: dict[str, float],
        manifest: dict[str, Any],
    ) -> Cell:
        note_once(
            f"store {self.root}",
            f"the result store {self.root} is not a local folder: a cell is published by "
            "writing its files and then its manifest, without a lock, so two runs saving the "
            "same cell at the same time are not protected from each other",
        )
        files = {
            PER_QUERY_FILE: _per_query_tsv(per_query).encode("utf-8"),
            AGGREGATE_FILE: json_bytes(aggregate),
        }
        if run is not None:
            files[RUN_FILE] = format_run(run, tag=f"{key.method}@{key.config_hash}").encode()
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        stamped = json_bytes({**_stamped(manifest, key), "format": STORE_FORMAT, "files": digests})
        if not (self.root / FORMAT_FILE).exists():
            (self.root / FORMAT_FILE).write_bytes(json_bytes({"format": STORE_FORMAT}))
        (final / MANIFEST_FILE).unlink(missing_ok=True)  # the old cell is gone before it changes
        for name, data in files.items():
            (final / name).write_bytes(data)
        (final / MANIFEST_FILE).write_bytes(stamped)  # last: from here on the cell exists
        return self._read(final)

    def _check_split(self, folder: Location, repair: bool) -> list[StoreProblem]:
        """No locks, temp folders or trash here: each entry is a cell, the files of a save
        that did not finish (no manifest), or a stray file."""
        found = []
        entries: list[Location] = sorted(folder.iterdir())
        for entry in entries:
            match = _ENTRY.fullmatch(entry.name)
            if not (match and match.group("cell")) or not entry.is_dir():
                found.append(_orphan(entry, "not a result cell", repair))
            elif (entry / MANIFEST_FILE).exists():
                found += self._check_cell(entry, repair)
            else:
                what = "the files of a cell whose save did not finish (no manifest.json)"
                if repair and _age(entry) < TEMP_GRACE_S:
                    kept = (
                        f"kept: younger than {TEMP_GRACE_S:.0f} s, a save may still be writing it"
                    )
                    found.append(StoreProblem(entry, "orphan", what, kept))
                else:
                    found.append(_orphan(entry, what, repair))
        return found


ProblemKind = Literal["damaged", "orphan"]


def _data_files(with_run: bool) -> tuple[str, ...]:
    return DATA_FILES if with_run else tuple(name for name in DATA_FILES if name != RUN_FILE)


@dataclass(frozen=True)
class StoreProblem:
    """An entry of a store or cache that ``store check`` reports. ``repair`` says what
    ``--repair`` does (or did, when ``repaired``) about it."""

    path: Location
    kind: ProblemKind
    problem: str
    repair: str = "remove it"
    repaired: bool = False


# Names in a split folder: a cell (method@hash), its lock, a killed save's temp folder, trash.
_ENTRY = re.compile(
    r"(?P<cell>[^.].*@[0-9a-f]{12})|\.(?P<lock>.+)\.lock"
    r"|\.(?P<temp>.+)\.[0-9a-f]{12}\.tmp|\.(?P<trash>.+)\.old"
)
_TEMP = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")
TEMP_GRACE_S = 600.0
"""Loose temp files younger than this are left alone: a running write may be about to use them."""


def _lock_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.lock")


def _trash_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.old")


def _recover(final: Path) -> None:
    """Under the cell's lock: put back a cell that a killed save moved aside, and remove the
    temp folders and trash of killed saves of this cell."""
    trash = _trash_path(final)
    if trash.is_dir() and not final.exists():
        trash.rename(final)
    for leftover in final.parent.glob(glob.escape(f".{final.name}.") + "*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _is_temp(path: Location) -> bool:
    return bool(_TEMP.fullmatch(path.name))


def _remove(path: Location) -> None:
    if isinstance(path, FsPath):
        path.remove_tree()
    elif path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _stamped(manifest: dict[str, Any], key: CellKey) -> dict[str, Any]:
    """``manifest`` naming the task, split, method and configuration of ``key``: the folder
    a cell is saved in and what its manifest says always agree (``check`` relies on it)."""
    task = {**manifest.get("task", {}), "name": key.task, "split": key.split}
    method = {**manifest.get("method", {}), "name": key.method, "config_hash": key.config_hash}
    return {**manifest, "task": task, "method": method}


def _write_problem(final: Location, error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        todo = "free some space (or raise the file-size limit, ulimit -f) and rerun"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        todo = "give a result store folder you can write to (--store)"
    else:
        todo = "fix that and rerun"
    return (
        f"cannot write the result cell {final} ({error.strerror or error}); {todo}; "
        "the cells stored before are kept"
    )


def _remove_if_emptied(folder: Location, repair: bool) -> None:
    """After a repair, a task or split folder left empty goes too (a save recreates it)."""
    if repair:
        with contextlib.suppress(OSError):  # not empty: it holds cells
            folder.rmdir()


def _problem(path: Location, kind: ProblemKind, what: str, repair: bool) -> StoreProblem:
    """The problem; with ``repair``, removed first (a failure is left as the reason)."""
    if not repair:
        return StoreProblem(path, kind, what)
    try:
        _remove(path)
    except OSError as error:
        return StoreProblem(path, kind, what, f"not removed: {error.strerror or error}")
    return StoreProblem(path, kind, what, "removed", repaired=True)


def _orphan(path: Location, what: str, repair: bool) -> StoreProblem:
    return _problem(path, "orphan", what, repair)


def _age(path: Location) -> float:
    """Seconds since ``path`` changed; for a folder on an fsspec filesystem, since its newest
    file did (such a folder may have no time of its own); infinite where nothing says."""
    if isinstance(path, Path):
        return time.time() - path.stat().st_mtime
    entries = list(path.iterdir()) if path.is_dir() else [path]
    known = [stamp for stamp in (entry.stat().st_mtime for entry in entries) if stamp is not None]
    return time.time() - max(known) if known else float("inf")


def _stale_temp(path: Location, repair: bool) -> list[StoreProblem]:
    try:
        age = _age(path)
    except OSError:
        return []
    if age < TEMP_GRACE_S:
        return []
    return [_orphan(path, "a temp file of a write that was killed", repair)]


def _check_not_run(folder: Location, repair: bool) -> list[StoreProblem]:
    found = []
    entries: list[Location] = sorted(folder.iterdir())
    for entry in entries:
        if _is_temp(entry):
            found += _stale_temp(entry, repair)
        elif entry.suffix != ".json" or not entry.is_file():
            found.append(_orphan(entry, "not a record of a method that did not run", repair))
        else:
            try:
                _read_not_run(entry)
            except InputError as error:
                found.append(_problem(entry, "damaged", error.problem.split("; ")[0], repair))
    return found


def _read_not_run(path: Location) -> dict[str, Any]:
    try:
        record = json.loads(path.read_bytes())
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        for field, kind in (
            ("method", str),
            ("config_hash", str),
            ("reason", str),
            ("tasks", list),
            ("options", dict),
        ):
            if not isinstance(record.get(field), kind):
                raise ValueError(f"{field!r} missing or not a {kind.__name__}")
    except (OSError, ValueError, RecursionError) as error:
        root = path.parent.parent
        problem = (
            f"unreadable record of a method that did not run ({_reason(error)}); "
            f"{_repair_hint(root)}"
        )
        raise InputError(path, None, problem) from None
    return record


def _aggregate(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
    ):
        raise ValueError("aggregate.json is not an object of measure -> number")
    return {name: float(v) for name, v in value.items()}


def _reason(error: BaseException) -> str:
    """A short account, on one line, of why a file did not read."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        reason = f"manifest.json: {where + ': ' if where else ''}{first['msg']}"
    elif isinstance(error, OSError):
        name = Path(error.filename).name if error.filename else "a file"
        missing = isinstance(error, FileNotFoundError)
        reason = f"{name}: {'missing' if missing else error.strerror or error}"
    elif isinstance(error, RecursionError):
        reason = "JSON nested too deeply"
    else:
        reason = str(error)
    return " ".join(reason.split())[:300]


def check_cache(root: Path | None = None, repair: bool = False) -> list[StoreProblem]:
    """Every cache namespace with a problem (see ``cache.check_namespace``). A torn tail, left
    by a killed append, is an orphan (readers stop before it; ``repair`` cuts it); anything
    else is damage, and ``repair`` removes the namespace: it is only a cache."""
    from clirbench.cache import list_namespaces, repair_namespace

    found = []
    for entry in list_namespaces(root):
        if not entry["problems"]:
            continue
        torn = all(problem.endswith("torn or damaged tail") for problem in entry["problems"])
        kind: ProblemKind = "orphan" if torn else "damaged"
        what = "; ".join(entry["problems"])
        if repair:
            done = repair_namespace(entry["path"])
            found.append(StoreProblem(entry["path"], kind, what, done, repaired=True))
        else:
            plan = "cut the torn tail" if torn else "remove the namespace (it is only a cache)"
            found.append(StoreProblem(entry["path"], kind, what, plan))
    return found


def _describe_identity(identity: Any) -> str:
    """A method identity as a reason shows it; a stored one may be anything a file held."""
    if not isinstance(identity, Mapping) or not identity:
        return "unrecorded"
    described = (
        f"{identity.get('distribution', '?')} {identity.get('distribution_version', '?')}, "
        f"method version {identity.get('method_version', '?')}"
    )
    inputs = identity.get("dependencies")
    if isinstance(inputs, list) and inputs:
        described += f", reading [{'; '.join(map(_describe_identity, inputs))}]"
    return described


def cells_of(stores: Iterable[ResultStore]) -> list[Cell]:
    """Every cell of several stores, as if they were one; the same cell (task, split, system)
    in two stores is an error, since a result counted twice would skew every test."""
    cells: list[Cell] = []
    seen: dict[CellKey, Location] = {}
    for store in stores:
        for cell in store.cells():
            if cell.key in seen:
                raise StoreError(
                    f"the same result is in two stores: {seen[cell.key]} and {cell.path}; "
                    "pass each store once, or delete one copy"
                )
            seen[cell.key] = cell.path
            cells.append(cell)
    return cells


def find_cell(
    cells: Iterable[Cell], task: str, system: str, split: str | None, where: object
) -> Cell:
    """The one cell of ``task`` for ``system``: a label as the leaderboard shows it
    (``nmt[lexical]``, ``bm25[k1=0.9]``), a method name with one configuration, or
    ``name@config_hash``. ``where`` names the store(s) in the errors."""
    cells = list(cells)
    labels = system_labels(cells)
    on_task = [
        c
        for c in cells
        if c.manifest["task"]["name"] == task and split in (None, c.manifest["task"]["split"])
    ]
    if not on_task:
        raise StoreError(
            f"no result for task {task!r} in {where}; run `clirbench run -t {task}` first"
        )
    matches = [c for c in on_task if system in (labels[c.path], f"{c.system[0]}@{c.system[1]}")]
    if not matches:
        matches = [c for c in on_task if c.system[0] == system]
    if not matches:
        raise UnknownNameError(
            f"system on task {task!r} in {where}", system, {labels[c.path] for c in on_task}
        )
    if len({c.system for c in matches}) > 1:
        names = ", ".join(sorted(labels[c.path] for c in matches))
        raise StoreError(f"{system!r} has several configurations on {task!r}: name one of {names}")
    if len(matches) > 1:
        splits = ", ".join(sorted(c.manifest["task"]["split"] for c in matches))
        raise StoreError(
            f"{system!r} has results on several splits of {task!r} ({splits}): "
            "choose one with --split"
        )
    return matches[0]


def system_labels(cells: Iterable[Cell]) -> dict[Location, str]:
    """Cell path -> the system's one human label, used by run, report, compare and repro.

    The label is the method's own (``nmt[lexical]``); where the cells hold several
    configurations of it, each label adds the options that tell them apart and that this
    configuration sets (``bm25[k1=0.9]``; the all-defaults one stays ``bm25``).
    """
    cells = list(cells)
    by_base: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in cells:
        method = cell.manifest["method"]
        by_base.setdefault(_base_label(method), {})[method["config_hash"]] = _label_options(method)
    labels = {}
    for cell in cells:
        method = cell.manifest["method"]
        base, configs = _base_label(method), by_base[_base_label(method)]
        if len(configs) == 1:
            labels[cell.path] = base
            continue
        differing = sorted(
            {
                key
                for options in configs.values()
                for key in options
                if len({json.dumps(o.get(key), sort_keys=True) for o in configs.values()}) > 1
            }
        )
        own = configs[method["config_hash"]]
        parts = [f"{key}={_short(own[key])}" for key in differing if key in own]
        labels[cell.path] = _with_parts(base, parts)
    clashes = Counter(labels[c.path] for c in {c.system: c for c in cells}.values())
    for cell in cells:  # only cells written by hand can differ in nothing a label shows
        if clashes[labels[cell.path]] > 1:
            labels[cell.path] += f"@{cell.system[1]}"
    return labels


def _base_label(method: Mapping[str, Any]) -> str:
    return method.get("label") or method["name"]


def _label_options(method: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(method.get("identity_options", {}))
    for name, digest in options.pop("input_digests", {}).items():
        options[f"{name}.sha256"] = digest[:8]
    if method.get("k", 100) != 100:
        options["k"] = method["k"]
    return options


def _short(value: Any) -> str:
    """An option value as a label shows it: lists joined by '+', paths by their file name."""
    if isinstance(value, list):
        return "+".join(_short(v) for v in value)
    if isinstance(value, str) and ("/" in value or os.sep in value):
        return Path(value).name
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _with_parts(base: str, parts: list[str]) -> str:
    if not parts:
        return base
    if base.endswith("]"):
        return f"{base[:-1]},{','.join(parts)}]"
    return f"{base}[{','.join(parts)}]"
