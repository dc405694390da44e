"""``clirbench store check``: damaged and orphaned entries of a result store (and the cache);
``clirbench store export``: a store's cells copied into another, with or without their runs."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="The result store: check it, repair it, export it.", no_args_is_help=True)


@app.command("check")
def check(
    store: str = typer.Option("results", "--store", "-s", help="Result store: a folder or a URL."),
    cache: bool = typer.Option(
        False, "--cache", help="Check the embedding and translation cache too."
    ),
    repair: bool = typer.Option(
        False, "--repair", help="Remove what is damaged or orphaned (never a healthy cell)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """List every damaged cell (bad digest, missing file, unreadable manifest, in the wrong
    folder) and every orphan (temp folders and trash of killed saves, stray files, locks
    without a cell). Exits 1 when something damaged is left unrepaired, else 0."""
    from clirbench.cli.output import print_line
    from clirbench.paths import cache_dir
    from clirbench.store import ResultStore, check_cache

    problems = ResultStore(store).check(repair=repair)
    if cache:
        problems += check_cache(cache_dir(), repair=repair)
    left = [p for p in problems if p.kind == "damaged" and not p.repaired]
    if as_json:
        rows = [
            {
                "path": str(p.path),
                "kind": p.kind,
                "problem": p.problem,
                "repair": p.repair,
                "repaired": p.repaired,
            }
            for p in problems
        ]
        print(
            json.dumps(
                {
                    "store": str(store),
                    "cache": str(cache_dir()) if cache else None,
                    "problems": rows,
                    "damaged_left": len(left),
                },
                indent=2,
            )
        )
    else:
        from rich.markup import escape

        for p in problems:
            colour = "red" if p.kind == "damaged" else "yellow"
            done = p.repair if p.repaired or repair else f"--repair would {p.repair}"
            print_line(
                f"[{colour}]{p.kind}[/] {escape(str(p.path))}: {escape(p.problem)} ({escape(done)})"
            )
        counts = {kind: sum(p.kind == kind for p in problems) for kind in ("damaged", "orphan")}
        where = f"{store}" + (f" and the cache in {cache_dir()}" if cache else "")
        summary = f"{counts['damaged']} damaged, {counts['orphan']} orphaned in {where}"
        if problems and not repair:
            summary += "; `clirbench store check --repair` removes them"
        elif repair and problems:
            summary += f"; {sum(p.repaired for p in problems)} repaired"
        print_line(escape(summary))
    if left:
        raise typer.Exit(1)


@app.command("export")
def export(
    out: str = typer.Option(
        ..., "--out", "-o", help="The store to write: a folder or a URL (its cells are replaced)."
    ),
    store: str = typer.Option("results", "--store", "-s", help="Result store: a folder or a URL."),
    without_runs: bool = typer.Option(
        False,
        "--without-runs",
        help="Keep each cell's scores and manifest, not its run (a few KB a cell instead of "
        "~1.5 MB): the form to commit beside a leaderboard.",
    ),
) -> None:
    """Copy every cell (verified) and not-run record of a store into another. `clirbench
    report` and `compare` read an export without runs as they read the store; `clirbench run`
    reuses its cells; only methods that read stored runs (fuse) need the runs."""
    from clirbench.cli.output import print_line
    from clirbench.store import ResultStore

    count = ResultStore(store).export(out, runs=not without_runs)
    kept = "scores only" if without_runs else "with their runs"
    cells = "1 cell" if count == 1 else f"{count} cells"
    print_line(f"exported {cells} from {store} to {out} ({kept})")
