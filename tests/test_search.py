from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirbench.errors import InputError, MissingDependencyError
from clirbench.method import DenseEncoder
from clirbench.registry import register_method
from clirbench.search import SearchOptions, exact_search, merge_topk, search, shard_topk, topk


def numpy_topk(queries, docs, k, budget_bytes=256 * 2**20):
    """The search clirbench had before torch (numpy argpartition), kept as the reference."""
    n_queries, n_docs = len(queries), len(docs)
    k = min(k, n_docs)
    chunk = max(k, budget_bytes // (4 * max(n_queries, 1)))
    best_scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((n_queries, 0), dtype=np.int64)
    rows = np.arange(n_queries)[:, None]
    for start in range(0, n_docs, chunk):
        scores = queries @ docs[start : start + chunk].T
        if scores.shape[1] > k:
            part = np.argpartition(scores, -k, axis=1)[:, -k:]
            scores = scores[rows, part]
            ids = part + start
        else:
            ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_ids = np.concatenate([best_ids, ids], axis=1)
        if best_scores.shape[1] > k:
            keep = np.argpartition(best_scores, -k, axis=1)[:, -k:]
            best_scores, best_ids = best_scores[rows, keep], best_ids[rows, keep]
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return best_ids[rows, order], best_scores[rows, order]


def strict_topk(queries, docs, k, tie_ranks=None):
    """The definition: all scores sorted by score descending, then tie rank (default: position)."""
    full = queries @ docs.T
    ranks = np.arange(len(docs)) if tie_ranks is None else np.asarray(tie_ranks)
    order = np.stack([np.lexsort((ranks, -row)) for row in full])[:, :k]
    return order, np.take_along_axis(full, order, axis=1)


def random_vectors(seed, n_queries, n_docs, dim=16, integers=False):
    rng = np.random.default_rng(seed)
    if integers:  # small integer entries: dot products are exact, and many are equal
        return (
            rng.integers(-1, 2, size=(n_queries, dim)).astype(np.float32),
            rng.integers(-1, 2, size=(n_docs, dim)).astype(np.float32),
        )
    return rng.normal(size=(n_queries, dim)).astype(np.float32), rng.normal(
        size=(n_docs, dim)
    ).astype(np.float32)


@pytest.mark.parametrize("budget", [64, 4096, 1 << 28])  # tiny budgets force many chunks
def test_topk_matches_full_sort(budget):
    queries, docs = random_vectors(0, 7, 501)
    ids, scores = topk(queries, docs, 10, budget_bytes=budget)
    full = queries @ docs.T
    expected = np.argsort(-full, axis=1)[:, :10]
    assert np.array_equal(ids, expected)
    assert np.allclose(scores, np.take_along_axis(full, expected, axis=1), atol=1e-5)


@pytest.mark.parametrize("budget", [4096, 1 << 20, 1 << 28])
def test_torch_search_equals_the_numpy_search_it_replaced(budget):
    """Same documents, same order and the same float32 scores, to the last bit."""
    queries, docs = random_vectors(1, 50, 3000, dim=32)
    new_ids, new_scores = topk(queries, docs, 100, budget_bytes=budget)
    old_ids, old_scores = numpy_topk(queries, docs, 100, budget_bytes=budget)
    assert np.array_equal(new_ids, old_ids)
    assert np.array_equal(new_scores, old_scores)


@pytest.mark.parametrize("budget", [4096, 1 << 28])
def test_ties_follow_the_strict_order_and_agree_with_the_numpy_search(budget):
    queries, docs = random_vectors(2, 40, 700, dim=6, integers=True)
    ids, scores = topk(queries, docs, 25, budget_bytes=budget)
    expected_ids, expected_scores = strict_topk(queries, docs, 25)
    assert np.array_equal(ids, expected_ids) and np.array_equal(scores, expected_scores)
    old_ids, old_scores = numpy_topk(queries, docs, 25, budget_bytes=budget)
    assert np.array_equal(scores, old_scores)  # the same scores at every rank ...
    for row in range(len(queries)):  # ... and the same documents wherever a score is not tied
        cut = scores[row, -1]
        assert set(ids[row][scores[row] > cut]) == set(old_ids[row][old_scores[row] > cut])
    assert (scores[:, -1] == scores[:, -2]).any()  # the data does tie at the cut


def test_ties_are_broken_by_document_id_and_top_k_is_a_prefix_of_a_deeper_top_k():
    docs = np.ones((6, 2), dtype=np.float32)  # every document scores the same
    doc_ids = ["f", "b", "d", "a", "e", "c"]
    run = exact_search(np.ones((1, 2), dtype=np.float32), docs, ["q"], doc_ids, k=3)
    assert list(run["q"]) == ["a", "b", "c"]
    deeper = exact_search(np.ones((1, 2), dtype=np.float32), docs, ["q"], doc_ids, k=5)
    assert list(deeper["q"])[:3] == list(run["q"])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n_docs=st.integers(1, 60),
    k=st.integers(1, 20),
    budget=st.sampled_from([16, 200, 1 << 20]),
    n_shards=st.integers(1, 4),
)
def test_any_shards_and_budget_give_the_strict_order(seed, n_docs, k, budget, n_shards):
    queries, docs = random_vectors(seed, 3, n_docs, dim=3, integers=True)
    doc_ids = [f"d{(i * 7919) % 1000:03d}-{i}" for i in range(n_docs)]  # id order != position order
    ranks = np.argsort(np.argsort(np.array(doc_ids)))
    bounds = np.sort(np.random.default_rng(seed).integers(0, n_docs + 1, n_shards - 1))
    shards = np.split(docs, bounds)
    ids, scores = topk(queries, shards, k, budget_bytes=budget, doc_ids=doc_ids)
    expected_ids, expected_scores = strict_topk(queries, docs, k, ranks)
    assert np.array_equal(ids, expected_ids) and np.array_equal(scores, expected_scores)


