"""The leaderboard's content (``clirbench.report.model.Report``), built from a result store only.

Templates receive what this module returns and only loop and format numbers: every choice
(ranking, significance marks, which systems tie) is made here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from clirbench.errors import ClirbenchError, UnknownNameError
from clirbench.location import Location
from clirbench.report.groups import (
    ProbeTask,
    coverage_table,
    gain_view,
    group_table,
    group_task_sets,
    task_groups,
)
from clirbench.report.model import (
    MARKS,
    Approximate,
    Cell,
    CommandTime,
    Coverage,
    Environment,
    LegendItem,
    MarkKind,
    NotRun,
    PairedTest,
    Report,
    ReportSettings,
    Run,
    ScoreTable,
    SystemRow,
    TaskColumn,
    TaskRow,
    TaskSection,
    Versus,
    Worst,
)
from clirbench.report.robustness import NoisyPair, noise_samples, noisy_pairs, robustness_view
from clirbench.store import Cell as StoredCell
from clirbench.store import ResultStore, cells_of, system_labels

if TYPE_CHECKING:
    from clirbench.stats import Comparison
    from clirbench.stats.comparison import Test

TEST: Test = "randomization"
CONFIDENCE = 0.95
NOT_RECORDED = "not recorded"
APPROXIMATE_MARK = "≈"


class ReportError(ClirbenchError):
    """The store cannot make a leaderboard (empty, or results that do not fit together)."""


@dataclass(frozen=True)
class Settings:
    measure: str | None = None
    """The primary measure: ranks, tests and the overall tables (default: the first shown)."""
    measures: tuple[str, ...] | None = None
    """The measures shown per task (default: each task card's)."""
    baseline: str | None = "bm25"
    correction: str = "holm"
    alpha: float = 0.05
    n_resamples: int = 10_000
    seed: int = 0
    gain: tuple[str, str] | None = ("optical", "untrained-student")
    """The gain plot's pair: the first system's gain over the second, per language (None: no
    plot). Shown when both are in the store."""


@dataclass(frozen=True)
class _TaskResults:
    card: dict[str, Any]
    cells: dict[str, StoredCell]  # system label -> cell
    primary: dict[str, dict[str, float]]  # system label -> query id -> primary measure


def build_report(
    stores: ResultStore | Sequence[ResultStore],
    settings: Settings,
    *,
    tasks: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
) -> Report:
    """Everything the leaderboard shows, in every format.

    ``tasks`` (names, ``suite:NAME``, ``lang:CODE``) and ``methods`` (system labels, or
    method names that are no system's label) keep only those results; None keeps all. Labels
    are made over every cell of the stores, so a system has the same name in a filtered report
    as in the full one. Several stores (a suite each, say) make one report, as if their cells
    were in one store.
    """
    _check_settings(settings)
    stores = [stores] if isinstance(stores, ResultStore) else list(stores)
    where = " and ".join(str(store.root) for store in stores)
    cells = cells_of(stores)
    if not cells:
        raise ReportError(f"no results in {where}; run `clirbench run` first")
    labels = system_labels(cells)
    not_run = _merged_not_run([item for store in stores for item in store.not_run()])
    cells = _select(cells, labels, tasks, methods, {item["method"] for item in not_run}, where)
    cards = [cell.manifest["task"] for cell in cells]
    requested = settings.measure or (settings.measures[0] if settings.measures else None)
    measure = _primary_measure(cards, requested)
    shown = _shown_measures(cards, measure, settings.measures)
    probe = [cell for cell in cells if _is_probe(cell)]
    noisy = [cell for cell in cells if _is_noisy(cell)]
    cells = [cell for cell in cells if not _is_probe(cell) and not _is_noisy(cell)]
    if not cells:
        raise ReportError(
            f"only coverage-probe or noisy-variant results in {where}; "
            "the report needs a main task too"
        )
    by_task = _group_by_task(cells, labels, measure)
    systems = sorted({labels[cell.path] for cell in cells})
    baseline = _resolve_baseline(settings.baseline, systems)
    task_cards = {name: results.card for name, results in by_task.items()}
    groupings, ungrouped = task_groups(task_cards)
    noisy_by_task = _group_by_task(noisy, labels, measure)
    variants = noisy_pairs(noisy_by_task, by_task)
    found = _compare(by_task, group_task_sets(groupings), variants, baseline, measure, settings)
    comparisons = {key: pairs for key, pairs in found.by_key.items() if isinstance(key, str)}
    task_views = [
        _task_view(name, results, comparisons.get(name, {}), baseline, measure, shown, settings)
        for name, results in by_task.items()
    ]
    low_resource = [view for view in task_views if view.low_resource]
    overall = _score_table([(view.name, [view]) for view in task_views], systems)
    rows = {view.name: {row.system: row for row in view.rows} for view in task_views}

    views = {view.name: view for view in task_views}

    def tests(tasks: frozenset[str]) -> tuple[str | None, Callable[[str, str | None], Versus]]:
        """A task set's best system and its corrected comparisons (one task: that task's)."""
        if len(tasks) == 1:
            (name,) = tasks
            return views[name].best, functools.partial(_versus, comparisons.get(name, {}))
        return found.bests.get(tasks), functools.partial(_versus, found.by_key.get(tasks, {}))

    order = [row.system for row in overall.rows]
    runs, environments = _provenance([*cells, *probe, *noisy], labels)
    return Report(
        settings=ReportSettings(
            **{
                **dataclasses.asdict(settings),
                "measure": measure,
                "baseline": baseline,
                "test": TEST,
                "confidence": CONFIDENCE,
                "comparisons": len(found.tests),
            }
        ),
        legend=_legend(baseline),
        systems=tuple(systems),
        overall=overall,
        languages=_score_table(_language_columns(task_views), systems),
        low_resource=_score_table([(view.name, [view]) for view in low_resource], systems)
        if low_resource
        else None,
        groupings=tuple(
            group_table(key, groups, task_cards, rows, order, tests, baseline)
            for key, groups in groupings.items()
        ),
        ungrouped=tuple(ungrouped),
        gain=gain_view(settings.gain, task_cards, rows),
        coverage=_coverage(probe, labels, measure),
        robustness=robustness_view(variants, found.by_key),
        tasks=tuple(task_views),
        tests=found.tests,
        not_run=_not_run(not_run, None if tasks is None else {*by_task, *noisy_by_task}, methods),
        approximate=_approximate([*cells, *noisy], labels),
        runs=runs,
        commands=_command_times(runs),
        environments=environments,
    )


def _merged_not_run(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One not-run record per (method, config_hash), on the tasks of every store's record."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        key = (item["method"], item["config_hash"])
        if key in merged:
            tasks = merged[key]["tasks"]
            merged[key]["tasks"] = tasks + [t for t in item["tasks"] if t not in tasks]
        else:
            merged[key] = {**item, "tasks": list(item["tasks"])}
    return list(merged.values())


def _command_times(runs: Sequence[Run]) -> tuple[CommandTime, ...]:
    by_command: dict[str, list[Run]] = {}
    for run in sorted(runs, key=lambda r: r.created):
        by_command.setdefault(run.command, []).append(run)
    times = []
    for command, made in by_command.items():
        timed = [run.seconds for run in made if run.seconds is not None]
        times.append(
            CommandTime(
                command=command,
                cells=len(made),
                seconds=sum(timed) if timed else None,
                untimed=len(made) - len(timed),
            )
        )
    return tuple(times)


def _cell_seconds(manifest: dict[str, Any]) -> float | None:
    timings = manifest.get("timings") or {}
    if "retrieve_s" not in timings:
        return None
    return float(timings["retrieve_s"]) + float(timings.get("evaluate_s", 0.0))


def _is_probe(cell: StoredCell) -> bool:
    from clirbench.tasks.builtin.udhr import is_coverage_probe

    return is_coverage_probe(cell.manifest["task"])


def _coverage(
    cells: list[StoredCell], labels: dict[Location, str], measure: str
) -> Coverage | None:
    """The coverage probe's table (languages x systems), or None without probe results."""
    if not cells:
        return None
    from clirbench.tasks.languages import task_language

    probes = [
        ProbeTask(
            name=name,
            language=task_language(
                results.card.get("query_lang", ""), results.card.get("doc_lang", "")
            ),
            queries=len(next(iter(results.primary.values()))),
            means=_means(results.primary),
        )
        for name, results in _group_by_task(cells, labels, measure).items()
    ]
    return coverage_table(probes, sorted({labels[cell.path] for cell in cells}))


def _is_noisy(cell: StoredCell) -> bool:
    from clirbench.tasks.noise import noisy_base

    return noisy_base(cell.manifest["task"]["name"]) is not None


def _select(
    cells: list[StoredCell],
    labels: dict[Location, str],
    tasks: Sequence[str] | None,
    methods: Sequence[str] | None,
    not_run: set[str],
    where: str,
) -> list[StoredCell]:
    """The cells of the wanted tasks and methods; a name the store does not hold is an error.

    ``not_run`` names the methods recorded as not run: they may be asked for too.
    """
    task_names = {cell.manifest["task"]["name"] for cell in cells}
    if tasks is not None:
        wanted = set(_task_names(tasks, task_names))
        cells = [cell for cell in cells if cell.manifest["task"]["name"] in wanted]
    if methods is not None:
        shown = {labels[cell.path] for cell in cells}
        systems = shown | {cell.manifest["method"]["name"] for cell in cells} | not_run
        for name in methods:
            if name not in systems:
                raise UnknownNameError("method or system in the selected results", name, systems)
        # a label is that one system (``optical`` is not ``optical[maxp]``); a method name that
        # is no system's label stands for every configuration of the method
        cells = [
            cell
            for cell in cells
            if labels[cell.path] in methods
            or (
                cell.manifest["method"]["name"] in methods
                and cell.manifest["method"]["name"] not in shown
            )
        ]
    if not cells:
        raise ReportError(f"no results in {where} for the tasks and methods asked for")
    return cells


def _task_names(specs: Sequence[str], known: set[str]) -> list[str]:
    """Task names from names, ``suite:NAME`` and ``lang:CODE``; a group keeps what the store has."""
    from clirbench.tasks import expand_task_specs

    names: list[str] = []
    for spec in specs:
        if spec.partition(":")[0] in ("suite", "lang"):
            found = [name for name in expand_task_specs([spec]) if name in known]
            if not found:
                held = ", ".join(sorted(known))
                raise ReportError(f"no task of {spec} in the store (it holds {held})")
            names.extend(found)
        elif spec in known:
            names.append(spec)
        else:
            raise UnknownNameError("task in the store", spec, known)
    return names


def _not_run(
    items: list[dict[str, Any]], tasks: set[str] | None, methods: Sequence[str] | None
) -> tuple[NotRun, ...]:
    """The store's not-run records, narrowed to the selected tasks and methods (None: all)."""
    kept = []
    for item in items:
        if methods is not None and item["method"] not in methods:
            continue
        on = [task for task in item["tasks"] if tasks is None or task in tasks]
        if on:
            kept.append(
                NotRun(
                    method=item["method"],
                    config_hash=item["config_hash"],
                    reason=item["reason"],
                    tasks=tuple(on),
                    options=item["options"],
                )
            )
    return tuple(kept)


def _check_settings(settings: Settings) -> None:
    from clirbench.stats.correction import Correction, is_correction

    if not is_correction(settings.correction):
        raise UnknownNameError("correction", settings.correction, get_args(Correction))
    if not 0.0 < settings.alpha < 1.0:
        raise ReportError(f"alpha must be between 0 and 1, got {settings.alpha}")
    if settings.n_resamples < 1:
        raise ReportError(f"the number of resamples must be at least 1, got {settings.n_resamples}")


def _primary_measure(cards: Sequence[dict[str, Any]], requested: str | None) -> str:
    """``requested``, or the first measure of the first card that every task is scored by."""
    first = list(cards[0].get("measures", []))
    common = [m for m in first if all(m in card.get("measures", []) for card in cards)]
    if requested is None:
        if not common:
            raise ReportError(
                "the tasks in the store share no measure; pass --measures with one they all have"
            )
        return common[0]
    from clirbench.evaluation import canonical_measure

    measure = canonical_measure(requested)
    if measure not in common:
        raise ReportError(
            f"measure {requested!r} is not scored on every task; "
            f"the tasks share {', '.join(common) or 'no measure'}"
        )
    return measure


def _shown_measures(
    cards: Sequence[dict[str, Any]], measure: str, requested: Sequence[str] | None
) -> list[str] | None:
    """The measures each task table shows (the primary first if not listed); None: the card's."""
    if requested is None:
        return None
    from clirbench.evaluation import canonical_measure

    shown = list(dict.fromkeys(canonical_measure(name) for name in requested))
    for card in cards:
        scored = card.get("measures", [])
        missing = [name for name in shown if name not in scored]
        if missing:
            raise ReportError(
                f"task {card['name']!r} is not scored by {', '.join(missing)}; "
                f"it has {', '.join(scored)}"
            )
    return shown if measure in shown else [measure, *shown]


def _group_by_task(
    cells: Sequence[StoredCell], labels: dict[Location, str], measure: str
) -> dict[str, _TaskResults]:
    """Cells by task and split; a task shown on several splits is named ``name (split)``."""
    by_task: dict[tuple[str, str], list[StoredCell]] = {}
    for cell in cells:
        by_task.setdefault(
            (cell.manifest["task"]["name"], cell.manifest["task"]["split"]), []
        ).append(cell)
    splits = Counter(name for name, _ in by_task)
    named = {
        (f"{name} ({split})" if splits[name] > 1 else name): group
        for (name, split), group in by_task.items()
    }
    return {name: _task_results(name, named[name], labels, measure) for name in sorted(named)}


def _task_results(
    name: str, cells: list[StoredCell], labels: dict[Location, str], measure: str
) -> _TaskResults:
    checksums = sorted({str(cell.manifest["task"].get("checksum", "")) for cell in cells})
    if len(checksums) > 1:
        raise ReportError(
            f"task {name!r} has results made from different task data "
            f"(checksums {', '.join(checksums)}); "
            "rerun its stale cells with --overwrite"
        )
    primary = {labels[cell.path]: cell.per_query[measure] for cell in cells}
    query_sets = {frozenset(scores) for scores in primary.values()}
    if len(query_sets) > 1:
        raise ReportError(
            f"systems on task {name!r} were scored on different queries; "
            "rerun its cells with --overwrite"
        )
    return _TaskResults(
        card=cells[0].manifest["task"],
        cells={labels[cell.path]: cell for cell in cells},
        primary=primary,
    )


def _resolve_baseline(baseline: str | None, systems: list[str]) -> str | None:
    """``baseline`` checked against the system labels.

    (``name@hash`` when a method has several configurations.)
    """
    if baseline is None or baseline in systems:
        return baseline
    raise ReportError(
        f"baseline {baseline!r} is not among the systems in the store "
        f"({', '.join(systems)}); pick one, or none"
    )


Pairs = dict[frozenset[str], "Comparison"]  # system pair -> its corrected comparison
# A sample of paired tests: its key, where (for messages), per-query scores, the pairs to test.
Sample = tuple[str | frozenset[str], str, dict[str, dict[str, float]], list[tuple[str, str]]]


@dataclass(frozen=True)
class _Tests:
    """The report's corrected tests: by task name or task set, as records, and each task set's
    best system (by macro average, among the systems that have all its tasks)."""

    by_key: dict[str | frozenset[str], Pairs]
    bests: dict[frozenset[str], str]
    tests: tuple[PairedTest, ...]


def _compare(
    tasks: dict[str, _TaskResults],
    task_sets: Sequence[frozenset[str]],
    variants: Sequence[NoisyPair],
    baseline: str | None,
    measure: str,
    settings: Settings,
) -> _Tests:
    """Each system against the best and against the baseline, on every task and on every task
    set of the groups (pooled, ``clirbench.stats.grouped``), and each system on a noisy variant
    against itself on the clean task, corrected as one family."""
    from clirbench.stats import adjust, compare_systems
    from clirbench.stats.correction import is_correction
    from clirbench.stats.grouped import pool_tasks

    bests: dict[frozenset[str], str] = {}
    samples: list[Sample] = [
        (name, name, results.primary, _pairs(results.primary, baseline))
        for name, results in tasks.items()
    ]
    for task_set in task_sets:
        members = [tasks[name].primary for name in sorted(task_set)]
        complete = sorted(set.intersection(*(set(primary) for primary in members)))
        if complete:
            pooled = pool_tasks([{s: p[s] for s in complete} for p in members])
            where = " + ".join(sorted(task_set))
            samples.append((task_set, where, pooled, _pairs(pooled, baseline)))
            bests[task_set] = _best(pooled)
    samples.extend(noise_samples(variants))
    found: list[tuple[str | frozenset[str], str, int, Comparison]] = []
    for key, where, primary, pairs in samples:
        if not pairs:
            continue
        try:
            comparisons = compare_systems(
                primary,
                pairs=pairs,
                test=TEST,
                correction="none",
                alpha=settings.alpha,
                n_resamples=settings.n_resamples,
                seed=settings.seed,
            )
        except ValueError as error:
            what = f"task {where!r}" if isinstance(key, str) else f"tasks {', '.join(sorted(key))}"
            raise ReportError(f"cannot compare systems on {what}: {error}") from None
        queries = len(next(iter(primary.values())))
        found.extend((key, where, queries, comparison) for comparison in comparisons)
    correction = settings.correction
    assert is_correction(correction), "build_report checks the settings first"
    adjusted: Iterable[float] = adjust([c.p_value for *_, c in found], correction) if found else []
    by_key: dict[str | frozenset[str], Pairs] = {}
    tests = []
    for (key, where, queries, comparison), p_adjusted in zip(found, adjusted, strict=True):
        corrected = dataclasses.replace(
            comparison,
            p_adjusted=float(p_adjusted),
            significant=bool(p_adjusted <= settings.alpha),
        )
        pair = frozenset((comparison.system_a, comparison.system_b))
        by_key.setdefault(key, {})[pair] = corrected
        tests.append(_paired_test(corrected, where, measure, queries))
    return _Tests(by_key=by_key, bests=bests, tests=tuple(tests))


def _paired_test(comparison: Comparison, task: str, measure: str, queries: int) -> PairedTest:
    return PairedTest(
        a=comparison.system_a,
        b=comparison.system_b,
        task=task,
        measure=measure,
        queries=queries,
        mean_a=comparison.mean_a,
        mean_b=comparison.mean_b,
        difference=comparison.difference,
        ci_low=comparison.ci_low,
        ci_high=comparison.ci_high,
        d_z=comparison.effect_size,
        p=comparison.p_value,
        p_adjusted=comparison.p_adjusted,
        significant=comparison.significant,
    )


def _means(primary: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean per system, computed as ``clirbench.stats.tied_with_best`` does.

    So both pick the same best.
    """
    import numpy as np

    return {system: float(np.mean(list(scores.values()))) for system, scores in primary.items()}


def _best(primary: dict[str, dict[str, float]]) -> str:
    means = _means(primary)
    return max(means, key=means.__getitem__)


def _pairs(primary: dict[str, dict[str, float]], baseline: str | None) -> list[tuple[str, str]]:
    """(system, best) and (system, baseline) for every other system, each pair once."""
    best = _best(primary)
    references = [best] + ([baseline] if baseline in primary and baseline != best else [])
    pairs: dict[frozenset[str], tuple[str, str]] = {}
    for reference in references:
        for system in primary:
            if system != reference:
                pairs.setdefault(frozenset((system, reference)), (system, reference))
    return list(pairs.values())


def _versus(
    comparisons: Mapping[frozenset[str], Comparison], system: str, other: str | None
) -> Versus:
    """``system`` minus ``other`` on the primary measure, with the corrected p-value (all None:
    not compared)."""
    comparison = comparisons.get(frozenset((system, other))) if other is not None else None
    if comparison is None:
        return Versus()
    sign = 1.0 if comparison.system_a == system else -1.0
    return Versus(
        difference=sign * comparison.difference,
        effect_size=sign * comparison.effect_size,
        p_adjusted=comparison.p_adjusted,
        significant=comparison.significant,
    )


def mark_kinds(vs_best: Versus, vs_baseline: Versus) -> tuple[MarkKind, ...]:
    """The significance marks of one system on one task or group."""
    kinds: list[MarkKind] = []
    if vs_best.significant and vs_best.difference is not None and vs_best.difference < 0:
        kinds.append("below-best")
    if vs_baseline.significant and vs_baseline.difference is not None:
        kinds.append("above-baseline" if vs_baseline.difference > 0 else "below-baseline")
    return tuple(kinds)


def _task_view(
    name: str,
    results: _TaskResults,
    comparisons: Pairs,
    baseline: str | None,
    measure: str,
    shown: list[str] | None,
    settings: Settings,
) -> TaskSection:
    from clirbench.stats import bootstrap_ci, tied_with_best

    card = results.card
    measures = shown if shown is not None else list(card["measures"])
    means = _means(results.primary)
    best = _best(results.primary)
    tied = tied_with_best(results.primary, list(comparisons.values()), settings.alpha)
    rows = []
    for system in sorted(results.primary, key=lambda s: (-means[s], s)):
        vs_best = _versus(comparisons, system, best)
        vs_baseline = _versus(comparisons, system, baseline)
        low, high = bootstrap_ci(
            list(results.primary[system].values()),
            confidence=CONFIDENCE,
            n_resamples=settings.n_resamples,
            seed=settings.seed,
        )
        rows.append(
            TaskRow(
                system=system,
                primary=means[system],
                ci_low=low,
                ci_high=high,
                scores=tuple(results.cells[system].aggregate.get(m) for m in measures),
                mark_kinds=mark_kinds(vs_best, vs_baseline),
                vs_best=vs_best,
                vs_baseline=vs_baseline,
                is_best=system == best,
                is_baseline=system == baseline,
                tied_at_top=system in tied,
            )
        )
    query_lang, doc_lang = card.get("query_lang", "unknown"), card.get("doc_lang", "unknown")
    return TaskSection(
        name=name,
        query_lang=query_lang,
        doc_lang=doc_lang,
        languages=f"{query_lang}→{doc_lang}",
        low_resource=bool(card.get("low_resource", False)),
        measures=tuple(measures),
        primary_index=measures.index(measure),
        queries=len(next(iter(results.primary.values()))),
        split=card.get("split", ""),
        source=card.get("source", ""),
        license=card.get("license", ""),
        best=best,
        tied=tuple(tied),
        rows=tuple(rows),
    )


def _language_columns(task_views: list[TaskSection]) -> list[tuple[str, list[TaskSection]]]:
    groups: dict[str, list[TaskSection]] = {}
    for view in task_views:
        groups.setdefault(view.languages, []).append(view)
    return sorted(groups.items())


def _score_table(columns: list[tuple[str, list[TaskSection]]], systems: list[str]) -> ScoreTable:
    """Systems x columns of the primary measure.

    A column is one task or the macro average of several.

    A system's macro average (per column and over all columns) is shown only when it has every
    task in it, so a partial system never ranks on an easier subset; its worst column is over
    what it has.
    """
    rows = []
    for system in systems:
        cells = [_column_cell(views, system) for _, views in columns]
        scored = [
            (label, cell.value)
            for (label, _), cell in zip(columns, cells, strict=True)
            if cell.value is not None
        ]
        if not scored:
            continue
        complete = len(scored) == len(columns)
        worst_label, worst_value = min(scored, key=lambda item: item[1])
        rows.append(
            SystemRow(
                system=system,
                cells=tuple(cells),
                mean=sum(value for _, value in scored) / len(scored) if complete else None,
                covered=len(scored),
                worst=Worst(label=worst_label, value=worst_value),
            )
        )
    rows.sort(key=lambda row: (row.mean is None, -(row.mean or 0.0), row.system))
    return ScoreTable(
        columns=tuple(
            TaskColumn(label=label, tasks=tuple(view.name for view in views))
            for label, views in columns
        ),
        rows=tuple(rows),
    )


def _column_cell(views: list[TaskSection], system: str) -> Cell:
    found = [row for view in views for row in view.rows if row.system == system]
    if len(found) < len(views):
        return Cell(value=None)
    if len(views) == 1:
        (row,) = found
        return Cell(value=row.primary, mark_kinds=row.mark_kinds, is_best=row.is_best)
    return Cell(value=sum(row.primary for row in found) / len(found))


def _legend(baseline: str | None) -> tuple[LegendItem, ...]:
    meanings: dict[MarkKind, str] = {
        "below-best": "significantly worse than the best system on the task"
    }
    if baseline is not None:
        meanings["above-baseline"] = f"significantly better than the baseline ({baseline})"
        meanings["below-baseline"] = f"significantly worse than the baseline ({baseline})"
    return tuple(
        LegendItem(kind=kind, mark=MARKS[kind], meaning=text) for kind, text in meanings.items()
    )


def _approximate(cells: Sequence[StoredCell], labels: dict[Location, str]) -> Approximate:
    """The systems whose search was approximate (faiss hnsw, ivf), shown with a mark."""
    from clirbench.search import APPROXIMATE

    systems = set()
    for cell in cells:
        method = cell.manifest.get("method", {})
        backend = method.get("search", {}).get("backend") or method.get("options", {}).get("search")
        if backend in APPROXIMATE:
            systems.add(labels[cell.path])
    meaning = "approximate search (faiss hnsw or ivf): may miss documents exact search finds"
    return Approximate(systems=tuple(sorted(systems)), mark=APPROXIMATE_MARK, meaning=meaning)


def _provenance(
    cells: Sequence[StoredCell], labels: dict[Location, str]
) -> tuple[tuple[Run, ...], tuple[Environment, ...]]:
    """Each run's date, commit and command, and the distinct environments they ran in."""
    environments: list[dict[str, Any]] = []
    runs = []
    for cell in sorted(cells, key=lambda c: (c.manifest["task"]["name"], labels[c.path])):
        env = cell.manifest.get("environment", {})
        facts = {
            "packages": sorted(env.get("packages", {}).items()),
            "git_commit": env.get("git_commit") or NOT_RECORDED,
            "machine": env.get("machine", {}),
        }
        if facts not in environments:
            environments.append(facts)
        runs.append(
            Run(
                task=cell.manifest["task"]["name"],
                system=labels[cell.path],
                options=cell.manifest.get("method", {}).get("options", {}),
                created=cell.manifest.get("created") or NOT_RECORDED,
                git_commit=(env.get("git_commit") or NOT_RECORDED)[:12],
                environment=environments.index(facts) + 1,
                command=cell.manifest.get("command") or NOT_RECORDED,
                seconds=_cell_seconds(cell.manifest),
            )
        )
    return tuple(runs), tuple(
        Environment(id=i + 1, **facts) for i, facts in enumerate(environments)
    )
