"""The report as typed, frozen records: what ``clirbench report``, ``Leaderboard`` and
``clirbench compare`` show, built once from the store and the statistics.

``clirbench.report.context`` builds a :class:`Report`; the Jinja2 templates read its fields
(each template variable is a field of ``Report``), ``Leaderboard`` turns it into a dict, CSV and
LaTeX, and ``compare`` prints :class:`PairedTests`. Every choice (ranks, marks, ties) is made
when the records are built; presenting them only formats numbers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from clirbench.errors import UnknownNameError
from clirbench.stats.comparison import Test
from clirbench.stats.correction import (
    Correction,
    resamples_for_significance,
    significance_reachable,
)

MarkKind = Literal["below-best", "above-baseline", "below-baseline"]
# Significance mark kind -> its glyph; the HTML page styles each kind apart (colour and shape).
MARKS: dict[MarkKind, str] = {
    "below-best": "†",
    "above-baseline": "↑",
    "below-baseline": "↓",
}

COMPARE_ALPHA = 0.05
"""The significance level of ``clirbench compare``."""


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Marked(Record):
    """Something shown with significance marks: ``marks`` is their glyphs, in order."""

    mark_kinds: tuple[MarkKind, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def marks(self) -> str:
        return "".join(MARKS[kind] for kind in self.mark_kinds)


class PairedTest(Record):
    """A paired test of system ``a`` against ``b`` on the queries both scored.

    ``difference`` and the interval are of ``mean(a - b)``; ``d_z`` is Cohen's effect size;
    ``p_adjusted`` is corrected over every test of its report, ``significant`` is
    ``p_adjusted <= alpha``. ``task`` is a task name, or for a group's pooled test its tasks
    joined by `` + ``.
    """

    a: str
    b: str
    task: str
    measure: str
    queries: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    d_z: float
    p: float
    p_adjusted: float
    significant: bool


class PairedTests(Record):
    """What ``clirbench compare`` prints: its tests, corrected together."""

    test: Test
    correction: Correction
    resamples: int
    seed: int
    comparisons: tuple[PairedTest, ...]

    @property
    def resamples_warning(self) -> str | None:
        """See :attr:`ReportSettings.resamples_warning` (at ``COMPARE_ALPHA``)."""
        return _resamples_warning(
            self.test, self.resamples, len(self.comparisons), COMPARE_ALPHA, self.correction
        )


class Versus(Record):
    """One system against another (the best, the baseline): all None when not compared."""

    difference: float | None = None
    effect_size: float | None = None
    p_adjusted: float | None = None
    significant: bool = False


class Worst(Record):
    """A system's lowest column (task, language) and its value there."""

    label: str
    value: float


class Cell(Marked):
    """One value of a score table: a task's primary measure, or a macro average (no marks)."""

    value: float | None
    is_best: bool = False


class TaskColumn(Record):
    """A score table's column: one task, or the macro average over ``tasks``."""

    label: str
    tasks: tuple[str, ...]


class SystemRow(Record):
    """A system's row of a score table; ``mean`` only when it has every column."""

    system: str
    cells: tuple[Cell, ...]
    mean: float | None
    covered: int
    worst: Worst


class ScoreTable(Record):
    """Systems x columns of the primary measure, best mean first."""

    columns: tuple[TaskColumn, ...]
    rows: tuple[SystemRow, ...]


class GroupCell(Cell):
    """A group's macro average, marked by the pooled test; ``worst``: its lowest language."""

    worst: Worst | None = None
    vs_best: Versus | None = None
    vs_baseline: Versus | None = None


class GroupColumn(TaskColumn):
    languages: tuple[str, ...]


class GroupRow(Record):
    system: str
    cells: tuple[GroupCell, ...]
    covered: int


class Grouping(Record):
    """Systems x groups of one grouping (``family`` or ``resource``)."""

    key: str
    title: str
    columns: tuple[GroupColumn, ...]
    rows: tuple[GroupRow, ...]


class TaskRow(Marked):
    """A system on one task: every shown measure, the interval and both comparisons."""

    system: str
    primary: float
    ci_low: float
    ci_high: float
    scores: tuple[float | None, ...]
    vs_best: Versus
    vs_baseline: Versus
    is_best: bool
    is_baseline: bool
    tied_at_top: bool


class TaskSection(Record):
    """One task's card facts and its systems, best first."""

    name: str
    query_lang: str
    doc_lang: str
    languages: str
    low_resource: bool
    measures: tuple[str, ...]
    primary_index: int
    queries: int
    split: str
    source: str
    license: str
    best: str
    tied: tuple[str, ...]
    rows: tuple[TaskRow, ...]


class GainPoint(Record):
    language: str
    label: str
    tasks: tuple[str, ...]
    reference: float
    system: float
    gain: float


class Fit(Record):
    slope: float
    intercept: float


class Correlation(Record):
    r: float
    p: float


class Gain(Record):
    """Per language, ``system`` minus ``reference`` against ``reference``'s own score."""

    system: str
    reference: str
    points: tuple[GainPoint, ...]
    fit: Fit | None
    pearson: Correlation | None
    spearman: Correlation | None


class CoverageCell(Record):
    value: float | None
    is_best: bool


class CoverageRow(Record):
    language: str
    task: str
    queries: int
    cells: tuple[CoverageCell, ...]


