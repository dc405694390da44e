"""The report by language family and resource level, the gain plot, and the coverage table."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from clirbench.errors import UnknownNameError
from clirbench.report import Leaderboard
from clirbench.report.model import GroupCell, Grouping
from clirbench.stats import compare_systems
from clirbench.stats.grouped import pool_tasks
from clirbench.store import ResultStore
from clirbench.tasks.languages import LANGUAGES, task_language
from tests.reports.conftest import (
    LANGUAGE_TASKS,
    PARTIAL_TASKS,
    PROBE_TASKS,
    build_multilingual_store,
)

RESAMPLES = 2000


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    build_multilingual_store(tmp_path / "results")
    return tmp_path / "results"


@pytest.fixture
def board(store_root: Path) -> Leaderboard:
    return Leaderboard.from_store(store_root, n_resamples=RESAMPLES)


def _task_means(root: Path) -> dict[str, dict[str, float]]:
    """task -> system -> mean nDCG@10, read from the store's per-query scores."""
    means: dict[str, dict[str, float]] = {}
    for cell in ResultStore(root).cells():
        scores = cell.per_query["nDCG@10"]
        task = cell.manifest["task"]["name"]
        means.setdefault(task, {})[cell.manifest["method"]["name"]] = float(
            np.mean(list(scores.values()))
        )
    return means


def _language(task: str) -> str:
    query_lang, doc_lang, _ = LANGUAGE_TASKS[task]
    return task_language(query_lang, doc_lang)


def _table(board: Leaderboard, key: str) -> Grouping:
    return board.report.grouping(key)


def _cell(table: Grouping, label: str, system: str) -> GroupCell | None:
    index = [column.label for column in table.columns].index(label)
    rows = [row for row in table.rows if row.system == system]
    return rows[0].cells[index] if rows else None


def test_group_means_are_macro_averages_over_the_groups_tasks(board: Leaderboard, store_root):
    means = _task_means(store_root)
    for key in ("family", "resource"):
        table = _table(board, key)
        for column in table.columns:
            expected_tasks = tuple(
                sorted(
                    task
                    for task in LANGUAGE_TASKS
                    if (LANGUAGES.get(_language(task)) is not None)
                    and column.label.startswith(
                        LANGUAGES[_language(task)].family
                        if key == "family"
                        else f"class {LANGUAGES[_language(task)].resource}:"
                    )
                )
            )
            assert column.tasks == expected_tasks
            for system in ("optical", "untrained-student", "bm25"):
                value = _cell(table, column.label, system).value
                expected = np.mean([means[task][system] for task in expected_tasks])
                assert value == pytest.approx(expected, abs=1e-12)
    assert board.report.ungrouped == ("toy-en-fr",)  # French has no metadata


def test_worst_language_averages_a_languages_tasks(board: Leaderboard, store_root):
    means = _task_means(store_root)
    hopefuls = _cell(_table(board, "resource"), "class 2: the Hopefuls", "optical")
    by_language = {
        "swh_Latn": np.mean(
            [means["quran-en-swh/verse"]["optical"], means["quran-swh-en/verse"]["optical"]]
        ),
        "hau_Latn": means["quran-en-hau/verse"]["optical"],
        "amh_Ethi": means["quran-en-amh/verse"]["optical"],
    }
    worst = min(by_language, key=by_language.__getitem__)
    assert hopefuls.worst.label == worst
    assert hopefuls.worst.value == pytest.approx(by_language[worst], abs=1e-12)
    # One language in the group (Swahili, two tasks): no worst language to name.
    assert _cell(_table(board, "family"), "Niger-Congo", "optical").worst is None


def test_a_group_mean_needs_every_task_of_the_group(board: Leaderboard):
    family = _table(board, "family")
    (partial,) = [row for row in family.rows if row.system == "partial"]
    values = {
        column.label: cell.value for column, cell in zip(family.columns, partial.cells, strict=True)
    }
    # It ran on quran-en-swh but not quran-swh-en, on hau but not amh or som; jpn is complete.
    assert values["Niger-Congo"] is None and values["Afro-Asiatic"] is None
    assert values["Japonic"] is not None and partial.covered == 1
    assert _cell(family, "Japonic", "partial").is_best
    markdown = board.to_markdown().split("## By language family", 1)[1].split("\n## ", 1)[0]
    (line,) = [line for line in markdown.splitlines() if line.startswith("| partial |")]
    assert line.count("—") == 3 and line.endswith("| 1/4 |")


