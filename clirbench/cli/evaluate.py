"""``clirbench evaluate RUN QRELS``: score a TREC run file."""

from __future__ import annotations

from pathlib import Path

import typer


def evaluate(
    run_file: Path = typer.Argument(..., help="TREC run file (qid Q0 docid rank score tag)."),
    qrels_file: Path = typer.Argument(..., help="Qrels: BEIR TSV (query-id, corpus-id, score) or TREC."),
    measures: str = typer.Option("nDCG@10,nDCG@20,AP,RR@10,R@100", help="Comma-separated ir_measures names."),
    per_query: bool = typer.Option(False, "--per-query", help="Also print each query's scores."),
) -> None:
    """Score a run against qrels, per query and on average (ir_measures, pytrec_eval)."""
    from rich.console import Console
    from rich.table import Table

    from clirbench.evaluation import aggregate
    from clirbench.evaluation import evaluate as score
    from clirbench.trec import read_qrels, read_run

    names = [m.strip() for m in measures.split(",") if m.strip()]
    scores = score(read_run(run_file), read_qrels(qrels_file), names)
    console = Console()
    if per_query:
        table = Table("query", *scores)
        first = next(iter(scores.values()))
        for qid in sorted(first):
            table.add_row(qid, *(f"{scores[m][qid]:.4f}" for m in scores))
        console.print(table)
    table = Table("measure", "mean", "queries")
    for measure, mean in aggregate(scores).items():
        table.add_row(measure, f"{mean:.4f}", str(len(scores[measure])))
    console.print(table)
