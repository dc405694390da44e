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
        try:
            cls = get_method_class(name)
        except Exception as error:  # a broken plugin must not hide the other methods
            table.add_row(name, "", target, f"cannot load: {type(error).__name__}: {error}")
            continue
        missing = missing_requirements(cls)
        status = f"needs: pip install {' '.join(missing)}" if missing else "ready"
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        table.add_row(name, summary, target, status)
    Console().print(table)


@app.command("tasks")
def tasks() -> None:
    """Built-in tasks with languages, size, licence; then the suites that group them."""
    from rich.console import Console
    from rich.table import Table

    from clirbench.tasks import BUILTIN_TASKS, SUITES, load_task

    table = Table("task", "query lang", "doc lang", "size (test)", "low-resource", "license")
    for name in BUILTIN_TASKS:
        task = load_task(name)
        card = task.card
        size = f"{len(task.queries)} x {len(task.corpus)}"
        table.add_row(name, card.query_lang, card.doc_lang, size, "yes" if card.low_resource else "no", card.license)
    console = Console()
    console.print(table)
    for suite, names in SUITES.items():
        console.print(f"suite:{suite} = {', '.join(names)}")
    console.print("Also: lang:CODE (built-in tasks in that language), a BEIR folder path.")
