"""The HTML leaderboard in headless Chromium: sortable tables, a screenshot, no console errors.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; skipped
without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clirbench.report import Leaderboard, write_report
from tests.reports.conftest import (
    LANGUAGE_TASKS,
    WIDE_SYSTEMS,
    WIDE_TASKS,
    build_multilingual_store,
    build_wide_store,
)

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400  # the page must fit a 1400-px window without a horizontal scroll bar
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={WIDTH},2400",
)


@pytest.fixture
def browser(tmp_path: Path):
    chromedriver = shutil.which("chromedriver")
    if not CHROMIUM.is_file() or chromedriver is None:
        pytest.skip(
            "needs /usr/bin/chromium and chromedriver: apt-get install -y chromium chromium-driver"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="needs selenium: pip install selenium"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def _column(table, index: int) -> list[str]:
    """Each body row's sort key in column ``index``: its ``data-sort`` value, else its text."""
    cells = [
        row.find_elements("css selector", "th, td")[index]
        for row in table.find_elements("css selector", "tbody tr")
    ]
    return [
        cell.get_attribute("data-sort")
        if cell.get_attribute("data-sort") is not None
        else cell.text
        for cell in cells
    ]


def test_tables_sort_and_page_has_no_console_errors(browser, report_store: Path, tmp_path: Path):
    _, html = write_report(report_store, tmp_path / "out", n_resamples=200)
    browser.get(html.resolve().as_uri())
    overall = browser.find_element("css selector", "#overall table.sortable")
    headers = overall.find_elements("css selector", "thead th")
    names = [header.text for header in headers]
    system, mean = headers[0], headers[names.index("Mean")]

    mean.click()
    ascending = [float(value) for value in _column(overall, names.index("Mean"))]
    assert ascending == sorted(ascending) and _column(overall, 0)[-1] == "strong"
    assert mean.get_attribute("aria-sort") == "ascending"
    mean.click()
    descending = [float(value) for value in _column(overall, names.index("Mean"))]
    assert descending == sorted(ascending, reverse=True) and _column(overall, 0)[0] == "strong"
    assert mean.get_attribute("aria-sort") == "descending"

    system.click()
    assert _column(overall, 0) == ["bm25", "clone", "strong"]
    system.click()
    assert _column(overall, 0) == ["strong", "clone", "bm25"]

    screenshot = tmp_path / "leaderboard.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_wide_leaderboard_fits_1400_px_and_marks_differ(browser, tmp_path: Path):
    """The committed leaderboard's shape (4 tasks, 11 systems, 6 measures): no table scrolls
    sideways at 1400 px, and the three significance marks differ in colour and shape."""
    build_wide_store(tmp_path / "results")
    html = tmp_path / "leaderboard.html"
    board = Leaderboard.from_store(tmp_path / "results", n_resamples=5000)  # enough for every mark
    html.write_text(board.to_html(), encoding="utf-8")
    browser.get(html.resolve().as_uri())
    assert browser.execute_script("return window.innerWidth") == WIDTH
    wraps = browser.find_elements("css selector", ".table-wrap")
    # overall, by language, low-resource, by family, by resource, gain, the tasks, reproduce
    # (its runs and its commands)
    assert len(wraps) == 3 + 2 + 1 + len(WIDE_TASKS) + 2
    widths = "return [arguments[0].scrollWidth, arguments[0].clientWidth]"
    for wrap in wraps:
        scroll, client = browser.execute_script(widths, wrap)
        section = wrap.find_element("xpath", "./ancestor::section[1]").get_attribute("id")
        assert scroll <= client, section
    overall = browser.find_element("css selector", "#overall table")
    headers = [th.text for th in overall.find_elements("css selector", "thead th")]
    assert headers[-3:] == ["Mean", "Coverage", "Worst task"]
    assert all(th.is_displayed() for th in overall.find_elements("css selector", "thead th"))
    assert len(overall.find_elements("css selector", "tbody tr")) == len(WIDE_SYSTEMS)

    style = """const s = getComputedStyle(arguments[0]);
               return [s.color, s.backgroundColor, s.borderTopStyle, s.borderTopLeftRadius];"""
    looks = {}
    for kind in ("below-best", "above-baseline", "below-baseline"):
        marks = browser.find_elements("css selector", f"#overall td .mark-{kind}")
        assert marks, kind  # the synthetic store has every kind of mark
        looks[kind] = tuple(browser.execute_script(style, marks[0]))
        legend = browser.find_element("css selector", f".legend .mark-{kind}")
        assert tuple(browser.execute_script(style, legend)) == looks[kind]  # as the legend shows
    assert len({look[0] for look in looks.values()}) == 3  # three colours
    assert len({look[1:] for look in looks.values()}) == 3  # shapes: plain, filled pill, outlined
    chart = browser.find_element("css selector", "#overall svg.plot")
    assert len(chart.find_elements("css selector", "rect")) == len(WIDE_SYSTEMS)
    assert browser.save_screenshot(str(tmp_path / "wide.png"))
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_groups_gain_plot_and_coverage_fit_1400_px(browser, tmp_path: Path):
    """The sections by family and resource level, the gain plot and the coverage table."""
    build_multilingual_store(tmp_path / "results")
    html = tmp_path / "leaderboard.html"
    board = Leaderboard.from_store(tmp_path / "results", n_resamples=500)
    html.write_text(board.to_html(), encoding="utf-8")
    browser.get(html.resolve().as_uri())
    widths = "return [arguments[0].scrollWidth, arguments[0].clientWidth]"
    for section in ("by-family", "by-resource", "gain", "coverage"):
        wrap = browser.find_element("css selector", f"#{section} .table-wrap")
        scroll, client = browser.execute_script(widths, wrap)
        assert scroll <= client, section
    plot = browser.find_element("css selector", "#gain svg.scatter")
    assert plot.is_displayed() and plot.rect["x"] + plot.rect["width"] <= WIDTH
    languages = {query if doc == "eng_Latn" else doc for query, doc, _ in LANGUAGE_TASKS.values()}
    assert len(plot.find_elements("css selector", "circle")) == len(languages)
    assert browser.save_screenshot(str(tmp_path / "groups.png"))
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
