"""mteb: tasks: cards from real registered MTEB tasks, data through MTEB's own loader, offline."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError
from clirbench.tasks import load_task
from clirbench.tasks.beir import beir_task
from clirbench.tasks.mteb_source import card_languages
from clirbench.trec import read_qrels
from tests.conftest import TINY

pytest.importorskip("mteb")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_card_from_a_registered_task_metadata():
    card = load_task("mteb:BelebeleRetrieval/eng_Latn-hau_Latn").card  # no data is read
    assert card.name == "mteb:BelebeleRetrieval/eng_Latn-hau_Latn"
    # Belebele reads its passages in the subset's first language and its questions in the second.
    assert (card.query_lang, card.doc_lang, card.low_resource) == ("hau_Latn", "eng_Latn", True)
    assert (card.split, card.license) == ("test", "cc-by-sa-4.0")
    assert card.citation.startswith("@article{bandarkar2023belebele")
    assert "mteb/belebele@979a211276faa22f671e69d096634193567cfd05" in card.source
    assert card.description.startswith("Belebele")


def test_card_of_a_monolingual_task_and_overrides():
    card = load_task("mteb:SciFact", doc_lang="eng_Latn", license="CC-BY-NC-4.0").card
    assert (card.query_lang, card.doc_lang, card.split, card.license) == (
        "eng_Latn",
        "eng_Latn",
        "test",
        "CC-BY-NC-4.0",
    )


@pytest.mark.parametrize(
    ("task", "languages", "expected"),
    [
        ("XPQARetrieval", ["eng-Latn", "ara-Arab"], ("eng_Latn", "ara_Arab")),
        ("BelebeleRetrieval", ["eng-Latn", "hau-Latn"], ("hau_Latn", "eng_Latn")),
        ("NeuCLIR2022Retrieval", ["fas-Arab"], ("eng_Latn", "fas_Arab")),
        ("MIRACLRetrieval", ["swa-Latn"], ("swa_Latn", "swa_Latn")),
        ("SomeTask", ["eng-Latn", "fra-Latn", "deu-Latn"], ("unknown", "unknown")),
    ],
)
def test_card_languages(task, languages, expected):
    assert card_languages(task, languages) == expected


@pytest.mark.parametrize(
    ("spec", "split", "problem"),
    [
        (
            "NeuCLIR2022Retrieval",
            None,
            r"needs a subset: mteb:NeuCLIR2022Retrieval/SUBSET with SUBSET one of fas, rus, zho",
        ),
        ("NeuCLIR2022Retrieval/deu", None, r"needs a subset"),
        ("SciFact", "dev", r"has no split 'dev'; its splits: test"),
        ("STS12", None, r"is a STS task; clirbench reads Retrieval tasks"),
        (
            "NeuCLIR2022Retrievl",
            None,
            r"unknown MTEB task: 'NeuCLIR2022Retrievl' not found. Did you mean: 'NeuCLIR2022",
        ),
    ],
)
def test_bad_specs(spec, split, problem):
    with pytest.raises(ClirbenchError, match=problem):
        load_task(f"mteb:{spec}", split)


def _prepare_cache(datasets_cache: Path, tmp_path: Path) -> None:
    """What ``load_dataset`` leaves in the datasets cache for NeuCLIR2022Retrieval's fas subset.

    The data is tests/data/tiny; the configs are the ones MTEB's loader asks for.
    """
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = (
        tmp_path / "neu_clir2022_retrieval"
    )  # datasets names the prepared files after the folder
    folder.mkdir()
    corpus = [json.loads(line) for line in (TINY / "corpus.jsonl").read_text().splitlines()]
    queries = [json.loads(line) for line in (TINY / "queries.jsonl").read_text().splitlines()]
    judged = read_qrels(TINY / "qrels" / "test.tsv")
    qrels = [
        {"query-id": q, "corpus-id": d, "score": r}
        for q, docs in judged.items()
        for d, r in docs.items()
    ]
    configs = []
    for config, rows in (("fas-corpus", corpus), ("fas-queries", queries), ("fas-qrels", qrels)):
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{config}.parquet")
        configs.append(
            f"- config_name: {config}\n  data_files:\n  - split: test\n    path: {config}.parquet\n"
        )
    (folder / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n")
    for config in ("fas-corpus", "fas-queries", "fas-qrels"):
        datasets.load_dataset(str(folder), config, cache_dir=str(datasets_cache))
    (datasets_cache / folder.name).rename(
        datasets_cache / f"mteb___{folder.name}"
    )  # as if from the Hub


def test_data_through_mteb_loader_from_the_datasets_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import datasets

    cache = tmp_path / "datasets"
    _prepare_cache(cache, tmp_path)
    monkeypatch.setattr(
        datasets.config, "HF_DATASETS_CACHE", cache
    )  # MTEB's loader uses the default cache
    task = load_task("mteb:NeuCLIR2022Retrieval/fas")
    tiny = beir_task(TINY)
    assert (task.queries, task.corpus, task.qrels) == (tiny.queries, tiny.corpus, tiny.qrels)
    assert task.card.languages == "eng_Latn->fas_Arab"


def test_absent_data_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    task = load_task("mteb:NeuCLIR2022Retrieval/fas")
    with pytest.raises(ClirbenchError) as error:
        task.queries  # noqa: B018
    message = str(error.value)
    assert (
        "the data of MTEB task 'NeuCLIR2022Retrieval' "
        "(mteb/NeuCLIR2022Retrieval at revision 95cad86" in message
    )
    assert "clirbench never downloads" in message and str(tmp_path) in message
    assert "mteb.get_task('NeuCLIR2022Retrieval').load_data()" in message
