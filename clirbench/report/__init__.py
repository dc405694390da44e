"""The leaderboard report: Markdown and one self-contained HTML page, made from a result store."""

from clirbench.report.render import write_report

__all__ = ["write_report"]
