"""Bad input to every reader ends in one clear ClirbenchError naming the file and line.

Each case is a distinct way a user's file can be wrong. The ``expected`` line is where the
error must point; ``fragment`` is a word of the message that says what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirbench.bitext import read_bitext
from clirbench.config import parse_assignments, read_options_file
from clirbench.errors import InputError, OptionsError
from clirbench.registry import build_options
from clirbench.tasks.beir import beir_task
from clirbench.trec import read_qrels, read_run
from tests.reliability.conftest import CORPUS, QUERIES, assert_clean, jsonl, write_folder

VALID_CORPUS = jsonl(CORPUS)  # three lines: a bad fourth line is line 4
VALID_QUERIES = jsonl(QUERIES)  # two lines: a bad third line is line 3


def _doc(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode() + b"\n"


CORPUS_CASES = {
    "latin1-byte": (b'{"_id": "d4", "text": "caf\xe9"}\n', 4, "not UTF-8"),
    "bad-continuation-byte": (b'{"_id": "d4", "text": "\xc3\x28"}\n', 4, "not UTF-8"),
    "utf8-cut-at-eof": (b'{"_id": "d4", "text": "\xe2\x82', 4, "not UTF-8"),
    "cesu-surrogate-bytes": (b'{"_id": "d4", "text": "\xed\xa0\x80"}\n', 4, "not UTF-8"),
    "overlong-encoding": (b'{"_id": "d4", "text": "\xc0\xaf"}\n', 4, "not UTF-8"),
    "id-with-space": (_doc(_id="d 4", text="x"), 4, "whitespace"),
    "id-with-tab": (_doc(_id="d\t4", text="x"), 4, "whitespace"),
    "id-with-nbsp": (_doc(_id="d\u00a04", text="x"), 4, "whitespace"),
    "id-with-ideographic-space": (_doc(_id="d\u30004", text="x"), 4, "whitespace"),
    "id-with-newline-escape": (_doc(_id="d\n4", text="x"), 4, "whitespace"),
    "id-with-nel": (_doc(_id="d\u00854", text="x"), 4, "whitespace"),
    "id-trailing-space": (_doc(_id="d4 ", text="x"), 4, "whitespace"),
    "id-empty": (_doc(_id="", text="x"), 4, "is empty"),
    "id-nul": (_doc(_id="d\u00004", text="x"), 4, "control character"),
    "id-escape-char": (_doc(_id="d\u001b4", text="x"), 4, "control character"),
    "id-delete-char": (_doc(_id="d\u007f4", text="x"), 4, "control character"),
    "id-lone-surrogate": (b'{"_id": "d\\ud800", "text": "x"}\n', 4, "surrogate"),
    "text-lone-surrogate": (b'{"_id": "d4", "text": "x\\udfff"}\n', 4, "surrogate"),
    "title-lone-surrogate": (b'{"_id": "d4", "title": "\\ud83d", "text": "x"}\n', 4, "surrogate"),
    "id-float": (_doc(_id=1.5, text="x"), 4, "must be a string"),
    "id-bool": (_doc(_id=True, text="x"), 4, "must be a string"),
    "id-null": (_doc(_id=None, text="x"), 4, "must be a string"),
    "id-list": (_doc(_id=["d4"], text="x"), 4, "must be a string"),
    "id-object": (_doc(_id={"a": 1}, text="x"), 4, "must be a string"),
    "id-nan-literal": (b'{"_id": NaN, "text": "x"}\n', 4, "must be a string"),
    "missing-id": (_doc(text="x"), 4, "missing '_id'"),
    "missing-text": (_doc(_id="d4"), 4, "missing 'text'"),
    "text-null": (_doc(_id="d4", text=None), 4, "must be a string"),
    "text-list": (_doc(_id="d4", text=["a"]), 4, "must be a string"),
    "title-list": (_doc(_id="d4", title=["a"], text="x"), 4, "'title' must be a string"),
    "title-number": (_doc(_id="d4", title=7, text="x"), 4, "'title' must be a string"),
    "empty-text-and-title": (_doc(_id="d4", title=" ", text="\t"), 4, "empty text"),
    "duplicate-id": (_doc(_id="d1", text="again"), 4, "duplicate document id"),
    "malformed-json": (b'{"_id": "d4", \n', 4, "malformed JSON"),
    "single-quotes": (b"{'_id': 'd4', 'text': 'x'}\n", 4, "malformed JSON"),
    "trailing-comma": (b'{"_id": "d4", "text": "x",}\n', 4, "malformed JSON"),
    "two-objects-one-line": (b'{"_id": "d4", "text": "x"}{"_id": "d5"}\n', 4, "malformed JSON"),
    "json-array": (b'["d4", "x"]\n', 4, "expected a JSON object"),
    "json-string": (b'"d4"\n', 4, "expected a JSON object"),
    "json-number": (b"4\n", 4, "expected a JSON object"),
    "json-null": (b"null\n", 4, "expected a JSON object"),
    "nested-100k-deep": (b"[" * 100_000 + b"\n", 4, "malformed JSON"),
    "5000-digit-number": (b'{"_id": ' + b"7" * 5000 + b', "text": "x"}\n', 4, "malformed JSON"),
}


@pytest.mark.parametrize("case", CORPUS_CASES, ids=list(CORPUS_CASES))
def test_corpus_line(folder: Path, case: str):
    bad, line, fragment = CORPUS_CASES[case]
    write_folder(folder, corpus=VALID_CORPUS + bad)
    with pytest.raises(InputError) as error:
        beir_task(folder).corpus  # noqa: B018 - loading is lazy
    assert_clean(error.value, folder / "corpus.jsonl", line, fragment)


WHOLE_CORPUS_CASES = {
    "empty-file": (b"", None, "the corpus is empty"),
    "only-blank-lines": (b"\n \n\t\n", None, "the corpus is empty"),
    "utf16-file": ('{"_id": "d1", "text": "x"}\n'.encode("utf-16"), 1, "not UTF-8"),
    "utf32-file": ('{"_id": "d1", "text": "x"}\n'.encode("utf-32"), 1, "not UTF-8"),
    "gzip-file": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 1, "not UTF-8"),
    "bom-in-line-2": (VALID_CORPUS[:40] + b"\n\xef\xbb\xbf{}", None, "malformed JSON"),
}


@pytest.mark.parametrize("case", WHOLE_CORPUS_CASES, ids=list(WHOLE_CORPUS_CASES))
def test_whole_corpus(folder: Path, case: str):
    data, line, fragment = WHOLE_CORPUS_CASES[case]
    write_folder(folder, corpus=data)
    with pytest.raises(InputError) as error:
        beir_task(folder).corpus  # noqa: B018 - loading is lazy
    assert_clean(error.value, folder / "corpus.jsonl", line, fragment)


def test_corpus_missing_or_a_folder(folder: Path):
    write_folder(folder)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(InputError) as error:
        beir_task(folder)
    assert_clean(error.value, folder / "corpus.jsonl", None, "file not found")
    (folder / "corpus.jsonl").mkdir()
    with pytest.raises(InputError) as error:
        beir_task(folder)
    assert_clean(error.value, folder / "corpus.jsonl", None, "file not found")


QUERY_CASES = {
    "latin1-byte": (b'{"_id": "q3", "text": "\xe0 la"}\n', 3, "not UTF-8"),
    "id-with-space": (_doc(_id="q 3", text="x"), 3, "whitespace"),
    "id-with-form-feed": (_doc(_id="q\f3", text="x"), 3, "whitespace"),
    "id-with-c1-control": (_doc(_id="q\u00933", text="x"), 3, "control character"),
    "id-empty": (_doc(_id="", text="x"), 3, "is empty"),
    "empty-text": (_doc(_id="q3", text="  "), 3, "empty text"),
    "text-surrogate": (b'{"_id": "q3", "text": "\\ud800 x"}\n', 3, "surrogate"),
    "duplicate-id": (_doc(_id="q1", text="again"), 3, "duplicate query id"),
    "missing-text": (_doc(_id="q3"), 3, "missing 'text'"),
    "text-object": (_doc(_id="q3", text={"en": "x"}), 3, "must be a string"),
    "malformed-json": (b'{"_id": "q3" "text": "x"}\n', 3, "malformed JSON"),
    "json-list": (b"[]\n", 3, "expected a JSON object"),
}


@pytest.mark.parametrize("case", QUERY_CASES, ids=list(QUERY_CASES))
def test_queries_line(folder: Path, case: str):
    bad, line, fragment = QUERY_CASES[case]
    write_folder(folder, queries=VALID_QUERIES + bad)
    with pytest.raises(InputError) as error:
        beir_task(folder).queries  # noqa: B018 - loading is lazy
    assert_clean(error.value, folder / "queries.jsonl", line, fragment)


HEADER = b"query-id\tcorpus-id\tscore\nq1\td1\t1\n"  # a bad third line is line 3
QRELS_CASES = {
    "latin1-byte": (b"q2\td\xf62\t1\n", 3, "not UTF-8"),
    "two-columns": (b"q2\td2\n", 3, "expected 3 columns"),
    "five-columns": (b"q2\t0\td2\t1\textra\n", 3, "expected 3 columns"),
    "relevance-word": (b"q2\td2\tyes\n", 3, "not a number"),
    "relevance-fraction": (b"q2\td2\t1.5\n", 3, "not a whole number"),
    "relevance-nan": (b"q2\td2\tnan\n", 3, "not a whole number"),
    "relevance-inf": (b"q2\td2\tinf\n", 3, "not a whole number"),
    "relevance-huge": (b"q2\td2\t1e12\n", 3, "out of range"),
    "unknown-query": (b"q9\td2\t1\n", 3, "unknown query id"),
    "unknown-document": (b"q2\td9\t1\n", 3, "unknown document id"),
    "duplicate-judgement": (b"q1\td1\t2\n", 3, "judges document"),
    "control-char-id": (b"q2\td\x012\t1\n", 3, "control character"),
    "id-with-nbsp-splits": ("q2\td\u00a02\t1\n".encode(), 3, "unknown document id"),
}


@pytest.mark.parametrize("case", QRELS_CASES, ids=list(QRELS_CASES))
def test_folder_qrels_line(folder: Path, case: str):
    bad, line, fragment = QRELS_CASES[case]
    write_folder(folder, qrels=HEADER + bad)
    with pytest.raises(InputError) as error:
        beir_task(folder).qrels  # noqa: B018 - loading is lazy
    assert_clean(error.value, folder / "qrels" / "test.tsv", line, fragment)


def test_folder_qrels_header_only_and_missing_split(folder: Path):
    write_folder(folder, qrels=b"query-id\tcorpus-id\tscore\n")
    with pytest.raises(InputError) as error:
        beir_task(folder).qrels  # noqa: B018 - loading is lazy
    assert_clean(error.value, folder / "qrels" / "test.tsv", None, "no relevance judgements")
    with pytest.raises(InputError) as error:
        beir_task(folder, split="dev")
    assert_clean(error.value, folder / "qrels" / "dev.tsv", None, "available splits: test")


CARD_CASES = {
    "latin1-byte": (b"name: caf\xe9\n", 1, "not UTF-8"),
    "unclosed-bracket": (b"name: x\nmeasures: [nDCG@10\n", None, "malformed YAML"),
    "tab-indent": (b"name: x\n\tquery_lang: eng_Latn\n", 2, "malformed YAML"),
    "bell-character": (b"name: x\x07\n", None, "malformed YAML"),
    "python-tag": (b"name: !!python/object:os.system x\n", 1, "malformed YAML"),
    "top-level-list": (b"- name\n- x\n", None, "expected a mapping"),
    "top-level-scalar": (b"just words\n", None, "expected a mapping"),
    "integer-key": (b"1: x\nname: y\n", None, "expected a mapping"),
    "bool-key": (b"yes: x\n", None, "expected a mapping"),
    "bad-language": (b"query_lang: english\n", None, "not a language code"),
    "unknown-field": (b"nmae: x\n", None, "extra"),
    "name-list": (b"name: [a, b]\n", None, "name"),
    "unknown-measure": (b"measures: [nDCG@x]\n", None, "measures"),
    "split-number": (b"split: 3\n", None, "plain name"),
    "split-path": (b"split: ../../etc/passwd\n", None, "plain name"),
    "deep-nesting": (b"name: " + b"[" * 20_000 + b"\n", None, "YAML"),
}


@pytest.mark.parametrize("case", CARD_CASES, ids=list(CARD_CASES))
def test_task_yaml(folder: Path, case: str):
    data, line, fragment = CARD_CASES[case]
    write_folder(folder, card=data)
    with pytest.raises(InputError) as error:
        beir_task(folder)
    assert_clean(error.value, folder, line, fragment)


RUN_LINE = b"q1 Q0 d1 1 3.5 sys\n"  # a bad second line is line 2
RUN_CASES = {
    "five-columns": (b"q1 Q0 d2 2 1.0\n", 2, "expected 6 columns"),
    "seven-columns": (b"q1 Q0 d 2 2 1.0 sys\n", 2, "expected 6 columns"),
    "score-word": (b"q1 Q0 d2 2 high sys\n", 2, "not a number"),
    "score-nan": (b"q1 Q0 d2 2 nan sys\n", 2, "not a finite number"),
    "score-NaN": (b"q1 Q0 d2 2 NaN sys\n", 2, "not a finite number"),
    "score-inf": (b"q1 Q0 d2 2 inf sys\n", 2, "not a finite number"),
    "score-minus-infinity": (b"q1 Q0 d2 2 -Infinity sys\n", 2, "not a finite number"),
    "score-overflow": (b"q1 Q0 d2 2 1e999 sys\n", 2, "not a finite number"),
    "duplicate-document": (b"q1 Q0 d1 2 1.0 sys\n", 2, "twice"),
    "latin1-byte": (b"q1 Q0 d\xe92 2 1.0 sys\n", 2, "not UTF-8"),
    "control-char-id": (b"q1 Q0 d\x002 2 1.0 sys\n", 2, "control character"),
    "nbsp-in-id": ("q1 Q0 d\u00a02 2 1.0 sys\n".encode(), 2, "expected 6 columns"),
}


@pytest.mark.parametrize("case", RUN_CASES, ids=list(RUN_CASES))
def test_run_line(tmp_path: Path, case: str):
    bad, line, fragment = RUN_CASES[case]
    path = tmp_path / "run.trec"
    path.write_bytes(RUN_LINE + bad)
    with pytest.raises(InputError) as error:
        read_run(path)
    assert_clean(error.value, path, line, fragment)


@pytest.mark.parametrize(
    "data", [b"", b"\n\n", "\ufeff".encode()], ids=["empty", "blank", "bom-only"]
)
def test_run_empty(tmp_path: Path, data: bytes):
    path = tmp_path / "run.trec"
    path.write_bytes(data)
    with pytest.raises(InputError) as error:
        read_run(path)
    assert_clean(error.value, path, None, "the run is empty")


STANDALONE_QRELS_CASES = {
    "latin1-byte": (b"q1 0 d\xe9 1\n", 1, "not UTF-8"),
    "one-column": (b"q1\n", 1, "expected 3 columns"),
    "relevance-fraction": (b"q1 0 d1 0.5\n", 1, "not a whole number"),
    "relevance-minus-inf": (b"q1 0 d1 -inf\n", 1, "not a whole number"),
    "duplicate": (b"q1 0 d1 1\nq1 0 d1 0\n", 2, "judges document"),
    "only-header": (b"query-id\tcorpus-id\tscore\n", None, "no relevance judgements"),
    "escape-char-id": (b"q\x1b1 0 d1 1\n", 1, "control character"),
}


@pytest.mark.parametrize("case", STANDALONE_QRELS_CASES, ids=list(STANDALONE_QRELS_CASES))
def test_standalone_qrels(tmp_path: Path, case: str):
    data, line, fragment = STANDALONE_QRELS_CASES[case]
    path = tmp_path / "qrels.txt"
    path.write_bytes(data)
    with pytest.raises(InputError) as error:
        read_qrels(path)
    assert_clean(error.value, path, line, fragment)


@pytest.mark.parametrize("reader", [read_run, read_qrels], ids=["run", "qrels"])
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_run_and_qrels_paths(tmp_path: Path, reader, kind: str):
    path = tmp_path / "input.txt"
    if kind == "folder":
        path.mkdir()
    with pytest.raises(InputError) as error:
        reader(path)
    assert_clean(error.value, path, None, "file not found" if kind == "missing" else "is a folder")


BITEXT_CASES = {
    "tsv-one-column": ("b.tsv", b"hello\tmoni\nhello\n", 2, "expected 2 tab-separated"),
    "tsv-three-columns": ("b.tsv", b"a\tb\tc\n", 1, "expected 2 tab-separated"),
    "tsv-empty-target": ("b.tsv", b"hello\t \n", 1, "empty sentence"),
    "tsv-latin1": ("b.tsv", b"caf\xe9\tkhofi\n", 1, "not UTF-8"),
    "tsv-only-blank": ("b.tsv", b"\n  \n", None, "no sentence pairs"),
    "tsv-empty-file": ("b.tsv", b"", None, "no sentence pairs"),
    "jsonl-malformed": ("b.jsonl", b'{"source": "a", \n', 1, "malformed JSON"),
    "jsonl-array": ("b.jsonl", b'["a", "b"]\n', 1, "'source' and 'target'"),
    "jsonl-missing-target": ("b.jsonl", b'{"source": "a"}\n', 1, "'source' and 'target'"),
    "jsonl-number-source": ("b.jsonl", b'{"source": 5, "target": "b"}\n', 1, "must be strings"),
    "jsonl-null-target": ("b.jsonl", b'{"source": "a", "target": null}\n', 1, "must be strings"),
    "jsonl-surrogate": ("b.jsonl", b'{"source": "a\\ud800", "target": "b"}\n', 1, "surrogate"),
    "jsonl-deep-nesting": ("b.jsonl", b"[" * 100_000, 1, "malformed JSON"),
    "jsonl-utf16": ("b.jsonl", '{"source": "a", "target": "b"}'.encode("utf-16"), 1, "UTF-8"),
}


@pytest.mark.parametrize("case", BITEXT_CASES, ids=list(BITEXT_CASES))
def test_bitext(tmp_path: Path, case: str):
    name, data, line, fragment = BITEXT_CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as error:
        read_bitext(path, "eng_Latn", "nya_Latn")
    assert_clean(error.value, path, line, fragment)


@pytest.mark.parametrize("kind", ["missing", "folder", "bad-language"])
def test_bitext_path_and_languages(tmp_path: Path, kind: str):
    path = tmp_path / "b.tsv"
    if kind == "folder":
        path.mkdir()
    elif kind == "bad-language":
        path.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_bitext(path, "english" if kind == "bad-language" else "eng_Latn", "nya_Latn")
    fragment = {"missing": "file not found", "folder": "is a folder", "bad-language": "language"}
    assert_clean(error.value, path, None, fragment[kind])


OPTIONS_FILE_CASES = {
    "latin1-byte": (b"bm25:\n  variant: r\xf6bertson\n", 2, "not UTF-8"),
    "malformed": (b"bm25: {k1: \n", None, "malformed YAML"),
    "top-level-list": (b"- bm25\n", None, "expected a mapping"),
    "method-scalar": (b"bm25: 3\n", None, "expected a mapping"),
    "method-list": (b"bm25: [k1, 2]\n", None, "expected a mapping"),
    "integer-option-key": (b"bm25:\n  1: 2\n", None, "expected a mapping"),
    "integer-method-key": (b"7:\n  k1: 2\n", None, "expected a mapping"),
    "deep-nesting": (b"bm25: " + b"{a: " * 20_000 + b"\n", None, "YAML"),
}


@pytest.mark.parametrize("case", OPTIONS_FILE_CASES, ids=list(OPTIONS_FILE_CASES))
def test_options_file(tmp_path: Path, case: str):
    data, line, fragment = OPTIONS_FILE_CASES[case]
    path = tmp_path / "options.yaml"
    path.write_bytes(data)
    with pytest.raises(InputError) as error:
        read_options_file(path)
    assert_clean(error.value, path, line, fragment)


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_options_file_path(tmp_path: Path, kind: str):
    path = tmp_path / "options.yaml"
    if kind == "folder":
        path.mkdir()
    with pytest.raises(InputError) as error:
        read_options_file(path)
    assert_clean(error.value, path, None, "file not found" if kind == "missing" else "is a folder")


ASSIGNMENT_CASES = {
    "no-equals": ("bm25.k1", "METHOD.OPTION=VALUE"),
    "no-method": ("=3", "METHOD.OPTION=VALUE"),
    "no-option": ("bm25=3", "METHOD.OPTION=VALUE"),
    "unclosed-list": ("bm25.k1=[", "not a YAML"),
    "unclosed-quote": ("bm25.variant='lucene", "not a YAML"),
    "mapping-colon": ("bm25.variant=a: b: c", "not a YAML"),
}


@pytest.mark.parametrize("case", ASSIGNMENT_CASES, ids=list(ASSIGNMENT_CASES))
def test_set_assignment(case: str):
    assignment, fragment = ASSIGNMENT_CASES[case]
    with pytest.raises(OptionsError) as error:
        parse_assignments([assignment])
    assert_clean(error.value, None, None, fragment)


OPTION_RANGE_CASES = {
    "bm25-k1-nan-string": ("bm25", "k1=nan", "finite"),
    "bm25-k1-yaml-nan": ("bm25", "k1=.nan", "finite"),
    "bm25-k1-inf": ("bm25", "k1=.inf", "finite"),
    "bm25-k1-negative": ("bm25", "k1=-3", "greater than or equal to 0"),
    "bm25-b-negative": ("bm25", "b=-0.1", "greater than or equal to 0"),
    "bm25-b-above-one": ("bm25", "b=1.5", "less than or equal to 1"),
    "bm25-b-infinity-string": ("bm25", "b=Infinity", "finite"),
    "nmt-k1-negative": ("nmt", "k1=-1", "greater than or equal to 0"),
    "nmt-b-nan": ("nmt", "b=nan", "finite"),
    "nmt-batch-size-zero": ("nmt", "batch_size=0", "greater than or equal to 1"),
    "nmt-query-translations-zero": ("nmt", "query_translations=0", "greater than or equal to 1"),
    "me5-batch-size-zero": ("me5", "batch_size=0", "greater than or equal to 1"),
    "me5-threads-zero": ("me5", "num_threads=0", "greater than or equal to 1"),
    "st-batch-size-negative": ("st", "batch_size=-8", "greater than or equal to 1"),
    "st-max-length-zero": ("st", "max_length=0", "greater than or equal to 1"),
    "mbert-max-length-negative": ("mbert", "max_length=-1", "greater than or equal to 1"),
    "optical-lr-zero": ("optical", "lr=0", "greater than 0"),
    "optical-lr-nan": ("optical", "lr=nan", "finite"),
    "optical-steps-negative": ("optical", "steps=-1", "greater than or equal to 0"),
    "optical-train-batch-zero": ("optical", "train_batch_size=0", "greater than 0"),
    "optical-warmup-above-one": ("optical", "warmup=2", "less than or equal to 1"),
    "optical-weight-decay-inf": ("optical", "weight_decay=.inf", "finite"),
    "optical-sinkhorn-eps-zero": ("optical", "sinkhorn_eps=0", "greater than 0"),
    "optical-threads-zero": ("optical", "num_threads=0", "greater than or equal to 1"),
    "optical-all-weights-zero": ("optical", "ot_weight=0", "at least one"),
    "optical-mse-batch-size-zero": ("optical+mse", "batch_size=0", "greater than or equal to 1"),
    "distill-mse-anchor-nan": ("distill-mse", "anchor_weight=nan", "finite"),
}


@pytest.mark.parametrize("case", OPTION_RANGE_CASES, ids=list(OPTION_RANGE_CASES))
def test_option_ranges(case: str):
    method, assignment, fragment = OPTION_RANGE_CASES[case]
    values = parse_assignments([f"{method}.{assignment}"])[method]
    with pytest.raises(OptionsError) as error:
        build_options(method, values)
    assert_clean(error.value, None, None, fragment)
    assert assignment.split("=")[0] in str(error.value) or "at least one" in fragment
