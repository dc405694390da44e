"""``clirbench describe TASK``: the whole task card and the task's size."""

from __future__ import annotations

from typing import Optional

import typer


def describe(
    task: str = typer.Argument(..., help="A built-in task name or a BEIR folder path."),
    split: Optional[str] = typer.Option(None, "--split", help="Split (default: test, or the folder card's)."),
) -> None:
    """Print a task's full card, sizes and judgement counts."""
    from rich.console import Console
    from rich.table import Table

    from clirbench.tasks import load_task

    loaded = load_task(task, split)
    table = Table("field", "value", title=f"Task card: {loaded.card.name}", show_header=False)
    for field, value in loaded.card.model_dump().items():
        table.add_row(field, ", ".join(value) if isinstance(value, tuple) else str(value))
    from clirbench.tasks.languages import LANGUAGES

    for side, code in (("query", loaded.card.query_lang), ("document", loaded.card.doc_lang)):
        if (language := LANGUAGES.get(code)) is not None:
            table.add_row(f"{side} language", f"{language.name}; family {language.family}; script "
                          f"{language.script}; resource class {language.resource} (Joshi et al. 2020)")
    judgements = sum(len(j) for j in loaded.qrels.values())
    table.add_row("queries", str(len(loaded.queries)))
    table.add_row("documents", str(len(loaded.corpus)))
    table.add_row("judgements", f"{judgements} ({judgements / len(loaded.qrels):.2f} per query)")
    Console().print(table)
