"""The report's robustness section: each ``.../noisy`` task against the clean task it varies.

A noisy variant (``clirbench.tasks.noise``) keeps its base task's query ids and judgements, so a
system's per-query scores on the two pair up: the change under noise is tested like any other
difference of the report (paired randomization test, one correction over every test). The
noisy tasks stay out of the main tables, averages and groups, so a noisy run never changes a
system's rank on the clean benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from clirbench.report.groups import _mean
from clirbench.report.model import NoiseRow, NoiseSummary, NoiseTask, Robustness, Worst

if TYPE_CHECKING:
    from clirbench.stats import Comparison

CLEAN = " (clean)"
NOISY = " (noisy)"


class Scored(Protocol):
    """A task's card and per-query primary scores by system (``context._TaskResults``)."""

    @property
    def card(self) -> dict[str, Any]: ...

    @property
    def primary(self) -> dict[str, dict[str, float]]: ...


@dataclass(frozen=True)
class NoisyPair:
    """A noisy task (its report name), the clean task it varies (None: not in the report), and
    per-query scores by system on each."""

    name: str
    base: str | None
    languages: str
    noisy: dict[str, dict[str, float]]
    clean: dict[str, dict[str, float]]


def noisy_pairs(noisy: Mapping[str, Scored], clean: Mapping[str, Scored]) -> list[NoisyPair]:
    """Each noisy task with its clean task of the same split, matched by the base task's name;
    the two must have been scored on the same queries."""
    from clirbench.report.context import ReportError
    from clirbench.tasks.noise import noisy_base

    by_base = {(r.card["name"], r.card.get("split")): name for name, r in clean.items()}
    pairs = []
    for name, results in noisy.items():
        card = results.card
        base = by_base.get((noisy_base(card["name"]), card.get("split")))
        if base is not None and _queries(results) != _queries(clean[base]):
            raise ReportError(
                f"the noisy task {name!r} and its clean task {base!r} were scored on different "
                "queries (made from different task data); rerun the stale cells with --overwrite"
            )
        pairs.append(
            NoisyPair(
                name=name,
                base=base,
                languages=f"{card.get('query_lang', 'unknown')}→{card.get('doc_lang', 'unknown')}",
                noisy=results.primary,
                clean=clean[base].primary if base is not None else {},
            )
        )
    return pairs


def _queries(results: Scored) -> frozenset[str]:
    return frozenset(next(iter(results.primary.values())))


def noise_samples(
    variants: Sequence[NoisyPair],
) -> list[tuple[str, str, dict[str, dict[str, float]], list[tuple[str, str]]]]:
    """Per noisy task, the paired tests to run: each system noisy against itself clean."""
    samples = []
    for variant in variants:
        both = sorted(set(variant.noisy) & set(variant.clean))
        if not both:
            continue
        scores = {
            **{system + NOISY: variant.noisy[system] for system in both},
            **{system + CLEAN: variant.clean[system] for system in both},
        }
        pairs = [(system + NOISY, system + CLEAN) for system in both]
        samples.append((variant.name, variant.name, scores, pairs))
    return samples


def robustness_view(
    variants: Sequence[NoisyPair],
    tests: Mapping[str | frozenset[str], Mapping[frozenset[str], Comparison]],
) -> Robustness | None:
    """The section's tables from the corrected tests; None without noisy results."""
    if not variants:
        return None
    tasks = [_task(variant, tests.get(variant.name, {})) for variant in variants]
    return Robustness(tasks=tuple(tasks), summary=_summary(tasks))


def _task(variant: NoisyPair, tests: Mapping[frozenset[str], Comparison]) -> NoiseTask:
    from clirbench.report.context import _means, _versus

    noisy_means, clean_means = _means(variant.noisy), _means(variant.clean)
    rows = []
    for system, noisy in noisy_means.items():
        change = _versus(tests, system + NOISY, system + CLEAN)
        mark = ""
        if change.significant and change.difference is not None:
            mark = "↓" if change.difference < 0 else "↑"
        rows.append(
            NoiseRow(
                system=system,
                clean=clean_means.get(system),
                noisy=noisy,
                change=change,
                mark=mark,
            )
        )
    rows.sort(key=lambda row: (-row.noisy, row.system))
    return NoiseTask(
        name=variant.name,
        base=variant.base or "",
        languages=variant.languages,
        queries=len(next(iter(variant.noisy.values()))),
        rows=tuple(rows),
    )


def _summary(tasks: Sequence[NoiseTask]) -> tuple[NoiseSummary, ...]:
    """Per system, over the noisy tasks it ran clean too (every rate and seed counted as a task
    of its own); the most robust (smallest relative drop) first."""
    rows: dict[str, list[tuple[str, float, NoiseRow]]] = {}  # system -> (task, clean, row)
    for task in tasks:
        for row in task.rows:
            if row.clean is not None:
                rows.setdefault(row.system, []).append((task.name, row.clean, row))
    summary = []
    for system, found in rows.items():
        changes = {name: row.noisy - clean for name, clean, row in found}
        clean = _mean([clean for _, clean, _ in found])
        noisy = _mean([row.noisy for _, _, row in found])
        worst_task = min(changes, key=changes.__getitem__)
        worst_change = changes[worst_task]
        summary.append(
            NoiseSummary(
                system=system,
                tasks=len(found),
                clean=clean,
                noisy=noisy,
                change=noisy - clean,
                relative=(noisy - clean) / clean if clean else None,
                significant_drops=sum(row.mark == "↓" for _, _, row in found),
                worst=Worst(label=worst_task, value=worst_change) if worst_change < 0 else None,
            )
        )
    summary.sort(key=lambda row: (row.relative is None, -(row.relative or 0.0), row.system))
    return tuple(summary)
