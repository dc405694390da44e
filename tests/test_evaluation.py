from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from clirbench.errors import ClirbenchError
from clirbench.evaluation import aggregate, evaluate


def _random_run_and_qrels(seed: int = 0):
    rng = np.random.default_rng(seed)
    qrels = {
        f"q{q}": {f"d{d}": int(rng.integers(0, 3)) for d in rng.choice(200, 12, replace=False)}
        for q in range(40)
    }
    run = {
        f"q{q}": {f"d{d}": float(rng.normal()) for d in rng.choice(200, 100, replace=False)}
        for q in range(40)
    }
    return run, qrels


def test_scores_equal_pytrec_eval():
    run, qrels = _random_run_and_qrels()
    ours = aggregate(evaluate(run, qrels, ["nDCG@10", "nDCG@20", "AP", "RR@10", "R@100"]))
    raw = pytrec_eval.RelevanceEvaluator(
        qrels, {"ndcg_cut.10,20", "map", "recip_rank", "recall.100"}
    ).evaluate(run)
    for ours_name, trec_name in [
        ("nDCG@10", "ndcg_cut_10"),
        ("nDCG@20", "ndcg_cut_20"),
        ("AP", "map"),
        ("R@100", "recall_100"),
    ]:
        assert ours[ours_name] == pytest.approx(
            np.mean([raw[q][trec_name] for q in raw]), abs=1e-12
        )

    # RR@10 cuts pytrec_eval's recip_rank at rank 10; compute the cut by hand.
    def rr10(q):
        ranked = sorted(run[q].items(), key=lambda hit: (-hit[1], hit[0]))[:10]
        return next((1 / r for r, (d, _) in enumerate(ranked, 1) if qrels[q].get(d, 0) > 0), 0.0)

    assert ours["RR@10"] == pytest.approx(np.mean([rr10(q) for q in qrels]), abs=1e-12)


def test_unanswered_query_scores_zero_and_counts():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    scores = evaluate({"q1": {"d1": 1.0}, "q3": {"d9": 1.0}}, qrels, ["nDCG@10", "MRR@10"])
    assert scores == {"nDCG@10": {"q1": 1.0, "q2": 0.0}, "RR@10": {"q1": 1.0, "q2": 0.0}}
    assert aggregate(scores)["nDCG@10"] == 0.5


def test_unknown_measure():
    with pytest.raises(ClirbenchError, match="unknown measure 'P@x'"):
        evaluate({}, {"q": {"d": 1}}, ["P@x"])


def test_ties_are_broken_by_doc_id_for_every_measure():
    # d1 and d2 tie; the stored run ranks d1 first, so RR@10 and AP must both see rank 2 for d2.
    scores = evaluate({"q": {"d2": 1.0, "d1": 1.0}}, {"q": {"d2": 1}}, ["RR@10", "AP", "R@1"])
    assert scores == {"RR@10": {"q": 0.5}, "AP": {"q": 0.5}, "R@1": {"q": 0.0}}


def test_each_measure_aggregates_as_ir_measures_does():
    """Counts (NumRet, NumRel, NumQ, NumRelRet) are sums, the rest means: as ir_measures says."""
    import ir_measures

    run, qrels = _random_run_and_qrels(seed=3)
    names = ["nDCG@10", "AP", "P@5", "NumRet", "NumRel", "NumQ", "NumRet(rel=1)"]
    ours = aggregate(evaluate(run, qrels, names))
    theirs = ir_measures.calc_aggregate([ir_measures.parse_measure(n) for n in names], qrels, run)
    assert len(theirs) == len(names) == len(ours)
    for measure, value in theirs.items():
        assert ours[str(measure)] == pytest.approx(value, abs=1e-12), measure
    assert ours["NumQ"] == len(qrels) == 40  # a mean would say 1
    assert ours["NumRet"] == 40 * 100


def test_aggregate_of_no_queries_is_zero():
    assert aggregate({"NumRet": {}, "nDCG@10": {}}) == {"NumRet": 0.0, "nDCG@10": 0.0}
