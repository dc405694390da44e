"""``clirbench run``: methods x tasks -> runs -> per-query scores -> result store -> summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from clirbench.config import OptionsFile
    from clirbench.runner import CellOutcome, Executor, MethodSpec
    from clirbench.store import ResultStore
    from clirbench.tasks.task import Task


_OUTSIDE_BRACKETS = re.compile(r",(?![^\[]*\])")


def names(value: str, option: str) -> list[str]:
    """Comma-separated names; none at all is a usage error (exit 2), not a run of nothing. A
    comma inside brackets belongs to a label: ``optical+mlm[adapt_preset=default,preset=default]``.
    """
    found = [name.strip() for name in _OUTSIDE_BRACKETS.split(value) if name.strip()]
    if not found:
        raise typer.BadParameter(f"no name given ({value!r}); give at least one", param_hint=option)
    return found


def _moved_out(value: str | None) -> None:
    if value is not None:
        raise typer.BadParameter(
            f"the result store is now --store (--out names a folder of written files): "
            f"use --store {value}",
            param_hint="--out",
        )


def method_options(
    method_names: list[str],
    options_file: Path | None,
    set_options: list[str],
    from_file: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Options from the file (``from_file``, read from ``options_file``) and ``--set`` for the
    methods run. The file may hold sections for other methods: their names and options are
    still checked, then left aside."""
    from clirbench.config import merge_options, parse_assignments
    from clirbench.errors import InputError, OptionsError
    from clirbench.registry import available_methods, build_options

    flags = parse_assignments(set_options)
    for name in flags:
        if name not in method_names:
            raise OptionsError(
                f"--set: options given for {name!r}, which is not among --methods "
                f"({', '.join(method_names)})"
            )
    foreign = {name: values for name, values in from_file.items() if name not in method_names}
    if foreign:
        from clirbench.errors import UnknownNameError

        assert options_file is not None, "only an options file holds sections"
        known = available_methods()
        for name, values in foreign.items():
            try:
                if name not in known:
                    raise UnknownNameError("method", name, known)
                build_options(name, values)
            except (UnknownNameError, OptionsError) as error:
                raise InputError(options_file, None, f"section {name!r}: {error}") from None
    chosen = {name: values for name, values in from_file.items() if name in method_names}
    return merge_options(chosen, flags)


