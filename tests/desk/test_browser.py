"""End to end in a real headless Chromium (Playwright driving the distribution's chromium).

Select with `-m browser`; skipped when /usr/bin/chromium is missing (.ci/run installs it).
DESK_SCREENSHOTS=docs writes the Khmer queue and case screenshots the README shows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from registry.models import Case, EnrolmentRequest, Person
from tests.desk.conftest import (
    CITIZEN,
    COMMUNE_DESK,
    DISTRICT,
    PASSWORD,
    SECOND_DESK,
    db,
    preregistration,
    sms_to,
)
from tests.test_cases import complain

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs the distribution's chromium"),
]


@pytest.fixture
def served(desk_app: Flask) -> Iterator[str]:
    """The app on a free local port, in a thread."""
    server = make_server("127.0.0.1", 0, desk_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium; Playwright gives each launch a temporary profile (user-data-dir)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def new_page(browser: Any) -> Any:
    """A page in a browser context of its own (its own cookies), at a laptop's size."""
    return browser.new_context(viewport={"width": 1366, "height": 768}).new_page()


def sign_in(page: Any, base: str, phone: str) -> None:
    page.goto(f"{base}/desk/sign-in")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")  # the keyboard is enough
    page.wait_for_url(f"{base}/desk/")


def sign_out(page: Any) -> None:
    page.click("form[action$='/desk/sign-out'] button")


def test_pick_up_and_resolve_a_complaint_filed_over_ussd(desk_app: Flask, served: str, browser: Any) -> None:
    reference = complain(desk_app, "km")
    page = new_page(browser)
    sign_in(page, served, COMMUNE_DESK)
    page.click(f"a:text-is('{reference}')")
    page.wait_for_url(f"**/desk/cases/{reference}")
    page.click("form:has(input[value=pickup]) button")
    page.fill("#note", "ប្រាក់ត្រូវបានបើកនៅថ្ងៃនេះ")
    page.click("button[value=resolve]")
    page.wait_for_selector(".flash.ok")
    assert any("ប្រាក់ត្រូវបានបើកនៅថ្ងៃនេះ" in body for body in sms_to(desk_app, "+85512345999"))
    with db(desk_app)() as session:
        assert session.scalars(select(Case.status).where(Case.reference == reference)).one() == "resolved"


def test_khmer_queue_and_case_pages_are_light_and_named_in_a_khmer_font(
    desk_app: Flask, served: str, browser: Any, tmp_path: Path
) -> None:
    late = complain(desk_app, "km")
    complain(desk_app, "km", category_key="2")
    preregistration(desk_app, name="សុខ ដារា")
    # The name and phone of a demo household's member: a possible duplicate.
    preregistration(desk_app, name="Sok Srey Pov", phone="+85512345601")
    with db(desk_app).begin() as session:
        case = session.scalars(select(Case).where(Case.reference == late)).one()
        case.ack_due_at = case.ack_due_at - timedelta(days=5)  # type: ignore[operator]
    page = new_page(browser)
    loaded: list[int] = []
    page.on("response", lambda response: loaded.append(len(response.body())))
    sign_in(page, served, COMMUNE_DESK)
    loaded.clear()
    page.goto(f"{served}/desk/")
    assert sum(loaded) < 100_000  # the page with its stylesheet and script
    assert page.get_attribute("html", "lang") == "km"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith('"Khmer OS System"')
    assert page.locator(".late").count() == 1
    assert page.locator(".tag.dup").count() == 1
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-queue-km.png"))
    page.click(f"a:text-is('{late}')")
    page.click("form:has(input[value=pickup]) button")
    page.wait_for_selector(".flash.ok")
    page.fill("#note", "បានទូរស័ព្ទទៅម្ចាស់បណ្តឹង")
    page.click("button[value=note]")
    page.wait_for_selector(".flash.ok")
    page.screenshot(path=str(shots / "desk-case-km.png"), full_page=True)


