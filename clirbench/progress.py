"""Progress for people, on stderr: live bars on a terminal, a plain line every few seconds
otherwise (logs, CI), and one display shared by every bar of a run ("cell i of N" above the
bars of the cell's encoding or training)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

PLAIN_INTERVAL_S = 5.0
"""Seconds between two plain progress lines when stderr is not a terminal."""

_QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TQDM_DISABLE": "1",  # tqdm >= 4.66 reads TQDM_<PARAMETER> defaults from the environment
}

_live: Progress | None = None  # the display every bar joins while one is open


def quiet_third_party(verbose: bool) -> None:
    """Silence the progress bars and chatter of transformers, huggingface_hub, tqdm and
    sentence-transformers, unless ``verbose``. Works best before those are imported."""
    if verbose:
        return
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
        sys.modules["transformers"].utils.logging.set_verbosity_error()


def is_terminal() -> bool:
    return sys.stderr.isatty()


def format_seconds(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``3700`` -> ``1h01m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class _PlainLine:
    """A bar for logs: one line on stderr at most every ``interval`` seconds."""

    def __init__(self, description: str, total: int, completed: int, interval: float) -> None:
        self.description, self.total, self.completed = description, total, completed
        self.interval = interval
        self.started = self.last = time.monotonic()
        self.start_completed = completed

    def update(self, completed: int, description: str | None = None) -> None:
        self.completed = completed
        if description is not None:
            self.description = description
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            print(
                f"{self.description}: {self.completed}/{self.total}{self._eta(now)}",
                file=sys.stderr,
                flush=True,
            )

    def _eta(self, now: float) -> str:
        done = self.completed - self.start_completed
        if done <= 0 or self.completed >= self.total:
            return ""
        left = (now - self.started) / done * (self.total - self.completed)
        return f", about {format_seconds(left)} left"


@contextmanager
def _bar(description: str, total: int, completed: int = 0) -> Iterator[Callable[..., None]]:
    """Yield ``update(completed, description=None)`` on the shared display, a new one, or
    plain lines when stderr is not a terminal."""
    if not is_terminal():
        line = _PlainLine(description, total, completed, PLAIN_INTERVAL_S)
        yield line.update
        return
    if _live is not None:
        display = _live
        task_id = display.add_task(description, total=total, completed=completed)
        try:
            yield lambda done, text=None: display.update(
                task_id, completed=done, description=text or description
            )
        finally:
            display.remove_task(task_id)
        return
    with _display() as display:
        task_id = display.add_task(description, total=total, completed=completed)
        yield lambda done, text=None: display.update(
            task_id, completed=done, description=text or description
        )


@contextmanager
def _display() -> Iterator[Progress]:
    """A transient rich display on stderr that nested bars join instead of opening their own
    (rich allows one live display at a time)."""
    global _live
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Remaining(TimeRemainingColumn):
        """rich's estimate, or the task's own ``eta`` field (a run's estimate from cell times)."""

        def render(self, task: Any) -> Text:
            if "eta" in task.fields:
                return Text(task.fields["eta"], style="progress.remaining")
            return super().render(task)

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        Remaining(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as display:
        _live = display
        try:
            yield display
        finally:
            _live = None


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; the bar disappears when done so the summary stays readable."""
    with _bar(description, total) as update:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            update(done)

        yield advance


@contextmanager
def loss_progress(
    description: str, total: int, completed: int = 0
) -> Iterator[Callable[[int, float], None]]:
    """Yield ``update(step, loss)`` for a training loop; the bar shows the loss's moving average."""
    with _bar(f"{description} loss -", total, completed) as bar_update:
        smoothed: float | None = None

        def update(step: int, loss: float) -> None:
            nonlocal smoothed
            smoothed = loss if smoothed is None else 0.9 * smoothed + 0.1 * loss
            bar_update(step, f"{description} loss {smoothed:.4f}")

        yield update


class RunProgress:
    """ "cell i of N" across a run, with an estimate of the time left from the cells computed
    so far (reused cells cost nothing and do not count). Use as a context manager; call
    :meth:`start` before each cell and :meth:`finish` after it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0
        self.computed_s: list[float] = []
        self._started = 0.0
        self._update: Callable[..., None] | None = None
        self._task_id: Any = None
        self._stack: Any = None

    def __enter__(self) -> RunProgress:
        if is_terminal():
            from contextlib import ExitStack

            self._stack = ExitStack()
            display = self._stack.enter_context(_display())
            self._task_id = display.add_task("run", total=self.total, eta="")
            self._update = lambda text: display.update(
                self._task_id, completed=self.finished, description=text, eta=self.eta()
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._stack is not None:
            self._stack.close()

    def eta(self) -> str:
        """Time left, from the mean time of a computed cell; empty before the first one."""
        if not self.computed_s:
            return ""
        mean = sum(self.computed_s) / len(self.computed_s)
        return f"ETA {format_seconds(mean * (self.total - self.finished))}"

    def start(self, what: str) -> None:
        self._started = time.monotonic()
        text = f"cell {self.finished + 1} of {self.total}: {what}"
        if self._update is not None:
            self._update(text)
        else:
            eta = self.eta()
            print(text + (f" ({eta})" if eta else ""), file=sys.stderr, flush=True)

    def finish(self, computed: bool) -> None:
        if computed:
            self.computed_s.append(time.monotonic() - self._started)
        self.finished += 1
