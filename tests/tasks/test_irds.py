"""irds: tasks, read through ir_datasets' own loaders from local files; nothing is downloaded."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clirbench.errors import ClirbenchError, InputError
from clirbench.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
TREC_TOPICS = """<top>
<num> Number: 301
<title> maize harvest
<desc> Description:
How large was this year's maize harvest?
<narr> Narrative:
Reports of the harvest are relevant.
</top>

<top>
<num> Number: 302
<title> football
<desc> Description:
Football in Malawi.
<narr> Narrative:
Matches and clubs are relevant.
</top>
"""


@pytest.fixture
def ir_datasets(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """ir_datasets with its home in a temporary folder.

    (When this test is the first to import it.)
    """
    monkeypatch.setenv("IR_DATASETS_HOME", str(tmp_path_factory.getbasetemp() / "ir_datasets_home"))
    return pytest.importorskip("ir_datasets")


def _register(
    ir_datasets,
    name: str,
    folder: Path,
    docs: str,
    topics: str,
    qrels: str | None,
    trec_topics: bool = False,
):
    """Register a dataset built from ir_datasets' own format classes over local files."""
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TrecQueries, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    folder.mkdir(parents=True, exist_ok=True)
    for file, text in (("docs.tsv", docs), ("topics", topics), ("qrels", qrels or "")):
        (folder / file).write_text(text, encoding="utf-8")
    topics_dlc = LocalDownload(folder / "topics")
    parts = [
        TsvDocs(LocalDownload(folder / "docs.tsv"), lang="ny"),
        TrecQueries(topics_dlc, lang="en") if trec_topics else TsvQueries(topics_dlc, lang="en"),
    ]
    if qrels is not None:
        parts.append(TrecQrels(LocalDownload(folder / "qrels"), {0: "not relevant", 1: "relevant"}))
    ir_datasets.registry.register(name, Dataset(*parts))
    return name


DOCS = (
    "d1\tMvula inagwa usiku wonse ku Lilongwe.\n"
    "d2\tAlimi akolola chimanga chambiri.\n"
    "d3\tMpira wa miyendo ku Malawi.\n"
)


def test_trec_topics_read_their_title(ir_datasets, tmp_path: Path):
    name = f"clirbench-test/{tmp_path.name}"
    _register(ir_datasets, name, tmp_path, DOCS, TREC_TOPICS, "301 0 d2 1\n", trec_topics=True)
    task = load_task(f"irds:{name}")
    assert task.card.name == f"irds:{name}"
    assert (task.card.query_lang, task.card.doc_lang) == ("eng_Latn", "nya_Latn")
    assert task.card.low_resource
    assert task.card.source.startswith("ir_datasets ") and task.card.checksum
    assert task.queries == {"301": "maize harvest"}  # 302 has no judgements
    assert task.qrels == {"301": {"d2": 1}}
    assert task.corpus["d3"].text == "Mpira wa miyendo ku Malawi."


def test_split_is_appended_and_becomes_the_cards(ir_datasets, tmp_path: Path):
    base = f"clirbench-test/{tmp_path.name}"
    _register(ir_datasets, f"{base}/test", tmp_path, DOCS, "q1\train at night\n", "q1 0 d1 1\n")
    task = load_task(f"irds:{base}", split="test", doc_lang="swh_Latn")
    assert task.card.name == f"irds:{base}/test" and task.card.split == "test"
    assert task.card.doc_lang == "swh_Latn"  # the override wins over the dataset's "ny"
    assert task.queries == {"q1": "rain at night"}


