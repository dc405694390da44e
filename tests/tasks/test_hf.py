"""hf: tasks, read with the real ``datasets`` / ``huggingface_hub`` code from caches built here."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError, InputError
from clirbench.tasks import load_task
from clirbench.tasks.beir import beir_task
from clirbench.trec import read_qrels
from tests.conftest import TINY

pytest.importorskip("datasets")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CORPUS_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
README = """---
license: cc0-1.0
configs:
- config_name: corpus
  data_files:
  - split: corpus
    path: corpus.parquet
- config_name: queries
  data_files:
  - split: queries
    path: queries.parquet
- config_name: default
  data_files:
  - split: test
    path: qrels/test.parquet
  - split: dev
    path: qrels/dev.parquet
- config_name: nya-corpus
  data_files:
  - split: test
    path: corpus.parquet
- config_name: nya-queries
  data_files:
  - split: test
    path: queries.parquet
- config_name: nya-qrels
  data_files:
  - split: test
    path: qrels/test.parquet
---
# tiny, as the BEIR and MTEB mirrors lay a retrieval dataset out on the Hub
"""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _write_parquet(rows: list[dict], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _mirror_files(folder: Path) -> Path:
    """tests/data/tiny converted to a Hub repository's files.

    Parquet, as the MTEB mirrors store it.
    """
    for part in ("corpus", "queries"):
        rows = [json.loads(line) for line in (TINY / f"{part}.jsonl").read_text().splitlines()]
        _write_parquet(rows, folder / f"{part}.parquet")
    for split in ("test", "dev"):
        judged = read_qrels(TINY / "qrels" / f"{split}.tsv")
        rows = [
            {"query-id": qid, "corpus-id": docid, "score": rel}
            for qid, docs in judged.items()
            for docid, rel in docs.items()
        ]
        _write_parquet(rows, folder / "qrels" / f"{split}.parquet")
    (folder / "README.md").write_text(README)
    return folder


def _hub_snapshot(home: Path, repo: str, commit: str) -> Path:
    """The folder ``hf download`` fills for ``repo`` under ``home/hub`` (refs/main -> snapshot)."""
    entry = home / "hub" / f"datasets--{repo.replace('/', '--')}"
    (entry / "refs").mkdir(parents=True, exist_ok=True)
    (entry / "refs" / "main").write_text(commit)
    return entry / "snapshots" / commit


@pytest.fixture
def hf_home(tmp_path: Path) -> Path:
    home = tmp_path / "hf_home"
    _mirror_files(_hub_snapshot(home, "org/tiny", COMMIT))
    return home


def test_mirror_from_hub_cache_matches_the_beir_folder(hf_home: Path):
    task = load_task("hf:org/tiny", cache_dir=hf_home)
    beir = beir_task(TINY)
    assert (task.queries, task.corpus, task.qrels) == (beir.queries, beir.corpus, beir.qrels)
    card = task.card
    assert (card.name, card.split, card.license) == ("hf:org/tiny", "test", "cc0-1.0")
    assert card.checksum == COMMIT[:16] and COMMIT in card.source
    assert card.query_lang == card.doc_lang == "unknown"


def test_other_split_subset_and_overrides(hf_home: Path):
    dev = load_task(
        "hf:org/tiny", "dev", cache_dir=hf_home, query_lang="eng_Latn", doc_lang="nya_Latn"
    )
    assert dev.card.split == "dev" and set(dev.queries) == {"q1"}
    assert (dev.card.languages, dev.card.low_resource) == ("eng_Latn->nya_Latn", True)
    subset = load_task("hf:org/tiny/nya", cache_dir=hf_home)
    assert subset.card.name == "hf:org/tiny/nya" and subset.qrels == beir_task(TINY).qrels


def test_missing_split_lists_available(hf_home: Path):
    with pytest.raises(
        ClirbenchError, match=r"split 'train' not found; available splits: test, dev"
    ):
        load_task("hf:org/tiny", "train", cache_dir=hf_home).qrels  # noqa: B018


def test_missing_subset_lists_configs(hf_home: Path):
    with pytest.raises(
        ClirbenchError, match=r"no 'hau-corpus' config for the corpus; configs: corpus, queries"
    ):
        load_task("hf:org/tiny/hau", cache_dir=hf_home).qrels  # noqa: B018


def test_bad_rows_name_dataset_config_and_row(tmp_path: Path):
    folder = _mirror_files(tmp_path / "local")
    import pyarrow.parquet as pq

    qrels = pq.read_table(folder / "qrels" / "test.parquet").to_pylist()
    qrels[3]["corpus-id"] = "d99"
    _write_parquet(qrels, folder / "qrels" / "test.parquet")
    with pytest.raises(InputError) as error:
        load_task(f"hf:{folder}", cache_dir=tmp_path).qrels  # noqa: B018
    assert str(error.value.path) == "hf:local default" and error.value.line == 4
    assert "unknown document id 'd99'" in str(error.value)


def test_local_folder_laid_out_as_the_repository(tmp_path: Path):
    folder = _mirror_files(tmp_path / "local")
    task = load_task(f"hf:{folder}", cache_dir=tmp_path)
    assert task.card.name == "hf:local" and str(folder.resolve()) in task.card.source
    assert len(task.card.checksum) == 16
    assert task.qrels == beir_task(TINY).qrels


def test_mirror_from_datasets_cache_alone(tmp_path: Path):
    """What ``load_dataset`` prepared, with no Hub files left: read in datasets' offline mode."""
    import datasets

    home = tmp_path / "hf_home"
    folder = _mirror_files(tmp_path / "tiny_prepared")
    for config in ("corpus", "queries", "default"):
        datasets.load_dataset(str(folder), config, cache_dir=str(home / "datasets"))
    (home / "datasets" / "tiny_prepared").rename(
        home / "datasets" / "org___tiny_prepared"
    )  # as if from the Hub
    task = load_task("hf:org/tiny_prepared", cache_dir=home)
    assert task.qrels == beir_task(TINY).qrels and task.corpus == beir_task(TINY).corpus
    assert "datasets cache" in task.card.source and len(task.card.checksum) == 16


