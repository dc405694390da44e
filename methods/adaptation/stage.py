"""The MLM adaptation stage as options any method can mix in, and the per-task state that
adapts (or reuses) the encoder before the method encodes anything.

Choices, each an option (``mlm_*``):

* ``mlm_masking_rate`` 0.15 with BERT's 80/10/10 replacement (Devlin et al. 2019), the
  objective XLM-R was pre-trained with and that MAFT (Alabi et al. 2022) keeps for adaptation.
* ``mlm_whole_word`` off: XLM-R and AfroXLMR mask SentencePiece pieces, not words.
* ``mlm_lr`` 5e-5 with 10% warm-up and linear decay, AdamW, weight decay 0.01, clipping at 1.0:
  the defaults of transformers' ``run_mlm`` continued pre-training; the papers' own rates were
  not confirmed from their text here.
* ``mlm_freeze_embeddings``: on in the CPU presets, off in ``gpu``. Continued pre-training
  updates every weight (Ebrahimi & Kann 2021), but with multilingual-e5-small the 250k x 384
  embedding matrix (tied to the decoder) is 80% of the weights: training it doubles a CPU step
  (``benchmarks/bench_mlm.py``: 9.1 s against 4.7 s frozen, OPTICAL 4.1 s), and OPTICAL, which
  follows, freezes it anyway. Frozen, the transformer layers and the head's transform adapt.
* Sizes by ``adapt_preset`` (see ``MLM_PRESETS``); the text is the language's built-in train
  text or ``adapt_text_file`` (see ``text``).
* Protecting the retrieval space (``PROTECTION``, the same in every preset; see ``mlm``):
  ``mlm_head_warmup_steps`` 40 at ``mlm_head_lr`` 1e-3 (half the quick preset's length, so the
  encoder's 80 steps meet a head whose loss has left the uniform-guess 12.4), and
  ``mlm_anchor_weight`` 10: the anchor is 2 - 2 cos of a text's two vectors (0.02 at cos
  0.99, 0.2 at cos 0.9), so at weight 10 a drift that breaks a ranking costs whole nats, the
  scale of the MLM loss itself. ``mlm_frozen_layers`` 0 (not measured: with the anchor the
  vectors are held already, and frozen layers adapt less). Measured on bible-en-ny/verse, quick
  preset: after 10-11 of the 80 encoder steps, dev nDCG@10 0.945 and a Chichewa verse's vector
  at cos 0.926 from the original's without protection, 0.970 and cos 0.995 with these defaults
  (untrained 0.961).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from clirbench.errors import OptionsError
from clirbench.method import MethodOptions, Run

if TYPE_CHECKING:
    from clirbench.tasks.task import Task

    from .mlm import AdaptedModel, MLMConfig

_SIZES = ("mlm_steps", "mlm_batch_size", "mlm_max_length", "mlm_lr", "mlm_freeze_embeddings")
MLM_PRESETS: dict[str, dict[str, Any]] = {
    # A few minutes on 2 CPU cores (multilingual-e5-small): 1,280 verses seen once.
    "quick": dict(zip(_SIZES, (80, 16, 64, 5e-5, True), strict=True)),
    # <= 30 min on 2 CPU cores: 8,000 verses, about a third of the Chichewa train text.
    "default": dict(zip(_SIZES, (500, 16, 96, 5e-5, True), strict=True)),
    # One GPU (not run here): about 11 epochs of the 22,518 Chichewa train verses, every weight.
    "gpu": dict(zip(_SIZES, (4000, 64, 128, 5e-5, False), strict=True)),
}
PROTECTION: dict[str, Any] = {
    # Chosen on bible-en-ny/verse (quick preset), see the module's docstring.
    "mlm_head_warmup_steps": 40,
    "mlm_anchor_weight": 10.0,
    "mlm_frozen_layers": 0,
}
ADAPT_FOLLOWS_TASK = "task"
_LANGUAGE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


class AdaptationOptions(MethodOptions):
    """The stage's options, mixed into the options of every method that can adapt."""

    input_files: ClassVar[tuple[str, ...]] = ("adapt_text_file",)
    runtime_options: ClassVar[frozenset[str]] = frozenset(
        {"mlm_checkpoint_every", "mlm_checkpoint_seconds"}
    )

    adapt: str | None = None
    """Adapt the encoder first: ``task`` (the task's language other than English), a language
    code (``hau_Latn``), or None (no adaptation)."""
    adapt_preset: Literal["quick", "default", "gpu"] = "quick"
    """Sets ``mlm_steps``, ``mlm_batch_size``, ``mlm_max_length``, ``mlm_lr`` and
    ``mlm_freeze_embeddings`` unless they are given (no effect without ``adapt``)."""
    adapt_text_file: str | None = None
    """Your own text (one per line, or JSONL with ``text``) instead of the built-in train text."""
    mlm_steps: int = Field(MLM_PRESETS["quick"]["mlm_steps"], ge=0)
    mlm_batch_size: int = Field(MLM_PRESETS["quick"]["mlm_batch_size"], gt=0)
    mlm_max_length: int = Field(MLM_PRESETS["quick"]["mlm_max_length"], gt=2)
    mlm_lr: float = Field(MLM_PRESETS["quick"]["mlm_lr"], gt=0)
    mlm_warmup: float = Field(0.1, ge=0, le=1)
    mlm_weight_decay: float = Field(0.01, ge=0)
    mlm_masking_rate: float = Field(0.15, gt=0, lt=1)
    mlm_whole_word: bool = False
    mlm_freeze_embeddings: bool = MLM_PRESETS["quick"]["mlm_freeze_embeddings"]
    mlm_seed: int = 0
    mlm_head_warmup_steps: int = Field(PROTECTION["mlm_head_warmup_steps"], ge=0)
    """Steps training the MLM head alone (encoder frozen) before the encoder trains with it."""
    mlm_head_lr: float = Field(1e-3, gt=0)
    """Learning rate of the head's warm-up (a new head starts from random weights)."""
    mlm_anchor_weight: float = Field(PROTECTION["mlm_anchor_weight"], ge=0)
    """Weight of the self-distillation anchor (adapted vs original sentence vectors); 0: off."""
    mlm_frozen_layers: int = Field(PROTECTION["mlm_frozen_layers"], ge=0)
    """The lowest transformer layers left as they are."""
    mlm_checkpoint_every: int = Field(50, gt=0)
    mlm_checkpoint_seconds: float | None = Field(600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_adapt_preset(cls, values: Any) -> Any:
        """Fill the preset's sizes in, so the config hash changes whenever they do; without
        ``adapt`` nothing is filled, so a method's identity without the stage is unchanged."""
        if isinstance(values, dict) and values.get("adapt", cls.model_fields["adapt"].default):
            name = values.get("adapt_preset", cls.model_fields["adapt_preset"].default)
            values = {**MLM_PRESETS.get(name, {}), **values}
        return values

    @field_validator("adapt")
    @classmethod
    def _adapt_language(cls, value: str | None) -> str | None:
        if value is not None and value != ADAPT_FOLLOWS_TASK and not _LANGUAGE.match(value):
            raise ValueError(f"{value!r} is neither 'task' nor a language code like hau_Latn")
        return value

    def identity(self) -> dict[str, Any]:
        """With ``adapt``, the protections count even at their defaults: a cell adapted before
        they existed (without them) is then another configuration, recomputed, not reused."""
        values = super().identity()
        if self.adapt is not None:
            values.update({name: getattr(self, name) for name in PROTECTION})
        return values

    def mlm_config(self) -> MLMConfig:
        from .mlm import MLMConfig

        return MLMConfig(
            steps=self.mlm_steps,
            batch_size=self.mlm_batch_size,
            max_length=self.mlm_max_length,
            lr=self.mlm_lr,
            warmup=self.mlm_warmup,
            weight_decay=self.mlm_weight_decay,
            masking_rate=self.mlm_masking_rate,
            whole_word=self.mlm_whole_word,
            freeze_embeddings=self.mlm_freeze_embeddings,
            seed=self.mlm_seed,
            head_warmup_steps=self.mlm_head_warmup_steps,
            head_lr=self.mlm_head_lr,
            anchor_weight=self.mlm_anchor_weight,
            frozen_layers=self.mlm_frozen_layers,
        )

    def protection_label(self) -> str:
        """The protections that differ from the defaults, e.g. ``head:0,anchor:0``."""
        short = {"mlm_head_warmup_steps": "head", "mlm_anchor_weight": "anchor"}
        short["mlm_frozen_layers"] = "frozen"
        return ",".join(
            f"{short[name]}:{getattr(self, name):g}"
            for name, default in PROTECTION.items()
            if getattr(self, name) != default
        )


class Adaptation:
    """The stage of one method instance: the language a task asks for, and its adapted model
    (trained or reused once per language and text)."""

    def __init__(
        self,
        options: AdaptationOptions,
        model: str,
        method: str,
        base_lang: str = "eng_Latn",
        device: str | None = None,
    ) -> None:
        self.options, self.model, self.method = options, model, method
        self.base_lang, self.device = base_lang, device
        self.current: AdaptedModel | None = None
        self._done: dict[tuple[str, str], AdaptedModel] = {}

    def language(self, task: Task) -> str:
        """``adapt`` if it names a language, else the task's one language other than English."""
        if self.options.adapt not in (None, ADAPT_FOLLOWS_TASK):
            return str(self.options.adapt)
        card = task.card
        others = {card.query_lang, card.doc_lang} - {self.base_lang, "unknown"}
        if len(others) != 1:
            raise OptionsError(
                f"{self.method}: cannot tell which language to adapt to on task {card.name} "
                f"({card.languages}); set it, e.g. --set {self.method}.adapt=hau_Latn"
            )
        return others.pop()

    def prepare(self, task: Task) -> bool:
        """Adapt (or reuse) for ``task``; True when the adapted model differs from the last one."""
        from clirbench.training import Checkpointing

        from .mlm import adapt
        from .text import adaptation_text, task_texts

        options = self.options
        lang = self.language(task)
        text = adaptation_text(lang, options.adapt_text_file, task_texts(task, lang))
        key = (lang, text.sha256)
        if key not in self._done:
            checkpointing = Checkpointing(
                options.mlm_checkpoint_every, options.mlm_checkpoint_seconds
            )
            self._done[key] = adapt(
                self.model, text, options.mlm_config(), checkpointing, self.device
            )
        changed = self.current is not self._done[key]
        self.current = self._done[key]
        return changed

    def summary(self) -> dict[str, Any]:
        return self.current.summary() if self.current is not None else {}


class AdaptedEncoderMixin:
    """For a dense baseline (``st``, ``mbert``): with ``adapt`` set, adapt ``options.model`` to
    the task's language first and load the adapted folder instead (see :meth:`model_source`)."""

    options: Any
    name: ClassVar[str]
    rebuilt_on_adaptation: ClassVar[tuple[str, ...]] = ()
    """Cached attributes built from the model, dropped when another adapted model is used."""

    @cached_property
    def adaptation(self) -> Adaptation | None:
        if self.options.adapt is None:
            return None
        return Adaptation(
            self.options,
            self.options.model,
            self.name,
            device=getattr(self.options, "device", None),
        )

    def model_source(self) -> str:
        """``options.model``, or the folder of its adapted copy for the current task."""
        adapted = self.adaptation.current if self.adaptation is not None else None
        return str(adapted.folder) if adapted is not None else self.options.model

    def retrieve(self, task: Task, k: int) -> Run:
        if self.adaptation is not None and self.adaptation.prepare(task):
            for attribute in self.rebuilt_on_adaptation:
                self.__dict__.pop(attribute, None)
        return super().retrieve(task, k)  # type: ignore[misc]

    def adaptation_facts(self) -> dict[str, Any]:
        """For ``describe``: the adapted checkpoint (so the manifest and the vector cache key)."""
        return {"adaptation": self.adaptation.summary()} if self.adaptation is not None else {}

    def adaptation_label(self) -> str:
        """``+mlm`` (or ``+mlm:hau_Latn``) when adapting, else nothing."""
        return "" if self.options.adapt is None else adapt_label(self.options)


def adapt_label(options: AdaptationOptions) -> str:
    """``+mlm`` when the language follows the task, ``+mlm:hau_Latn`` when it is fixed, then
    any protection off its default (``+mlm,anchor:0``)."""
    label = "+mlm" if options.adapt == ADAPT_FOLLOWS_TASK else f"+mlm:{options.adapt}"
    protection = options.protection_label()
    return f"{label},{protection}" if protection else label
