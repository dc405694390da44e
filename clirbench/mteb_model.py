"""Hand any clirbench :class:`~clirbench.method.DenseEncoder` to MTEB as a model.

MTEB 2.x takes an encoder by its shape (``mteb.models.models_protocols.EncoderProtocol``):
``encode(inputs, *, task_metadata, hf_split, hf_subset, prompt_type)``, ``similarity``,
``similarity_pairwise`` and ``mteb_model_meta``. Its ``prompt_type`` (query or document) is the
encoder's role; the language is the side's language in the task's metadata (as clirbench's
``mteb:`` tasks read it), so the encoder sees the same ``lang`` and ``role`` as under clirbench.

    import mteb
    import clirbench

    task = clirbench.as_mteb_task(clirbench.load_task("bible-en-ny/verse"))  # offline
    mteb.evaluate(clirbench.MTEBEncoder(clirbench.load_method("me5")), task, cache=None)

or any MTEB task, e.g. ``mteb.get_task("SciFact")``, where its data is at hand.

Nothing here imports MTEB until an adapter is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clirbench.hashing import json_hash
from clirbench.tasks.card import UNKNOWN_LANGUAGE

if TYPE_CHECKING:
    import numpy as np

    from clirbench.method import DenseEncoder, Role


def _model_meta(encoder: DenseEncoder, name: str | None) -> Any:
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    # Encoders describe their weights as "model_revision" (me5, st, mbert, optical); without one,
    # the options stand in, so two configurations never share a revision.
    options = encoder.options.model_dump(mode="json")
    revision = encoder.describe().get("model_revision") or _options_digest(options)
    return ModelMeta.create_empty(
        {
            "name": name or f"clirbench/{encoder.name or type(encoder).__name__}",
            "revision": str(revision),
            "similarity_fn_name": ScoringFunction.DOT_PRODUCT,  # DenseEncoder scores by dot product
        }
    )


def _options_digest(options: dict[str, Any]) -> str:
    return json_hash(options, 12)


def task_language(task_metadata: Any, hf_subset: str, role: Role) -> str:
    """The clirbench code of the queries' or the documents' language in an MTEB task's subset."""
    from clirbench.tasks.mteb_source import card_languages

    languages = task_metadata.hf_subsets_to_langscripts.get(hf_subset)
    if not languages:
        return UNKNOWN_LANGUAGE
    query_lang, doc_lang = card_languages(task_metadata.name, languages)
    return query_lang if role == "query" else doc_lang


class MTEBEncoder:
    """An MTEB encoder (``EncoderProtocol``) around a clirbench ``DenseEncoder``."""

    def __init__(self, encoder: DenseEncoder, name: str | None = None) -> None:
        self.encoder = encoder
        self.mteb_model_meta = _model_meta(encoder, name)

    def encode(
        self,
        inputs: Any,
        *,
        task_metadata: Any,
        hf_split: str,
        hf_subset: str,
        prompt_type: Any = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Encode every text the data loader yields; batching is the encoder's own."""
        from mteb.types import PromptType

        role: Role = "query" if prompt_type == PromptType.query else "document"
        texts = [text for batch in inputs for text in batch["text"]]
        return self.encoder.encode_all(texts, task_language(task_metadata, hf_subset, role), role)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> Any:
        from mteb.similarity_functions import dot_score

        return dot_score(embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> Any:
        from mteb.similarity_functions import pairwise_dot_score

        return pairwise_dot_score(embeddings1, embeddings2)