def test_sharded_search_equals_exact_search_over_arrays_memory_maps_and_files(tmp_path):
    queries, docs = random_vectors(3, 30, 2000, dim=24)
    ids, scores = topk(queries, docs, 50)
    paths = []
    for i, part in enumerate(np.array_split(docs, [700, 700, 1500])):  # one shard is empty
        paths.append(tmp_path / f"shard{i}.npy")
        np.save(paths[-1], part)
    memmaps = [np.load(path, mmap_mode="r") for path in paths]
    for shards in (np.array_split(docs, 5), memmaps, paths, [str(path) for path in paths]):
        sharded_ids, sharded_scores = topk(queries, shards, 50, budget_bytes=1 << 16)
        assert np.array_equal(sharded_ids, ids)
        assert np.allclose(sharded_scores, scores, rtol=0, atol=1e-5)


def test_map_reduce_by_hand_equals_exact_search():
    queries, docs = random_vectors(4, 10, 900)
    parts = [
        shard_topk(queries, docs[start : start + 300], 20, offset=start) for start in (0, 300, 600)
    ]
    ids, scores = merge_topk(parts, 20)
    expected_ids, expected_scores = topk(queries, docs, 20)
    assert np.array_equal(ids, expected_ids) and np.allclose(scores, expected_scores, atol=1e-5)


def test_bad_vector_files_are_input_errors(tmp_path):
    queries = np.ones((1, 4), dtype=np.float32)
    wrong_type = tmp_path / "float64.npy"
    np.save(wrong_type, np.ones((3, 4)))
    with pytest.raises(InputError, match="float32"):
        topk(queries, [wrong_type], 1)
    cut = tmp_path / "cut.npy"
    np.save(cut, np.ones((300, 4), dtype=np.float32))
    cut.write_bytes(cut.read_bytes()[:-8])
    with pytest.raises(InputError, match=r"cut.npy"):
        topk(queries, [cut], 1)


