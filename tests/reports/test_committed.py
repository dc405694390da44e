"""The committed leaderboards are what the committed per-query results give with this code.

``reports/results/`` holds every cell of the leaderboards without its run (``clirbench store
export --without-runs``); rendering them must give ``reports/leaderboard.md`` and
``reports/quran/leaderboard.md`` byte for byte, with the options of the report commands in
``reports/leaderboard.sh`` and ``reports/quran.sh``. A change to the report's code or to the
results therefore comes with the rebuilt reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.report import Leaderboard

REPORTS = Path(__file__).parents[2] / "reports"


@pytest.mark.parametrize(
    ("stores", "folder"),
    [(("bible", "quran"), REPORTS), (("quran",), REPORTS / "quran")],
    ids=["leaderboard", "quran"],
)
def test_committed_leaderboard_is_rendered_from_the_committed_results(
    stores: tuple[str, ...], folder: Path
):
    board = Leaderboard.from_store(
        [REPORTS / "results" / store for store in stores], baseline="nmt[lexical]"
    )
    assert board.to_markdown() == (folder / "leaderboard.md").read_text(encoding="utf-8")
    assert board.to_html() == (folder / "leaderboard.html").read_text(encoding="utf-8")
