"""The HTML leaderboard in headless Chromium: sortable tables, a screenshot, no console errors.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; skipped without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clirbench.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1300,2400",
)


@pytest.fixture
def browser(tmp_path: Path):
    chromedriver = shutil.which("chromedriver")
    if not CHROMIUM.is_file() or chromedriver is None:
        pytest.skip("needs /usr/bin/chromium and chromedriver: apt-get install -y chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install selenium")
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
    cells = [row.find_elements("css selector", "th, td")[index] for row in table.find_elements("css selector", "tbody tr")]
    return [cell.get_attribute("data-sort") if cell.get_attribute("data-sort") is not None else cell.text for cell in cells]


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
