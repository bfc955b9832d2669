"""The consolidation pages in a real headless Chromium: upload a commune's form, read the report, confirm."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.models import Person, RegistryImport
from tests.desk.conftest import DISTRICT, db
from tests.desk.test_browser import CHROMIUM, browser, new_page, served, sign_in  # noqa: F401
from tests.registry.test_consolidation import GOOD, form

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the distribution's chromium"),
]


def test_upload_a_form_see_the_report_and_confirm(
    desk_app: Flask,
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(form([*GOOD, ["3", "99999999", "Keo Mony", "F", "31/02/1980", "", "1", "", ""]], "km"))
    good = tmp_path / "good.xlsx"
    good.write_bytes(
        form([*GOOD, ["3", "17010101", "Sok Srey Pov", "F", "12/04/1990", "", "1", "", ""]], "km")
    )
    with db(desk_app)() as session:
        before = session.scalar(select(func.count(Person.id))) or 0
    page = new_page(browser)
    sign_in(page, served, DISTRICT)
    page.goto(f"{served}/desk/io")
    assert page.get_attribute("html", "lang") == "km"
    # A bad file: every problem with its line and column, and no way to import it.
    page.set_input_files("#file", str(bad))
    page.click("form[action$='/desk/io/check'] button")
    page.wait_for_selector("#problems")
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 2
    assert "លេខកូដភូមិ" in rows.nth(0).inner_text() and "99999999" in rows.nth(0).inner_text()
    assert page.locator("form[action$='/desk/io/confirm']").count() == 0
    # A good one, with a possible duplicate flagged, then confirmed.
    page.goto(f"{served}/desk/io")
    page.set_input_files("#file", str(good))
    page.click("form[action$='/desk/io/check'] button")
    page.wait_for_selector("#duplicates")
    assert "Sok Srey Pov" in page.locator("#duplicates").inner_text()
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-io-report-km.png"), full_page=True)
    page.click("button[value=keep]")
    page.wait_for_selector(".flash.ok")
    with db(desk_app)() as session:
        assert session.scalar(select(func.count(Person.id))) == before + 5
        done = session.scalars(select(RegistryImport)).one()
        assert done.file_name == "good.xlsx" and done.duplicates == 1
    # The same file sent again is known: nothing to confirm, nothing imported twice.
    page.goto(f"{served}/desk/io")
    assert "good.xlsx" in page.locator("table").inner_text()
    page.set_input_files("#file", str(good))
    page.click("form[action$='/desk/io/check'] button")
    page.wait_for_selector(".flash.ok")
    assert page.locator("form[action$='/desk/io/confirm']").count() == 0
    with db(desk_app)() as session:
        assert session.scalar(select(func.count(Person.id))) == before + 5
