"""Progress bars (rich, on stderr) for long work: encoding, search, training."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; the bar disappears when done so the summary stays readable."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task_id = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task_id, n)


@contextmanager
def loss_progress(description: str, total: int, completed: int = 0) -> Iterator[Callable[[int, float], None]]:
    """Yield ``update(step, loss)`` for a training loop; the bar shows a moving average of the loss."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task_id = bar.add_task(description, total=total, completed=completed, loss="-")
        smoothed: float | None = None

        def update(step: int, loss: float) -> None:
            nonlocal smoothed
            smoothed = loss if smoothed is None else 0.9 * smoothed + 0.1 * loss
            bar.update(task_id, completed=step, loss=f"{smoothed:.4f}")

        yield update
