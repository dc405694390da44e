from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from clirbench.cache import EmbeddingCache, TranslationCache, clear, list_namespaces
from clirbench.cli import app
from clirbench.method import DenseEncoder
from clirbench.tasks import load_task
from tests.conftest import TINY


class CountingEncoder(DenseEncoder):
    """Hashes words into 64 dimensions and counts the texts it is asked to encode."""

    name = "counting"

    def __init__(self, options=None):
        super().__init__(options)
        self.calls = 0

    def encode(self, texts, lang, role):
        self.calls += len(texts)
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, hash(word) % 64] += 1
        return vectors


def test_rerun_makes_zero_model_calls():
    task = load_task(str(TINY))
    first = CountingEncoder()
    run = first.retrieve(task, k=3)
    assert first.calls == len(task.corpus) + len(task.queries)
    second = CountingEncoder()
    assert second.retrieve(task, k=3) == run
    assert second.calls == 0


def test_a_new_method_version_does_not_reuse_cached_vectors(monkeypatch):
    task = load_task(str(TINY))
    CountingEncoder().retrieve(task, k=3)
    monkeypatch.setattr(CountingEncoder, "version", "2")
    bumped = CountingEncoder()
    bumped.retrieve(task, k=3)
    assert bumped.calls == len(task.corpus) + len(task.queries)


def test_runtime_options_do_not_change_the_cache_key():
    small, large = (
        CountingEncoder(CountingEncoder.Options(batch_size=2)),
        CountingEncoder(CountingEncoder.Options(batch_size=64)),
    )
    assert small.cache_namespace("eng_Latn", "query") == large.cache_namespace("eng_Latn", "query")
    assert small.cache_namespace("eng_Latn", "query")["method_version"] == "1"
    # Another role, language or option is another cache entry.
    other = CountingEncoder(
        CountingEncoder.Options(batch_size=2)
    )  # batch size does not change vectors
    other.encode_all(["rain in Lilongwe at night"], "eng_Latn", "query")
    assert other.calls == 0
    other.encode_all(["rain in Lilongwe at night"], "eng_Latn", "document")
    assert other.calls == 1


def test_duplicates_encoded_once_and_torn_files_tolerated(tmp_path: Path):
    calls = []

    def encode(texts):
        calls.extend(texts)
        return np.arange(len(texts) * 3, dtype=np.float32).reshape(len(texts), 3) + len(calls)

    cache = EmbeddingCache({"method": "m"}, root=tmp_path)
    vectors = cache.encode(["a", "b", "a"], encode, batch_size=1)
    assert calls == ["a", "b"] and np.array_equal(vectors[0], vectors[2])
    with (cache.path / "embeddings.rec").open("ab") as torn:  # a frame cut short
        torn.write(b"\x40\x00\x00\x00" + b"x" * 20)
    reloaded = EmbeddingCache({"method": "m"}, root=tmp_path)
    assert len(reloaded) == 2
    assert np.array_equal(reloaded.encode(["b", "a"], encode, batch_size=4), vectors[[1, 0]])
    assert calls == ["a", "b"]


def test_translation_cache_resumes(tmp_path: Path):
    seen = []

    def translate(texts):
        seen.extend(texts)
        return [t.upper() for t in texts]

    cache = TranslationCache({"method": "nmt", "direction": "en->ny"}, root=tmp_path)
    assert cache.translate(["x", "y"], translate, batch_size=1) == ["X", "Y"]
    with cache.path.open("ab") as torn:
        torn.write(b'\x20\x00\x00\x00\x00\x00\x00\x00[["trunc')
    again = TranslationCache({"method": "nmt", "direction": "en->ny"}, root=tmp_path)
    assert again.translate(["y", "z", "x"], translate, batch_size=8) == ["Y", "Z", "X"]
    assert seen == ["x", "y", "z"]


def test_list_and_clear(tmp_path: Path):
    EmbeddingCache({"method": "a"}, root=tmp_path).encode(["t"], lambda b: np.ones((len(b), 2)), 8)
    TranslationCache({"method": "b"}, root=tmp_path).translate(["t"], lambda b: b, 8)
    entries = list_namespaces(tmp_path)
    assert [(e["kind"], e["entries"]) for e in entries] == [("embeddings", 1), ("translations", 1)]
    assert clear("a", tmp_path) == 1
    assert [e["namespace"]["method"] for e in list_namespaces(tmp_path)] == ["b"]


class CliEncoder(CountingEncoder):
    name = "counting-cli"


def test_cache_cli():
    runner = CliRunner()
    CliEncoder().encode_all(["some text"], "eng_Latn", "query")
    listed = runner.invoke(app, ["cache", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "counting-cli" in listed.output
    cleared = runner.invoke(app, ["cache", "clear", "--method", "counting-cli"])
    assert "removed 1 cache namespace(s)" in cleared.output
