"""Sharded encoding of a dense method's corpus: encode, cache and search shard by shard.

With ``shard_size`` set, a :class:`~clirbench.method.DenseEncoder` reads its documents as
shards of that many, in corpus order, one at a time; each shard is encoded whole (by one
encoder in this process, or by a pool of Ray actors when ``ray_encoders`` is set) and
published into the embedding cache (:class:`~clirbench.cache.ShardCache`) under the digest of
its ids and texts. A shard already published is not encoded again, so a run that failed in
shard 2 of 4 resumes at shard 2. Search then reads the shards' ``.npy`` files one after the
other and merges their top k (``clirbench.search``): no process holds every vector at once.

Both encoders run the same :func:`encode_texts` over the same shard (same batches, same
order), so local and Ray encoding give the same vectors. Results are written by the process
that runs the cell, as cells are (see ``ray_executor``): the cache needs no filesystem shared
with the Ray workers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from clirbench.errors import ClirbenchError

if TYPE_CHECKING:
    import numpy as np

    from clirbench.cache import EmbeddingShard, ShardCache
    from clirbench.method import (
        DenseEncoder,
        DenseEncoderOptions,
        MethodBase,
        MethodOptions,
        Role,
        Run,
    )
    from clirbench.tasks.task import Task


@dataclass(frozen=True)
class CorpusShard:
    """Documents ``index * size`` on of the corpus: their ids, texts and digest."""

    index: int
    doc_ids: list[str]
    texts: list[str]
    digest: str


def corpus_shards(documents: Iterable[tuple[str, str]], size: int) -> Iterator[CorpusShard]:
    """``(doc id, text)`` pairs as shards of ``size``, read from ``documents`` one at a time."""
    from clirbench.cache import shard_digest

    pairs = iter(documents)
    index = 0
    while chunk := list(islice(pairs, size)):
        doc_ids, texts = [doc_id for doc_id, _ in chunk], [text for _, text in chunk]
        yield CorpusShard(index, doc_ids, texts, shard_digest(doc_ids, texts))
        index += 1


def encode_texts(
    encode: Callable[[list[str]], np.ndarray], texts: Sequence[str], batch_size: int
) -> np.ndarray:
    """``encode`` in batches of similar length (less padding), rows in the order of ``texts``."""
    import numpy as np

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [
        np.asarray(encode([texts[i] for i in order[start : start + batch_size]]), np.float32)
        for start in range(0, len(order), batch_size)
    ]
    if not batches:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.concatenate(batches)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise ValueError(f"encode returned shape {vectors.shape} for {len(texts)} texts")
    result = np.empty_like(vectors)
    result[order] = vectors
    return result


def _batch_size(method: MethodBase) -> int:
    return int(getattr(method.options, "batch_size", 32))


class ShardEncoder(Protocol):
    """Encodes texts and shards; :class:`LocalEncoder` here, :class:`RayEncoderPool` on Ray."""

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray: ...

    def encode_shards(
        self, shards: Iterable[CorpusShard], lang: str
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(shard index, vectors)`` of each document shard, in any order. On a failure, the
        shards finished before it are given first, then the error is raised."""
        ...


@dataclass
class LocalEncoder:
    """The method itself, in this process, one shard after the other."""

    method: DenseEncoder

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        encode = partial(self.method.encode, lang=lang, role=role)
        return encode_texts(encode, texts, _batch_size(self.method))

    def encode_shards(
        self, shards: Iterable[CorpusShard], lang: str
    ) -> Iterator[tuple[int, np.ndarray]]:
        for shard in shards:
            yield shard.index, self.encode(shard.texts, lang, "document")


class ShardActor:
    """Runs in a Ray actor: builds the method once (one model load), then encodes shards."""

    def __init__(self, cls: type[DenseEncoder], options: MethodOptions) -> None:
        self.encoder = LocalEncoder(cls(options))

    def encode(self, index: int, texts: list[str], lang: str, role: Role) -> tuple[int, np.ndarray]:
        return index, self.encoder.encode(texts, lang, role)


class RayEncoderPool:
    """``size`` :class:`ShardActor`\\ s, one shard in flight each, so the texts waiting in this
    process are at most ``size`` shards. Joins the Ray cluster this process is in, else
    ``RAY_ADDRESS``, else starts a local one (stopped again by :meth:`close`)."""

    def __init__(self, method: DenseEncoder, size: int) -> None:
        from clirbench.ray_executor import MAX_RETRIES, connect, gpus, import_ray

        self._ray = import_ray()  # says how to install Ray when it is missing
        from ray.util import ActorPool

        self._started = connect(None)
        remote = self._ray.remote(
            num_cpus=1,
            num_gpus=gpus(method.options),
            max_restarts=MAX_RETRIES,  # a killed actor is restarted and its shard sent again
            max_task_retries=MAX_RETRIES,
        )(ShardActor)
        self.actors = [remote.remote(type(method), method.options) for _ in range(size)]
        self._pool = ActorPool(self.actors)

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        return self._get(self.actors[0].encode.remote(0, list(texts), lang, role))[1]

    def encode_shards(
        self, shards: Iterable[CorpusShard], lang: str
    ) -> Iterator[tuple[int, np.ndarray]]:
        pool, failure = self._pool, None

        def next_done() -> tuple[int, np.ndarray] | None:
            nonlocal failure
            try:
                return pool.get_next_unordered()
            except self._ray.exceptions.RayError as error:  # raised once the others are in
                failure = failure or error
                return None

        def submit(actor: Any, shard: CorpusShard) -> Any:
            return actor.encode.remote(shard.index, shard.texts, lang, "document")

        for shard in shards:
            while not pool.has_free() and failure is None:
                if (done := next_done()) is not None:
                    yield done
            if failure is not None:
                break
            pool.submit(submit, shard)
        while pool.has_next():
            if (done := next_done()) is not None:
                yield done
        if failure is not None:
            raise _unwrapped(failure)

    def _get(self, ref: Any) -> Any:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayError as error:
            raise _unwrapped(error) from None

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        if self._started:
            self._ray.shutdown()