@pytest.mark.parametrize(
    ("docs", "topics", "qrels", "where", "number", "problem"),
    [
        (
            DOCS.replace("Alimi akolola chimanga chambiri.", " "),
            "q1\train\n",
            "q1 0 d1 1\n",
            "docs",
            2,
            "'d2' has empty text",
        ),
        (DOCS, "q1\train\nq2\t \n", "q1 0 d1 1\n", "queries", 2, "query 'q2' has empty text"),
        (DOCS, "q1\train\nq1\tagain\n", "q1 0 d1 1\n", "queries", 2, "duplicate query id 'q1'"),
        (DOCS, "q1\train\n", "q1 0 d1 1\nq1 0 d9 1\n", "qrels", 2, "unknown document id 'd9'"),
        (DOCS, "q1\train\n", "q1 0 d1 1\nq7 0 d1 1\n", "qrels", 2, "unknown query id 'q7'"),
    ],
)
def test_bad_records_name_dataset_and_record(
    ir_datasets, tmp_path: Path, docs, topics, qrels, where, number, problem
):
    name = _register(ir_datasets, f"clirbench-test/{tmp_path.name}", tmp_path, docs, topics, qrels)
    with pytest.raises(InputError) as error:
        load_task(f"irds:{name}").qrels  # noqa: B018 - loading is lazy
    assert str(error.value.path) == f"irds:{name} {where}"
    assert error.value.line == number
    assert problem in str(error.value)


def test_malformed_file_is_reported_with_the_dataset(ir_datasets, tmp_path: Path):
    name = _register(
        ir_datasets, f"clirbench-test/{tmp_path.name}", tmp_path, DOCS, "q1\train\n", "q1 d1 1\n"
    )
    with pytest.raises(
        ClirbenchError, match=rf"ir_datasets could not read '{name}'.*expected 4 columns"
    ):
        load_task(f"irds:{name}").qrels  # noqa: B018


def test_unknown_id_suggests_close_ones(ir_datasets):
    with pytest.raises(
        ClirbenchError,
        match=r"unknown ir_datasets id 'miracl/sw/devv'. Did you mean 'miracl/sw/dev'",
    ):
        load_task("irds:miracl/sw/devv")


def test_dataset_without_judgements_lists_its_children(ir_datasets):
    with pytest.raises(
        ClirbenchError, match=r"'hc4/fa' has no queries or qrels.*hc4/fa/dev, hc4/fa/test"
    ):
        load_task("irds:hc4/fa")


def test_data_that_would_be_downloaded_is_reported_not_fetched(ir_datasets, tmp_path: Path):
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TsvDocs, TsvQueries
    from ir_datasets.util import Download, LocalDownload, RequestsDownload

    original_stream = RequestsDownload.stream
    remote = Download(
        [RequestsDownload("https://example.invalid/docs.tsv")],
        cache_path=str(tmp_path / "docs.tsv"),
    )
    (tmp_path / "topics").write_text("q1\train\n")
    name = f"clirbench-test/{tmp_path.name}"
    topics = TsvQueries(LocalDownload(tmp_path / "topics"))
    ir_datasets.registry.register(name, Dataset(TsvDocs(remote), topics, _qrels(tmp_path)))
    with pytest.raises(ClirbenchError) as error:
        load_task(f"irds:{name}").corpus  # noqa: B018
    message = str(error.value)
    assert (
        f"ir_datasets '{name}' is not on this machine: it would download https://example.invalid/docs.tsv"
        in message
    )
    assert f"ir_datasets export {name} docs" in message and "IR_DATASETS_HOME" in message
    assert not (tmp_path / "docs.tsv").exists()
    assert RequestsDownload.stream is original_stream  # the refusal is lifted afterwards


def test_file_ir_datasets_cannot_download_is_named(ir_datasets, tmp_path: Path):
    """Some collections (TREC disks, ...) are not downloadable.

    ir_datasets expects a copy in its home.
    """
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    (tmp_path / "topics").write_text("q1\train\n")
    name = f"clirbench-test/{tmp_path.name}"
    missing = tmp_path / "licensed" / "docs.tsv"
    topics = TsvQueries(LocalDownload(tmp_path / "topics"))
    ir_datasets.registry.register(
        name, Dataset(TsvDocs(LocalDownload(missing)), topics, _qrels(tmp_path))
    )
    expected = (
        rf"'{name}' needs a file it cannot download: {missing}.*ir-datasets.com/clirbench-test.html"
    )
    with pytest.raises(ClirbenchError, match=expected):
        load_task(f"irds:{name}").corpus  # noqa: B018