def _raw_comparisons(root: Path, board: Leaderboard) -> list:
    """Every test of the report, recomputed: each task's, then each multi-task group's (pooled)."""
    per_task: dict[str, dict[str, dict[str, float]]] = {}
    for cell in ResultStore(root).cells():
        task = cell.manifest["task"]["name"]
        if task in LANGUAGE_TASKS:
            per_task.setdefault(task, {})[cell.manifest["method"]["name"]] = cell.per_query[
                "nDCG@10"
            ]
    samples = [per_task[task] for task in sorted(per_task)]
    task_sets = {
        frozenset(column.tasks)
        for table in board.report.groupings
        for column in table.columns
        if len(column.tasks) > 1
    }
    for task_set in sorted(task_sets, key=sorted):
        members = [per_task[task] for task in sorted(task_set)]
        complete = sorted(set.intersection(*(set(m) for m in members)))
        samples.append(pool_tasks([{s: m[s] for s in complete} for m in members]))
    found = []
    for scores in samples:
        means = {s: np.mean(list(v.values())) for s, v in scores.items()}
        best = max(means, key=means.__getitem__)
        pairs = [(s, best) for s in scores if s != best]
        pairs += [(s, "bm25") for s in scores if s not in (best, "bm25")]
        found.extend(
            compare_systems(scores, pairs=pairs, correction="none", n_resamples=RESAMPLES, seed=0)
        )
    return found


def test_group_tests_share_the_reports_holm_correction(board: Leaderboard, store_root: Path):
    from statsmodels.stats.multitest import multipletests

    found = _raw_comparisons(store_root, board)
    assert board.report.settings.comparisons == len(found) == len(board.report.tests)
    adjusted = multipletests([c.p_value for c in found], method="holm")[1]
    assert [t.p_adjusted for t in board.report.tests] == pytest.approx(adjusted, abs=1e-12)
    by_pair = {
        (c.system_a, c.system_b, round(c.difference, 12)): p
        for c, p in zip(found, adjusted, strict=True)
    }
    checked = 0
    for table in board.report.groupings:
        for row in table.rows:
            for i, cell in enumerate(row.cells):
                if cell.vs_best is None or cell.vs_best.p_adjusted is None:
                    continue
                best = next(r.system for r in table.rows if r.cells[i].is_best)
                assert cell.vs_best.difference is not None
                key = (row.system, best, round(cell.vs_best.difference, 12))
                assert cell.vs_best.p_adjusted == pytest.approx(by_pair[key], abs=1e-12)
                checked += 1
    assert checked >= 2 * 8  # two systems below the best in each of the 8 groups


def test_pooled_scores_give_the_macro_average_and_scipys_sign_flip_p_value():
    rng = np.random.default_rng(3)
    # Two tasks of different sizes sharing three query ids (clusters), as Qur'an tasks do.
    first = {f"q{i}": (rng.uniform(), rng.uniform()) for i in range(5)}
    second = {f"q{i}": (rng.uniform(), rng.uniform() + 0.2) for i in range(2, 9)}
    tasks = [
        {"a": {q: v[1] for q, v in task.items()}, "b": {q: v[0] for q, v in task.items()}}
        for task in (first, second)
    ]
    pooled = pool_tasks(tasks)
    for system in ("a", "b"):
        macro = np.mean([np.mean(list(task[system].values())) for task in tasks])
        assert np.mean(list(pooled[system].values())) == pytest.approx(macro, abs=1e-12)
    assert sorted(pooled["a"]) == [f"q{i}" for i in range(9)]  # one unit per query id
    a = np.array([pooled["a"][q] for q in sorted(pooled["a"])])
    b = np.array([pooled["b"][q] for q in sorted(pooled["b"])])
    exact = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf,
        alternative="two-sided",
    ).pvalue
    (ours,) = compare_systems(pooled, pairs=[("a", "b")], correction="none", n_resamples=50_000)
    assert ours.p_value == pytest.approx(exact, abs=0.01)
    assert ours.difference == pytest.approx(np.mean(a - b), abs=1e-12)


