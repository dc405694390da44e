"""The result store: one folder per (task, method, config hash), written atomically.

Layout under the store's root::

    <task>/<method>@<config hash>/
        run.trec         the TREC run
        per_query.tsv    query_id, measure, value
        aggregate.json   measure -> mean
        manifest.json    task card, options, versions, commit, seed, timings, machine
    _not_run/<method>@<config hash>.json   why a method could not run, on which tasks

A cell folder appears in one rename, complete, so a killed run never leaves half a cell, and
a finished cell is reused on the next run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clirbench.errors import InputError
from clirbench.evaluation import PerQueryScores
from clirbench.fileio import atomic_write_json
from clirbench.method import Run
from clirbench.trec import format_run, read_run

RUN_FILE, PER_QUERY_FILE, AGGREGATE_FILE, MANIFEST_FILE = "run.trec", "per_query.tsv", "aggregate.json", "manifest.json"
NOT_RUN_DIR = "_not_run"  # methods that could not run here, with the reason, for the leaderboard


def config_hash(method: str, options: Mapping[str, Any], k: int) -> str:
    """12 hex digits identifying a method configuration (name, options, depth)."""
    payload = json.dumps({"method": method, "options": options, "k": k}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CellKey:
    task: str
    method: str
    config_hash: str

    @property
    def relative_path(self) -> Path:
        return Path(self.task.replace("/", "--")) / f"{self.method}@{self.config_hash}"


@dataclass(frozen=True)
class Cell:
    """A finished (task, method, configuration) result as stored."""

    path: Path
    manifest: dict[str, Any]
    aggregate: dict[str, float]

    @property
    def per_query(self) -> PerQueryScores:
        scores: PerQueryScores = {}
        with (self.path / PER_QUERY_FILE).open(encoding="utf-8", newline="") as rows:
            for row in csv.DictReader(rows, delimiter="\t"):
                scores.setdefault(row["measure"], {})[row["query_id"]] = float(row["value"])
        return scores

    @property
    def run(self) -> Run:
        return read_run(self.path / RUN_FILE)


def _per_query_tsv(per_query: PerQueryScores) -> str:
    lines = ["query_id\tmeasure\tvalue\n"]
    for measure in sorted(per_query):
        for qid in sorted(per_query[measure]):
            lines.append(f"{qid}\t{measure}\t{per_query[measure][qid]!r}\n")
    return "".join(lines)


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: CellKey) -> Path:
        return self.root / key.relative_path

    def get(self, key: CellKey, task_checksum: str | None = None) -> Cell | None:
        """The finished cell for ``key``, or None; a cell made from other task data is ignored."""
        path = self.path(key)
        if not (path / MANIFEST_FILE).is_file():
            return None
        cell = self._read(path)
        if task_checksum is not None and cell.manifest.get("task", {}).get("checksum") != task_checksum:
            return None
        return cell

    def save(self, key: CellKey, run: Run, per_query: PerQueryScores, aggregate: dict[str, float], manifest: dict[str, Any]) -> Cell:
        """Write the whole cell to a temporary folder, then move it into place in one rename."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
        try:
            (tmp / RUN_FILE).write_text(format_run(run, tag=f"{key.method}@{key.config_hash}"), encoding="utf-8")
            (tmp / PER_QUERY_FILE).write_text(_per_query_tsv(per_query), encoding="utf-8")
            atomic_write_json(tmp / AGGREGATE_FILE, aggregate)
            atomic_write_json(tmp / MANIFEST_FILE, manifest)
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
            self.root / NOT_RUN_DIR / f"{method}@{config_hash}.json",
            {"method": method, "config_hash": config_hash, "reason": reason, "tasks": tasks, "options": dict(options)},
        )

    def clear_not_run(self, method: str, config_hash: str) -> None:
        (self.root / NOT_RUN_DIR / f"{method}@{config_hash}.json").unlink(missing_ok=True)

    def not_run(self) -> list[dict[str, Any]]:
        """Methods recorded as unable to run: method, config_hash, reason, tasks, options."""
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((self.root / NOT_RUN_DIR).glob("*.json"))]

    def cells(self) -> Iterator[Cell]:
        """Every finished cell in the store, in path order."""
        for manifest in sorted(self.root.glob(f"*/*/{MANIFEST_FILE}")):
            if not manifest.parent.name.startswith(".") and manifest.parent.parent.name != NOT_RUN_DIR:
                yield self._read(manifest.parent)

    def find(self, task: str, system: str) -> Cell:
        """The one cell of ``task`` for ``system``: a method name, or ``name@config_hash``."""
        from clirbench.errors import ClirbenchError

        method, _, wanted_hash = system.partition("@")
        matches = [
            cell for cell in self.cells()
            if cell.manifest["task"]["name"] == task and cell.manifest["method"]["name"] == method
            and wanted_hash in ("", cell.manifest["method"]["config_hash"])
        ]
        if not matches:
            raise ClirbenchError(f"no result for {system!r} on task {task!r} in {self.root}; run `clirbench run` first")
        if len(matches) > 1:
            labels = ", ".join(f"{method}@{c.manifest['method']['config_hash']}" for c in matches)
            raise ClirbenchError(f"{system!r} has several configurations on {task!r}: name one of {labels}")
        return matches[0]

    @staticmethod
    def _read(path: Path) -> Cell:
        try:
            manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
            aggregate = json.loads((path / AGGREGATE_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(path, None, f"damaged result cell ({error}); rerun with --overwrite") from None
        return Cell(path=path, manifest=manifest, aggregate=aggregate)


def system_labels(cells: Iterable[Cell]) -> dict[Path, str]:
    """Cell path -> system label: the method's own label (e.g. ``nmt[lexical]``), with
    ``@config_hash`` added when one label has several configurations among ``cells``."""
    cells = list(cells)

    def base(cell: Cell) -> str:
        method = cell.manifest["method"]
        return method.get("label") or method["name"]

    configs: dict[str, set[str]] = {}
    for cell in cells:
        configs.setdefault(base(cell), set()).add(cell.path.name.rpartition("@")[2])
    return {
        cell.path: base(cell) if len(configs[base(cell)]) == 1 else f"{base(cell)}@{cell.path.name.rpartition('@')[2]}"
        for cell in cells
    }
