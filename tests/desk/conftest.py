"""Desk fixtures: staff with passwords, cases filed through the registry's services, signed-in clients."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from conversations.case_texts import CaseTexts
from conversations.prereg import Texts as PreRegistrationTexts
from registry.cases import Complaint, file_complaint
from registry.db import utcnow
from registry.models import OutboxMessage, Staff
from registry.preregistration import Declaration, submit_preregistration
from registry.settings import ServiceSettings
from registry.staff import add_staff
from registry.staff_auth import set_demo_passwords

PASSWORD = "correct horse battery"
COMMUNE_DESK = "+85512700001"  # Keo Sarun, desk of Char Chhuk (170101), district 1701
OTHER_DESK = "+85512700008"  # Pen Sreyleak, desk of 171201, district 1712
SECOND_DESK = "+85512700099"  # a second officer at Char Chhuk, added by the fixture
DISTRICT = "+85512800001"  # Hout Sarin, district 1701
OTHER_DISTRICT = "+85512800002"  # district 1712
PROVINCE = "+85512900001"  # province 17
CITIZEN = "+85512345999"
VILLAGE = "17010101"  # Trapeang Thom, commune 170101
OTHER_VILLAGE = "17120101"  # commune 171201, district 1712
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def db(app: Flask) -> Any:
    """The app's session factory."""
    return app.extensions["janela"].db


def settings(app: Flask) -> ServiceSettings:
    """The settings the app's services run with."""
    return app.extensions["janela"].settings.services  # type: ignore[no-any-return]


def staff_id(app: Flask, phone: str) -> int:
    """Return the id of the desk staff using phone."""
    with db(app)() as session:
        query = select(Staff.id).where(Staff.phone == phone, Staff.role != "village_chief")
        return session.scalars(query).one()


@pytest.fixture
def desk_app(app: Flask) -> Flask:
    """The app with passwords for the demo desk staff and a second officer at Char Chhuk."""
    add_staff(db(app), "commune_desk", "170101", SECOND_DESK, "Second Officer")
    add_staff(db(app), "national_admin", None, "+85512999999", "National Admin")
    # One hash for everyone, as the demo does: argon2 is slow on purpose.
    set_demo_passwords(db(app), PASSWORD)
    return app


def token(client: FlaskClient, path: str = "/desk/sign-in") -> str:
    """Return the CSRF token of a page's form."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, phone: str, password: str = PASSWORD) -> Any:
    """Sign in through the form, as a browser would."""
    return client.post(
        "/desk/sign-in", data={"phone": phone, "password": password, "csrf_token": token(client)}
    )


def signed_in(app: Flask, phone: str) -> FlaskClient:
    """Return a client signed in as the staff member using phone."""
    client = app.test_client()
    response = sign_in(client, phone)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def complaint(app: Flask, village: str = VILLAGE, category: str = "payment_missing") -> str:
    """File a complaint through the same service as USSD; return its reference."""
    return file_complaint(
        db(app),
        Complaint(category, village, "ខ្ញុំមិនទាន់ទទួលប្រាក់ខែនេះ", name="Srey Pov"),
        CITIZEN,
        "km",
        f"test:{uuid.uuid4()}",
        CaseTexts("KH"),
        settings(app),
    )


def preregistration(
    app: Flask,
    name: str = "Sok Dara",
    village: str = VILLAGE,
    programmes: tuple[str, ...] = ("idpoor",),
    phone: str = CITIZEN,
) -> str:
    """Pre-register through the same service as USSD; return the case reference."""
    return submit_preregistration(
        db(app),
        Declaration(name, "M", 1980, None, village, 4, programmes, phone),
        "km",
        utcnow(),
        f"test:{uuid.uuid4()}",
        PreRegistrationTexts(),
        settings(app),
    ).reference


def sms_to(app: Flask, phone: str) -> list[str]:
    """Return the bodies of the SMS written to phone, oldest first."""
    with db(app)() as session:
        return list(
            session.scalars(
                select(OutboxMessage.body).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)
            )
        )


_FILE_LINK = re.compile(r'href="(/desk/exports/\d+/file)"')


def ask_export_on_page(client: FlaskClient, **fields: str) -> Any:
    """Ask for an export through the consolidation page's form, as a browser would."""
    return client.post("/desk/io/export", data={"csrf_token": token(client, "/desk/io"), **fields})


def download_links(client: FlaskClient) -> list[str]:
    """Return the download links "My exports" shows, newest first."""
    return _FILE_LINK.findall(client.get("/desk/exports").get_data(as_text=True))


def exported(app: Flask, client: FlaskClient, **fields: str) -> Any:
    """Ask for an export, let a real worker build it, and download it from "My exports"."""
    from tests.jobs import run_jobs

    asked = ask_export_on_page(client, **fields)
    assert asked.status_code == 302 and asked.location.endswith("/desk/exports"), asked.status_code
    run_jobs(app)
    links = download_links(client)
    assert links, "no export ready to download"
    return client.get(links[0])
