"""``clirbench report``: the leaderboard (Markdown and one HTML page) from a result store."""

from __future__ import annotations

from pathlib import Path

import typer

NO_BASELINE = "none"


def report(
    store: list[str] = typer.Option(
        ["results"],
        "--store",
        help="Result store (what `clirbench run --store` wrote): a folder or a URL. "
        "Repeat it to report several stores' results together.",
    ),
    out: Path = typer.Option(
        Path("reports"), "--out", "-o", help="Folder for leaderboard.md and leaderboard.html."
    ),
    baseline: str = typer.Option(
        "bm25",
        "--baseline",
        help=f"System every other is tested against; '{NO_BASELINE}' for no baseline.",
    ),
    measures: str | None = typer.Option(
        None, "--measures", help="The primary measure, one name (default: the task cards' first)."
    ),
    correction: str = typer.Option(
        "holm",
        "--correction",
        help="Multiple-comparison correction over the whole report: holm, bh or none.",
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    resamples: int = typer.Option(
        10_000, "--resamples", help="Randomization and bootstrap resamples."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the resampling."),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        "-t",
        help="Only these tasks: comma-separated names, suite:NAME or lang:CODE.",
    ),
    methods: str | None = typer.Option(
        None,
        "--methods",
        "-m",
        help="Only these systems: comma-separated labels as the report shows them "
        "(optical, nmt[lexical]), or method names that are no system's label (all their "
        "configurations).",
    ),
    gain: str = typer.Option(
        "optical,untrained-student",
        "--gain",
        help=f"Gain plot per language: SYSTEM,REFERENCE (SYSTEM minus REFERENCE); "
        f"'{NO_BASELINE}' for none.",
    ),
) -> None:
    """Write the leaderboard with significance tests and confidence intervals; print the two paths."""  # noqa: E501 - typer shows it on one line
    from clirbench.cli.run import names
    from clirbench.report import Leaderboard

    measure = None
    if measures is not None:
        measure, *more = names(measures, "--measures")
        if more:
            raise typer.BadParameter(
                "the leaderboard ranks by one primary measure; give one", param_hint="--measures"
            )
    pair = None
    if gain != NO_BASELINE:
        given = names(gain, "--gain")
        if len(given) != 2:
            raise typer.BadParameter("give two systems: SYSTEM,REFERENCE", param_hint="--gain")
        pair = (given[0], given[1])
    board = Leaderboard.from_store(
        store,
        baseline=None if baseline == NO_BASELINE else baseline,
        measure=measure,
        tasks=names(tasks, "'--tasks' / '-t'") if tasks is not None else None,
        methods=names(methods, "'--methods' / '-m'") if methods is not None else None,
        correction=correction,
        alpha=alpha,
        n_resamples=resamples,
        seed=seed,
        gain=pair,
    )
    warning = board.report.settings.resamples_warning
    if warning is not None:
        typer.echo(f"warning: {warning}", err=True)
    for path in board.write(out):
        typer.echo(str(path))
