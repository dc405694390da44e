"""Caches of embeddings and translations, so a rerun or a new method on old data is cheap.

Entries are keyed by a namespace (method, configuration, model revision, role or direction,
language) and the SHA-256 of the text. Each namespace is a folder holding one append-only
record file (``embeddings.rec`` or ``translations.rec``), and, for documents encoded in
shards (``clirbench.sharding``), one folder per shard (:class:`ShardCache`). The record file:

- a signature line naming the kind and the format version, then
- one frame per appended batch: payload length (uint32 LE), CRC-32 of length and payload
  (uint32 LE), payload. A frame holds both the keys and their values, so frames never
  misalign each other.

A process killed in mid-append leaves a frame that is cut short or fails its CRC: readers stop
before it, and the next writer, holding the namespace's lock (``filelock``), cuts it off before
appending. Appends by several processes at once are serialised by that lock; each writer first
reads what the others appended. A failed write (full disk) is cut off too and reported as a
:class:`~clirbench.errors.CacheError`, leaving the file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clirbench.errors import CacheError
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir

_HASH_BYTES = 16  # of SHA-256: collisions are not a concern at benchmark scale
_FRAME = struct.Struct("<II")  # payload length, CRC-32
_COUNTS = struct.Struct("<II")  # an embedding frame's rows and dimension
_VECTOR = np.dtype("<f4")

EMBEDDINGS_FILE, TRANSLATIONS_FILE = "embeddings.rec", "translations.rec"
_SIGNATURES = {
    EMBEDDINGS_FILE: b"clirbench embeddings cache v2\n",
    TRANSLATIONS_FILE: b"clirbench translations cache v2\n",
}
_OLD_FORMAT_FILES = ("keys.bin", "vectors.f32", "dim", "translations.jsonl")


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:_HASH_BYTES]


def namespace_id(namespace: Mapping[str, Any]) -> str:
    return json_hash(namespace, default=str)


def _clear_hint(folder: Path) -> str:
    return f"delete {folder} (or run `clirbench cache clear`); it is only a cache"


def _namespace_dir(kind: str, namespace: Mapping[str, Any], root: Path | None) -> Path:
    from clirbench.fileio import atomic_write_text

    base = root or cache_dir()
    path = base / kind / str(namespace.get("method", "unknown")) / namespace_id(namespace)
    try:
        path.mkdir(parents=True, exist_ok=True)
        meta = path / "namespace.json"
        if not meta.exists():
            text = json.dumps(namespace, sort_keys=True, indent=2, default=str)
            atomic_write_text(meta, text)
    except OSError as error:
        raise CacheError(
            f"cannot write the cache in {path}: {error.strerror or error}; free space, fix "
            "the permissions or set CLIRBENCH_CACHE to another folder"
        ) from None
    old = [name for name in _OLD_FORMAT_FILES if (path / name).exists()]
    if old:
        raise CacheError(
            f"{path} holds a cache in clirbench's previous format ({', '.join(old)}), which can "
            f"return misaligned vectors after an interrupted run; {_clear_hint(path)}"
        )
    return path


class RecordFile:
    """An append-only file of CRC-framed records, shared by processes through a file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.signature = _SIGNATURES[path.name]
        self.end = 0  # offset after the last intact frame read (0: no signature read yet)
        self.tail = 0  # bytes after it at the last read: a torn or damaged tail

    def read_new(self) -> list[bytes]:
        """Payloads of the intact frames after ``end``; ``end`` moves past them."""
        try:
            with self.path.open("rb") as data:
                if self.end == 0:
                    head = data.read(len(self.signature))
                    if head != self.signature:
                        if self.signature.startswith(head):  # empty, or torn at creation
                            self.tail = len(head)
                            return []
                        raise CacheError(
                            f"{self.path} is not a clirbench cache file of this version "
                            f"(it starts with {head[:32]!r}); {_clear_hint(self.path.parent)}"
                        )
                    self.end = len(self.signature)
                data.seek(self.end)
                buffer = memoryview(data.read())
        except FileNotFoundError:
            return []
        except OSError as error:
            raise CacheError(f"cannot read {self.path}: {error.strerror or error}") from None
        payloads, position = [], 0
        for payload, position in _frames(buffer):  # noqa: B007 - the last end is used below
            payloads.append(payload)
        self.end += position
        self.tail = len(buffer) - position
        return payloads

    def append(self, payload: bytes) -> list[bytes]:
        """Append one frame; return the payloads other processes appended since the last read."""
        from filelock import FileLock

        header = _FRAME.pack(len(payload), _frame_crc(len(payload), payload))
        lock = FileLock(str(self.path.with_name(self.path.name + ".lock")))
        try:
            with lock:
                others = self.read_new()
                start = self.end
                data = (b"" if start else self.signature) + header + payload
                self.end = start + _write_at(self.path, start, data)
        except OSError as error:  # the lock file itself could not be made
            raise CacheError(f"cannot lock {self.path}: {error.strerror or error}") from None
        self.tail = 0
        return others


