"""An export in a real headless Chromium, in Khmer: ask, wait on My exports, download the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from conversations.i18n import Translator
from tests.desk.conftest import DISTRICT
from tests.desk.test_browser import CHROMIUM, browser, new_page, served, sign_in  # noqa: F401
from tests.jobs import run_jobs
from tests.registry.test_consolidation import GOOD, form, run_import

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the distribution's chromium"),
]


def test_ask_for_an_export_wait_for_it_and_download_it(
    desk_app: Flask,
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    km = Translator("km")
    run_import(desk_app, form(GOOD))
    page = new_page(browser)
    sign_in(page, served, DISTRICT)
    page.goto(f"{served}/desk/io")
    page.select_option("#area", "1701")
    page.select_option("#format", "xlsx")
    page.click("form[action$='/desk/io/export'] button")
    page.wait_for_url(f"{served}/desk/exports")
    assert km("Waiting") in page.locator("table").inner_text()
    assert page.locator("a[href$='/file']").count() == 0
    run_jobs(desk_app)  # a worker builds it while the page waits
    # The page reloads by itself (every 10 s while an export waits) and offers the file.
    page.wait_for_selector("a[href$='/file']", timeout=20_000)
    assert km("Ready") in page.locator("table").inner_text()
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-exports-km.png"), full_page=True)
    with page.expect_download() as waiting:
        page.click("a[href$='/file']")
    download = waiting.value
    assert download.suggested_filename.startswith("janela-1701-") and download.suggested_filename.endswith(
        ".xlsx"
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(str(saved))
    book = load_workbook(saved)
    assert book.sheetnames[1] == km("Persons")
    names = {row[4] for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert {"Phal Dara", "សុខ ស្រីមុំ"} <= names
