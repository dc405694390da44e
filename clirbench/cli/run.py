"""``clirbench run``: methods x tasks -> runs -> per-query scores -> result store -> summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def run(
    methods: str = typer.Option("bm25,me5", "--methods", "-m", help="Comma-separated method names (see `clirbench list methods`)."),
    tasks: str = typer.Option("bible-en-ny/verse", "--tasks", "-t", help="Comma-separated built-in task names, BEIR folder paths, suite:NAME or lang:CODE."),
    k: int = typer.Option(100, "--k", min=1, help="Hits kept per query."),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="Result store folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the cells that would run, and stop."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Recompute cells already in the store."),
    set_options: list[str] = typer.Option([], "--set", help="Method option, METHOD.OPTION=VALUE (repeatable)."),
    options_file: Optional[Path] = typer.Option(None, "--options", help="YAML file: method -> {option: value}."),
    split: Optional[str] = typer.Option(None, "--split", help="Split of folder tasks (default: card's, else test)."),
    query_lang: Optional[str] = typer.Option(None, "--query-lang", help="Query language of folder tasks, e.g. eng_Latn."),
    doc_lang: Optional[str] = typer.Option(None, "--doc-lang", help="Document language of folder tasks, e.g. nya_Latn."),
) -> None:
    """Run methods on tasks; evaluate per query; store every cell; print a summary."""
    import shlex
    import sys

    from rich.console import Console

    from clirbench.cli.render import outcome_line, plan_table, summary_tables
    from clirbench.config import merge_options, method_specs, parse_assignments, read_options_file
    from clirbench.runner import run_cells
    from clirbench.store import ResultStore
    from clirbench.tasks import load_tasks

    option_values = merge_options(read_options_file(options_file) if options_file else {}, parse_assignments(set_options))
    specs = method_specs(_names(methods), option_values)
    loaded = load_tasks(_names(tasks), split, query_lang=query_lang, doc_lang=doc_lang)
    store = ResultStore(out)
    console = Console()
    if dry_run:
        console.print(plan_table(loaded, specs, store, k, overwrite))
        return
    command = shlex.join(["clirbench", *sys.argv[1:]])
    outcomes = run_cells(loaded, specs, store, k, overwrite, on_outcome=lambda o: console.print(outcome_line(o)), command=command)
    for table in summary_tables(outcomes):
        console.print(table)
    console.print(f"Results stored in {out}/")
