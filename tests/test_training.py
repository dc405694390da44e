"""The shared training loop: seeded and forked RNGs, checkpoints by steps or seconds, Ctrl-C,
resume with the same result as an uninterrupted run, weights_only checkpoints."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from clirbench.training import Checkpointing, LoopConfig, LossTerms, StepBatches, TrainingLoop


class _Regression(torch.nn.Module):
    """A model with dropout, so a resume must restore torch's RNG to give the same weights."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1)
        )

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(step)
    x = torch.randn(8, 4, generator=generator)
    return x, x.sum(dim=1)


def _loop(folder, steps: int = 10, **checkpointing) -> TrainingLoop:
    loss = LossTerms({"mse": _Regression()}, {"mse": 2.0})
    config = LoopConfig(steps=steps, lr=0.05, warmup=0.2, max_grad_norm=1.0, seed=3)
    return TrainingLoop(loss, _batch, config, folder, Checkpointing(**checkpointing))


def _interrupt_at(stop: int):
    def on_step(step: int, loss: float) -> None:
        if step == stop:
            raise KeyboardInterrupt

    return on_step


def test_loss_falls_and_terms_are_logged(tmp_path):
    result = _loop(tmp_path, steps=40).run()
    assert result.steps == 40 and result.resumed_from == 0
    assert set(result.log[0]) == {"step", "loss", "mse"}
    summary = result.summary()
    assert summary["loss_last_10"] < 0.5 * summary["loss_first_10"]


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path, capsys):
    loop = _loop(tmp_path, every_steps=100)
    with pytest.raises(KeyboardInterrupt):
        loop.run(on_step=_interrupt_at(4))
    assert "interrupted at step 4 of 10" in capsys.readouterr().err
    checkpoint = loop.last_checkpoint()
    assert checkpoint is not None and checkpoint.name == "step-00000004"
    for name in ("weights.pt", "optimizer.pt", "scheduler.pt", "rng.pt"):
        torch.load(checkpoint / name, weights_only=True)  # no pickled code anywhere
    assert json.loads((checkpoint / "progress.json").read_text())["step"] == 4


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    interrupted = _loop(tmp_path / "a", every_steps=3)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(on_step=_interrupt_at(5))
    steps = []
    resumed = _loop(tmp_path / "a", every_steps=3)
    result = resumed.run(on_step=lambda step, loss: steps.append(step))
    assert result.resumed_from == 5 and steps == [6, 7, 8, 9, 10]
    straight = _loop(tmp_path / "b", every_steps=3)
    expected = straight.run()
    assert [e["loss"] for e in result.log] == [e["loss"] for e in expected.log]
    for (name, got), (_, want) in zip(
        resumed.loss.named_parameters(), straight.loss.named_parameters(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=name)


def test_checkpoints_by_seconds_keep_only_the_newest(tmp_path):
    loop = _loop(tmp_path, every_steps=1000, every_seconds=1e-9)
    with pytest.raises(KeyboardInterrupt):
        loop.run(on_step=_interrupt_at(6))
    assert [p.name for p in loop.checkpoints.iterdir()] == ["step-00000006"]
    loop.clear_checkpoints()
    assert loop.last_checkpoint() is None


def test_the_callers_random_state_is_left_alone(tmp_path):
    loop = _loop(tmp_path, steps=3)  # built first: the test model seeds torch itself
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    loop.run()
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    from clirbench.errors import ClirbenchError

    with pytest.raises(KeyboardInterrupt):
        _loop(tmp_path).run(on_step=_interrupt_at(2))
    other = TrainingLoop(
        LossTerms({"other": _Regression()}), _batch, LoopConfig(10, 0.05), tmp_path
    )
    with pytest.raises(ClirbenchError, match="does not fit"):
        other.run()


def test_step_batches_are_a_function_of_the_step():
    lengths = [random.Random(i).randint(1, 50) for i in range(100)]
    order = StepBatches(lengths, 8, seed=1)
    first = [order(step) for step in range(3 * order.per_epoch)]
    again = StepBatches(lengths, 8, seed=1)
    assert [again(step) for step in reversed(range(3 * order.per_epoch))] == first[::-1]
    epoch = sorted(i for step in range(order.per_epoch) for i in first[step])
    assert epoch == list(range(100))  # every example once per epoch
    assert first[: order.per_epoch] != first[order.per_epoch : 2 * order.per_epoch]


@pytest.fixture
def sigint_as_in_a_terminal():
    """A job started in the background inherits SIGINT ignored; Ctrl-C needs Python's handler."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _CtrlCAt(_Regression):
    """Ctrl-C (a real SIGINT) in the middle of the forward pass of the given calls, once per
    time a call is listed."""

    def __init__(self, *calls: int) -> None:
        super().__init__()
        self.calls, self.ctrl_c = 0, calls

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        import signal

        self.calls += 1
        loss = super().forward(batch)
        for _ in range(self.ctrl_c.count(self.calls)):
            signal.raise_signal(signal.SIGINT)
        return loss


def _ctrl_c_loop(folder, *calls: int, every_steps: int = 100) -> TrainingLoop:
    loss = LossTerms({"mse": _CtrlCAt(*calls)}, {"mse": 2.0})
    config = LoopConfig(steps=10, lr=0.05, warmup=0.2, max_grad_norm=1.0, seed=3)
    return TrainingLoop(loss, _batch, config, folder, Checkpointing(every_steps=every_steps))


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
def test_ctrl_c_finishes_the_step_and_the_resumed_run_ends_as_an_uninterrupted_one(
    tmp_path, capsys
):
    loop = _ctrl_c_loop(tmp_path / "a", 4)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert loop.last_checkpoint().name == "step-00000004"  # the step Ctrl-C came in, finished
    assert "checkpoint saved in" in capsys.readouterr().err
    resumed = _ctrl_c_loop(tmp_path / "a")
    result = resumed.run()
    assert [(s["start"], s["end"]) for s in result.sessions] == [(0, 4), (4, 10)]
    straight = _loop(tmp_path / "b")
    expected = straight.run()
    assert [e["loss"] for e in result.log] == [e["loss"] for e in expected.log]
    for (name, got), (_, want) in zip(
        resumed.loss.named_parameters(), straight.loss.named_parameters(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=name)


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
def test_a_second_ctrl_c_stops_at_once_without_saving_the_half_done_step(tmp_path, capsys):
    loop = _ctrl_c_loop(tmp_path, 3, 3, every_steps=2)  # twice during step 3
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert loop.last_checkpoint().name == "step-00000002"
    assert "interrupted at step 2 of 10; resumes from" in capsys.readouterr().err


def test_checkpoints_by_seconds_only(tmp_path):
    loop = _loop(tmp_path, every_steps=None, every_seconds=3600)
    with pytest.raises(KeyboardInterrupt):
        loop.run(on_step=_interrupt_at(7))
    assert [p.name for p in loop.checkpoints.iterdir()] == ["step-00000007"]  # Ctrl-C's only


def test_warmup_in_steps_or_as_a_share_is_the_same_schedule():
    from clirbench.training import _schedule

    for steps in (1, 2, 7, 10, 120, 1800):
        for warmup in sorted(
            {0, 1, 2, steps // 10, steps // 4, steps - 1, steps} & {*range(steps + 1)}
        ):
            by_steps = _schedule(LoopConfig(steps, 1.0, warmup_steps=warmup))
            factors = [by_steps(step) for step in range(steps + 1)]
            assert factors[max(0, warmup - 1)] == 1.0 == max(factors) and factors[-1] == 0.0
            if warmup:  # a share cannot say 0 steps (it is at least 1)
                by_share = _schedule(LoopConfig(steps, 1.0, warmup=warmup / steps))
                assert [by_share(step) for step in range(steps + 1)] == factors
                # the same floats as the formula MLM and OPTICAL trained with before issue 15
                decay = max(1, steps - warmup)
                before = [
                    min((s + 1) / warmup, max(0.0, (steps - s) / decay)) for s in range(steps)
                ]
                assert factors[:-1] == before


def test_a_stage_that_seeded_the_generators_itself_trains_from_its_state(tmp_path):
    from clirbench.training import forked_rng, seed_generators

    seeded = _loop(tmp_path / "seeded").run()  # seed 3
    loss = LossTerms({"mse": _Regression()}, {"mse": 2.0})
    config = LoopConfig(steps=10, lr=0.05, warmup=0.2, max_grad_norm=1.0, seed=None)
    with forked_rng():
        seed_generators(3)
        result = TrainingLoop(loss, _batch, config, tmp_path / "caller").run()
    assert [e["loss"] for e in result.log] == [e["loss"] for e in seeded.log]
