"""``clirbench list methods`` and ``clirbench list tasks``."""

from __future__ import annotations

from typing import Any

import typer

app = typer.Typer(help="List what can be run.", no_args_is_help=True)

JSON_HELP = "Print JSON instead of a table."


def method_status(name: str, target: str) -> dict[str, Any]:
    """What ``list methods`` and ``describe METHOD`` say about one method: its class, summary,
    and whether it runs here offline with its default options (and if not, why)."""
    from clirbench.registry import get_method_class, missing_requirements

    try:
        cls = get_method_class(name)
    except Exception as error:  # a broken plugin must not hide the other methods
        reason = f"cannot load: {type(error).__name__}: {error}"
        return {
            "name": name,
            "class": target,
            "description": "",
            "ready": False,
            "status": reason,
            "note": "",
        }
    summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    if missing := missing_requirements(cls):
        ready, status, note = False, f"needs: pip install {' '.join(missing)}", ""
    else:
        readiness = cls.readiness()
        ready, note = readiness.ready, readiness.note
        status = "ready" if ready else "not ready"
    return {
        "name": name,
        "class": target,
        "description": summary,
        "ready": ready,
        "status": status,
        "note": note,
    }


@app.command("methods")
def methods(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Methods built in and installed as plugins (entry-point group clirbench.methods), and
    whether each runs here offline with its default options."""
    from clirbench.cli.output import TableData, print_json, print_table
    from clirbench.registry import available_methods

    rows = [method_status(name, target) for name, target in sorted(available_methods().items())]
    if as_json:
        print_json(rows)
        return
    table = TableData(("method", "description", "class", "status", "note"))
    table.rows = [(r["name"], r["description"], r["class"], r["status"], r["note"]) for r in rows]
    print_table(table)


@app.command("tasks")
def tasks(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Built-in tasks (and their noisy variants) with languages, size, licence; then the suites."""
    from clirbench.cli.output import TableData, print_json, print_table
    from clirbench.errors import ClirbenchError
    from clirbench.tasks import BUILTIN_TASKS, SELECTORS, SUITES, load_task
    from clirbench.tasks.languages import LANGUAGES

    rows = []
    for name in [*BUILTIN_TASKS, *SUITES["noisy"]]:
        entry = BUILTIN_TASKS[name.removesuffix("/noisy")]
        language = LANGUAGES[entry.language]
        row: dict[str, Any] = {
            "name": name,
            "query_lang": entry.query_lang,
            "doc_lang": entry.doc_lang,
            "language": language.name,
            "family": language.family,
            "script": language.script,
            "resource": language.resource,
            "low_resource": entry.low_resource,
        }
        try:
            task = load_task(name)
            row.update(
                split=task.card.split,
                queries=len(task.queries),
                documents=len(task.corpus),
                license=task.card.license,
                available=True,
            )
        except ClirbenchError as error:  # e.g. a source not downloaded: list the task anyway
            row.update(available=False, reason=str(error))
        rows.append(row)
    if as_json:
        print_json(
            {"tasks": rows, "suites": {name: list(members) for name, members in SUITES.items()}}
        )
        return
    table = TableData(
        (
            "task",
            "query lang",
            "doc lang",
            "language",
            "family",
            "script",
            "resource",
            "size (test)",
            "low-resource",
            "license",
        )
    )
    for r in rows:
        size = (
            f"{r['queries']} x {r['documents']}"
            if r["available"]
            else f"unavailable: {r['reason']}"
        )
        table.rows.append(
            (
                r["name"],
                r["query_lang"],
                r["doc_lang"],
                r["language"],
                r["family"],
                r["script"],
                str(r["resource"]),
                size,
                "yes" if r["low_resource"] else "no",
                r.get("license", ""),
            )
        )
    print_table(table)
    print("resource: class 0-5 of Joshi et al. (2020); low-resource: a language of class <= 2.")
    for suite, members in SUITES.items():
        print(f"suite:{suite} = {', '.join(members)}")
    print(f"Selectors: {SELECTORS}; or a task name, a BEIR folder path.")
    print(
        "Also TASK/noisy[-rateR][-seedS]: any built-in task with orthographic noise on its "
        "non-English side (diacritics stripped, typos in a share R of the words, default 0.03)."
    )
