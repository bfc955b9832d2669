"""An announcement from compose to delivered counts, in a real headless Chromium.

`DESK_SCREENSHOTS=docs pytest -m browser -k ticked_villages` rewrites the README's screenshots of
ticked villages and their preview, in Khmer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from registry.models import Area, Household, HouseholdPhone
from registry.outbox import record_delivery
from registry.staff_auth import set_demo_passwords
from tests.desk.conftest import DISTRICT, PASSWORD, db
from tests.desk.test_browser import CHROMIUM, browser, new_page, sign_in
from tests.jobs import run_jobs

__all__ = ["browser"]  # the fixture, shared with the desk's other browser tests

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the distribution's chromium"),
]

KM = "ថ្ងៃបើកប្រាក់ ថ្ងៃទី ១៥ នៅសាលាឃុំ។"


@pytest.fixture
def served_at(at_app: Flask) -> Iterator[str]:
    """The app sending through the fake AT, with desk passwords, on a free local port."""
    set_demo_passwords(db(at_app), PASSWORD)
    # No pacing: a burst worker runs no scheduler (the pacing has its own test in tests/registry).
    at_app.config["ANNOUNCE_RATE"] = 0
    server = make_server("127.0.0.1", 0, at_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_an_announcement_from_compose_to_delivered(
    at_app: Flask, fake_at: Any, served_at: str, browser: Any
) -> None:
    page = new_page(browser)
    sign_in(page, served_at, DISTRICT)
    page.click("nav a[href$='/desk/announce']")
    page.fill("#area", "1701")
    page.check("input[value=chiefs]")
    page.fill("#text_km", KM)
    page.click("#preview")
    recipients = int(page.text_content("#recipients") or "0")
    assert recipients >= 1 and int(page.text_content("#segments") or "0") == recipients
    page.click("form[action$='/announce/send'] button")
    page.wait_for_selector("#pending")
    assert int(page.text_content("#pending") or "0") == recipients
    run_jobs(at_app)
    assert len(fake_at.received) == recipients and {r["message"] for r in fake_at.received} == {KM}
    for report in fake_at.received:
        record_delivery(db(at_app), report["message_id"], "Success", None)
    page.reload()
    assert int(page.text_content("#delivered") or "0") == recipients
    assert int(page.text_content("#pending") or "0") == 0


def _households(app: Flask, village: str, phones: list[str]) -> None:
    with db(app).begin() as session:
        village_id = session.scalars(select(Area.id).where(Area.code == village)).one()
        for phone in phones:
            session.add(Household(village_id=village_id, size=4, phones=[HouseholdPhone(phone=phone)]))


def test_an_announcement_to_ticked_villages_in_khmer(
    at_app: Flask, fake_at: Any, served_at: str, browser: Any, tmp_path: Path
) -> None:
    shared = "+85517700009"  # a phone of a household in each of the two ticked villages
    _households(at_app, "17010102", ["+85517700001", "+85517700002", shared])
    _households(at_app, "17010201", ["+85517700003", shared])
    _households(at_app, "17010103", ["+85517700004"])  # not ticked
    page = new_page(browser)
    sign_in(page, served_at, DISTRICT)
    page.click("nav a[href$='/desk/announce']")
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.locator("input[name=village]").count() == 21
    assert page.locator("fieldset.villages legend").first.inner_text().startswith("ចារឈូក")
    page.check("input[value=households]")
    page.check("input[name=village][value='17010102']")
    page.check("input[name=village][value='17010201']")
    page.fill("#text_km", KM)
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-announce-villages-km.png"), full_page=True)
    page.press("#programme", "Enter")  # the Enter key previews; it does not list other villages
    page.wait_for_selector("#villages")
    assert page.locator("#villages li").all_inner_texts() == ["គោកចំបក់ 17010102", "ព្រៃគុយ 17010201"]
    assert int(page.text_content("#recipients") or "0") == 4  # the shared phone once
    assert int(page.text_content("#segments") or "0") == 4
    page.screenshot(path=str(shots / "desk-announce-preview-km.png"), full_page=True)
    page.click("form[action$='/announce/send'] button:not(.quiet)")
    page.wait_for_selector("#pending")
    assert int(page.text_content("#pending") or "0") == 4
    run_jobs(at_app)
    received = sorted(r["to"] for r in fake_at.received)
    assert received == sorted(["+85517700001", "+85517700002", "+85517700003", shared])
    for report in fake_at.received:
        record_delivery(db(at_app), report["message_id"], "Success", None)
    page.reload()
    assert int(page.text_content("#delivered") or "0") == 4
    assert page.locator("#villages li").count() == 2
