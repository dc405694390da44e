"""Any sentence-transformers model as a dense retriever, with the model's own role prompts."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import Field

from clirbench.devices import DeviceOptions, autocast, resolve_device
from clirbench.errors import MethodUnavailableError
from clirbench.method import DenseEncoder, DenseEncoderOptions, Readiness, Role
from clirbench.methods.adaptation.stage import AdaptationOptions, AdaptedEncoderMixin
from clirbench.registry import register_method

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")


class STOptions(DenseEncoderOptions, AdaptationOptions, DeviceOptions):
    runtime_options = (
        DenseEncoderOptions.runtime_options
        | AdaptationOptions.runtime_options
        | DeviceOptions.runtime_options
    )
    model: str = DEFAULT_MODEL
    """A short offline name (all-MiniLM-L6-v2, multilingual-e5-small), a hub id or a folder."""
    query_prompt: str | None = None
    """Text put before queries; None uses the model's own "query" prompt, if it has one."""
    document_prompt: str | None = None
    """Text put before documents; None uses the model's "document"/"passage" prompt."""
    normalize: bool = True
    max_length: int | None = Field(None, ge=1)


@register_method("st")
class SentenceTransformerEncoder(AdaptedEncoderMixin, DenseEncoder):
    """Any sentence-transformers model (default all-MiniLM-L6-v2, English-only); prompts by role.
    With ``adapt``, the model is first MLM-adapted to the task's language."""

    Options = STOptions
    options: STOptions
    requires = ("sentence_transformers",)
    rebuilt_on_adaptation = ("folder", "model")

    @classmethod
    def readiness(cls) -> Readiness:
        offline = "offline: all-MiniLM-L6-v2, multilingual-e5-small; other models need a folder"
        return Readiness(True, offline)

    @cached_property
    def folder(self) -> str:
        from clirbench.baselines.models import resolve_model

        return resolve_model(self.model_source())

    @cached_property
    def device(self) -> str:
        return resolve_device(self.options.device)

    @cached_property
    def model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(self.folder, device=self.device)
        except OSError as error:
            raise MethodUnavailableError(
                f"st: model {self.options.model!r} is not available here "
                f"({str(error).splitlines()[0]}); "
                "give a local folder with --set st.model=PATH"
            ) from None
        if self.options.max_length:
            model.max_seq_length = self.options.max_length
        return model

    def prompt(self, role: Role) -> str:
        """The option if given, else the model's own prompt for the role, else nothing."""
        chosen = self.options.query_prompt if role == "query" else self.options.document_prompt
        if chosen is not None:
            return chosen
        prompts = getattr(self.model, "prompts", None) or {}
        names = ("query",) if role == "query" else _DOCUMENT_PROMPT_NAMES
        return next((prompts[n] for n in names if prompts.get(n)), "")

    def describe(self) -> dict[str, Any]:
        from clirbench.baselines.models import OFFLINE_MODELS, model_revision, resolve_model

        known = OFFLINE_MODELS.get(self.options.model)
        return {
            "model": known.hub_id if known else self.options.model,
            "model_revision": model_revision(self.options.model, resolve_model(self.options.model)),
            "prompts": {"query": self.prompt("query"), "document": self.prompt("document")},
            **self.adaptation_facts(),
        }

    def label(self) -> str:
        model = self.options.model
        parts = [] if model == DEFAULT_MODEL else [model.rstrip("/").split("/")[-1]]
        parts += [self.adaptation_label()] if self.options.adapt else []
        return self.long_document_label(f"st[{','.join(parts)}]" if parts else self.name)

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        import numpy as np

        with autocast(self.device, self.options.precision):
            vectors = self.model.encode(
                list(texts),
                prompt=self.prompt(role) or None,
                batch_size=self.options.batch_size,
                normalize_embeddings=self.options.normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