def _frame_crc(length: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_FRAME.pack(length, 0)))


def _frames(buffer: memoryview) -> Iterator[tuple[bytes, int]]:
    """``(payload, end offset)`` of each intact frame from the start of ``buffer``."""
    position = 0
    while position + _FRAME.size <= len(buffer):
        length, crc = _FRAME.unpack_from(buffer, position)
        stop = position + _FRAME.size + length
        if length == 0 or stop > len(buffer):
            return
        payload = buffer[position + _FRAME.size : stop]
        if _frame_crc(length, payload) != crc:
            return
        position = stop
        yield bytes(payload), position


def _write_at(path: Path, start: int, data: bytes) -> int:
    """Cut ``path`` at ``start`` (a torn tail) and write ``data`` there; undone on failure."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise CacheError(_write_problem(path, error)) from None
    try:
        if os.fstat(fd).st_size != start:
            os.ftruncate(fd, start)
        written = 0
        view = memoryview(data)
        while written < len(data):
            written += os.pwrite(fd, view[written:], start + written)
    except OSError as error:
        # Leave the file as it was; if that fails too, readers stop at the torn frame and the
        # next writer cuts it.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise CacheError(_write_problem(path, error)) from None
    finally:
        os.close(fd)
    return len(data)


def _write_problem(path: Path, error: OSError) -> str:
    return (
        f"cannot write the cache file {path}: {error.strerror or error}; free space or set "
        "CLIRBENCH_CACHE to another folder (what was cached before is intact)"
    )


def _embedding_frame(payload: bytes) -> tuple[list[bytes], np.ndarray] | None:
    """Keys and vectors of one frame, or None when the payload does not hold them."""
    if len(payload) < _COUNTS.size:
        return None
    rows, dim = _COUNTS.unpack_from(payload)
    keys_end = _COUNTS.size + rows * _HASH_BYTES
    if rows == 0 or dim == 0 or len(payload) != keys_end + rows * dim * _VECTOR.itemsize:
        return None
    keys = [payload[i : i + _HASH_BYTES] for i in range(_COUNTS.size, keys_end, _HASH_BYTES)]
    vectors = np.frombuffer(payload, dtype=_VECTOR, offset=keys_end).reshape(rows, dim)
    return keys, vectors


def _translation_frame(payload: bytes) -> list[tuple[str, str]] | None:
    try:
        pairs = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        return None
    return [(key, text) for key, text in pairs]


class EmbeddingCache:
    """Vectors of one namespace, in ``embeddings.rec``; ``path`` is the namespace's folder."""

    def __init__(self, namespace: Mapping[str, Any], root: Path | None = None) -> None:
        self.path = _namespace_dir("embeddings", namespace, root)
        self._file = RecordFile(self.path / EMBEDDINGS_FILE)
        self._rows: dict[bytes, int] = {}
        self._chunks: list[np.ndarray] = []
        self._count = 0  # rows in the chunks, duplicates included
        self._dim: int | None = None
        self._add_frames(self._file.read_new())

    def __len__(self) -> int:
        return len(self._rows)

    def _add_frames(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            frame = _embedding_frame(payload)
            if frame is not None and self._dim in (None, frame[1].shape[1]):
                self._add(*frame)

    def _add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self._dim = vectors.shape[1]
        for i, key in enumerate(keys):
            self._rows.setdefault(key, self._count + i)
        self._chunks.append(vectors)
        self._count += len(keys)

    def _matrix(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    def encode(
        self,
        texts: Sequence[str],
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int,
        advance: Callable[[int], None] = lambda n: None,
    ) -> np.ndarray:
        """Vectors for ``texts``: cached rows, and ``encode`` (in batches) for the rest."""
        keys = [text_key(t) for t in texts]
        counts = Counter(keys)
        first_text = dict(zip(reversed(keys), reversed(texts), strict=True))
        # Similar lengths batch together: less padding for encoders that pad.
        missing = sorted(
            (k for k in counts if k not in self._rows), key=lambda k: len(first_text[k])
        )
        advance(len(texts) - sum(counts[k] for k in missing))
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            vectors = np.ascontiguousarray(encode([first_text[k] for k in batch]), dtype=_VECTOR)
            self._append(batch, vectors)
            advance(sum(counts[k] for k in batch))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return self._matrix()[[self._rows[k] for k in keys]].astype(np.float32, copy=False)

    def _append(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or len(vectors) != len(keys) or vectors.shape[1] == 0:
            raise ValueError(f"encode returned shape {vectors.shape} for {len(keys)} texts")
        if self._dim not in (None, vectors.shape[1]):
            raise CacheError(
                f"{self._file.path} holds vectors of dimension {self._dim}, the encoder gave "
                f"{vectors.shape[1]}; {_clear_hint(self.path)}"
            )
        payload = _COUNTS.pack(*vectors.shape) + b"".join(keys) + vectors.tobytes()
        self._add_frames(self._file.append(payload))
        if self._dim not in (None, vectors.shape[1]):  # another process wrote the first frame
            raise CacheError(
                f"{self._file.path}: vectors of two dimensions; {_clear_hint(self.path)}"
            )
        self._add(keys, vectors)


SHARDS_DIR, SHARD_MANIFEST, SHARD_VECTORS, SHARD_IDS = (
    "shards",
    "shard.json",
    "vectors.npy",
    "ids.json",
)
_SHARD_FORMAT = "clirbench embedding shard v1"


def shard_digest(doc_ids: Sequence[str], texts: Sequence[str]) -> str:
    """What a shard of documents is: its ids and texts in order (SHA-256, hex)."""
    digest = hashlib.sha256(_SHARD_FORMAT.encode("ascii"))
    for doc_id, text in zip(doc_ids, texts, strict=True):
        encoded = doc_id.encode("utf-8", "surrogatepass")
        digest.update(struct.pack("<I", len(encoded)) + encoded + text_key(text))
    return digest.hexdigest()


@dataclass(frozen=True)
class EmbeddingShard:
    """A finished shard: ``vectors.npy`` (float32, one row per document, in ``ids.json``'s
    order) in ``path``, a folder named by the shard's digest."""

    path: Path
    digest: str
    rows: int
    dim: int

    @property
    def vectors_path(self) -> Path:
        return self.path / SHARD_VECTORS

    def doc_ids(self) -> list[str]:
        return json.loads(_read_bytes(self.path / SHARD_IDS))


class ShardCache:
    """Document vectors of one namespace as shards, beside ``embeddings.rec``.

    Each shard is a folder ``shards/<digest>/`` holding ``vectors.npy``, ``ids.json`` and
    ``shard.json`` (digest, rows, dimension, SHA-256 of the vectors file). A shard is built in a
    temporary folder and renamed into place, so it is there whole or not at all; shards are
    independent files, so any number of processes add them at once, and a finished shard is
    found by its digest and never encoded again. File access goes through ``_read_bytes`` and
    ``_publish_files`` only.
    """

    def __init__(self, namespace: Mapping[str, Any], root: Path | None = None) -> None:
        self.path = _namespace_dir("embeddings", namespace, root) / SHARDS_DIR

    def find(self, digest: str) -> EmbeddingShard | None:
        """The finished shard of this digest, checked; None when it was never finished."""
        folder = self.path / digest
        try:
            manifest = json.loads(_read_bytes(folder / SHARD_MANIFEST))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise CacheError(
                f"{folder}: unreadable {SHARD_MANIFEST} ({error}); {_clear_hint(folder)}"
            ) from error
        shard = EmbeddingShard(folder, digest, manifest.get("rows", -1), manifest.get("dim", -1))
        if problem := _shard_problem(shard, manifest):
            raise CacheError(f"{folder}: {problem}; {_clear_hint(folder)}")
        return shard

    def publish(self, digest: str, doc_ids: Sequence[str], vectors: np.ndarray) -> EmbeddingShard:
        """Store one shard's vectors; a shard another process finished first is kept."""
        import io

        vectors = np.ascontiguousarray(vectors, dtype=_VECTOR)
        if vectors.ndim != 2 or len(vectors) != len(doc_ids) or vectors.shape[1] == 0:
            raise ValueError(f"encode returned shape {vectors.shape} for {len(doc_ids)} texts")
        buffer = io.BytesIO()
        np.save(buffer, vectors, allow_pickle=False)
        data = buffer.getvalue()
        manifest = {
            "format": _SHARD_FORMAT,
            "digest": digest,
            "rows": len(vectors),
            "dim": vectors.shape[1],
            "vectors_sha256": hashlib.sha256(data).hexdigest(),
        }
        files = {
            SHARD_VECTORS: data,
            SHARD_IDS: json.dumps(list(doc_ids)).encode("utf-8"),
            SHARD_MANIFEST: json.dumps(manifest, indent=2).encode("ascii"),
        }
        _publish_files(self.path / digest, files, SHARD_MANIFEST)
        return EmbeddingShard(self.path / digest, digest, len(vectors), vectors.shape[1])


def _shard_problem(shard: EmbeddingShard, manifest: Mapping[str, Any]) -> str:
    """What is wrong with a finished shard's files, or "" when they match its manifest."""
    if manifest.get("format") != _SHARD_FORMAT or manifest.get("digest") != shard.digest:
        return f"{SHARD_MANIFEST} is not of this shard or of this cache version"
    try:
        data = _read_bytes(shard.vectors_path)
        ids = json.loads(_read_bytes(shard.path / SHARD_IDS))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return f"unreadable shard files ({error})"
    if hashlib.sha256(data).hexdigest() != manifest.get("vectors_sha256"):
        return f"{SHARD_VECTORS} does not match its digest (damaged)"
    if not isinstance(ids, list) or len(ids) != shard.rows:
        return f"{SHARD_IDS} does not hold {shard.rows} ids"
    return ""


def _read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _publish_files(folder: Path, files: Mapping[str, bytes], marker: str) -> None:
    """``folder`` holding ``files``, whole or not at all (see ``fileio.build_folder_once``)."""
    from clirbench.fileio import build_folder_once

    def build(tmp: Path) -> None:
        for name, data in files.items():
            with (tmp / name).open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())

    try:
        build_folder_once(folder, build, marker)
    except OSError as error:
        raise CacheError(_write_problem(folder, error)) from None


class TranslationCache:
    """Translations of one namespace, in ``translations.rec``; ``path`` is that file."""

    def __init__(self, namespace: Mapping[str, Any], root: Path | None = None) -> None:
        self._file = RecordFile(_namespace_dir("translations", namespace, root) / TRANSLATIONS_FILE)
        self.path = self._file.path
        self._done: dict[str, str] = {}
        self._add_frames(self._file.read_new())

    def __len__(self) -> int:
        return len(self._done)

    def _add_frames(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            for key, text in _translation_frame(payload) or ():
                self._done.setdefault(key, text)

    def translate(
        self,
        texts: Sequence[str],
        translate: Callable[[list[str]], list[str]],
        batch_size: int,
        advance: Callable[[int], None] = lambda n: None,
    ) -> list[str]:
        keys = [text_key(t).hex() for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._done}
        pending = list(todo)
        advance(len(texts) - len(pending))
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            outputs = list(translate([todo[k] for k in batch]))
            if len(outputs) != len(batch) or not all(isinstance(o, str) for o in outputs):
                raise ValueError(f"translate returned {len(outputs)} texts for {len(batch)}")
            # ASCII JSON: a translation holding a lone surrogate still round-trips.
            payload = json.dumps([[k, o] for k, o in zip(batch, outputs, strict=True)]).encode(
                "ascii"
            )
            self._add_frames(self._file.append(payload))
            for key, output in zip(batch, outputs, strict=True):
                self._done.setdefault(key, output)
            advance(len(batch))
        return [self._done[k] for k in keys]


def check_namespace(folder: Path) -> list[str]:
    """Problems of one namespace folder (old format, foreign file, damaged tail); [] if none."""
    problems = [f"old-format file {name}" for name in _OLD_FORMAT_FILES if (folder / name).exists()]
    for name in _SIGNATURES:
        if not (folder / name).exists():
            continue
        records = RecordFile(folder / name)
        try:
            payloads = records.read_new()
        except CacheError as error:
            problems.append(str(error))
            continue
        parse = _embedding_frame if name == EMBEDDINGS_FILE else _translation_frame
        bad = sum(1 for payload in payloads if parse(payload) is None)
        if bad:
            problems.append(f"{name}: {bad} unreadable record(s)")
        if records.tail:
            problems.append(f"{name}: {records.tail} bytes of a torn or damaged tail")
    problems += [f"shard {digest}: {problem}" for digest, problem in _damaged_shards(folder)]
    return problems


def _finished_shards(folder: Path) -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Each published shard folder of a namespace and its manifest (None: unreadable)."""
    for shard in sorted((folder / SHARDS_DIR).glob(f"[!.]*/{SHARD_MANIFEST}")):
        try:
            manifest = json.loads(shard.read_bytes())
        except (OSError, UnicodeDecodeError, ValueError):
            manifest = None
        yield shard.parent, manifest if isinstance(manifest, dict) else None


def _damaged_shards(folder: Path) -> list[tuple[str, str]]:
    damaged = []
    for path, manifest in _finished_shards(folder):
        if manifest is None:
            damaged.append((path.name, f"unreadable {SHARD_MANIFEST}"))
            continue
        shard = EmbeddingShard(path, path.name, manifest.get("rows", -1), manifest.get("dim", -1))
        if problem := _shard_problem(shard, manifest):
            damaged.append((path.name, problem))
    return damaged


def repair_namespace(folder: Path) -> str:
    """Cut the torn tails off a namespace's record files, under their locks, and remove its
    damaged shards, or remove the namespace when anything else is wrong with it (it is only a
    cache). Says what it did.
    Like ``cache clear``, not meant to run while a run uses the namespace."""
    from filelock import FileLock

    if any((folder / name).exists() for name in _OLD_FORMAT_FILES):
        shutil.rmtree(folder)
        return "removed the namespace"
    damaged = _damaged_shards(folder)
    for digest, _ in damaged:
        shutil.rmtree(folder / SHARDS_DIR / digest)  # encoded again by the next run
    removed = f"removed {len(damaged)} damaged shard(s)" if damaged else ""
    cut = 0
    for name in _SIGNATURES:
        path = folder / name
        if not path.exists():
            continue
        with FileLock(str(path.with_name(path.name + ".lock"))):
            records = RecordFile(path)
            try:
                payloads = records.read_new()
            except CacheError:
                payloads = None
            parse = _embedding_frame if name == EMBEDDINGS_FILE else _translation_frame
            if payloads is None or any(parse(payload) is None for payload in payloads):
                shutil.rmtree(folder)
                return "removed the namespace"
            if records.tail:
                os.truncate(path, records.end)
                cut += records.tail
    done = [removed, f"cut {cut} bytes of torn tail" if cut else ""]
    return "; ".join(part for part in done if part) or "nothing to repair"


def _entries(folder: Path, kind: str) -> int:
    name = EMBEDDINGS_FILE if kind == "embeddings" else TRANSLATIONS_FILE
    try:
        payloads = RecordFile(folder / name).read_new()
    except CacheError:
        return 0
    if kind == "embeddings":
        frames = (_embedding_frame(p) for p in payloads)
        shard_rows = sum(m.get("rows", 0) for _, m in _finished_shards(folder) if m)
        return len({key for frame in frames if frame for key in frame[0]}) + shard_rows
    return len({key for p in payloads for key, _ in _translation_frame(p) or ()})


def list_namespaces(root: Path | None = None) -> list[dict[str, Any]]:
    """Every cache namespace: kind, its description, entries, bytes on disk and problems."""
    base = root or cache_dir()
    found = []
    for kind in ("embeddings", "translations"):
        for meta in sorted((base / kind).glob("*/*/namespace.json")):
            folder = meta.parent
            try:
                namespace = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                namespace = {"method": folder.parent.name}
            found.append(
                {
                    "kind": kind,
                    "path": folder,
                    "namespace": namespace,
                    "entries": _entries(folder, kind),
                    "bytes": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
                    "problems": check_namespace(folder),
                }
            )
    return found


def clear(method: str | None = None, root: Path | None = None) -> int:
    """Delete cached embeddings and translations of one method, or all.

    Returns the number of namespaces removed.
    """
    removed = 0
    for entry in list_namespaces(root):
        if method is None or entry["namespace"].get("method") == method:
            shutil.rmtree(entry["path"])
            removed += 1
    return removed
