"""The Ray executor on a local two-CPU cluster: the same cells as a local run, byte for byte."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from clirbench.errors import MissingDependencyError
from clirbench.method import MethodBase, MethodOptions
from clirbench.registry import build_options, register_method
from clirbench.runner import Executor, MethodSpec, run_cells
from clirbench.store import DATA_FILES, ResultStore
from clirbench.tasks import load_task
from tests.conftest import TINY
from tests.tiny_models import make_tiny_bert

ray = pytest.importorskip("ray")


class DiesOnceOptions(MethodOptions):
    marker: str
    """A file made before the first call kills its own process; later calls find it and run."""


@register_method("test-dies-once")
class DiesOnce(MethodBase):
    """Ranks documents by id; the first call (no marker file yet) kills its worker mid-cell."""

    Options = DiesOnceOptions

    def retrieve(self, task, k):
        marker = Path(self.options.marker)
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        ranked = sorted(task.corpus)[:k]
        return {q: {d: float(k - i) for i, d in enumerate(ranked)} for q in task.queries}


@register_method("test-ray-by-id")
class ById(MethodBase):
    """Scores documents by their id, descending."""

    def retrieve(self, task, k):
        ranked = sorted(task.corpus, reverse=True)[:k]
        return {q: {d: float(k - i) for i, d in enumerate(ranked)} for q in task.queries}


def _files(store: Path) -> dict[str, bytes]:
    """Each data file of each cell, by its path in the store (the config hash included)."""
    return {
        str(path.relative_to(store)): path.read_bytes()
        for name in DATA_FILES
        for path in sorted(store.rglob(name))
    }


def test_ray_cells_equal_local_cells_byte_for_byte(cluster: None, tmp_path: Path):
    model = make_tiny_bert(tmp_path / "tiny-bert")
    task = load_task(str(TINY))
    specs = [
        MethodSpec("bm25", build_options("bm25", {})),
        MethodSpec("mbert", build_options("mbert", {"model": str(model), "cache": False})),
        MethodSpec("fuse", build_options("fuse", {"systems": ["bm25", "test-ray-by-id"]})),
    ]
    local, remote = tmp_path / "local", tmp_path / "ray"
    on_local = run_cells([task], specs, ResultStore(local), k=10)
    started: list[str] = []
    on_ray = run_cells(
        [task],
        specs,
        ResultStore(remote),
        k=10,
        executor=Executor("ray"),
        on_start=lambda task, spec: started.append(spec.name),
    )
    assert [o.status for o in on_local] == [o.status for o in on_ray] == ["computed"] * 3
    assert [o.method for o in on_ray] == specs and started == ["bm25", "mbert", "fuse"]
    local_files, ray_files = _files(local), _files(remote)
    assert len(ray_files) == 4 * len(DATA_FILES)  # the three asked for and fuse's other input
    assert ray_files == local_files
    assert [o.cell.aggregate for o in on_ray] == [o.cell.aggregate for o in on_local]
    inputs = on_ray[2].cell.manifest["inputs"]
    assert [record["method"] for record in inputs] == ["bm25", "test-ray-by-id"]
    again = run_cells([task], specs, ResultStore(remote), k=10, executor=Executor("ray"))
    assert [o.status for o in again] == ["reused"] * 3


def test_a_worker_killed_mid_cell_is_retried_and_leaves_no_broken_cell(
    cluster: None, tmp_path: Path
):
    marker = tmp_path / "died"
    spec = MethodSpec("test-dies-once", build_options("test-dies-once", {"marker": str(marker)}))
    store = ResultStore(tmp_path / "store")
    (outcome,) = run_cells([load_task(str(TINY))], [spec], store, k=5, executor=Executor("ray"))
    assert marker.read_text() != str(os.getpid())  # the kill happened in a worker, not here
    assert outcome.status == "computed" and all(
        len(hits) == 5 for hits in outcome.cell.run.values()
    )
    assert [cell.manifest["method"]["name"] for cell in store.cells()] == ["test-dies-once"]
    assert store.check() == []


def test_a_method_that_cannot_run_is_not_run_on_ray_too(cluster: None, tmp_path: Path):
    spec = MethodSpec("mbert", build_options("mbert", {"model": str(tmp_path / "absent")}))
    store = ResultStore(tmp_path / "store")
    (outcome,) = run_cells([load_task(str(TINY))], [spec], store, k=5, executor=Executor("ray"))
    assert outcome.status == "not run" and "not available" in outcome.reason
    (record,) = store.not_run()
    assert record["method"] == "mbert" and record["tasks"] == ["tiny-en-ny"]


def test_cells_ask_ray_for_a_gpu_only_when_their_device_is_cuda():
    from clirbench.ray_executor import resources

    cuda = MethodSpec("st", build_options("st", {"device": "cuda:1"}))
    cpu = MethodSpec("st", build_options("st", {"device": "cpu"}))
    assert resources(cuda) == {"num_cpus": 1, "num_gpus": 1}
    assert (
        resources(cpu)
        == resources(MethodSpec("bm25", build_options("bm25", {})))
        == {"num_cpus": 1, "num_gpus": 0}
    )


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    from clirbench.ray_executor import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"pip install \"clirbench\[ray\]\""):
        import_ray()


def _main(*args: str) -> int:
    from clirbench.cli import main

    with pytest.raises(SystemExit) as ended:
        main(list(args))
    return ended.value.code


def test_run_command_with_executor_ray(
    cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store = tmp_path / "store"
    assert (
        _main("run", "-m", "bm25", "-t", str(TINY), "--store", str(store), "--executor", "ray") == 0
    )
    (cell,) = ResultStore(store).cells()
    assert cell.manifest["method"]["name"] == "bm25"
    assert (
        _main("run", "-m", "bm25", "-t", str(TINY), "--store", str(store), "--address", "auto") == 2
    )
    assert "--executor ray" in capsys.readouterr().err
    assert _main("run", "-m", "bm25", "-t", str(TINY), "--executor", "dask") == 2
