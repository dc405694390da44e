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
  manifest and checked whenever the cell is read, so a damaged cell is never used.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, ValidationError

from clirbench.errors import ClirbenchError, InputError, UnknownNameError
from clirbench.evaluation import PerQueryScores
from clirbench.fileio import atomic_write_json, create_temp_dir, file_sha256
from clirbench.method import Run
from clirbench.tasks.beir import FOLDER_SOURCE
from clirbench.trec import format_run, read_run

STORE_FORMAT = 2
RUN_FILE, PER_QUERY_FILE, AGGREGATE_FILE, MANIFEST_FILE = "run.trec", "per_query.tsv", "aggregate.json", "manifest.json"
FORMAT_FILE = "store.json"
DATA_FILES = (RUN_FILE, PER_QUERY_FILE, AGGREGATE_FILE)
NOT_RUN_DIR = "_not_run"  # methods that could not run here, with the reason, for the leaderboard


class StoreError(ClirbenchError):
    """A result store that cannot be used as it is (another format, a name clash)."""

    exit_code = 2


def config_hash(method: str, options: Mapping[str, Any], k: int) -> str:
    """12 hex digits naming one configuration of a method: its name, the options that decide
    its results (see ``MethodOptions.identity``) and the depth ``k``; the same on every task."""
    payload = json.dumps({"method": method, "options": options, "k": k}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


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
        return Path(encode_segment(self.task)) / encode_segment(self.split) / f"{encode_segment(self.method)}@{self.config_hash}"


class TaskIdentity(BaseModel):
    """What a task's results are made of: the same name and split may hold other data."""

    model_config = ConfigDict(frozen=True)

    name: str
    split: str
    source: str
    checksum: str


class Manifest(BaseModel):
    """The parts of ``manifest.json`` that reuse and reports rely on; other keys ride along."""

    model_config = ConfigDict(extra="allow")

    format: int
    task: dict[str, Any]
    method: dict[str, Any]
    files: dict[str, str]


@dataclass(frozen=True)
class Cell:
    """A finished (task, split, method, configuration) result as stored."""

    path: Path
    manifest: dict[str, Any]
    aggregate: dict[str, float]

    @property
    def task_identity(self) -> TaskIdentity:
        task = self.manifest["task"]
        return TaskIdentity(name=task["name"], split=task["split"], source=task["source"], checksum=task["checksum"])

    @property
    def system(self) -> tuple[str, str]:
        """(method name, config hash): the same system on every task."""
        return self.manifest["method"]["name"], self.manifest["method"]["config_hash"]

    @property
    def per_query(self) -> PerQueryScores:
        scores: PerQueryScores = {}
        with (self.path / PER_QUERY_FILE).open(encoding="utf-8", newline="") as rows:
            for row in csv.DictReader(rows, delimiter="\t"):
                scores.setdefault(row["measure"], {})[row["query_id"]] = float(row["value"])
        return scores

    @property
    def run(self) -> Run:
        """The stored run; empty when the method found nothing for any query."""
        path = self.path / RUN_FILE
        return read_run(path) if path.stat().st_size else {}


def _per_query_tsv(per_query: PerQueryScores) -> str:
    lines = ["query_id\tmeasure\tvalue\n"]
    for measure in sorted(per_query):
        for qid in sorted(per_query[measure]):
            lines.append(f"{qid}\t{measure}\t{per_query[measure][qid]!r}\n")
    return "".join(lines)


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._check_format()

    def _check_format(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: is a file, not a folder; give a result store folder (--store)")
        marker = self.root / FORMAT_FILE
        if marker.is_file():
            try:
                found = json.loads(marker.read_text(encoding="utf-8")).get("format")
            except (OSError, ValueError, AttributeError) as error:
                raise StoreError(f"{marker}: unreadable ({error}); is {self.root} a clirbench result store?") from None
            if found != STORE_FORMAT:
                raise StoreError(f"{self.root} is a result store of format {found}; this clirbench reads format "
                                 f"{STORE_FORMAT}: use a clirbench that matches, or a new --store folder")
        elif self.root.is_dir() and any(self.root.glob(f"*/*/{MANIFEST_FILE}")):
            raise StoreError(
                f"{self.root} was written by an older clirbench, whose cells did not record the split or "
                "the method's version (dev and test, or two versions, could share a cell). Its results "
                f"cannot be reused safely: move it aside (mv {self.root} {self.root}.old) and run again."
            )

    def path(self, key: CellKey) -> Path:
        return self.root / key.relative_path

    def lookup(self, key: CellKey, task: TaskIdentity, method: Mapping[str, Any]) -> tuple[Cell | None, str]:
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
        if stored.source != task.source and stored.source.startswith(FOLDER_SOURCE) and task.source.startswith(FOLDER_SOURCE):
            raise StoreError(
                f"{self.root} already holds task {task.name!r} from {stored.source.removeprefix(FOLDER_SOURCE)}, "
                f"not from {task.source.removeprefix(FOLDER_SOURCE)}: give one of them another name (name: in its "
                "task.yaml), use another --store, or pass --overwrite to replace the stored results"
            )
        if stored != task:
            return None, "the task's data changed"
        if (was := cell.manifest["method"].get("identity")) != dict(method):
            return None, f"the method's code changed ({_describe_identity(was)} -> {_describe_identity(method)})"
        return cell, ""

    def save(self, key: CellKey, run: Run, per_query: PerQueryScores, aggregate: dict[str, float], manifest: dict[str, Any]) -> Cell:
        """Write the whole cell to a temporary folder, then move it into place in one rename,
        under a lock so that two runs that finish the same cell at once cannot collide."""
        from filelock import FileLock

        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        if not (self.root / FORMAT_FILE).exists():
            atomic_write_json(self.root / FORMAT_FILE, {"format": STORE_FORMAT})
        with FileLock(str(final.parent / f".{final.name}.lock")):
            for leftover in final.parent.glob(f".{final.name}.*"):  # from a save that was killed
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
            tmp = create_temp_dir(final.parent, final.name)
            try:
                (tmp / RUN_FILE).write_text(format_run(run, tag=f"{key.method}@{key.config_hash}"), encoding="utf-8")
                (tmp / PER_QUERY_FILE).write_text(_per_query_tsv(per_query), encoding="utf-8")
                atomic_write_json(tmp / AGGREGATE_FILE, aggregate)
                files = {name: file_sha256(tmp / name) for name in DATA_FILES}
                atomic_write_json(tmp / MANIFEST_FILE, {**manifest, "format": STORE_FORMAT, "files": files})
                if final.exists():
                    trash = final.with_name(f".{final.name}.old")
                    shutil.rmtree(trash, ignore_errors=True)
                    final.rename(trash)
                    tmp.rename(final)
                    shutil.rmtree(trash)
                else:
                    tmp.rename(final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return self._read(final)

    def record_not_run(self, method: str, config_hash: str, reason: str, tasks: list[str], options: Mapping[str, Any]) -> None:
        atomic_write_json(
            self.root / NOT_RUN_DIR / f"{encode_segment(method)}@{config_hash}.json",
            {"method": method, "config_hash": config_hash, "reason": reason, "tasks": tasks, "options": dict(options)},
        )

    def clear_not_run(self, method: str, config_hash: str) -> None:
        (self.root / NOT_RUN_DIR / f"{encode_segment(method)}@{config_hash}.json").unlink(missing_ok=True)

    def not_run(self) -> list[dict[str, Any]]:
        """Methods recorded as unable to run: method, config_hash, reason, tasks, options."""
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((self.root / NOT_RUN_DIR).glob("*.json"))]

    def cells(self) -> Iterator[Cell]:
        """Every finished cell in the store, in path order, each verified against its digests."""
        for manifest in sorted(self.root.glob(f"*/*/*/{MANIFEST_FILE}")):
            if not any(part.startswith(".") for part in manifest.parent.relative_to(self.root).parts):
                yield self._read(manifest.parent)

    def find(self, task: str, system: str, split: str | None = None, cells: Iterable[Cell] | None = None) -> Cell:
        """The one cell of ``task`` for ``system``: a label as the leaderboard shows it
        (``nmt[lexical]``, ``bm25[k1=0.9]``), a method name with one configuration, or
        ``name@config_hash``."""
        cells = list(self.cells() if cells is None else cells)
        labels = system_labels(cells)
        on_task = [c for c in cells if c.manifest["task"]["name"] == task and split in (None, c.manifest["task"]["split"])]
        if not on_task:
            raise StoreError(f"no result for task {task!r} in {self.root}; run `clirbench run -t {task}` first")
        matches = [c for c in on_task if system in (labels[c.path], f"{c.system[0]}@{c.system[1]}")]
        if not matches:
            matches = [c for c in on_task if c.system[0] == system]
        if not matches:
            raise UnknownNameError(f"system on task {task!r} in {self.root}", system, {labels[c.path] for c in on_task})
        if len({c.system for c in matches}) > 1:
            names = ", ".join(sorted(labels[c.path] for c in matches))
            raise StoreError(f"{system!r} has several configurations on {task!r}: name one of {names}")
        if len(matches) > 1:
            splits = ", ".join(sorted(c.manifest["task"]["split"] for c in matches))
            raise StoreError(f"{system!r} has results on several splits of {task!r} ({splits}): choose one with --split")
        return matches[0]

    @staticmethod
    def _read(path: Path) -> Cell:
        try:
            manifest = Manifest.model_validate_json((path / MANIFEST_FILE).read_text(encoding="utf-8"))
            for name in DATA_FILES:
                if file_sha256(path / name) != manifest.files.get(name):
                    raise ValueError(f"{name} does not match its digest in the manifest")
            aggregate = json.loads((path / AGGREGATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError) as error:
            reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else error
            raise InputError(path, None, f"damaged result cell ({reason}); rerun its command with --overwrite") from None
        return Cell(path=path, manifest=manifest.model_dump(), aggregate=aggregate)


def _describe_identity(identity: Mapping[str, Any] | None) -> str:
    if not identity:
        return "unrecorded"
    described = (f"{identity['distribution']} {identity['distribution_version']}, "
                 f"method version {identity['method_version']}")
    if inputs := identity.get("dependencies"):
        described += f", reading [{'; '.join(map(_describe_identity, inputs))}]"
    return described


def system_labels(cells: Iterable[Cell]) -> dict[Path, str]:
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
        differing = sorted({key for options in configs.values() for key in options
                            if len({json.dumps(o.get(key), sort_keys=True) for o in configs.values()}) > 1})
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
