"""``clirbench compare A B --tasks ...``: paired tests between two stored systems."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def compare(
    system_a: str = typer.Argument(..., help="A method name, or name@config_hash."),
    system_b: str = typer.Argument(..., help="A method name, or name@config_hash."),
    tasks: str = typer.Option("bible-en-ny/verse", "--tasks", "-t", help="Comma-separated tasks (names or BEIR folders), suite:NAME or lang:CODE."),
    store: Path = typer.Option(Path("results"), "--store", help="Result store folder."),
    measure: Optional[str] = typer.Option(None, "--measure", help="Measure (default: each task card's first)."),
    test: str = typer.Option("randomization", "--test", help="randomization or t-test."),
    correction: str = typer.Option("holm", "--correction", help="holm, bh or none, over the tasks compared."),
    resamples: int = typer.Option(10_000, "--resamples", min=100),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Paired significance test of A against B on each task, corrected over the tasks."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from clirbench.errors import OptionsError
    from clirbench.evaluation import canonical_measure
    from clirbench.stats import adjust, bootstrap_ci, cohens_dz, paired_t_test, randomization_test
    from clirbench.store import ResultStore
    from clirbench.tasks import expand_task_specs, load_task

    if test not in ("randomization", "t-test") or correction not in ("holm", "bh", "none"):
        raise OptionsError(f"--test must be randomization or t-test and --correction holm, bh or none (got {test!r}, {correction!r})")
    results = ResultStore(store)
    rows = []
    for spec in expand_task_specs([t.strip() for t in tasks.split(",") if t.strip()]):
        task = load_task(spec).card.name if Path(spec).is_dir() else spec  # cells are filed by the card's name
        cell_a, cell_b = results.find(task, system_a), results.find(task, system_b)
        name = canonical_measure(measure) if measure else cell_a.manifest["task"]["measures"][0]
        a_scores, b_scores = cell_a.per_query[name], cell_b.per_query[name]
        queries = sorted(a_scores.keys() & b_scores.keys())
        a = np.array([a_scores[q] for q in queries])
        b = np.array([b_scores[q] for q in queries])
        p = paired_t_test(a, b) if test == "t-test" else randomization_test(a, b, n_resamples=resamples, seed=seed)
        low, high = bootstrap_ci(a, b, n_resamples=resamples, seed=seed)
        rows.append((task, name, len(queries), a.mean(), b.mean(), low, high, cohens_dz(a, b), p))
    adjusted = adjust([row[-1] for row in rows], correction)
    table = Table("task", "measure", "queries", system_a, system_b, "A - B [95% CI]", "d_z", "p", f"p ({correction})")
    for row, p_adj in zip(rows, adjusted):
        task, name, n, mean_a, mean_b, low, high, dz, p = row
        mark = " *" if p_adj <= 0.05 else ""
        table.add_row(task, name, str(n), f"{mean_a:.4f}", f"{mean_b:.4f}", f"{mean_a - mean_b:+.4f} [{low:+.4f}, {high:+.4f}]", f"{dz:.2f}", f"{p:.4f}", f"{p_adj:.4f}{mark}")
    Console().print(table)
    Console().print(f"{test} test, {resamples} resamples, seed {seed}; * = significant at 0.05 after {correction} correction.")
