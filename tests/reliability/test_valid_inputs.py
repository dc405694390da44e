"""Valid files in forms the readers must accept: BOM, CRLF or CR line ends, non-Latin ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirbench.bitext import read_bitext
from clirbench.config import read_options_file
from clirbench.tasks.beir import beir_task
from clirbench.trec import read_qrels, read_run
from tests.reliability.conftest import CARD, CORPUS, QRELS, QUERIES, jsonl, write_folder

BOM = b"\xef\xbb\xbf"


def _variants(data: bytes) -> dict[str, bytes]:
    return {
        "bom": BOM + data,
        "crlf": data.replace(b"\n", b"\r\n"),
        "cr-only": data.replace(b"\n", b"\r"),
        "bom-crlf": BOM + data.replace(b"\n", b"\r\n"),
        "no-final-newline": data.rstrip(b"\n"),
    }


@pytest.mark.parametrize("file", ["corpus", "queries", "qrels", "card"])
@pytest.mark.parametrize("variant", list(_variants(b"")))
def test_beir_folder_variants(folder: Path, file: str, variant: str):
    original = {
        "corpus": jsonl(CORPUS),
        "queries": jsonl(QUERIES),
        "qrels": QRELS.encode(),
        "card": CARD.encode(),
    }
    write_folder(folder, **{file: _variants(original[file])[variant]})
    task = beir_task(folder)
    assert task.card.name == "rel-tiny" and task.card.doc_lang == "nya_Latn"
    assert set(task.corpus) == {"d1", "d2", "d3"}
    assert task.queries == {"q1": "rain at night", "q2": "a running dog"}
    assert task.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}


def test_non_latin_and_numeric_ids(folder: Path):
    corpus = [
        {"_id": "ምዕራፍ-1", "text": "ሰላም"},
        {"_id": 42, "text": "nambala"},
        {"_id": "文書#3", "text": "x"},
    ]
    queries = [{"_id": "問1", "text": "y"}]
    qrels = "問1\tምዕራፍ-1\t1\n問1\t42\t0\n問1\t文書#3\t2\n"
    write_folder(folder, corpus=jsonl(corpus), queries=jsonl(queries), qrels=qrels.encode())
    task = beir_task(folder)
    assert task.qrels == {"問1": {"ምዕራፍ-1": 1, "42": 0, "文書#3": 2}}


def test_trec_qrels_and_zero_width_characters(folder: Path):
    """Four-column TREC qrels; a zero-width joiner is not whitespace and survives splitting."""
    corpus = [{"_id": "d\u200d1", "text": "x"}, {"_id": "d2", "text": "y"}]
    write_folder(folder, corpus=jsonl(corpus), qrels="q1 0 d\u200d1 1\nq2 0 d2 -1\n".encode())
    assert beir_task(folder).qrels == {"q1": {"d\u200d1": 1}, "q2": {"d2": -1}}


@pytest.mark.parametrize("variant", list(_variants(b"")))
def test_run_and_qrels_variants(tmp_path: Path, variant: str):
    run, qrels = tmp_path / "run.trec", tmp_path / "qrels.tsv"
    run.write_bytes(_variants(b"q1 Q0 d1 1 2.5 s\nq1 Q0 d2 2 -1e-3 s\n")[variant])
    qrels.write_bytes(_variants(QRELS.encode())[variant])
    assert read_run(run) == {"q1": {"d1": 2.5, "d2": -0.001}}
    assert read_qrels(qrels) == {"q1": {"d1": 1}, "q2": {"d2": 1}}


@pytest.mark.parametrize("variant", list(_variants(b"")))
def test_bitext_variants(tmp_path: Path, variant: str):
    tsv, lines = tmp_path / "b.tsv", tmp_path / "b.jsonl"
    tsv_text = "good morning\tmwadzuka bwanji\nthank you\tzikomo\n"
    tsv.write_bytes(_variants(tsv_text.encode())[variant])
    records = [
        {"source": "good morning", "target": "mwadzuka bwanji"},
        {"source": "thank you", "target": "zikomo"},
    ]
    lines.write_bytes(_variants("".join(json.dumps(r) + "\n" for r in records).encode())[variant])
    for path in (tsv, lines):
        bitext = read_bitext(path, "eng_Latn", "nya_Latn")
        assert bitext.pairs == (("good morning", "mwadzuka bwanji"), ("thank you", "zikomo"))


@pytest.mark.parametrize("data", [b"", b"# only a comment\n", BOM + b"bm25:\n  k1: 1.2\r\n"])
def test_options_file_variants(tmp_path: Path, data: bytes):
    path = tmp_path / "options.yaml"
    path.write_bytes(data)
    assert read_options_file(path) == ({"bm25": {"k1": 1.2}} if b"bm25" in data else {})
