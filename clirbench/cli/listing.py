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

    from clirbench.errors import ClirbenchError
    from clirbench.tasks import BUILTIN_TASKS, SELECTORS, SUITES, load_task
    from clirbench.tasks.languages import LANGUAGES

    table = Table(
        "task", "query lang", "doc lang", "language", "family", "script", "resource",
        "size (test)", "low-resource", "license",
    )  # fmt: skip
    for name, entry in BUILTIN_TASKS.items():
        language = LANGUAGES[entry.language]
        try:
            task = load_task(name)
            size, license = f"{len(task.queries)} x {len(task.corpus)}", task.card.license
        except ClirbenchError as error:  # e.g. a source not downloaded: list the task anyway
            size, license = f"unavailable: {error}", ""
        table.add_row(
            name, entry.query_lang, entry.doc_lang, language.name, language.family, language.script,
            str(language.resource), size, "yes" if entry.low_resource else "no",
            license,
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print("resource: class 0-5 of Joshi et al. (2020); low-resource: a language of class <= 2.")
    for suite, names in SUITES.items():
        console.print(f"suite:{suite} = {', '.join(names)}")
    console.print(f"Selectors: {SELECTORS}; or a task name, a BEIR folder path.")
