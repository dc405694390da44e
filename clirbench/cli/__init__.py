"""The ``clirbench`` command line. Commands import their heavy dependencies when they run."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from clirbench.cli import cache, compare, describe, evaluate, listing, report, repro, run, store
from clirbench.cli.boundary import EXIT_CODES_HELP, EXIT_OK, debug_enabled, failure, settings

app = typer.Typer(
    name="clirbench",
    help="Benchmark cross-lingual retrieval methods on low-resource language tasks.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run", epilog=EXIT_CODES_HELP)(run.run)
app.command("evaluate")(evaluate.evaluate)
app.command("describe")(describe.describe)
app.command("report")(report.report)
app.command("compare")(compare.compare)
app.add_typer(listing.app, name="list")
app.add_typer(repro.app, name="repro")
app.add_typer(cache.app, name="cache")
app.add_typer(store.app, name="store")


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"clirbench {version('clirbench')}")
        except PackageNotFoundError:  # running from a source tree that is not installed
            from clirbench import __version__

            typer.echo(f"clirbench {__version__} (not installed)")
        raise typer.Exit()


@app.callback()
def global_options(
    version: bool | None = typer.Option(
        None, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of an error (also: CLIRBENCH_DEBUG=1)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Keep the progress bars and logs of transformers, hub, tqdm."
    ),
) -> None:
    """Benchmark cross-lingual retrieval methods on low-resource language tasks."""
    from clirbench.progress import quiet_third_party

    settings.debug, settings.verbose = debug, verbose
    quiet_third_party(verbose)


def main(argv: Sequence[str] | None = None) -> None:
    """The installed ``clirbench`` command: run the app inside the error boundary."""
    settings.debug = settings.verbose = False
    command = typer.main.get_command(app)
    try:
        returned = command.main(args=argv, prog_name="clirbench", standalone_mode=False)
        code = returned if isinstance(returned, int) else EXIT_OK
        if code == 130:  # Ctrl-C outside a command that explains itself
            print("Interrupted.", file=sys.stderr)
    except Exception as error:  # the boundary: one line and an exit code for anything
        from clirbench.cli.boundary import click_exceptions

        if isinstance(error, click_exceptions().NoArgsIsHelpError):
            error.show()
            sys.exit(error.exit_code)
        code, message = failure(error)
        if debug_enabled():
            import traceback

            traceback.print_exception(error)
        print(message, file=sys.stderr)
    except KeyboardInterrupt as interrupt:  # before a command started (imports, parsing)
        code, message = failure(interrupt)
        print(message, file=sys.stderr)
    sys.exit(code)
