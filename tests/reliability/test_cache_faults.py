"""The caches under damage and faults: torn tails, bit flips, old or foreign files, kills,
concurrent writers and a full disk. Never a wrong vector or translation, never a traceback."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from clirbench.cache import (
    EMBEDDINGS_FILE,
    EmbeddingCache,
    TranslationCache,
    check_namespace,
    clear,
    list_namespaces,
)
from clirbench.errors import CacheError
from clirbench.fileio import atomic_write_text, create_temp_dir

DIM = 8
NAMESPACE = {"method": "fault", "role": "document"}


def vectors(texts: list[str], dim: int = DIM) -> np.ndarray:
    """The reference encoder: a vector derived from each text's SHA-256, the same every run."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        rows.append(np.random.default_rng(seed).standard_normal(dim))
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), dim)


class Counting:
    def __init__(self, dim: int = DIM) -> None:
        self.seen: list[str] = []
        self.dim = dim

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return vectors(texts, self.dim)


TEXTS = [f"verse {i}" for i in range(12)]


def _filled(root: Path, batch: int = 4) -> EmbeddingCache:
    cache = EmbeddingCache(NAMESPACE, root=root)
    cache.encode(TEXTS, vectors, batch_size=batch)
    return cache


def _reopen(root: Path) -> EmbeddingCache:
    return EmbeddingCache(NAMESPACE, root=root)


def _file(cache: EmbeddingCache) -> Path:
    return cache.path / EMBEDDINGS_FILE


@pytest.mark.parametrize("cut", [1, 4, 8, 9, 24, 100, 131])
def test_torn_last_frame_is_recomputed_then_cut(tmp_path: Path, cut: int):
    """A frame of 4 rows is 8 + 8 + 64 + 128 = 208 bytes; cut it anywhere."""
    file = _file(_filled(tmp_path))
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 208 + cut])
    encoder = Counting()
    reopened = EmbeddingCache(NAMESPACE, root=tmp_path)
    assert len(reopened) == 8
    assert np.array_equal(reopened.encode(TEXTS, encoder, batch_size=4), vectors(TEXTS))
    assert sorted(encoder.seen) == sorted(TEXTS[8:])  # sorted by length when encoded
    assert check_namespace(reopened.path) == [] and file.stat().st_size == len(data)
    assert np.array_equal(_reopen(tmp_path).encode(TEXTS, Counting(), 4), vectors(TEXTS))


@pytest.mark.parametrize("where", ["last-frame", "first-frame", "frame-header"])
def test_bit_flip_never_returns_a_wrong_vector(tmp_path: Path, where: str):
    file = _file(_filled(tmp_path))
    data = bytearray(file.read_bytes())
    offset = {"last-frame": len(data) - 5, "first-frame": 60, "frame-header": 30 + 2}[where]
    data[offset] ^= 0x10
    file.write_bytes(bytes(data))
    assert check_namespace(file.parent)  # the damage is reported
    got = EmbeddingCache(NAMESPACE, root=tmp_path).encode(TEXTS, Counting(), batch_size=4)
    assert np.array_equal(got, vectors(TEXTS))


def test_garbage_tail_and_torn_signature(tmp_path: Path):
    file = _file(_filled(tmp_path))
    file.write_bytes(file.read_bytes() + os.urandom(1000))
    assert np.array_equal(_reopen(tmp_path).encode(TEXTS, Counting(), 4), vectors(TEXTS))
    file.write_bytes(file.read_bytes()[:7])  # killed while the file was being created
    encoder = Counting()
    assert np.array_equal(_reopen(tmp_path).encode(TEXTS, encoder, 4), vectors(TEXTS))
    assert len(encoder.seen) == len(TEXTS) and check_namespace(file.parent) == []


def test_foreign_file_is_refused(tmp_path: Path):
    file = _file(_filled(tmp_path))
    file.write_bytes(b"PK\x03\x04 not a cache")
    with pytest.raises(CacheError) as error:
        EmbeddingCache(NAMESPACE, root=tmp_path)
    assert "not a clirbench cache file" in str(error.value)
    assert "clirbench cache clear" in str(error.value)
    assert file.read_bytes() == b"PK\x03\x04 not a cache"  # never overwritten


