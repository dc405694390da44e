"""The leaderboard report: Markdown, one self-contained HTML page, a dict, CSV and LaTeX."""

from clirbench.report.leaderboard import Leaderboard, write_report

__all__ = ["Leaderboard", "write_report"]
