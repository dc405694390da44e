"""The ``clirbench`` command line. Commands import their heavy dependencies when they run."""

from __future__ import annotations

import sys

import typer

from clirbench.cli import cache, compare, describe, evaluate, listing, report, repro, run

app = typer.Typer(
    name="clirbench",
    help="Benchmark cross-lingual retrieval methods on low-resource language tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run.run)
app.command("evaluate")(evaluate.evaluate)
app.command("describe")(describe.describe)
app.command("report")(report.report)
app.command("compare")(compare.compare)
app.add_typer(listing.app, name="list")
app.add_typer(repro.app, name="repro")
app.add_typer(cache.app, name="cache")


def main() -> None:
    from clirbench.errors import ClirbenchError

    try:
        app()
    except ClirbenchError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