def test_a_second_officer_cannot_take_the_same_case(desk_app: Flask, served: str, browser: Any) -> None:
    reference = complain(desk_app, "km")
    first, second = new_page(browser), new_page(browser)
    sign_in(first, served, COMMUNE_DESK)
    # The second officer opens the case before the first picks it up.
    sign_in(second, served, SECOND_DESK)
    second.goto(f"{served}/desk/cases/{reference}")
    first.goto(f"{served}/desk/cases/{reference}")
    first.click("form:has(input[value=pickup]) button")
    first.wait_for_selector(".flash.ok")
    second.click("form:has(input[value=pickup]) button")
    second.wait_for_selector(".flash.error")
    assert "Keo Sarun" in second.inner_text("main")
    assert second.locator("form:has(input[value=pickup])").count() == 0


def test_verify_a_preregistration_into_a_household_with_ids(
    desk_app: Flask, served: str, browser: Any
) -> None:
    reference = preregistration(desk_app, name="Sok Dara")
    page = new_page(browser)
    sign_in(page, served, COMMUNE_DESK)
    page.goto(f"{served}/desk/cases/{reference}")
    page.fill("input[name=member_name_0]", "Sok Srey")
    page.select_option("select[name=member_sex_0]", "F")
    page.fill("input[name=member_year_0]", "2012")
    page.click("form:has(input[name=how][value=new]) button[type=submit]")
    page.wait_for_url("**/desk/households/*")
    with db(desk_app)() as session:
        ids = session.scalars(
            select(Person.sp_id).where(Person.full_name.in_(["Sok Dara", "Sok Srey"]))
        ).all()
    assert len(ids) == 2
    text = page.inner_text("main")
    assert all(sp_id in text for sp_id in ids if sp_id)
    assert any(all(sp_id in body for sp_id in ids if sp_id) for body in sms_to(desk_app, CITIZEN))


def test_a_district_officer_approves_an_enrolment(desk_app: Flask, served: str, browser: Any) -> None:
    reference = preregistration(desk_app, name="Sok Dara", programmes=("idpoor",))
    page = new_page(browser)
    sign_in(page, served, COMMUNE_DESK)
    page.goto(f"{served}/desk/cases/{reference}")
    page.click("form:has(input[name=how][value=new]) button[type=submit]")
    page.wait_for_url("**/desk/households/*")
    sign_out(page)
    sign_in(page, served, DISTRICT)
    page.goto(f"{served}/desk/enrolments")
    page.click("button[value=approve]")
    page.wait_for_selector(".flash.ok")
    with db(desk_app)() as session:
        assert session.scalars(select(EnrolmentRequest.status)).one() == "approved"
    assert "Sok Dara" in sms_to(desk_app, CITIZEN)[-1]


def test_ask_the_citizen_from_the_case_page_in_khmer_and_portuguese(
    desk_app: Flask, served: str, browser: Any, tmp_path: Path
) -> None:
    reference = complain(desk_app, "km")
    page = new_page(browser)
    sign_in(page, served, COMMUNE_DESK)
    page.goto(f"{served}/desk/cases/{reference}")
    page.click("form:has(input[value=desk_ack]) button")
    page.wait_for_selector(".flash.ok")
    page.click("form:has(input[value=pickup]) button")
    page.wait_for_selector(".flash.ok")
    page.fill("#question", "តើអ្នកទទួលប្រាក់ចុងក្រោយនៅពេលណា?")
    page.click("button[value=ask]")
    page.wait_for_selector(".flash.ok")
    assert any("តើអ្នកទទួលប្រាក់ចុងក្រោយនៅពេលណា?" in body for body in sms_to(desk_app, CITIZEN))
    shots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "desk-case-actions-km.png"), full_page=True)
    page.select_option("#language", "pt")
    page.click("form[action$='/desk/language'] button")
    page.wait_for_selector("html[lang=pt]")
    assert page.locator("button[value=ask]").inner_text() == "Enviar a pergunta"
    page.screenshot(path=str(shots / "desk-case-actions-pt.png"), full_page=True)