def test_absent_repository_says_how_to_fetch(tmp_path: Path):
    with pytest.raises(ClirbenchError) as error:
        load_task("hf:org/absent", cache_dir=tmp_path)
    message = str(error.value)
    assert (
        "'org/absent' is not on this machine" in message and "clirbench never downloads" in message
    )
    assert "hf download org/absent --repo-type dataset" in message
    assert str(tmp_path / "hub") in message


def test_malformed_spec():
    with pytest.raises(ClirbenchError, match="hf: takes ORG/NAME"):
        load_task("hf:just-a-name")


# --- CIRAL -----------------------------------------------------------------------------------

CIRAL_TOPICS = "1\tmaize harvest in Kano\n2\tfootball in Kano\n3\tdrought in the north\n"
CIRAL_QRELS = "1 Q0 DT#1#0 1\n1 Q0 LG#7#2 0\n2 Q0 VOA#3#1 1\n"
CIRAL_POOLS = CIRAL_QRELS + "3 Q0 LG#7#2 1\n"
CIRAL_PASSAGES = [
    {
        "docid": "DT#1#0",
        "title": "Noma",
        "text": "Manoma sun girbe masara mai yawa a Kano.",
        "url": "https://example.org/1",
    },
    {
        "docid": "LG#7#2",
        "title": "Fari",
        "text": "Fari ya addabi arewa.",
        "url": "https://example.org/7",
    },
    {
        "docid": "VOA#3#1",
        "title": "Wasanni",
        "text": "Kwallon kafa a Kano.",
        "url": "https://example.org/3",
    },
]


@pytest.fixture
def ciral_home(tmp_path: Path) -> Path:
    """CIRAL/ciral and CIRAL/ciral-corpus in a Hub cache, with Hausa's files as on the Hub."""
    home = tmp_path / "hf_home"
    snapshot = _hub_snapshot(home, "CIRAL/ciral", COMMIT) / "ciral-hausa"
    (snapshot / "topics").mkdir(parents=True)
    (snapshot / "qrels").mkdir()
    (snapshot / "topics" / "topics.ciral-v1.0-ha-test-a.tsv").write_text(CIRAL_TOPICS)
    (snapshot / "qrels" / "qrels.ciral-v1.0-ha-test-a.tsv").write_text(CIRAL_QRELS)
    (snapshot / "qrels" / "qrels.ciral-v1.0-ha-test-a-pools.tsv").write_text(CIRAL_POOLS)
    passages = _hub_snapshot(home, "CIRAL/ciral-corpus", CORPUS_COMMIT) / "passages-v1.0"
    passages.mkdir(parents=True)
    (passages / "hausa_passages.jsonl").write_text(
        "".join(json.dumps(p) + "\n" for p in CIRAL_PASSAGES)
    )
    return home