@pytest.mark.parametrize("kind", ["embeddings", "translations"])
def test_previous_format_is_refused_listed_and_cleared(tmp_path: Path, kind: str):
    opener = EmbeddingCache if kind == "embeddings" else TranslationCache
    folder = opener(NAMESPACE, root=tmp_path).path
    folder = folder if folder.is_dir() else folder.parent
    old = {
        "embeddings": ("keys.bin", b"k" * 32),
        "translations": ("translations.jsonl", b'{"k": "a"}\n'),
    }
    (folder / old[kind][0]).write_bytes(old[kind][1])
    with pytest.raises(CacheError) as error:
        opener(NAMESPACE, root=tmp_path)
    assert "previous format" in str(error.value) and "\n" not in str(error.value)
    [entry] = list_namespaces(tmp_path)
    assert entry["problems"] == [f"old-format file {old[kind][0]}"]
    assert clear("fault", tmp_path) == 1 and not folder.exists()


def test_vectors_of_another_dimension_are_refused(tmp_path: Path):
    cache = _filled(tmp_path)
    with pytest.raises(CacheError) as error:
        cache.encode(["new text"], lambda texts: vectors(texts, dim=4), batch_size=1)
    assert "dimension 8" in str(error.value)


def test_translation_torn_inside_a_utf8_character(tmp_path: Path):
    cache = TranslationCache(NAMESPACE, root=tmp_path)
    cache.translate(["a"], lambda texts: ["ŵ" * 3], batch_size=1)
    cache.translate(["b"], lambda texts: ["mŵana ŵanga"], batch_size=1)
    data = cache.path.read_bytes()
    # Frames are ASCII JSON (ŵ is \\u0175), so a tear cannot split a UTF-8 character; cut the
    # last frame inside that escape instead.
    cut = data.rindex(b"\\u0175") + 3
    cache.path.write_bytes(data[:cut])
    seen: list[str] = []

    def translate(texts: list[str]) -> list[str]:
        seen.extend(texts)
        return [f"<{t}>" for t in texts]

    again = TranslationCache(NAMESPACE, root=tmp_path)
    assert again.translate(["a", "b", "c"], translate, batch_size=2) == ["ŵŵŵ", "<b>", "<c>"]
    assert sorted(seen) == ["b", "c"]
    third = TranslationCache(NAMESPACE, root=tmp_path)
    assert third.translate(["c", "b", "a"], translate, 2) == ["<c>", "<b>", "ŵŵŵ"]
    assert len(seen) == 2


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_modes_follow_the_umask(tmp_path: Path, umask: int):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "out" / "report.md", "x")
        temp_dir = create_temp_dir(tmp_path / "store", "cell")
        cache = _filled(tmp_path / "cache")
        translations = TranslationCache(NAMESPACE, root=tmp_path / "cache")
        translations.translate(["a"], lambda texts: texts, batch_size=1)
    finally:
        os.umask(old)
    files = (tmp_path / "out" / "report.md", _file(cache), cache.path / "namespace.json")
    for file in (*files, translations.path):
        assert file.stat().st_mode & 0o777 == 0o666 & ~umask, file
    for folder in (temp_dir, cache.path):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, folder
    assert not list((tmp_path / "out").glob(".*.tmp"))


