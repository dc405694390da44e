"""The MLM adaptation stage as options and methods: ``mlm-student``, ``optical+mlm``, and the
``adapt`` option of ``st`` and ``mbert``.

Every method with the stage adapts its encoder (the student, or the model of ``st``/``mbert``)
to one language before it encodes anything: the task's language other than English (the
teacher's language for the student family) unless ``adapt`` names one. The adapted checkpoint's
id and weights digest are in the manifest (``describe``) and so in every embedding-cache key;
the stage's options are in the cell's identity. The stage's options and choices are in ``stage``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import model_validator

from clirbench.errors import OptionsError
from clirbench.method import Run
from clirbench.methods.optical.method import (
    Optical,
    OpticalOptions,
    StudentOptions,
    UntrainedStudent,
)
from clirbench.registry import register_method

from .stage import ADAPT_FOLLOWS_TASK, Adaptation, AdaptationOptions

if TYPE_CHECKING:
    from clirbench.tasks.task import Task


class _AdaptedStudentMixin:
    """The student family with an adapted student: the stage runs first, per task language."""

    options: Any
    name: ClassVar[str]

    @cached_property
    def adaptation(self) -> Adaptation:
        return Adaptation(
            self.options,
            self.options.student,
            self.name,
            self.options.teacher_lang,
            self.options.device,
        )

    def student_weights(self) -> tuple[str, str | None]:
        adapted = self.adaptation.current
        if adapted is None:
            raise OptionsError(f"{self.name}: the student is adapted per task; call retrieve")
        return str(adapted.folder), adapted.revision

    def retrieve(self, task: Task, k: int) -> Run:
        if self.adaptation.prepare(task):
            for attribute in ("models", "training"):  # built for another language's student
                self.__dict__.pop(attribute, None)
        return super().retrieve(task, k)  # type: ignore[misc]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "adaptation": self.adaptation.summary()}  # type: ignore[misc]

    def label(self) -> str:
        """The student family's label, then the fixed language and the protections off their
        defaults: ``mlm-student[mlm:hau_Latn,head:0,anchor:0]``."""
        label = super().label()  # type: ignore[misc]
        parts = [] if self.options.adapt == ADAPT_FOLLOWS_TASK else [f"mlm:{self.options.adapt}"]
        parts += [self.options.protection_label()] if self.options.protection_label() else []
        if not parts:
            return label
        extra = ",".join(parts)
        return f"{label[:-1]},{extra}]" if label.endswith("]") else f"{label}[{extra}]"


def _require_adapt(options: AdaptationOptions) -> None:
    if options.adapt is None:
        raise ValueError("adapt cannot be None for this method (use 'task' or a language code)")


class MLMStudentOptions(StudentOptions, AdaptationOptions):
    input_files: ClassVar[tuple[str, ...]] = AdaptationOptions.input_files
    runtime_options: ClassVar[frozenset[str]] = (
        StudentOptions.runtime_options | AdaptationOptions.runtime_options
    )
    adapt: str | None = ADAPT_FOLLOWS_TASK

    @model_validator(mode="after")
    def _adapts(self) -> MLMStudentOptions:
        _require_adapt(self)
        return self


class OpticalMLMOptions(OpticalOptions, AdaptationOptions):
    input_files: ClassVar[tuple[str, ...]] = (
        OpticalOptions.input_files + AdaptationOptions.input_files
    )
    runtime_options: ClassVar[frozenset[str]] = (
        OpticalOptions.runtime_options | AdaptationOptions.runtime_options
    )
    adapt: str | None = ADAPT_FOLLOWS_TASK

    @model_validator(mode="after")
    def _adapts(self) -> OpticalMLMOptions:
        _require_adapt(self)
        return self


@register_method("mlm-student")
class MLMStudent(_AdaptedStudentMixin, UntrainedStudent):
    """The student after MLM adaptation to the task's language, not distilled; English teacher."""

    version = "2"  # the adaptation protects the retrieval space (head warm-up, anchor)

    Options = MLMStudentOptions


@register_method("optical+mlm")
class OpticalMLM(_AdaptedStudentMixin, Optical):
    """MLM adaptation of the student to the task's language, then OPTICAL distillation from it."""

    version = "2"  # the adaptation protects the retrieval space (head warm-up, anchor)

    Options = OpticalMLMOptions
