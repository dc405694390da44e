"""Which search backend a dense method uses, and that backend's options (pydantic only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SearchBackend = Literal["exact", "flat", "hnsw", "ivf"]
"""``exact``: clirbench's own blocked search (the default); the others are faiss indexes."""

APPROXIMATE: frozenset[str] = frozenset({"hnsw", "ivf"})
"""Backends that may miss documents exact search finds: the report marks their cells."""

BACKEND_OPTIONS: dict[str, frozenset[str]] = {
    "exact": frozenset(),
    "flat": frozenset(),
    "hnsw": frozenset({"m", "ef_construction", "ef_search"}),
    "ivf": frozenset({"nlist", "nprobe"}),
}


class SearchOptions(BaseModel):
    """Options of the approximate backends, each used by one (see ``BACKEND_OPTIONS``)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )

    m: int = Field(32, ge=2)
    """hnsw: links per node (faiss ``M``); more is better recall, more memory, slower build."""
    ef_construction: int = Field(200, ge=1)
    """hnsw: candidate list size while building (faiss ``efConstruction``)."""
    ef_search: int = Field(128, ge=1)
    """hnsw: candidate list size while searching (faiss ``efSearch``); raised to k if lower."""
    nlist: int | None = Field(None, ge=1)
    """ivf: number of inverted lists; default ``4 * sqrt(documents)`` (at most documents / 39)."""
    nprobe: int = Field(16, ge=1)
    """ivf: lists visited per query."""

    def check(self, backend: str) -> None:
        """Raise ValueError when an option is set that ``backend`` does not use."""
        stray = sorted(self.model_fields_set - BACKEND_OPTIONS[backend])
        if stray:
            uses = ", ".join(sorted(BACKEND_OPTIONS[backend])) or "none"
            raise ValueError(
                f"search_options {', '.join(stray)} do not apply to search={backend} "
                f"(its options: {uses})"
            )


def describe_search(backend: str, options: SearchOptions, n_docs: int) -> dict[str, object]:
    """What the manifest records about the search: backend, exactness and resolved options."""
    used = {name: getattr(options, name) for name in sorted(BACKEND_OPTIONS[backend])}
    if backend == "ivf":
        used["nlist"] = ivf_lists(options, n_docs)
    return {"backend": backend, "approximate": backend in APPROXIMATE, "options": used}


def ivf_lists(options: SearchOptions, n_docs: int) -> int:
    """The number of IVF lists: the option, else ``4 * sqrt(n_docs)`` but at most one list per
    39 documents (faiss's least for training); never more lists than documents."""
    wanted = options.nlist
    if wanted is None:
        wanted = min(round(4 * n_docs**0.5), n_docs // 39)
    return max(1, min(wanted, n_docs))


def search_record(options: object, n_docs: int) -> dict[str, object]:
    """``{"search": ...}`` for the manifest of a method with a ``search`` option, else ``{}``."""
    backend = getattr(options, "search", None)
    if backend not in BACKEND_OPTIONS:
        return {}
    search_options = getattr(options, "search_options", SearchOptions())
    return {"search": describe_search(backend, search_options, n_docs)}
