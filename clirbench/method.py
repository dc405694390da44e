"""The method interface: what every retrieval method implements, and bases that do the rest.

A method is a class with a typed ``Options`` model and ``retrieve(task, k) -> Run``. Dense
methods subclass :class:`DenseEncoder` and only implement ``encode``; the core batches the
texts and runs exact top-k search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clirbench.search.options import SearchBackend, SearchOptions

if TYPE_CHECKING:
    import numpy as np

    from clirbench.tasks.task import Task

Run = dict[str, dict[str, float]]
"""query id -> document id -> score (higher is better), as ir_measures and pytrec_eval take it."""

Role = Literal["query", "document"]


@dataclass(frozen=True)
class Dependency:
    """A cell whose run a configuration reads: method ``method`` with ``options``, on the same
    task and split, kept in the same store, at depth ``k`` (None: the reading cell's k)."""

    method: str
    options: MethodOptions
    k: int | None = None


class MethodOptions(BaseModel):
    """Base of every method's options: typed, defaulted, and unknown keys are an error.

    Floats must be finite: ``k1=nan`` would otherwise score every document 0 and be stored.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )

    input_files: ClassVar[tuple[str, ...]] = ()
    """Options holding a file path whose content decides the results (a user's bitext)."""
    runtime_options: ClassVar[frozenset[str]] = frozenset()
    """Options that change how a result is computed, never what it is (batch size, device,
    threads): left out of the cell's identity and of every cache key."""

    def identity(self) -> dict[str, Any]:
        """The options that decide the results: those set to other than their default, less the
        runtime ones, plus a digest of each input file. Adding an option with a default to a
        method therefore leaves every stored cell and cache entry valid."""
        values = self.model_dump(
            mode="json", exclude_defaults=True, exclude=set(self.runtime_options)
        )
        if digests := self.input_digests():
            values["input_digests"] = digests
        return values

    def dependencies(self) -> tuple[Dependency, ...]:
        """Cells of other methods this configuration needs (fusion's systems, a reranker's
        candidates). The runner computes or reuses each one like any cell and passes their
        runs, in this order, as ``retrieve(task, k, inputs)``; their configurations are part
        of this cell's config hash."""
        return ()

    def input_digests(self) -> dict[str, str]:
        """SHA-256 of each input file given, so that an edited file is a new configuration."""
        from clirbench.errors import InputError
        from clirbench.fileio import file_sha256

        digests = {}
        for name in self.input_files:
            if (value := getattr(self, name)) is not None:
                path = Path(value)
                if not path.is_file():
                    raise InputError(path, None, f"file not found (option {name})")
                digests[name] = file_sha256(path)
        return digests


@runtime_checkable
class Method(Protocol):
    name: ClassVar[str]
    options: MethodOptions

    def retrieve(self, task: Task, k: int) -> Run:
        """Rank the task's corpus for each of its queries; at most ``k`` hits per query."""
        ...


@dataclass(frozen=True)
class Readiness:
    """Whether a method runs on this machine, offline, with its default options."""

    ready: bool
    note: str = ""
    """What is missing and how to supply it, or what else a user should know."""


class MethodBase:
    """Convenience base: holds the options and describes the method for the run manifest.

    Subclasses set ``Options`` (a subclass of :class:`MethodOptions`), ``requires`` (packages the
    method imports, so a missing one is reported with its pip command) and implement
    ``retrieve``. Methods that learn may also define ``fit``.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[MethodOptions]] = MethodOptions
    requires: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"
    """Bump when the method's output changes for the same options: stored cells and cached
    vectors of the old version are then recomputed, not reused."""

    def __init__(self, options: MethodOptions | None = None) -> None:
        self.options = options if options is not None else self.Options()

    @classmethod
    def readiness(cls) -> Readiness:
        """Whether the default options run here offline (weights present, ...), checked
        cheaply: no model is loaded. Missing packages (``requires``) are checked elsewhere."""
        return Readiness(True)

    def describe(self) -> dict[str, Any]:
        """Facts for the manifest (model id, revision, ...). Override to add more."""
        return {}

    def label(self) -> str:
        """The system's name on a leaderboard; e.g. ``nmt[lexical]`` names its translator."""
        return self.name

    def retrieve(self, task: Task, k: int) -> Run:
        raise NotImplementedError

    def dependency_runs(self, task: Task, k: int, inputs: Sequence[Run] | None) -> list[Run]:
        """The runs of ``options.dependencies()``: ``inputs`` as the runner passes them, or, when
        called without a runner (None), computed here in memory, without a store."""
        dependencies = self.options.dependencies()
        if inputs is None:
            from clirbench.registry import instantiate

            return [instantiate(d.method, d.options).retrieve(task, d.k or k) for d in dependencies]
        if len(inputs) != len(dependencies):
            raise ValueError(f"{self.name}: {len(inputs)} runs for {len(dependencies)} inputs")
        return list(inputs)


LongDocuments = Literal["whole", "firstp", "maxp"]
LONG_DOCUMENT_OPTIONS = frozenset({"long_documents", "window_sentences", "window_stride"})
"""They decide which texts are encoded, not the vector of a text: not in the cache key."""


class DenseEncoderOptions(MethodOptions):
    runtime_options: ClassVar[frozenset[str]] = frozenset(
        {"batch_size", "cache", "shard_size", "ray_encoders"}
    )
    batch_size: int = Field(32, ge=1)
    cache: bool = True
    """Keep embeddings in clirbench's cache, keyed by model, options, role, language and text."""
    search: SearchBackend = "exact"
    """exact (the default), or a faiss index: flat (exact), hnsw or ivf (approximate)."""
    search_options: SearchOptions = SearchOptions()
    """hnsw: m, ef_construction, ef_search; ivf: nlist, nprobe (e.g. {ef_search: 256})."""
    long_documents: LongDocuments = "whole"
    """whole: one vector per document (the model truncates it); firstp: its first window of
    sentences; maxp: a document scores its best window (Dai & Callan 2019, FirstP / MaxP)."""
    window_sentences: int = Field(3, ge=1)
    """Sentences per window (firstp, maxp); a document this short is encoded whole."""
    window_stride: int = Field(2, ge=1)
    """Sentences from one window's start to the next (maxp); at most window_sentences."""
    shard_size: int | None = Field(None, ge=1)
    """Documents per shard: the corpus is encoded, cached and searched shard by shard (a rerun
    after a failure encodes only the unfinished shards); None: all at once."""
    ray_encoders: int = Field(0, ge=0)
    """Ray actors that encode the shards (one model load each, a GPU each when device is
    cuda); 0: encode in this process. Needs shard_size."""

    @model_validator(mode="after")
    def _check_search_and_windows(self) -> DenseEncoderOptions:
        self.search_options.check(self.search)
        if self.long_documents == "maxp" and self.search != "exact":
            raise ValueError(
                "long_documents maxp scores every window exactly: it needs search exact"
            )
        if self.long_documents == "whole" and {"window_sentences", "window_stride"} & set(
            self.model_fields_set
        ):
            raise ValueError("window_sentences, window_stride need long_documents firstp or maxp")
        if self.window_stride > self.window_sentences:
            raise ValueError("window_stride above window_sentences would skip sentences")
        if self.shard_size is not None and self.long_documents == "maxp":
            raise ValueError("long_documents maxp searches every window at once: drop shard_size")
        if self.ray_encoders and self.shard_size is None:
            raise ValueError("ray_encoders encode shards: set shard_size too (e.g. 10000)")
        return self


class DenseEncoder(MethodBase):
    """A bi-encoder: implement ``encode``; similarity is the dot product of the vectors.

    Normalise the vectors in ``encode`` for cosine similarity.
    """

    Options: ClassVar[type[MethodOptions]] = DenseEncoderOptions
    cache_ignores: ClassVar[tuple[str, ...]] = ()
    """Result-affecting options that do not change a vector (e.g. a reranking depth), left out
    of the embedding cache key; runtime options are always left out."""

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        """Return one float32 row per text. ``lang`` is the task card's code for these texts."""
        raise NotImplementedError

    def cache_namespace(self, lang: str, role: Role) -> dict[str, Any]:
        """What a cached vector depends on: the method's identity (its code's version included),
        the vector-affecting options, the model (describe), the role and the language."""
        from clirbench.registry import method_identity

        ignored = {
            *self.cache_ignores,
            *LONG_DOCUMENT_OPTIONS,
            "search",
            "search_options",
        }  # not in a vector
        options = {k: v for k, v in self.options.identity().items() if k not in ignored}
        identity = method_identity(type(self)).model_dump()
        return {
            **identity,
            "method": self.name,
            "options": options,
            **self.describe(),
            "role": role,
            "lang": lang,
        }

    def encode_all(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        """Encode in batches of ``options.batch_size``, through the cache, with a progress bar."""
        from functools import partial

        import numpy as np

        from clirbench.cache import EmbeddingCache
        from clirbench.progress import progress

        batch_size = getattr(self.options, "batch_size", 32)
        encode = partial(self.encode, lang=lang, role=role)
        with progress(f"{self.name}: encoding {len(texts)} {role}s", total=len(texts)) as advance:
            if getattr(self.options, "cache", False):
                return EmbeddingCache(self.cache_namespace(lang, role)).encode(
                    texts, encode, batch_size, advance
                )
            batches = []
            for start in range(0, len(texts), batch_size):
                batches.append(
                    np.asarray(encode(list(texts[start : start + batch_size])), dtype=np.float32)
                )
                advance(len(batches[-1]))
        return np.concatenate(batches)

    def encode_documents(
        self, texts: Sequence[str], lang: str
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Vectors of what stands for the documents under ``long_documents``, and for maxp the
        index of the document each vector (window) belongs to; None when one vector each."""
        import numpy as np

        from clirbench.sentences import sentence_windows

        # A mode other than whole comes from DenseEncoderOptions, with its window options.
        options = cast(DenseEncoderOptions, self.options)
        mode = getattr(options, "long_documents", "whole")
        if mode == "whole":
            return self.encode_all(texts, lang, "document"), None
        size, stride = options.window_sentences, options.window_stride
        windows = [sentence_windows(text, size, stride, mode == "firstp") for text in texts]
        units = [window for each in windows for window in each]
        vectors = self.encode_all(units, lang, "document")
        if mode == "firstp":
            return vectors, None
        return vectors, np.repeat(np.arange(len(texts)), [len(each) for each in windows])

    def long_document_label(self, label: str) -> str:
        """``label`` with the long-document mode added (``me5[maxp]``, ``st[...,maxp-w2-s1]``)."""
        options = cast(DenseEncoderOptions, self.options)  # as in encode_documents
        mode = getattr(options, "long_documents", "whole")
        if mode == "whole":
            return label
        fields = type(options).model_fields
        part = mode
        if options.window_sentences != fields["window_sentences"].default or (
            mode == "maxp" and options.window_stride != fields["window_stride"].default
        ):
            part += f"-w{options.window_sentences}"
            part += f"-s{options.window_stride}" if mode == "maxp" else ""
        return f"{label[:-1]},{part}]" if label.endswith("]") else f"{label}[{part}]"

    def label(self) -> str:
        return self.long_document_label(self.name)

    def retrieve(self, task: Task, k: int) -> Run:
        from clirbench.search import best_passage_search, search

        if getattr(self.options, "shard_size", None):
            from clirbench.sharding import retrieve_sharded

            return retrieve_sharded(self, task, k)
        doc_ids = list(task.corpus)
        query_ids = list(task.queries)
        doc_texts = [task.corpus[d].full_text for d in doc_ids]
        docs, owners = self.encode_documents(doc_texts, task.card.doc_lang)
        queries = self.encode_all(
            [task.queries[q] for q in query_ids], task.card.query_lang, "query"
        )
        if owners is not None:  # maxp: the options allow it with exact search only
            return best_passage_search(queries, docs, owners, query_ids, doc_ids, k)
        backend = getattr(self.options, "search", "exact")
        search_options = getattr(self.options, "search_options", None)
        return search(queries, docs, query_ids, doc_ids, k, backend, search_options)


@runtime_checkable
class Translator(Protocol):
    """Machine translation for translate-then-retrieve; languages are card codes (eng_Latn)."""

    name: str

    def translate(self, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]: ...

    def describe(self) -> dict[str, Any]:
        """Model id and revision, for the manifest and the translation cache key."""
        ...