# Faults in real processes -------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import hashlib, os, resource, sys
    import numpy as np
    from pathlib import Path
    from clirbench.cache import EmbeddingCache, TranslationCache
    from clirbench.errors import ClirbenchError

    def vectors(texts, dim):
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(dim))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), dim)

    root, mode, first, last, dim, batch = sys.argv[1:7]
    first, last, dim, batch = int(first), int(last), int(dim), int(batch)
    texts = [f"verse {i}" for i in range(first, last)]
    namespace = {"method": "fault", "role": "document"}
    if mode == "slow":  # every append in 4 kB writes, 2 ms apart: a kill lands inside one
        import time
        write = os.pwrite
        os.pwrite = lambda fd, data, at: (time.sleep(0.002), write(fd, data[:4096], at))[1]
    try:
        if mode == "fsize":
            cache = EmbeddingCache(namespace, root=Path(root))
            size = os.path.getsize(cache.path / "embeddings.rec")
            resource.setrlimit(resource.RLIMIT_FSIZE, (size + 3000, resource.RLIM_INFINITY))
        if mode == "translate":
            cache = TranslationCache(namespace, root=Path(root))
            out = cache.translate(texts, lambda b: [t.upper() + " ŵ" for t in b], batch)
            assert out == [t.upper() + " ŵ" for t in texts]
        else:
            cache = EmbeddingCache(namespace, root=Path(root))
            Path(root, "ready").touch()
            got = cache.encode(texts, lambda b: vectors(b, dim), batch)
            assert np.array_equal(got, vectors(texts, dim)), "wrong vectors"
    except ClirbenchError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(3)
    """
)


def _child(tmp_path: Path, *args: object) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    command = [sys.executable, str(script), str(tmp_path / "cache"), *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check_cache(root: Path, count: int, dim: int) -> None:
    texts = [f"verse {i}" for i in range(count)]
    got = EmbeddingCache(NAMESPACE, root=root).encode(texts, lambda b: vectors(b, dim), 256)
    assert np.array_equal(got, vectors(texts, dim))
    [entry] = list_namespaces(root)
    assert entry["problems"] == [] and entry["entries"] == count


@pytest.mark.slow
def test_sigkill_during_appends_then_next_run_is_correct(tmp_path: Path):
    """Appends slowed to 4 kB writes, so that most kills land inside one; 6 kills."""
    root, torn = tmp_path / "cache", 0
    for trial in range(6):
        first, last = trial * 1000, (trial + 1) * 1000
        child = _child(tmp_path, "slow", first, last, 256, 32)
        ready = root / "ready"
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        time.sleep(0.05 + 0.04 * trial)
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        ready.unlink()
        reopened = EmbeddingCache(NAMESPACE, root=root)
        torn += bool(check_namespace(reopened.path))
        cached = len(reopened)
        assert first <= cached < last, "the child was not killed in mid-run"
        texts = [f"verse {i}" for i in range(last)]
        encoder = Counting(dim=256)
        assert np.array_equal(reopened.encode(texts, encoder, 64), vectors(texts, 256))
        assert len(encoder.seen) == last - cached  # only what was not cached
        assert check_namespace(reopened.path) == []
    assert torn >= 2, "no kill landed inside a write"
    _check_cache(root, 6000, 256)


@pytest.mark.slow
def test_two_writers_at_once(tmp_path: Path):
    first = _child(tmp_path, "slow", 0, 3000, 64, 16)  # slowed appends: the two overlap
    second = _child(tmp_path, "slow", 1500, 4500, 64, 16)
    for child in (first, second):
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    _check_cache(tmp_path / "cache", 4500, 64)
    writers = [_child(tmp_path, "translate", start, start + 800, 0, 8) for start in (0, 400)]
    for child in writers:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    texts = [f"verse {i}" for i in range(1200)]
    again = TranslationCache(NAMESPACE, root=tmp_path / "cache")
    got = again.translate(texts, lambda b: pytest.fail("redone"), 64)
    assert got == [t.upper() + " ŵ" for t in texts]


@pytest.mark.slow
def test_full_disk_is_a_clean_error_and_the_cache_stays_intact(tmp_path: Path):
    root = tmp_path / "cache"
    _check_cache(root, 100, 64)
    file = next(root.glob("embeddings/fault/*/embeddings.rec"))
    before = file.read_bytes()
    child = _child(tmp_path, "fsize", 100, 400, 64, 16)  # 16 rows x 64 floats: 4.4 kB a frame
    _, err = child.communicate(timeout=120)
    assert child.returncode == 3, err
    assert err.startswith("Error: cannot write the cache file") and err.count("\n") == 1, err
    assert "File too large" in err and "intact" in err
    assert file.read_bytes() == before
    _check_cache(root, 400, 64)


@pytest.mark.slow
def test_full_disk_for_a_new_namespace(tmp_path: Path):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    code = (
        "from pathlib import Path; import sys\n"
        "from clirbench.cache import EmbeddingCache\nfrom clirbench.errors import CacheError\n"
        f"try: EmbeddingCache({NAMESPACE!r}, root=Path(sys.argv[1]))\n"
        "except CacheError as e: print(e); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "cannot write the cache in" in done.stdout and "CLIRBENCH_CACHE" in done.stdout
    assert not list(tmp_path.rglob("*.tmp"))
