"""Sharded encoding: the shard cache, resuming after a failure, local and Ray encoders alike."""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from clirbench.cache import ShardCache, check_namespace, repair_namespace, shard_digest
from clirbench.errors import CacheError, MethodFailedError, OptionsError
from clirbench.method import DenseEncoder, DenseEncoderOptions
from clirbench.registry import build_options, register_method
from clirbench.runner import MethodSpec
from clirbench.sharding import corpus_shards, encode_texts
from clirbench.tasks.card import TaskCard
from clirbench.tasks.task import Document, Task, TaskData

WORDS = ["rain", "fish", "maize", "ball", "lake", "night", "god", "light", "earth", "water"]


class LoggedWordsOptions(DenseEncoderOptions):
    log: str
    """Each text encoded is appended to this file, one line each, from whichever process."""
    fail_while: str = ""
    """While this file exists, a text holding the word "trigger" fails to encode."""


@register_method("test-logged-words")
class LoggedWords(DenseEncoder):
    """Words hashed into 16 dimensions; logs what it encodes, and fails when told to."""

    Options = LoggedWordsOptions

    def encode(self, texts, lang, role):
        options = self.options
        failing = options.fail_while and Path(options.fail_while).exists()
        if failing and any("trigger" in text for text in texts):
            raise MethodFailedError("test-logged-words: told to fail on 'trigger'")
        with open(options.log, "a", encoding="utf-8") as log:
            log.writelines(f"{text}\n" for text in texts)
        vectors = np.zeros((len(texts), 16), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % 16] += 1
        return vectors


def _task(n_docs: int = 8) -> Task:
    docs = {
        f"d{i}": f"doc {i} " + " ".join(WORDS[(i * 3 + j) % len(WORDS)] for j in range(i % 4 + 1))
        for i in range(n_docs)
    }
    docs["d4"] += " trigger"  # the first document of shard 2 at two documents a shard
    queries = {"q1": "rain fish", "q2": "maize lake night", "q3": "god"}
    card = TaskCard(name="shards", source="test", query_lang="eng_Latn", doc_lang="eng_Latn")
    data = TaskData(
        queries=queries,
        corpus={d: Document(t) for d, t in docs.items()},
        qrels={q: {"d0": 1} for q in queries},
    )
    return Task(card, lambda: data)


def _encoder(log: Path, **options) -> LoggedWords:
    return LoggedWords(build_options("test-logged-words", {"log": str(log), **options}))


def _logged(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_shard_cache_publishes_whole_shards_found_by_digest(tmp_path: Path):
    cache = ShardCache({"method": "test", "role": "document"}, tmp_path)
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    digest = shard_digest(["a", "b", "c"], ["x", "y", "z"])
    assert cache.find(digest) is None
    shard = cache.publish(digest, ["a", "b", "c"], vectors)
    found = cache.find(digest)
    assert found == shard and (found.rows, found.dim) == (3, 4)
    assert np.array_equal(np.load(found.vectors_path), vectors)
    assert found.doc_ids() == ["a", "b", "c"]
    again = cache.publish(digest, ["a", "b", "c"], vectors + 1)  # another process finished first
    assert np.array_equal(np.load(again.vectors_path), vectors)
    assert [p.name for p in cache.path.iterdir()] == [digest]  # no temporary folder left
    assert shard_digest(["a", "b", "c"], ["x", "y", "w"]) != digest
    assert shard_digest(["a", "b", "d"], ["x", "y", "z"]) != digest


def test_a_damaged_shard_is_reported_then_repaired_not_used(tmp_path: Path):
    cache = ShardCache({"method": "test"}, tmp_path)
    digest = shard_digest(["a", "b"], ["x", "y"])
    shard = cache.publish(digest, ["a", "b"], np.ones((2, 4), dtype=np.float32))
    data = bytearray(shard.vectors_path.read_bytes())
    data[-1] ^= 0xFF
    shard.vectors_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=r"does not match its digest.*clirbench cache clear"):
        cache.find(digest)
    namespace = cache.path.parent
    (problem,) = check_namespace(namespace)
    assert digest in problem and "damaged" in problem
    assert repair_namespace(namespace) == "removed 1 damaged shard(s)"
    assert cache.find(digest) is None and check_namespace(namespace) == []


