"""The committed leaderboards are what the committed per-query results give with this code.

``reports/results/`` holds every cell of the leaderboards without its run (``clirbench store
export --without-runs``); rendering them must give ``reports/leaderboard.md``,
``reports/quran/leaderboard.md`` and ``reports/adaptation/{,mrr/}leaderboard.md`` byte for
byte, with the options of the report commands in ``reports/leaderboard.sh`` and
``reports/quran.sh``. A change to the report's code or to the results therefore comes with the
rebuilt reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clirbench.report import Leaderboard

REPORTS = Path(__file__).parents[2] / "reports"


# The systems and tasks of issue 13's question (monolingual adaptation, noise) at the quick and
# default presets, each system tested against the untrained student; once by nDCG@10, once by
# MRR@10 (RR@10).
ADAPTATION: dict[str, Any] = {
    "tasks": ["suite:lowres", "suite:noisy"],
    "methods": [
        "bm25",
        "nmt[lexical]",
        "untrained-student",
        "mlm-student",
        "optical",
        "optical+mlm",
        # the same at the default presets, where they were run
        "mlm-student[adapt_preset=default,mlm_max_length=96,mlm_steps=500]",
        "optical[preset=default,steps=500]",
        "optical+mlm[adapt_preset=default,mlm_max_length=96,mlm_steps=500,preset=default,steps=500]",
    ],
    "baseline": "untrained-student",
    "gain": ("mlm-student", "untrained-student"),
}


@pytest.mark.parametrize(
    ("stores", "folder", "options"),
    [
        (("bible", "quran"), REPORTS, {"baseline": "nmt[lexical]", "n_resamples": 20_000}),
        (("quran",), REPORTS / "quran", {"baseline": "nmt[lexical]"}),
        (("bible", "quran"), REPORTS / "adaptation", ADAPTATION),
        (("bible", "quran"), REPORTS / "adaptation" / "mrr", {**ADAPTATION, "measure": "RR@10"}),
    ],
    ids=["leaderboard", "quran", "adaptation", "adaptation-mrr"],
)
def test_committed_leaderboard_is_rendered_from_the_committed_results(
    stores: tuple[str, ...], folder: Path, options: dict[str, Any]
):
    board = Leaderboard.from_store([REPORTS / "results" / store for store in stores], **options)
    assert board.to_markdown() == (folder / "leaderboard.md").read_text(encoding="utf-8")
    assert board.to_html() == (folder / "leaderboard.html").read_text(encoding="utf-8")
