"""Caches of embeddings and translations, so a rerun or a new method on old data is cheap.

Entries are keyed by a namespace (method, configuration, model revision, role or direction,
language) and the SHA-256 of the text. Each namespace is a folder of append-only files, so an
interrupted encoding keeps what it finished; a torn last record is ignored on load.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clirbench.paths import cache_dir

_HASH_BYTES = 16  # of SHA-256: collisions are not a concern at benchmark scale


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:_HASH_BYTES]


def namespace_id(namespace: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(namespace, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _namespace_dir(kind: str, namespace: Mapping[str, Any], root: Path | None) -> Path:
    path = (root or cache_dir()) / kind / str(namespace.get("method", "unknown")) / namespace_id(namespace)
    path.mkdir(parents=True, exist_ok=True)
    meta = path / "namespace.json"
    if not meta.exists():
        meta.write_text(json.dumps(namespace, sort_keys=True, indent=2, default=str), encoding="utf-8")
    return path


class EmbeddingCache:
    """Vectors of one namespace: ``keys.bin`` (16-byte text hashes) and ``vectors.f32`` rows."""

    def __init__(self, namespace: Mapping[str, Any], root: Path | None = None) -> None:
        self.path = _namespace_dir("embeddings", namespace, root)
        self._rows: dict[bytes, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._pending: list[np.ndarray] = []  # rows appended since the last concatenation
        self._load()

    def _load(self) -> None:
        keys_file, vectors_file = self.path / "keys.bin", self.path / "vectors.f32"
        if not keys_file.exists() or not vectors_file.exists():
            return
        keys = keys_file.read_bytes()
        raw = np.fromfile(vectors_file, dtype=np.float32)
        n_keys = len(keys) // _HASH_BYTES
        if n_keys == 0:
            return
        dim = int((self.path / "dim").read_text())
        n = min(n_keys, len(raw) // dim)
        self._vectors = raw[: n * dim].reshape(n, dim)
        self._rows = {keys[i * _HASH_BYTES : (i + 1) * _HASH_BYTES]: i for i in range(n)}

    def __len__(self) -> int:
        return len(self._rows)

    def encode(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], batch_size: int,
               advance: Callable[[int], None] = lambda n: None) -> np.ndarray:
        """Vectors for ``texts``: cached rows, and ``encode`` (in batches) for the rest."""
        keys = [text_key(t) for t in texts]
        counts = Counter(keys)
        first_text = dict(zip(reversed(keys), reversed(texts)))
        # Similar lengths batch together: less padding for encoders that pad.
        missing = sorted((k for k in counts if k not in self._rows), key=lambda k: len(first_text[k]))
        advance(len(texts) - sum(counts[k] for k in missing))
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            vectors = np.ascontiguousarray(encode([first_text[k] for k in batch]), dtype=np.float32)
            self._append(batch, vectors)
            advance(sum(counts[k] for k in batch))
        if self._pending:
            self._vectors = np.concatenate([self._vectors.reshape(-1, self._pending[0].shape[1]), *self._pending])
            self._pending = []
        return self._vectors[[self._rows[k] for k in keys]] if keys else np.zeros((0, 0), dtype=np.float32)

    def _append(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if len(self._rows) == 0:
            (self.path / "dim").write_text(str(vectors.shape[1]))
            (self.path / "vectors.f32").unlink(missing_ok=True)
            (self.path / "keys.bin").unlink(missing_ok=True)
        # Vectors first, then keys: a key is only ever written after its vector.
        with (self.path / "vectors.f32").open("ab") as out:
            out.write(vectors.tobytes())
        with (self.path / "keys.bin").open("ab") as out:
            out.write(b"".join(keys))
        start = len(self._rows)
        self._pending.append(vectors)
        self._rows.update({key: start + i for i, key in enumerate(keys)})


class TranslationCache:
    """Translations of one namespace, one JSON line per text: ``{"k": hash, "t": translation}``."""

    def __init__(self, namespace: Mapping[str, Any], root: Path | None = None) -> None:
        self.path = _namespace_dir("translations", namespace, root) / "translations.jsonl"
        self._done: dict[str, str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from an interrupted run
                self._done[record["k"]] = record["t"]

    def __len__(self) -> int:
        return len(self._done)

    def translate(self, texts: Sequence[str], translate: Callable[[list[str]], list[str]], batch_size: int,
                  advance: Callable[[int], None] = lambda n: None) -> list[str]:
        keys = [text_key(t).hex() for t in texts]
        todo = {k: t for k, t in zip(keys, texts) if k not in self._done}
        pending = list(todo)
        advance(len(texts) - len(pending))
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            outputs = translate([todo[k] for k in batch])
            with self.path.open("a", encoding="utf-8") as out:
                for key, output in zip(batch, outputs):
                    out.write(json.dumps({"k": key, "t": output}, ensure_ascii=False) + "\n")
                    self._done[key] = output
            advance(len(batch))
        return [self._done[k] for k in keys]


def list_namespaces(root: Path | None = None) -> list[dict[str, Any]]:
    """Every cache namespace: kind, its description, entries and bytes on disk."""
    base = root or cache_dir()
    found = []
    for kind in ("embeddings", "translations"):
        for meta in sorted((base / kind).glob("*/*/namespace.json")):
            folder = meta.parent
            size = sum(f.stat().st_size for f in folder.iterdir())
            if kind == "embeddings":
                entries = (folder / "keys.bin").stat().st_size // _HASH_BYTES if (folder / "keys.bin").exists() else 0
            else:
                file = folder / "translations.jsonl"
                entries = sum(1 for _ in file.open(encoding="utf-8")) if file.exists() else 0
            found.append({"kind": kind, "path": folder, "namespace": json.loads(meta.read_text()), "entries": entries, "bytes": size})
    return found


def clear(method: str | None = None, root: Path | None = None) -> int:
    """Delete cached embeddings and translations (of one method, or all); returns namespaces removed."""
    removed = 0
    for entry in list_namespaces(root):
        if method is None or entry["namespace"].get("method") == method:
            shutil.rmtree(entry["path"])
            removed += 1
    return removed
