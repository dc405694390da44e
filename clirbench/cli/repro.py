"""``clirbench repro check``: rerun (or reuse) pinned conditions and compare with expected scores;
``clirbench repro pin``: write the matrix from a result store."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Pinned expected scores: the reproduction matrix.", no_args_is_help=True)


@app.command("check")
def check(
    condition: list[str] = typer.Option(
        [], "--condition", "-c", help="Condition name (repeatable; default: all)."
    ),
    cheap: bool = typer.Option(False, "--cheap", help="Only the conditions cheap enough for CI."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List the conditions and whether the store has them."
    ),
    store: str = typer.Option("results", "--store", help="Result store to reuse and fill."),
    matrix: Path | None = typer.Option(
        None, "--matrix", help="Matrix YAML (default: the one shipped)."
    ),
) -> None:
    """Print OK or FAIL per condition and measure; exit 1 on any FAIL."""
    from rich.markup import escape

    from clirbench.cli.output import print_line
    from clirbench.repro.matrix import MATRIX_FILE, is_stored, load_matrix
    from clirbench.repro.matrix import check as run_check
    from clirbench.store import ResultStore

    conditions = load_matrix(matrix or MATRIX_FILE).select(condition, cheap_only=cheap)
    results = ResultStore(store)
    if dry_run:
        for c in conditions:
            action = "reuse" if is_stored(c, results) else "compute"
            print_line(
                f"{escape(c.name)}: {c.method} on {c.task} ({c.split}) -> {action}; "
                f"expected {c.expected}, tolerance {c.tolerance}"
            )
        return

    def show(v) -> None:
        colour = "green" if v.status == "OK" else "red"
        origin = "reused" if v.reused else "computed"
        print_line(
            f"[{colour}]\\[{v.status}][/] {escape(v.condition.name)} {v.measure}: "
            f"expected {v.expected:.4f}, observed {v.observed:.4f} ({origin})"
        )

    verdicts = run_check(conditions, results, on_verdict=show)
    failed = sum(v.status == "FAIL" for v in verdicts)
    print_line(f"{len(verdicts) - failed} OK, {failed} FAIL")
    if failed:
        raise typer.Exit(1)


@app.command("pin")
def pin(
    store: str = typer.Option(
        "results", "--store", help="Result store whose cells become the conditions."
    ),
    cheap: list[str] = typer.Option(
        [], "--cheap", help="System label to mark cheap, as the leaderboard shows it (repeatable)."
    ),
    matrix_file: Path | None = typer.Option(
        None, "--matrix", help="Matrix YAML to write (default: the one shipped)."
    ),
) -> None:
    """Pin every stored cell's nDCG@10, RR@10 and R@100 as a condition named LABEL.TASK."""
    from clirbench.repro.matrix import MATRIX_FILE, write_matrix
    from clirbench.repro.matrix import pin as pin_matrix
    from clirbench.store import ResultStore

    matrix = pin_matrix(ResultStore(store), cheap)
    write_matrix(matrix, matrix_file or MATRIX_FILE)
    n_cheap = sum(c.cheap for c in matrix.conditions)
    written = matrix_file or MATRIX_FILE
    print(f"{len(matrix.conditions)} conditions ({n_cheap} cheap) written to {written}")