def test_corpus_shards_are_read_one_at_a_time():
    read: list[int] = []

    def documents():
        for i in range(7):
            read.append(i)
            yield f"d{i}", f"text {i}"

    shards = corpus_shards(documents(), 3)
    first = next(shards)
    assert first.doc_ids == ["d0", "d1", "d2"] and len(read) <= 4
    rest = list(shards)
    assert [s.index for s in rest] == [1, 2] and rest[-1].texts == ["text 6"]
    assert first.digest == shard_digest(first.doc_ids, first.texts)


def test_encode_texts_batches_by_length_in_the_callers_order():
    batches: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        batches.append(texts)
        return np.array([[len(t), 0] for t in texts], dtype=np.float32)

    texts = ["aaaa", "a", "aaa", "aa", "aaaaa"]
    vectors = encode_texts(encode, texts, 2)
    assert batches == [["a", "aa"], ["aaa", "aaaa"], ["aaaaa"]]
    assert vectors[:, 0].tolist() == [4, 1, 3, 2, 5]


@pytest.mark.parametrize("cache", [True, False])
def test_sharded_search_equals_whole_corpus_search(tmp_path: Path, cache: bool):
    task = _task(10)
    whole = _encoder(tmp_path / "whole.log", cache=False).retrieve(task, 5)
    sharded = _encoder(tmp_path / "sharded.log", shard_size=3, cache=cache)
    assert sharded.retrieve(task, 5) == whole
    namespace = ShardCache(sharded.cache_namespace("eng_Latn", "document")).path
    assert len(list(namespace.glob("*/shard.json"))) == (4 if cache else 0)


def test_encoding_resumes_shard_by_shard_after_a_failure(tmp_path: Path):
    task, log, marker = _task(8), tmp_path / "encoded.log", tmp_path / "fail"
    texts = [document.full_text for document in task.corpus.values()]
    marker.touch()
    method = _encoder(log, shard_size=2, fail_while=str(marker))
    with pytest.raises(MethodFailedError, match="told to fail"):
        method.retrieve(task, 5)
    assert sorted(_logged(log)) == sorted(texts[:4])  # shards 0-1 done, shard 2 failed
    marker.unlink()
    log.unlink()
    run = _encoder(log, shard_size=2, fail_while=str(marker)).retrieve(task, 5)
    documents = [line for line in _logged(log) if line in texts]
    assert sorted(documents) == sorted(texts[4:])  # shards 0-1 were not encoded again
    assert run == _encoder(tmp_path / "whole.log", cache=False).retrieve(task, 5)


def test_shard_options_are_runtime_and_checked():
    plain = MethodSpec("test-logged-words", build_options("test-logged-words", {"log": "x"}))
    sharded = MethodSpec(
        "test-logged-words",
        build_options("test-logged-words", {"log": "x", "shard_size": 5, "ray_encoders": 2}),
    )
    assert plain.config_hash(10) == sharded.config_hash(10)  # the same cell
    with pytest.raises(OptionsError, match="ray_encoders encode shards: set shard_size"):
        build_options("test-logged-words", {"log": "x", "ray_encoders": 2})
    with pytest.raises(OptionsError, match="maxp searches every window at once"):
        build_options("test-logged-words", {"log": "x", "shard_size": 5, "long_documents": "maxp"})
    with pytest.raises(OptionsError, match="shard_size"):
        build_options("test-logged-words", {"log": "x", "shard_size": 0})


