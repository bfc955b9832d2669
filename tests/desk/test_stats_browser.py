"""The statistics page in a real headless Chromium: chart, drilling down, downloading."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from registry.statistics import refresh_statistics
from tests.desk.conftest import DISTRICT, db
from tests.desk.test_browser import CHROMIUM, browser, new_page, served, sign_in  # noqa: F401  (fixtures)
from tests.registry.test_statistics import NOW, ZONE, hand_counted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the distribution's chromium"),
]


def test_a_district_officer_reads_the_chart_drills_down_and_downloads(
    desk_app: Flask,
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    hand_counted(desk_app)
    refresh_statistics(db(desk_app), ZONE, now=NOW)
    page = new_page(browser)
    sign_in(page, served, DISTRICT)
    page.click("header nav a[href$='/desk/stats']")
    page.wait_for_url("**/desk/stats")
    assert page.locator("figure.chart svg g.bar").count() == 7  # the district's communes
    page.select_option("#chart", "complaints")
    page.click("form.filters button")
    page.wait_for_url("**chart=complaints**")
    bar = page.locator("figure.chart svg g.bar").first
    assert bar.locator("text").nth(1).text_content() == "4"
    width = float(bar.locator("rect").get_attribute("width") or 0)
    assert width > 300  # the longest bar spans the plot
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-stats-km.png"), full_page=True)
    page.click("table.stats a:text-is('ចារឈូក')")
    page.wait_for_url("**area=170101**")
    assert page.locator("figure.chart svg g.bar").count() == 3  # its villages
    with page.expect_download() as download:
        page.click("a[href*='/desk/stats.csv']")
    saved = tmp_path / "stats.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(saved.open(encoding="utf-8-sig")))
    assert rows[1][0] == "170101" and rows[1][2] == "4"  # Char Chhuk's four households
