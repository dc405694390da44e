"""device and precision of torch-based methods: plumbing, checked on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clirbench.devices import autocast, resolve_device
from clirbench.errors import OptionsError
from clirbench.registry import build_options, instantiate
from clirbench.runner import MethodSpec
from tests.tiny_models import make_tiny_bert

TORCH_METHODS = ["st", "mbert", "optical", "distill-mse", "mlm-student", "optical+mlm"]


@pytest.mark.parametrize("name", TORCH_METHODS)
def test_device_and_precision_are_runtime_options(name: str):
    extra = {"adapt": "task"} if name in ("mlm-student", "optical+mlm") else {}
    plain = MethodSpec(name, build_options(name, extra))
    on_gpu = MethodSpec(
        name, build_options(name, {**extra, "device": "cuda:1", "precision": "bf16"})
    )
    assert on_gpu.config_hash(10) == plain.config_hash(10)
    assert on_gpu.options.identity() == plain.options.identity()


@pytest.mark.parametrize(
    ("option", "value"), [("device", "gpu"), ("device", "cuda:x"), ("precision", "fp8")]
)
def test_a_bad_device_or_precision_names_the_option(option: str, value: str):
    with pytest.raises(OptionsError, match=rf"invalid options for method 'st': {option}"):
        build_options("st", {option: value})


def test_default_device_is_the_option_then_the_environment_then_cuda_when_available(
    monkeypatch: pytest.MonkeyPatch,
):
    import torch

    assert resolve_device("mps") == "mps"
    monkeypatch.setenv("CLIRBENCH_DEVICE", "cuda:2")
    assert resolve_device(None) == "cuda:2"
    monkeypatch.delenv("CLIRBENCH_DEVICE")
    assert resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")


def test_half_precision_off_cuda_runs_fp32_with_one_note(capsys: pytest.CaptureFixture[str]):
    import torch

    with autocast("cpu", "bf16"):
        assert not torch.is_autocast_enabled("cpu")
    with autocast("cpu", "bf16"):
        pass
    assert capsys.readouterr().err.count("precision bf16 is for cuda; running fp32 on cpu") == 1
    with autocast("cpu", "fp32"):
        pass
    assert capsys.readouterr().err == ""


def test_mbert_vectors_on_cpu_are_the_same_whatever_the_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = str(make_tiny_bert(tmp_path / "tiny-bert"))
    texts = ["the water", "mvula usiku nsomba"]
    fp32 = instantiate("mbert", build_options("mbert", {"model": folder, "device": "cpu"}))
    fp16 = instantiate(
        "mbert", build_options("mbert", {"model": folder, "device": "cpu", "precision": "fp16"})
    )
    expected = fp32.encode(texts, "eng_Latn", "query")
    assert fp16.device == "cpu" and expected.dtype == np.float32
    np.testing.assert_array_equal(fp16.encode(texts, "eng_Latn", "query"), expected)
    assert "precision fp16 is for cuda" in capsys.readouterr().err


def test_st_loads_on_the_device_asked():
    method = instantiate("st", build_options("st", {"device": "cpu", "precision": "fp16"}))
    assert str(method.model.device) == "cpu"
    vectors = method.encode(["rain at night"], "eng_Latn", "query")
    assert vectors.dtype == np.float32 and vectors.shape[0] == 1