def test_gain_points_line_and_correlations_equal_scipys(board: Leaderboard, store_root: Path):
    means = _task_means(store_root)
    gain = board.report.gain
    assert gain is not None and gain.fit and gain.pearson and gain.spearman
    assert (gain.system, gain.reference) == ("optical", "untrained-student")
    languages = sorted({_language(task) for task in LANGUAGE_TASKS})
    assert [point.language for point in gain.points] == languages
    xs, ys = [], []
    for point in gain.points:
        tasks = [task for task in LANGUAGE_TASKS if _language(task) == point.language]
        assert point.tasks == tuple(sorted(tasks))
        x = np.mean([means[t]["untrained-student"] for t in tasks])
        y = np.mean([means[t]["optical"] - means[t]["untrained-student"] for t in tasks])
        assert (point.reference, point.gain) == pytest.approx((x, y), abs=1e-12)
        xs.append(x)
        ys.append(y)
    slope, intercept = np.polyfit(xs, ys, 1)
    assert (gain.fit.slope, gain.fit.intercept) == pytest.approx((slope, intercept), abs=1e-9)
    pearson, spearman = stats.pearsonr(xs, ys), stats.spearmanr(xs, ys)
    assert (gain.pearson.r, gain.pearson.p) == pytest.approx((pearson.statistic, pearson.pvalue))
    assert (gain.spearman.r, gain.spearman.p) == pytest.approx(
        (spearman.statistic, spearman.pvalue)
    )
    assert gain.pearson.r < -0.9  # built so: the weaker the student, the larger the gain

    html = board.to_html()
    svg = html.split('<section id="gain">', 1)[1].split("</svg>", 1)[0]
    assert svg.count('class="point"') == len(languages) and svg.count('class="fit"') == 1
    labels = re.findall(r'class="point-label">([^<]+)<', svg)
    assert labels == [language.split("_")[0] for language in languages]
    markdown = board.to_markdown().split("## Gain of optical over untrained-student", 1)[1]
    assert f"Pearson r = {pearson.statistic:+.4f}" in markdown
    assert "| swh_Latn | quran-en-swh/verse, quran-swh-en/verse |" in markdown


def test_gain_pair_is_a_setting_shown_only_when_both_are_there(store_root: Path):
    other = Leaderboard.from_store(store_root, n_resamples=50, gain=("bm25", "untrained-student"))
    assert other.report.gain is not None
    assert all(point.gain < 0 for point in other.report.gain.points)
    missing = Leaderboard.from_store(store_root, n_resamples=50, gain=("optical", "nmt"))
    assert missing.report.gain is None
    assert "## Gain of" not in missing.to_markdown()
    assert 'id="gain"' not in missing.to_html() and "<circle" not in missing.to_html()
    assert Leaderboard.from_store(store_root, n_resamples=50, gain=None).report.gain is None


def test_coverage_probe_is_its_own_table_and_in_no_average(store_root: Path, tmp_path: Path):
    with_probe = Leaderboard.from_store(store_root, n_resamples=200)
    build_multilingual_store(tmp_path / "plain", probes=False)
    without = Leaderboard.from_store(tmp_path / "plain", n_resamples=200)
    for key in ("overall", "languages", "low_resource", "groupings", "ungrouped", "gain", "tasks"):
        assert getattr(with_probe.report, key) == getattr(without.report, key), key
    assert with_probe.report.settings.comparisons == without.report.settings.comparisons
    assert without.report.coverage is None and "## Coverage probe" not in without.to_markdown()
    coverage = with_probe.report.coverage
    assert coverage is not None
    assert [row.language for row in coverage.rows] == sorted(PROBE_TASKS.values())
    assert coverage.systems == ("bm25", "optical", "untrained-student")
    assert coverage.means == (1.0, 0.0, 0.0)
    assert not set(PROBE_TASKS) & set(with_probe.tasks)
    markdown = with_probe.to_markdown()
    section = markdown.split("## Coverage probe", 1)[1].split("\n## ", 1)[0]
    assert "| yor_Latn | udhr-en-yor/paragraph | 30 | **1.0000** | 0.0000 | 0.0000 |" in section
    assert "udhr-en-yor" not in markdown.split("## Coverage probe", 1)[0]
    assert 'id="coverage"' in with_probe.to_html()


def test_csv_and_latex_have_a_table_per_grouping(board: Leaderboard):
    rows = list(csv.DictReader(io.StringIO(board.to_csv("family"))))
    family = _table(board, "family")
    cells = sum(cell.value is not None for row in family.rows for cell in row.cells)
    assert len(rows) == cells
    (japonic,) = [r for r in rows if r["group"] == "Japonic" and r["system"] == "partial"]
    assert float(japonic["mean"]) == _cell(family, "Japonic", "partial").value
    gain = list(csv.DictReader(io.StringIO(board.to_csv("gain"))))
    assert board.report.gain is not None
    assert [row["language"] for row in gain] == [p.language for p in board.report.gain.points]
    coverage = list(csv.DictReader(io.StringIO(board.to_csv("coverage"))))
    assert {row["task"] for row in coverage} == set(PROBE_TASKS)
    latex = board.to_latex(grouping="resource")
    assert r"class 2: the Hopefuls" in latex and "by resource level" in latex
    assert latex.count(r"\\") - 1 == len(_table(board, "resource").rows)  # + the header
    with pytest.raises(UnknownNameError, match="Did you mean 'family'"):
        board.to_csv("famly")
    with pytest.raises(UnknownNameError):
        board.to_latex(grouping="script")
    assert set(PARTIAL_TASKS) <= set(board.tasks)
