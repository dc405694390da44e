"""``clirbench evaluate RUN QRELS``: score a TREC run file."""

from __future__ import annotations

from pathlib import Path

import typer


def evaluate(
    run_file: Path = typer.Argument(..., help="TREC run file (qid Q0 docid rank score tag)."),
    qrels_file: Path = typer.Argument(
        ..., help="Qrels: BEIR TSV (query-id, corpus-id, score) or TREC."
    ),
    measures: str = typer.Option(
        "nDCG@10,nDCG@20,AP,RR@10,R@100", "--measures", help="Comma-separated ir_measures names."
    ),
    per_query: bool = typer.Option(False, "--per-query", help="Also print each query's scores."),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON: each measure's mean and query count (and per query)."
    ),
) -> None:
    """Score a run against qrels, per query and on average (ir_measures, pytrec_eval)."""
    from clirbench.cli.output import TableData, print_json, print_table
    from clirbench.cli.run import names
    from clirbench.evaluation import aggregate
    from clirbench.evaluation import evaluate as score
    from clirbench.trec import read_qrels, read_run

    scores = score(read_run(run_file), read_qrels(qrels_file), names(measures, "--measures"))
    means = aggregate(scores)
    if as_json:
        data = {
            "measures": {m: {"mean": mean, "queries": len(scores[m])} for m, mean in means.items()}
        }
        if per_query:
            data["per_query"] = scores
        print_json(data)
        return
    if per_query:
        table = TableData(("query", *scores))
        first = next(iter(scores.values()))
        for qid in sorted(first):
            table.rows.append((qid, *(f"{scores[m][qid]:.4f}" for m in scores)))
        print_table(table)
    table = TableData(("measure", "mean", "queries"))
    for measure, mean in means.items():
        table.rows.append((measure, f"{mean:.4f}", str(len(scores[measure]))))
    print_table(table)
