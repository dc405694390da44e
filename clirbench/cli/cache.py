"""``clirbench cache list`` and ``clirbench cache clear``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Cached embeddings and translations.", no_args_is_help=True)


@app.command("list")
def list_cache() -> None:
    """Every cache namespace with its entries and size."""
    from clirbench.cache import list_namespaces
    from clirbench.cli.output import TableData, print_table
    from clirbench.paths import cache_dir

    columns = ("kind", "method", "role / direction", "language", "entries", "MiB", "folder")
    table = TableData(columns, title=f"Cache in {cache_dir()}")
    for entry in list_namespaces():
        ns = entry["namespace"]
        table.rows.append(
            (
                entry["kind"],
                str(ns.get("method")),
                str(ns.get("role", ns.get("direction", ""))),
                str(ns.get("lang", "")),
                str(entry["entries"]),
                f"{entry['bytes'] / 2**20:.1f}",
                entry["path"].name,
            )
        )
    print_table(table)


@app.command("clear")
def clear_cache(
    method: str | None = typer.Option(None, "--method", help="Only this method's entries."),
) -> None:
    """Delete cached embeddings and translations."""
    from clirbench.cache import clear

    print(f"removed {clear(method)} cache namespace(s)")