class Coverage(Record):
    """The coverage probe: languages x systems, outside every average and test."""

    systems: tuple[str, ...]
    rows: tuple[CoverageRow, ...]
    means: tuple[float | None, ...]


class NoiseRow(Record):
    """A system on a noisy variant and on its clean task (None: not run there).

    ``change`` is noisy minus clean on the same queries, tested paired and corrected with the
    report's other tests (so it changes their adjusted p-values too); ``mark`` is ``↓`` for a
    significant drop, ``↑`` for a significant gain, else empty."""

    system: str
    clean: float | None
    noisy: float
    change: Versus
    mark: str


class NoiseTask(Record):
    """A ``.../noisy`` task (its name), the clean task it varies, and its systems, best first."""

    name: str
    base: str
    languages: str
    queries: int
    rows: tuple[NoiseRow, ...]


class NoiseSummary(Record):
    """A system over the noisy tasks that it ran both clean and noisy (each rate and seed a task
    of its own): macro averages, the change (absolute and relative to clean), its significant
    drops and its largest drop."""

    system: str
    tasks: int
    clean: float
    noisy: float
    change: float
    relative: float | None
    significant_drops: int
    worst: Worst | None
    """The task of its largest drop and the drop; None when no score fell."""


class Robustness(Record):
    """Orthographic noise: noisy variants against their clean tasks. The noisy tasks are kept out
    of every table, average and group above; their tests are in the report's one family, so
    they count in every adjusted p-value of the report."""

    tasks: tuple[NoiseTask, ...]
    summary: tuple[NoiseSummary, ...]


class LegendItem(Record):
    kind: MarkKind
    mark: str
    meaning: str


class Approximate(Record):
    """The note on systems whose search was approximate, shown with ``mark``."""

    systems: tuple[str, ...]
    mark: str
    meaning: str


class NotRun(Record):
    """A method recorded as unable to run, on the selected tasks."""

    method: str
    config_hash: str
    reason: str
    tasks: tuple[str, ...]
    options: dict[str, Any]


class Run(Record):
    """A cell's provenance: when, from which commit and environment, by which command."""

    task: str
    system: str
    options: dict[str, Any]
    created: str
    git_commit: str
    environment: int
    command: str
    seconds: float | None
    """The cell's wall-clock time (retrieval and evaluation; training too where this cell
    trained the model that later cells reuse); None where not recorded."""


class CommandTime(Record):
    """A command's cells in the report and their summed wall-clock seconds."""

    command: str
    cells: int
    seconds: float | None
    """The sum over the cells that recorded their time; None where none did."""
    untimed: int
    """Cells without a recorded time (made by an older clirbench)."""


class Environment(Record):
    id: int
    packages: tuple[tuple[str, str], ...]
    git_commit: str
    machine: dict[str, Any]
    """As the manifest records it (platform, python, cpus, ...)."""


class ReportSettings(Record):
    """The settings the report was made with, resolved (the primary measure, the baseline)."""

    measure: str
    measures: tuple[str, ...] | None
    baseline: str | None
    correction: Correction
    alpha: float
    n_resamples: int
    seed: int
    gain: tuple[str, str] | None
    test: Test
    confidence: float
    comparisons: int
    """How many tests the correction covers."""

    @property
    def resamples_warning(self) -> str | None:
        """Why no difference in the report can be significant, when it was made with fewer
        resamples than the correction needs; else None."""
        return _resamples_warning(
            self.test, self.n_resamples, self.comparisons, self.alpha, self.correction
        )


def _resamples_warning(
    test: Test, resamples: int, comparisons: int, alpha: float, correction: Correction
) -> str | None:
    if test != "randomization" or not comparisons:
        return None
    if significance_reachable(comparisons, resamples, alpha, correction):
        return None
    needed = resamples_for_significance(comparisons, alpha, correction)
    return (
        f"with {resamples} resamples the smallest p-value is 1/{resamples + 1}, so after the "
        f"{correction} correction over {comparisons} comparisons no difference can be "
        f"significant at {alpha}; rerun with --resamples {needed} or more"
    )


class Report(Record):
    """The whole leaderboard."""

    settings: ReportSettings
    legend: tuple[LegendItem, ...]
    systems: tuple[str, ...]
    overall: ScoreTable
    languages: ScoreTable
    low_resource: ScoreTable | None
    groupings: tuple[Grouping, ...]
    ungrouped: tuple[str, ...]
    gain: Gain | None
    coverage: Coverage | None
    robustness: Robustness | None
    tasks: tuple[TaskSection, ...]
    tests: tuple[PairedTest, ...]
    """Every test of the report (each task's, each group's pooled, each system's noisy against
    clean), corrected as one family."""
    not_run: tuple[NotRun, ...]
    approximate: Approximate
    runs: tuple[Run, ...]
    commands: tuple[CommandTime, ...]
    """Per command, in the order of its first cell: what reproducing the report costs."""
    environments: tuple[Environment, ...]

    @property
    def marks_by_kind(self) -> dict[str, LegendItem]:
        return {item.kind: item for item in self.legend}

    def task(self, name: str) -> TaskSection:
        """The task's section; an unknown name is an error that names the tasks."""
        for section in self.tasks:
            if section.name == name:
                return section
        raise UnknownNameError("task in the leaderboard", name, [t.name for t in self.tasks])

    def grouping(self, key: str) -> Grouping:
        for table in self.groupings:
            if table.key == key:
                return table
        raise UnknownNameError("grouping", key, [t.key for t in self.groupings])
