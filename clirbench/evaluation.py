"""Scoring runs against qrels, per query, through ir_measures.

ir_measures' default pipeline computes each measure with pytrec_eval when pytrec_eval supports
it, and otherwise with the next provider that does. Forcing pytrec_eval is wrong: asked
directly for ``RR@10``, its provider silently drops the cut-off and returns plain RR.
Providers break score ties differently, so the run is first given a strict order: by score,
then by document id, the order of the stored TREC run. Every measure then sees one ranking.
This is the only module that imports ir_measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clirbench.errors import ClirbenchError

PerQueryScores = dict[str, dict[str, float]]
"""measure name -> query id -> value."""


def parse_measure(name: str) -> Any:
    """An ir_measures measure from its name (``nDCG@10``, ``MRR@10``, ``AP``, ``R@100``)."""
    import ir_measures

    try:
        return ir_measures.parse_measure(name)
    except (NameError, ValueError, SyntaxError, TypeError) as error:
        raise ClirbenchError(
            f"unknown measure {name!r} ({error}); see ir_measures' measure names"
        ) from None


def canonical_measure(name: str) -> str:
    """The one printed form of a measure: ``MRR@10`` -> ``RR@10``, ``MAP`` -> ``AP``."""
    return str(parse_measure(name))


def evaluate(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    measures: Iterable[str],
) -> PerQueryScores:
    """Per-query scores of ``run`` for every query in ``qrels``.

    A judged query the run does not answer scores 0 on every measure (it is never dropped).
    """
    import ir_measures

    parsed = {str(measure): measure for measure in map(parse_measure, measures)}
    scores: PerQueryScores = {name: dict.fromkeys(qrels, 0.0) for name in parsed}
    answered = {qid: _strict_order(hits) for qid, hits in run.items() if qid in qrels and hits}
    if answered:
        for metric in ir_measures.iter_calc(list(parsed.values()), qrels, answered):
            scores[str(metric.measure)][metric.query_id] = float(metric.value)
    return scores


def _strict_order(hits: Mapping[str, float]) -> dict[str, float]:
    """Scores replaced by descending ranks, ties broken by document id."""
    ranked = sorted(hits.items(), key=lambda hit: (-hit[1], hit[0]))
    return {doc_id: float(len(ranked) - rank) for rank, (doc_id, _) in enumerate(ranked)}


def aggregate(per_query: PerQueryScores) -> dict[str, float]:
    """Each measure over the queries, aggregated as ir_measures aggregates it.

    Most measures are means; counts such as ``NumRet``, ``NumRel`` and ``NumQ`` are sums.
    A measure with no queries aggregates to 0.
    """
    totals: dict[str, float] = {}
    for name, values in per_query.items():
        if not values:
            totals[name] = 0.0
            continue
        aggregator = parse_measure(name).aggregator()
        for value in values.values():
            aggregator.add(value)
        totals[name] = float(aggregator.result())
    return totals
