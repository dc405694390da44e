from __future__ import annotations

from pathlib import Path

from clirbench.errors import MethodUnavailableError
from clirbench.method import MethodBase
from clirbench.registry import build_options, register_method
from clirbench.runner import MethodSpec, run_cells
from clirbench.store import ResultStore
from clirbench.store import config_hash as options_hash
from clirbench.tasks import load_task
from tests.conftest import TINY


@register_method("test-unavailable")
class Unavailable(MethodBase):
    """Always unavailable, like a model whose weights are not on this machine."""

    def retrieve(self, task, k):
        raise MethodUnavailableError("weights not available offline")


def test_unavailable_method_is_recorded_and_the_run_goes_on(tmp_path: Path):
    store = ResultStore(tmp_path)
    specs = [
        MethodSpec("test-unavailable", Unavailable.Options()),
        MethodSpec("bm25", build_options("bm25", {})),
    ]
    outcomes = run_cells([load_task(str(TINY))], specs, store, k=10)
    assert [o.status for o in outcomes] == ["not run", "computed"]
    assert outcomes[0].reason == "weights not available offline"
    (record,) = store.not_run()
    assert record["method"] == "test-unavailable" and record["tasks"] == ["tiny-en-ny"]
    assert [cell.manifest["method"]["name"] for cell in store.cells()] == ["bm25"]


def test_an_edited_bitext_file_is_a_new_configuration(tmp_path: Path):
    bitext = tmp_path / "pairs.tsv"
    bitext.write_text("the house\tnyumba\n", encoding="utf-8")
    options = {
        "translators": ["lexical"],
        "bitext_file": str(bitext),
        "bitext_source_lang": "eng_Latn",
        "bitext_target_lang": "nya_Latn",
    }

    def config_hash() -> str:
        return MethodSpec("nmt", build_options("nmt", options)).config_hash(100)

    first = config_hash()
    assert config_hash() == first  # same path, same content
    bitext.write_text("the house\tnyumba\nthe dog\tgalu\n", encoding="utf-8")
    assert config_hash() != first  # same path, new content: the stored cell is not reused
    # Options without an input file hash only what differs from the defaults.
    plain = MethodSpec("nmt", build_options("nmt", {"translators": ["lexical"]}))
    assert plain.config_hash(100) == options_hash("nmt", {"translators": ["lexical"]}, 100)


def test_only_non_default_result_affecting_options_are_hashed():
    def spec(**options) -> MethodSpec:
        return MethodSpec("me5", build_options("me5", options))

    assert spec().options.identity() == {}
    assert spec(batch_size=7, num_threads=1, cache=False).config_hash(100) == spec().config_hash(
        100
    )  # runtime
    assert spec().config_hash(100) != spec().config_hash(10)
    bm25 = MethodSpec("bm25", build_options("bm25", {"k1": 0.9}))
    assert bm25.options.identity() == {"k1": 0.9}
    assert (
        MethodSpec("bm25", build_options("bm25", {"k1": 1.5})).options.identity() == {}
    )  # 1.5 is the default


class _Counting(MethodBase):
    """Scores every document 1.0 and counts its calls; ``version`` is bumped by the test."""

    calls = 0

    def retrieve(self, task, k):
        type(self).calls += 1
        return {qid: dict.fromkeys(list(task.corpus)[:k], 1.0) for qid in task.queries}


def test_dev_and_test_splits_are_two_cells(tmp_path: Path):
    store = ResultStore(tmp_path / "store")
    spec = MethodSpec("bm25", build_options("bm25", {}))
    folder = TINY  # judged queries: q1 on dev; q1-q4 on test
    (test_outcome,) = run_cells([load_task(str(folder), "test")], [spec], store, k=10)
    (dev_outcome,) = run_cells([load_task(str(folder), "dev")], [spec], store, k=10)
    assert test_outcome.status == dev_outcome.status == "computed"
    assert test_outcome.cell.path != dev_outcome.cell.path
    again = run_cells(
        [load_task(str(folder), "test"), load_task(str(folder), "dev")], [spec], store, k=10
    )
    assert [o.status for o in again] == ["reused", "reused"]
    assert set(again[0].cell.per_query["nDCG@10"]) != set(again[1].cell.per_query["nDCG@10"])


def test_a_method_version_bump_is_a_new_cell(tmp_path: Path, monkeypatch):
    register_method("test-counting")(_Counting)
    store = ResultStore(tmp_path)
    task = load_task(str(TINY))
    spec = MethodSpec("test-counting", _Counting.Options())
    assert [o.status for o in run_cells([task], [spec], store, k=10)] == ["computed"]
    assert [o.status for o in run_cells([task], [spec], store, k=10)] == ["reused"]
    monkeypatch.setattr(_Counting, "version", "2")
    (outcome,) = run_cells([task], [spec], store, k=10)
    assert outcome.status == "computed" and "method's code changed" in outcome.reason
    assert outcome.cell.manifest["method"]["identity"]["method_version"] == "2"
    assert _Counting.calls == 2 and len(list(store.cells())) == 1


class _NaNScores(MethodBase):
    """Returns a NaN score, as a broken model might."""

    def retrieve(self, task, k):
        return {qid: {doc: float("nan") for doc in list(task.corpus)[:2]} for qid in task.queries}


def test_a_run_with_nan_scores_is_refused_and_nothing_is_stored(tmp_path: Path):
    import pytest

    from clirbench.errors import MethodFailedError

    register_method("test-nan")(_NaNScores)
    store = ResultStore(tmp_path)
    with pytest.raises(MethodFailedError, match="a score must be a finite number"):
        run_cells(
            [load_task(str(TINY))], [MethodSpec("test-nan", _NaNScores.Options())], store, k=10
        )
    assert list(store.cells()) == []