def test_k_larger_than_collection():
    ids, scores = topk(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), 10)
    assert ids.tolist() == [[0, 1], [1, 0]] and scores.shape == (2, 2)


def test_hit_with_query_id_equal_to_doc_id_is_kept():
    vectors = np.eye(3, dtype=np.float32)
    run = exact_search(vectors, vectors, ["a", "b", "c"], ["a", "b", "c"], k=1)
    assert run == {"a": {"a": 1.0}, "b": {"b": 1.0}, "c": {"c": 1.0}}


def test_dimension_mismatch():
    with pytest.raises(ValueError, match="dimensions"):
        exact_search(np.ones((1, 3)), np.ones((2, 4)), ["q"], ["a", "b"], k=1)


def _ids(n):
    return [f"d{i}" for i in range(n)]


def test_faiss_flat_equals_exact():
    pytest.importorskip("faiss")
    queries, docs = random_vectors(5, 20, 1500, dim=32)
    shards = np.array_split(docs, 3)
    exact = search(queries, docs, _ids(20), _ids(1500), 30)
    flat = search(queries, shards, _ids(20), _ids(1500), 30, backend="flat")
    assert [list(hits) for hits in flat.values()] == [list(hits) for hits in exact.values()]
    for qid in exact:
        assert np.allclose(list(flat[qid].values()), list(exact[qid].values()), atol=1e-4)


@pytest.mark.parametrize(
    "backend,options",
    [
        ("hnsw", SearchOptions(m=8, ef_construction=40, ef_search=16)),
        ("ivf", SearchOptions(nlist=8, nprobe=8)),
    ],
)
def test_approximate_backends_return_k_hits(backend, options):
    pytest.importorskip("faiss")
    queries, docs = random_vectors(6, 15, 2000, dim=32)
    run = search(queries, np.array_split(docs, 2), _ids(15), _ids(2000), 25, backend, options)
    exact = search(queries, docs, _ids(15), _ids(2000), 25)
    assert all(len(hits) == 25 for hits in run.values())
    overlap = np.mean([len(set(run[q]) & set(exact[q])) / 25 for q in exact])
    assert overlap > 0.5  # nprobe = nlist makes ivf exhaustive; hnsw on 2,000 points finds most


def test_missing_faiss_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    queries, docs = random_vectors(7, 2, 10)
    with pytest.raises(MissingDependencyError, match=r"pip install 'clirbench\[faiss\]'"):
        search(queries, docs, _ids(2), _ids(10), 3, backend="hnsw")


def test_unknown_backend():
    queries, docs = random_vectors(7, 2, 10)
    with pytest.raises(ValueError, match="unknown search backend"):
        search(queries, docs, _ids(2), _ids(10), 3, backend="annoy")


def test_importing_the_search_package_loads_no_numpy_torch_or_faiss():
    code = (
        "import sys, clirbench.search, clirbench.method\n"
        "print([m for m in ('numpy', 'torch', 'faiss') if m in sys.modules])"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "[]"
    )


def test_search_options_are_typed_checked_and_part_of_the_identity_only_when_set():
    from clirbench.method import DenseEncoderOptions

    assert DenseEncoderOptions().identity() == {}  # every stored cell keeps its configuration
    hnsw = DenseEncoderOptions(search="hnsw", search_options={"ef_search": 256})
    assert hnsw.identity() == {"search": "hnsw", "search_options": {"ef_search": 256}}
    assert DenseEncoderOptions(search="flat").identity() == {"search": "flat"}
    with pytest.raises(ValueError, match="nprobe do not apply to search=hnsw"):
        DenseEncoderOptions(search="hnsw", search_options={"nprobe": 4})
    with pytest.raises(ValueError, match="search=exact"):
        DenseEncoderOptions(search_options={"m": 8})
    with pytest.raises(ValueError):
        DenseEncoderOptions(search="annoy")