def _qrels(folder: Path):
    from ir_datasets.formats import TrecQrels
    from ir_datasets.util import LocalDownload

    (folder / "qrels").write_text("q1 0 d1 1\n")
    return TrecQrels(LocalDownload(folder / "qrels"), {1: "relevant"})


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ir_datasets", None)
    with pytest.raises(ClirbenchError, match="pip install ir_datasets"):
        load_task("irds:miracl/sw/dev")


# A real ir_datasets id, read in a fresh interpreter whose IR_DATASETS_HOME is a temporary folder
# (ir_datasets fixes each dataset's folder when it is imported). Sockets are disabled there, so a
# download attempt that got past the refusal would fail the test rather than reach the network.
_LOAD_IN_FRESH_PROCESS = """
import json, socket, sys

def no_network(*args, **kwargs):
    raise AssertionError("network access attempted")

socket.socket.connect = no_network
from clirbench.errors import ClirbenchError
from clirbench.tasks import load_task

try:
    task = load_task(sys.argv[1])
    result = {"card": task.card.model_dump(), "queries": task.queries, "qrels": task.qrels,
              "corpus": {doc_id: [doc.title, doc.text] for doc_id, doc in task.corpus.items()}}
except ClirbenchError as error:
    result = {"error": str(error)}
print(json.dumps(result))
"""


def _load_in_fresh_process(spec: str, home: Path) -> dict:
    env = {**os.environ, "IR_DATASETS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_FRESH_PROCESS, spec],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _miracl_sw_dev(home: Path) -> None:
    """MIRACL Swahili dev, laid out as ir_datasets stores it after a download (a few records)."""
    base = home / "miracl" / "v1.0" / "sw"
    (base / "docs").mkdir(parents=True)
    (base / "dev").mkdir(parents=True)
    docs = [
        {"docid": "10#0", "title": "Nairobi", "text": "Nairobi ni mji mkuu wa Kenya."},
        {"docid": "10#1", "title": "Nairobi", "text": "Mvua kubwa ilinyesha Nairobi usiku."},
        {
            "docid": "22#0",
            "title": "Kilimanjaro",
            "text": "Kilimanjaro ni mlima mrefu zaidi Afrika.",
        },
    ]
    with gzip.open(base / "docs" / "docs-0.jsonl.gz", "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(doc) + "\n" for doc in docs)
    (base / "dev" / "topics.tsv").write_text(
        "1\tMji mkuu wa Kenya ni upi?\n2\tMlima mrefu zaidi Afrika ni upi?\n"
    )
    (base / "dev" / "qrels.tsv").write_text("1\tQ0\t10#0\t1\n1\tQ0\t10#1\t0\n2\tQ0\t22#0\t1\n")


def test_real_dataset_id_from_its_on_disk_layout(tmp_path: Path):
    pytest.importorskip("ir_datasets")
    _miracl_sw_dev(tmp_path)
    result = _load_in_fresh_process("irds:miracl/sw/dev", tmp_path)
    card = result["card"]
    assert (card["name"], card["split"]) == ("irds:miracl/sw/dev", "dev")
    assert (card["query_lang"], card["doc_lang"], card["low_resource"]) == (
        "swh_Latn",
        "swh_Latn",
        True,
    )
    assert "Making a MIRACL" in card["citation"]
    assert result["queries"] == {
        "1": "Mji mkuu wa Kenya ni upi?",
        "2": "Mlima mrefu zaidi Afrika ni upi?",
    }
    assert result["qrels"] == {"1": {"10#0": 1, "10#1": 0}, "2": {"22#0": 1}}
    assert result["corpus"]["22#0"] == ["Kilimanjaro", "Kilimanjaro ni mlima mrefu zaidi Afrika."]


def test_real_dataset_id_absent_says_how_to_fetch(tmp_path: Path):
    pytest.importorskip("ir_datasets")
    result = _load_in_fresh_process("irds:miracl/sw/dev", tmp_path)
    message = result["error"]
    assert (
        "ir_datasets 'miracl/sw/dev' is not on this machine: it would download https://huggingface.co/"
        in message
    )
    assert "ir_datasets export miracl/sw/dev qrels > /dev/null" in message
    assert str(tmp_path) in message
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
