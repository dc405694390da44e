from __future__ import annotations

import numpy as np
import pytest

from clirbench.baselines.fuse import Fuse, fuse_runs, normalise
from clirbench.errors import OptionsError
from clirbench.registry import build_options


def _runs(seed: int = 0, n_runs: int = 3) -> list[dict[str, dict[str, float]]]:
    """Runs of different depths and score scales, no ties, over shared and own documents."""
    rng = np.random.default_rng(seed)
    runs = []
    for r in range(n_runs):
        run = {}
        for q in range(6):
            docs = rng.choice(40, size=int(rng.integers(5, 25)), replace=False)
            scores = rng.normal(loc=r * 3.0, scale=r + 1.0, size=len(docs))
            run[f"q{q}"] = {f"d{d}": float(s) for d, s in zip(docs, scores, strict=True)}
        runs.append(run)
    return runs


def _ranked(run):
    """Each query's documents by score (rounded: sums in another order), ties by id."""
    return {q: sorted(hits, key=lambda d: (-round(hits[d], 12), d)) for q, hits in run.items()}


def test_same_fused_run_as_ranx():
    ranx = pytest.importorskip("ranx")
    runs = _runs()
    cases = [
        ("rrf", "min-max", "rrf"),
        ("combsum", "min-max", "sum"),
        ("combsum", "zmuv", "sum"),
        ("combmnz", "sum", "mnz"),
        ("combsum", "max", "sum"),
    ]
    for fusion, norm, theirs in cases:
        expected = ranx.fuse([ranx.Run(run) for run in runs], norm=norm, method=theirs).to_dict()
        ours = fuse_runs(runs, fusion, norm, 60, k=1000)
        assert set(ours) == set(expected)
        for query, hits in expected.items():
            assert set(ours[query]) == set(hits)
            assert np.allclose([ours[query][d] for d in hits], list(hits.values()), atol=1e-9)
        assert {q: list(hits) for q, hits in ours.items()} == _ranked(expected)


def test_normalisations_by_hand():
    hits = {"a": 1.0, "b": 3.0, "c": 5.0}
    assert normalise(hits, "min-max") == {"a": 0.0, "b": 0.5, "c": 1.0}
    assert normalise(hits, "sum") == {"a": 0.0, "b": 2 / 6, "c": 4 / 6}
    assert normalise(hits, "max") == {"a": 0.2, "b": 0.6, "c": 1.0}
    std = (8 / 3) ** 0.5
    assert normalise(hits, "zmuv") == pytest.approx({"a": -2 / std, "b": 0.0, "c": 2 / std})
    assert normalise({"a": 2.0}, "min-max") == {"a": 0.0}  # denominator floored, as ranx
    assert normalise(hits, "none") == hits


def test_rrf_by_hand_and_depth():
    one = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    two = {"q": {"c": 9.0, "a": 1.0}, "only-here": {"x": 1.0}}
    fused = fuse_runs([one, two], "rrf", "min-max", 60, k=2)
    assert fused["q"] == {"a": 1 / 61 + 1 / 62, "c": 1 / 63 + 1 / 61}
    assert fused["only-here"] == {"x": 1 / 61}  # kept, unlike ranx
    mnz = fuse_runs([one, two], "combmnz", "none", 60, k=5)
    assert mnz["q"] == {"c": 20.0, "a": 8.0, "b": 2.0}


def test_options_and_label():
    options = build_options("fuse", {"systems": ["bm25", {"nmt": {"translators": ["lexical"]}}]})
    assert [d.method for d in options.dependencies()] == ["bm25", "nmt"]
    assert options.dependencies()[1].options.translators == ["lexical"]
    assert Fuse(options).label() == "fuse[bm25+nmt[lexical]]"
    summed = build_options(
        "fuse", {"systems": ["bm25", "me5"], "fusion": "combsum", "norm": "zmuv"}
    )
    assert Fuse(summed).label() == "fuse[bm25+me5,combsum:zmuv]"
    lexical = {"method": "nmt", "options": {"translators": ["lexical"]}}
    assert options.identity()["systems"] == [{"method": "bm25"}, lexical]
    for bad, message in [
        ({"systems": ["bm25"]}, "at least two"),
        ({"systems": ["bm25", "bm25"]}, "twice"),
        ({"systems": ["bm25", "me6"]}, "Did you mean 'me5'"),
        ({"systems": ["bm25", {"bm25": {"k1": -1}}]}, "k1"),
        ({"systems": ["bm25", "me5"], "norm": "zmuv"}, "rrf fuses ranks"),
    ]:
        with pytest.raises(OptionsError, match=message):
            build_options("fuse", bad)
