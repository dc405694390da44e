"""``clirbench list methods`` and ``clirbench list tasks``."""

from __future__ import annotations

import typer

app = typer.Typer(help="List what can be run.", no_args_is_help=True)


@app.command("methods")
def methods() -> None:
    """Methods built in and installed as plugins (entry-point group clirbench.methods)."""
    from rich.console import Console
    from rich.table import Table

    from clirbench.registry import available_methods, get_method_class, missing_requirements

    table = Table("method", "description", "class", "status")
    for name, target in sorted(available_methods().items()):
        cls = get_method_class(name)
        missing = missing_requirements(cls)
        status = f"needs: pip install {' '.join(missing)}" if missing else "ready"
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        table.add_row(name, summary, target, status)
    Console().print(table)


@app.command("tasks")
def tasks() -> None:
    """Built-in tasks with their languages, licence and source."""
    from rich.console import Console
    from rich.table import Table

    from clirbench.tasks import BUILTIN_TASKS, load_task

    table = Table("task", "queries", "documents", "low-resource", "split", "license", "description")
    for name in BUILTIN_TASKS:
        card = load_task(name).card
        table.add_row(name, card.query_lang, card.doc_lang, "yes" if card.low_resource else "no", card.split, card.license, card.description)
    Console().print(table)