def test_ciral_from_hub_cache(ciral_home: Path):
    task = load_task("hf:CIRAL/ciral/hausa", cache_dir=ciral_home)
    card = task.card
    assert (card.query_lang, card.doc_lang, card.low_resource, card.split) == (
        "eng_Latn",
        "hau_Latn",
        True,
        "test-a",
    )
    assert card.license == "Apache-2.0" and "CIRAL" in card.citation
    assert "CIRAL/ciral-corpus" in card.source
    assert task.queries == {"1": "maize harvest in Kano", "2": "football in Kano"}  # 3 is unjudged
    assert task.qrels == {"1": {"DT#1#0": 1, "LG#7#2": 0}, "2": {"VOA#3#1": 1}}
    assert task.corpus["VOA#3#1"].full_text == "Wasanni Kwallon kafa a Kano."


def test_ciral_language_code_and_pools_split(ciral_home: Path):
    task = load_task("hf:CIRAL/ciral/ha", "test-a-pools", cache_dir=ciral_home)
    assert task.card.split == "test-a-pools"
    assert task.qrels["3"] == {"LG#7#2": 1} and task.queries["3"] == "drought in the north"


def test_ciral_unknown_split_and_language(ciral_home: Path):
    with pytest.raises(
        ClirbenchError, match=r"split 'test-b' not found; available splits: test-a, test-a-pools"
    ):
        load_task("hf:CIRAL/ciral/hausa", "test-b", cache_dir=ciral_home)
    with pytest.raises(ClirbenchError, match=r"CIRAL needs a language as subset.*present: hausa"):
        load_task("hf:CIRAL/ciral/somali", cache_dir=ciral_home)


def test_ciral_without_passages_says_which_file_to_fetch(ciral_home: Path):
    shutil.rmtree(ciral_home / "hub" / "datasets--CIRAL--ciral-corpus")
    with pytest.raises(ClirbenchError) as error:
        load_task("hf:CIRAL/ciral/hausa", cache_dir=ciral_home)
    assert (
        "hf download CIRAL/ciral-corpus passages-v1.0/hausa_passages.jsonl --repo-type dataset"
        in str(error.value)
    )


def test_ciral_bad_topics_line_names_file_and_line(ciral_home: Path):
    topics = next((ciral_home / "hub").rglob("topics.ciral-v1.0-ha-test-a.tsv"))
    topics.write_text("1\tmaize harvest in Kano\n2 football without a tab\n")
    with pytest.raises(InputError) as error:
        load_task("hf:CIRAL/ciral/hausa", cache_dir=ciral_home).queries  # noqa: B018
    assert (error.value.path, error.value.line) == (topics, 2)


def test_ciral_local_copy_with_its_passages_beside(ciral_home: Path, tmp_path: Path):
    folder = tmp_path / "ciral"
    shutil.copytree(
        next((ciral_home / "hub" / "datasets--CIRAL--ciral" / "snapshots").iterdir()), folder
    )
    with pytest.raises(InputError, match=r"file not found .the CIRAL passages"):
        load_task(f"hf:{folder}/hausa", cache_dir=tmp_path)
    corpus = next((ciral_home / "hub" / "datasets--CIRAL--ciral-corpus" / "snapshots").iterdir())
    shutil.copytree(corpus / "passages-v1.0", folder / "passages-v1.0")
    task = load_task(f"hf:{folder}/hausa", cache_dir=tmp_path)
    assert task.card.name == "hf:ciral/hausa" and task.card.doc_lang == "hau_Latn"
    assert set(task.corpus) == {"DT#1#0", "LG#7#2", "VOA#3#1"}
