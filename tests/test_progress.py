"""Progress for people: plain lines when stderr is not a terminal, "cell i of N" with an ETA,
third-party bars silenced unless verbose."""

from __future__ import annotations

import os

import pytest

from clirbench import progress


@pytest.mark.parametrize(
    "seconds, text", [(0, "0s"), (59.4, "59s"), (75, "1m15s"), (3700, "1h01m")]
)
def test_format_seconds(seconds: float, text: str):
    assert progress.format_seconds(seconds) == text


def test_plain_lines_at_most_every_interval(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    clock = iter([0.0, 1.0, 6.0, 7.0, 12.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    with progress.progress("encoding 10 documents", total=10) as advance:  # started at t=0
        advance(2)  # t=1: too soon
        advance(3)  # t=6: a line; 5 done in 6 s, 5 left
        advance(1)  # t=7: too soon
        advance(4)  # t=12: a line, all done
    assert capsys.readouterr().err.splitlines() == [
        "encoding 10 documents: 5/10, about 6s left",
        "encoding 10 documents: 10/10",
    ]


def test_loss_progress_shows_the_smoothed_loss(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    with progress.loss_progress("training", total=3) as update:
        update(1, 1.0)
        update(2, 2.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("training loss 1.0000: 1/3")
    assert lines[1].startswith("training loss 1.1000: 2/3")


def test_run_progress_counts_cells_and_estimates_from_computed_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    clock = iter([0.0, 10.0, 10.0, 10.5, 10.5])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    with progress.RunProgress(4) as run:
        run.start("bm25 on a")
        run.finish(computed=True)  # 10 s
        run.start("bm25 on b")
        run.finish(computed=False)  # reused: does not count
        run.start("me5 on a")
    assert capsys.readouterr().err.splitlines() == [
        "cell 1 of 4: bm25 on a",
        "cell 2 of 4: bm25 on b (ETA 30s)",
        "cell 3 of 4: me5 on a (ETA 20s)",
    ]


def test_nested_bars_share_one_live_display(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(progress, "is_terminal", lambda: True)
    with progress.RunProgress(2) as run:
        run.start("bm25 on a")
        display = progress._live
        assert display is not None and len(display.tasks) == 1
        with progress.progress("encoding", total=3) as advance:
            advance(3)
            assert progress._live is display and len(display.tasks) == 2
        assert len(display.tasks) == 1  # the inner bar is gone when done
    assert progress._live is None


def test_third_party_bars_silenced_unless_verbose(monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub.utils

    for name in progress._QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    progress.quiet_third_party(verbose=True)
    assert all(name not in os.environ for name in progress._QUIET_ENV)
    progress.quiet_third_party(verbose=False)
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and os.environ["TQDM_DISABLE"] == "1"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert huggingface_hub.utils.are_progress_bars_disabled()  # already imported: told directly
