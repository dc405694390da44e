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
    specs = [MethodSpec("test-unavailable", Unavailable.Options()), MethodSpec("bm25", build_options("bm25", {}))]
    outcomes = run_cells([load_task(str(TINY))], specs, store, k=10)
    assert [o.status for o in outcomes] == ["not run", "computed"]
    assert outcomes[0].reason == "weights not available offline"
    (record,) = store.not_run()
    assert record["method"] == "test-unavailable" and record["tasks"] == ["tiny-en-ny"]
    assert [cell.manifest["method"]["name"] for cell in store.cells()] == ["bm25"]



def test_an_edited_bitext_file_is_a_new_configuration(tmp_path: Path):
    bitext = tmp_path / "pairs.tsv"
    bitext.write_text("the house\tnyumba\n", encoding="utf-8")
    options = {"translators": ["lexical"], "bitext_file": str(bitext),
               "bitext_source_lang": "eng_Latn", "bitext_target_lang": "nya_Latn"}

    def config_hash() -> str:
        return MethodSpec("nmt", build_options("nmt", options)).config_hash(100)

    first = config_hash()
    assert config_hash() == first  # same path, same content
    bitext.write_text("the house\tnyumba\nthe dog\tgalu\n", encoding="utf-8")
    assert config_hash() != first  # same path, new content: the stored cell is not reused
    # Options without an input file keep the hash they always had (stored cells stay valid).
    plain = MethodSpec("nmt", build_options("nmt", {"translators": ["lexical"]}))
    assert plain.config_hash(100) == options_hash("nmt", plain.options.model_dump(mode="json"), 100)
