"""The runner's dependency seam: a cell that reads other cells (fusion, reranking)."""

from __future__ import annotations

from pathlib import Path

from clirbench.baselines.fuse import fuse_runs
from clirbench.errors import MethodUnavailableError
from clirbench.method import MethodBase
from clirbench.registry import build_options, register_method
from clirbench.runner import MethodSpec, run_cells
from clirbench.store import ResultStore, system_labels
from clirbench.tasks import load_task
from tests.conftest import TINY


@register_method("test-by-id")
class ById(MethodBase):
    """Scores documents by their id, descending; counts its calls; ``version`` set by a test."""

    calls = 0
    flip = False

    def retrieve(self, task, k):
        type(self).calls += 1
        ranked = sorted(task.corpus, reverse=not type(self).flip)
        scores = {d: float(len(ranked) - i) for i, d in enumerate(ranked[:k])}
        return {q: dict(scores) for q in task.queries}


@register_method("test-never")
class Never(MethodBase):
    """Cannot run here."""

    def retrieve(self, task, k):
        raise MethodUnavailableError("no weights here")


def _fuse(*systems) -> MethodSpec:
    return MethodSpec("fuse", build_options("fuse", {"systems": list(systems)}))


def test_fuse_reads_its_systems_from_the_store(tmp_path: Path):
    store, task = ResultStore(tmp_path), load_task(str(TINY))
    (outcome,) = run_cells([task], [_fuse("bm25", "test-by-id")], store, k=10)
    assert outcome.status == "computed"
    cells = {cell.manifest["method"]["name"]: cell for cell in store.cells()}
    assert set(cells) == {"bm25", "test-by-id", "fuse"}  # the inputs are cells like any other
    inputs = outcome.cell.manifest["inputs"]
    assert [record["method"] for record in inputs] == ["bm25", "test-by-id"]
    bm25 = MethodSpec("bm25", build_options("bm25", {}))
    assert inputs[0]["config_hash"] == bm25.config_hash(10)
    expected = fuse_runs([cells["bm25"].run, cells["test-by-id"].run], "rrf", "min-max", 60, 10)
    assert {q: list(hits) for q, hits in outcome.cell.run.items()} == {
        q: list(hits) for q, hits in expected.items()
    }
    assert "fuse[bm25+test-by-id]" in system_labels(store.cells()).values()
    calls = ById.calls
    again = run_cells([task], [_fuse("bm25", "test-by-id"), bm25], store, k=10)
    assert [o.status for o in again] == ["reused", "reused"] and ById.calls == calls


def test_a_dependency_change_changes_the_fused_cell(tmp_path: Path, monkeypatch):
    store, task = ResultStore(tmp_path), load_task(str(TINY))
    plain = _fuse("bm25", "test-by-id")
    tuned = _fuse({"bm25": {"k1": 0.9}}, "test-by-id")
    assert plain.config_hash(10) != tuned.config_hash(10)
    assert plain.config_hash(10) != plain.config_hash(5)
    (first,) = run_cells([task], [plain], store, k=10)
    # New code for a dependency: the fused cell is recomputed in place.
    monkeypatch.setattr(ById, "version", "2")
    (second,) = run_cells([task], [plain], store, k=10)
    assert second.status == "computed" and "code changed" in second.reason
    assert second.cell.path == first.cell.path
    second_run = second.cell.run
    # A dependency recomputed with other results: the fused cell notices its input changed.
    monkeypatch.setattr(ById, "flip", True)
    run_cells([task], [MethodSpec("test-by-id", ById.Options())], store, k=10, overwrite=True)
    (third,) = run_cells([task], [plain], store, k=10)
    assert third.status == "computed" and third.reason == "an input cell changed"
    assert third.cell.run != second_run


def test_a_dependency_that_cannot_run_stops_only_the_fused_cell(tmp_path: Path):
    store, task = ResultStore(tmp_path), load_task(str(TINY))
    bm25 = MethodSpec("bm25", build_options("bm25", {}))
    outcomes = run_cells([task], [_fuse("bm25", "test-never"), bm25], store, k=10)
    assert [o.status for o in outcomes] == ["not run", "reused"]
    assert "reads the run of test-never, which cannot run: no weights here" in outcomes[0].reason
    (record,) = store.not_run()
    assert record["method"] == "fuse" and record["tasks"] == ["tiny-en-ny"]


def test_fuse_without_a_runner_computes_its_inputs():
    from clirbench.registry import instantiate

    task = load_task(str(TINY))
    method = instantiate("fuse", build_options("fuse", {"systems": ["bm25", "test-by-id"]}))
    direct = method.retrieve(task, 3)
    assert all(len(hits) == 3 for hits in direct.values()) and set(direct) == set(task.queries)