def test_a_cell_whose_actors_encode_asks_ray_for_no_gpu():
    from clirbench.ray_executor import resources

    cuda = {"device": "cuda", "shard_size": 100}
    alone = MethodSpec("st", build_options("st", cuda))
    pooled = MethodSpec("st", build_options("st", {**cuda, "ray_encoders": 2}))
    assert resources(alone)["num_gpus"] == 1 and resources(pooled)["num_gpus"] == 0


# On the local Ray cluster of 2 CPUs (tests/conftest.py).


def _shard_vectors(cache_root: Path) -> dict[str, np.ndarray]:
    return {
        path.parent.name: np.load(path)
        for path in sorted(cache_root.glob("embeddings/**/shards/*/vectors.npy"))
    }


def test_ray_encoders_give_the_local_vectors_and_run_files(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from clirbench.runner import run_cells
    from clirbench.store import RUN_FILE, ResultStore
    from clirbench.tasks import load_task
    from tests.conftest import TINY
    from tests.tiny_models import make_tiny_bert

    model = make_tiny_bert(tmp_path / "tiny-bert")
    task = load_task(str(TINY))
    runs, vectors = {}, {}
    for where, pool in (("local", 0), ("ray", 2)):
        monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / f"cache-{where}"))
        options = {"model": str(model), "shard_size": 2, "ray_encoders": pool}
        spec = MethodSpec("mbert", build_options("mbert", options))
        (outcome,) = run_cells([task], [spec], ResultStore(tmp_path / where), k=5)
        assert outcome.status == "computed", outcome.reason
        (run_file,) = (tmp_path / where).rglob(RUN_FILE)
        runs[where] = run_file.read_bytes()
        vectors[where] = _shard_vectors(tmp_path / f"cache-{where}")
    assert runs["ray"] == runs["local"]
    assert len(vectors["ray"]) == 3 and vectors["ray"].keys() == vectors["local"].keys()
    assert all(np.array_equal(vectors["ray"][d], vectors["local"][d]) for d in vectors["ray"])


def test_ray_encoders_resume_after_a_failed_shard(cluster: None, tmp_path: Path):
    task, log, marker = _task(8), tmp_path / "encoded.log", tmp_path / "fail"
    texts = [document.full_text for document in task.corpus.values()]
    options = {"shard_size": 2, "ray_encoders": 2, "fail_while": str(marker)}
    marker.touch()
    with pytest.raises(MethodFailedError, match="told to fail"):
        _encoder(log, **options).retrieve(task, 5)
    first = set(_logged(log))
    assert set(texts[:4]) <= first and texts[4] not in first
    marker.unlink()
    log.unlink()
    run = _encoder(log, **options).retrieve(task, 5)
    again = {line for line in _logged(log) if line in texts}
    assert texts[4] in again and not again & set(texts[:4])  # shards 0-1 were kept
    assert run == _encoder(tmp_path / "whole.log", cache=False).retrieve(task, 5)


class DiesOnceWordsOptions(LoggedWordsOptions):
    marker: str
    """Made by the first call, which then kills its own process; later calls run."""


@register_method("test-words-dies-once")
class DiesOnceWords(LoggedWords):
    Options = DiesOnceWordsOptions

    def encode(self, texts, lang, role):
        marker = Path(self.options.marker)
        if role == "document" and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().encode(texts, lang, role)


def test_a_killed_encoder_actor_is_restarted_and_its_shard_encoded(cluster: None, tmp_path: Path):
    task, marker = _task(6), tmp_path / "died"
    options = {"log": str(tmp_path / "log"), "marker": str(marker), "cache": False}
    method = DiesOnceWords(
        build_options("test-words-dies-once", {**options, "shard_size": 2, "ray_encoders": 1})
    )
    run = method.retrieve(task, 5)
    assert marker.read_text() != str(os.getpid())  # an actor died, not this process
    assert run == _encoder(tmp_path / "whole.log", cache=False).retrieve(task, 5)