def _unwrapped(error: BaseException) -> BaseException:
    """A user error raised in an actor as itself (Ray wraps it), anything else as Ray gave it."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, ClirbenchError) else error


@contextmanager
def shard_encoder(method: DenseEncoder) -> Iterator[ShardEncoder]:
    """The encoder the method's options ask for: ``ray_encoders`` actors, else this process."""
    actors = int(getattr(method.options, "ray_encoders", 0))
    if not actors:
        yield LocalEncoder(method)
        return
    pool = RayEncoderPool(method, actors)
    try:
        yield pool
    finally:
        pool.close()


def encode_corpus(
    documents: Iterable[tuple[str, str]],
    size: int,
    lang: str,
    cache: ShardCache,
    encoder: ShardEncoder,
    advance: Callable[[int], None] = lambda n: None,
) -> list[EmbeddingShard]:
    """Every shard of ``documents``, in order: found in ``cache``, else encoded and published
    there as soon as it is done (so a failure loses only the shards not yet finished)."""
    finished: dict[int, EmbeddingShard] = {}
    waiting: dict[int, CorpusShard] = {}

    def unfinished() -> Iterator[CorpusShard]:
        for shard in corpus_shards(documents, size):
            if (found := cache.find(shard.digest)) is not None:
                finished[shard.index] = found
                advance(found.rows)
                continue
            waiting[shard.index] = CorpusShard(shard.index, shard.doc_ids, [], shard.digest)
            yield shard

    for index, vectors in encoder.encode_shards(unfinished(), lang):
        shard = waiting.pop(index)
        finished[index] = cache.publish(shard.digest, shard.doc_ids, vectors)
        advance(len(shard.doc_ids))
    return [finished[index] for index in range(len(finished))]


def _document_texts(method: DenseEncoder, task: Task) -> Iterator[tuple[str, str]]:
    """Each document's id and the text that stands for it (whole, or its first window)."""
    from clirbench.sentences import sentence_windows

    # A mode other than whole comes from DenseEncoderOptions (as in encode_documents).
    options = cast("DenseEncoderOptions", method.options)
    firstp = getattr(options, "long_documents", "whole") == "firstp"
    for doc_id, document in task.corpus.items():
        text = document.full_text
        if firstp:
            text = sentence_windows(text, options.window_sentences, options.window_stride, True)[0]
        yield doc_id, text


def retrieve_sharded(method: DenseEncoder, task: Task, k: int) -> Run:
    """``DenseEncoder.retrieve`` with the corpus in shards of ``options.shard_size``. Without
    the cache, the shards live in a temporary folder for the time of the call."""
    from clirbench.cache import EmbeddingCache, ShardCache
    from clirbench.progress import progress
    from clirbench.search import search

    options: Any = method.options
    size, cached = options.shard_size, bool(options.cache)
    doc_ids, query_ids = list(task.corpus), list(task.queries)
    doc_lang, query_lang = task.card.doc_lang, task.card.query_lang
    query_texts = [task.queries[q] for q in query_ids]
    scratch = nullcontext(None) if cached else tempfile.TemporaryDirectory(prefix="clirbench-")
    with scratch as folder:
        root = Path(folder) if folder else None
        cache = ShardCache(method.cache_namespace(doc_lang, "document"), root)
        with shard_encoder(method) as encoder:
            with progress(
                f"{method.name}: encoding {len(doc_ids)} documents in shards of {size}",
                total=len(doc_ids),
            ) as advance:
                shards = encode_corpus(
                    _document_texts(method, task), size, doc_lang, cache, encoder, advance
                )
            encode = partial(encoder.encode, lang=query_lang, role="query")
            if cached:
                namespace = method.cache_namespace(query_lang, "query")
                batch = max(1, len(query_texts))  # one call; the encoder batches
                queries = EmbeddingCache(namespace).encode(query_texts, encode, batch)
            else:
                queries = encode(query_texts)
        paths = [shard.vectors_path for shard in shards]
        return search(queries, paths, query_ids, doc_ids, k, options.search, options.search_options)