def run(
    methods: str = typer.Option(
        "bm25,me5",
        "--methods",
        "-m",
        help="Comma-separated method names (see `clirbench list methods`).",
    ),
    tasks: str = typer.Option(
        "bible-en-ny/verse",
        "--tasks",
        "-t",
        help="Comma-separated built-in task names, BEIR folder paths, suite:NAME or lang:CODE.",
    ),
    k: int = typer.Option(100, "--k", min=1, help="Hits kept per query."),
    store: str = typer.Option(
        "results", "--store", "-s", help="Result store: a folder or a URL (s3://, memory://, ...)."
    ),
    old_out: str | None = typer.Option(None, "--out", "-o", hidden=True, callback=_moved_out),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the cells that would run, and stop."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Recompute cells already in the store."
    ),
    set_options: list[str] = typer.Option(
        [], "--set", help="Method option, METHOD.OPTION=VALUE (repeatable)."
    ),
    options_file: Path | None = typer.Option(
        None,
        "--options",
        help="YAML file: method -> {option: value}; "
        "sections for methods not run are checked and ignored; "
        "executor and address at the top level as the flags (which win).",
    ),
    split: str | None = typer.Option(
        None, "--split", help="Split of folder tasks (default: card's, else test)."
    ),
    query_lang: str | None = typer.Option(
        None, "--query-lang", help="Query language of folder tasks, e.g. eng_Latn."
    ),
    doc_lang: str | None = typer.Option(
        None, "--doc-lang", help="Document language of folder tasks, e.g. nya_Latn."
    ),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="local: cells one by one in this process; ray: independent cells at once as "
        "Ray tasks (pip install 'clirbench[ray]'). Default: the options file's, else local.",
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        help="With --executor ray: the cluster, auto or ray://HOST:PORT "
        "(default: RAY_ADDRESS, else a new local cluster).",
    ),
) -> None:
    """Run methods on tasks; evaluate per query; store every cell; print a summary.

    Exits 1 when a cell did not run. Ctrl-C keeps the finished cells: rerun the same command
    to resume.
    """
    import shlex
    import sys

    from clirbench.cli.output import print_table
    from clirbench.cli.render import plan_table, summary_tables
    from clirbench.config import OptionsFile, method_specs, parse_options_file
    from clirbench.store import ResultStore
    from clirbench.tasks import load_tasks

    from_file = parse_options_file(options_file) if options_file else OptionsFile()
    runner_executor = _executor(executor, address, from_file)
    method_names = names(methods, "'--methods' / '-m'")
    task_specs = names(tasks, "'--tasks' / '-t'")
    chosen = method_options(method_names, options_file, set_options, from_file.methods)
    specs = method_specs(method_names, chosen)
    loaded = load_tasks(task_specs, split, query_lang=query_lang, doc_lang=doc_lang)
    results = ResultStore(store)
    if dry_run:
        print_table(plan_table(loaded, specs, results, k, overwrite))
        return
    command = shlex.join(["clirbench", *sys.argv[1:]])
    outcomes = _run_with_progress(loaded, specs, results, k, overwrite, command, runner_executor)
    for table in summary_tables(outcomes):
        print_table(table)
    print(f"Results stored in {store}/")
    not_run = [o for o in outcomes if o.status == "not run"]
    if not_run:
        print(
            f"{len(not_run)} of {len(outcomes)} cells did not run (reasons above).", file=sys.stderr
        )
        raise typer.Exit(1)


def _executor(flag: str | None, address: str | None, from_file: OptionsFile) -> Executor:
    """Each of executor and address from its flag, else from the options file (the file's
    address only for a run on Ray)."""
    from clirbench.runner import Executor

    kind = flag or from_file.executor or "local"
    if address is None and kind == "ray":
        address = from_file.address
    if kind not in ("local", "ray"):
        raise typer.BadParameter(
            f"{kind!r} is not an executor; use local or ray", param_hint="--executor"
        )
    if address is not None and kind != "ray":
        raise typer.BadParameter(
            "--address names a Ray cluster: add --executor ray", param_hint="--address"
        )
    if kind == "ray":
        from clirbench.ray_executor import import_ray

        import_ray()  # a missing Ray is said before any task loads
    return Executor(kind, address)  # type: ignore[arg-type]


def _run_with_progress(
    loaded: list[Task],
    specs: list[MethodSpec],
    results: ResultStore,
    k: int,
    overwrite: bool,
    command: str,
    executor: Executor,
) -> list[CellOutcome]:
    """run_cells with "cell i of N" and an ETA on stderr; Ctrl-C says what was kept."""
    from clirbench.cli.boundary import Interrupted
    from clirbench.cli.output import print_line
    from clirbench.cli.render import outcome_line
    from clirbench.progress import RunProgress
    from clirbench.runner import run_cells

    done: list[CellOutcome] = []
    try:
        with RunProgress(len(loaded) * len(specs)) as bar:

            def finished(outcome: CellOutcome) -> None:
                bar.finish(outcome.status == "computed")
                done.append(outcome)
                print_line(outcome_line(outcome))

            return run_cells(
                loaded,
                specs,
                results,
                k,
                overwrite,
                on_outcome=finished,
                command=command,
                on_start=lambda task, spec: bar.start(f"{spec.name} on {task.name}"),
                executor=executor,
            )
    except KeyboardInterrupt:
        kept = sum(o.cell is not None for o in done)
        raise Interrupted(
            f"{kept} of {len(loaded) * len(specs)} cells finished and kept in {results.root}/; "
            "rerun the same command to resume (finished cells are reused)"
        ) from None