def test_a_dense_method_searches_with_its_backend_and_the_manifest_records_it(tmp_path):
    pytest.importorskip("faiss")
    from clirbench.runner import MethodSpec, compute_cell
    from clirbench.store import ResultStore

    task = _tiny_task()
    for backend, options, approximate in (("exact", {}, False), ("ivf", {"nlist": 2}, True)):
        method = Letters(Letters.Options(search=backend, search_options=options, cache=False))
        cell = compute_cell(
            method,
            MethodSpec("test-letters", method.options),
            task,
            3,
            ResultStore(tmp_path / backend),
        )
        record = cell.manifest["method"]["search"]
        assert record["backend"] == backend and record["approximate"] is approximate
        assert record["options"] == ({"nlist": 2, "nprobe": 16} if backend == "ivf" else {})
        assert all(len(hits) == 3 for hits in cell.run.values())
        namespace = method.cache_namespace("eng_Latn", "document")
        assert "search" not in namespace["options"]  # vectors are shared by every backend


def test_report_marks_systems_with_approximate_search(tmp_path):
    from clirbench.report import write_report
    from clirbench.store import CellKey, config_hash
    from tests.reports.conftest import _manifest, _scores, build_store

    store = build_store(tmp_path / "results")
    primary = _scores(0)["strong"]
    for task in ("toy-en-ny", "toy-en-fr"):
        chash = config_hash("ann", {"search": "hnsw"}, 100)
        manifest = _manifest(task, "ann", chash)
        manifest["method"]["search"] = {"backend": "hnsw", "approximate": True, "options": {}}
        per_query = {"nDCG@10": primary, "RR@10": primary}
        scores = {measure: sum(primary.values()) / len(primary) for measure in per_query}
        store.save(
            CellKey(task, "test", "ann", chash),
            {q: {"d1": 1.0} for q in primary},
            per_query,
            scores,
            manifest,
        )
    markdown_path, html_path = write_report(store.root, tmp_path / "out", n_resamples=200)
    markdown, html = (
        markdown_path.read_text(encoding="utf-8"),
        html_path.read_text(encoding="utf-8"),
    )
    assert "- ≈ approximate search (faiss hnsw or ivf)" in markdown
    # once in overall, by language, low-resource, by family, by resource level, and in each
    # task's table
    assert markdown.count("| ann ≈ |") == 1 + 1 + 1 + 2 + 2
    assert "| strong |" in markdown and "strong ≈" not in markdown
    assert (
        html.count('class="mark mark-approximate"') == markdown.count("| ann ≈ |") + 1
    )  # + legend


@register_method("test-letters")
class Letters(DenseEncoder):
    """Letter counts: a dense method with no model."""

    def encode(self, texts, lang, role):
        return np.array([[text.count(c) for c in "abcdefgh"] for text in texts], dtype=np.float32)


def _tiny_task():
    from clirbench.tasks.card import TaskCard
    from clirbench.tasks.task import Document, Task, TaskData

    card = TaskCard(
        name="tiny", query_lang="eng_Latn", doc_lang="eng_Latn", source="test", measures=["nDCG@10"]
    )
    texts = ["abc", "bcd", "cde", "def", "efg", "fgh", "aab"]
    corpus = {f"d{i}": Document(text=text) for i, text in enumerate(texts)}
    data = TaskData(
        queries={"q1": "ab", "q2": "fg"}, corpus=corpus, qrels={"q1": {"d0": 1}, "q2": {"d5": 1}}
    )
    return Task(card, lambda: data)


def test_ivf_lists_default_to_four_root_n_with_enough_training_points_per_list():
    from clirbench.search.options import ivf_lists

    assert ivf_lists(SearchOptions(), 1_000_000) == 4000
    assert ivf_lists(SearchOptions(), 1000) == 25  # 4 * sqrt(1000) = 126 lists would be too many
    assert ivf_lists(SearchOptions(), 10) == 1
    assert ivf_lists(SearchOptions(nlist=50), 20) == 20
