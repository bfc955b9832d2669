"""Signing in: passwords, lock-out after five failures, CSRF, cookies, set-up codes, production key."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from config import ConfigError, load
from conversations.i18n import Translator
from desk.texts import DeskTexts
from registry.models import AuditEntry, OutboxMessage
from registry.outbox import SmsPolicy
from registry.services import set_language
from registry.staff_auth import LockPolicy, send_setup_code
from tests.desk.conftest import COMMUNE_DESK, PASSWORD, db, sign_in, sms_to, staff_id, token

# The desk speaks the deployment's language (km in the tests) until the officer chooses.
LOCKED = Translator("km")("Too many failed tries: this account is locked for a while. Try again later.")


def audit_actions(app: Flask) -> list[str]:
    with db(app)() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_queue_needs_a_signed_in_officer(desk_app: Flask) -> None:
    response = desk_app.test_client().get("/desk/")
    assert response.status_code == 302
    assert "/desk/sign-in" in response.headers["Location"]


def test_sign_in_with_the_right_password_is_recorded(desk_app: Flask) -> None:
    client = desk_app.test_client()
    response = sign_in(client, COMMUNE_DESK)
    assert response.status_code == 302
    assert client.get("/desk/").status_code == 200
    assert "sign_in" in audit_actions(desk_app)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_over_https(desk_app: Flask) -> None:
    client = desk_app.test_client()
    page = client.get("/desk/sign-in", base_url="https://localhost").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/desk/sign-in",
        data={"phone": COMMUNE_DESK, "password": PASSWORD, "csrf_token": csrf},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/desk/sign-in"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_national_number_signs_in_too(desk_app: Flask) -> None:
    assert sign_in(desk_app.test_client(), "012 700 001").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(desk_app: Flask) -> None:
    client = desk_app.test_client()
    response = client.post("/desk/sign-in", data={"phone": COMMUNE_DESK, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/desk/").status_code == 302  # still signed out


def test_five_failures_lock_the_account_even_for_the_right_password(desk_app: Flask) -> None:
    client = desk_app.test_client()
    for _ in range(4):
        assert sign_in(client, COMMUNE_DESK, "wrong password!").status_code == 401
    fifth = sign_in(client, COMMUNE_DESK, "wrong password!")
    assert LOCKED in fifth.get_data(as_text=True)
    refused = sign_in(client, COMMUNE_DESK)
    assert refused.status_code == 401
    assert LOCKED in refused.get_data(as_text=True)
    actions = audit_actions(desk_app)
    assert actions.count("sign_in_failed") == 5
    assert actions.count("account_locked") == 1
    assert actions[-1] == "sign_in_refused"


def test_a_lock_ends_after_its_time(make_app: Any) -> None:
    from registry.staff_auth import set_password
    from registry.staff_auth import sign_in as check

    app = make_app(DESK_LOCK_MINUTES=1)
    officer = staff_id(app, COMMUNE_DESK)
    set_password(db(app), officer, PASSWORD)
    policy = LockPolicy(5, 1)
    for _ in range(5):
        assert check(db(app), COMMUNE_DESK, "nope nope nope", policy).actor is None
    from datetime import timedelta

    from registry.db import utcnow

    assert check(db(app), COMMUNE_DESK, PASSWORD, policy).reason == "locked"
    later = utcnow() + timedelta(minutes=2)
    assert check(db(app), COMMUNE_DESK, PASSWORD, policy, now=later).actor is not None


def test_an_unknown_phone_fails_like_a_wrong_password_and_is_recorded(desk_app: Flask) -> None:
    response = sign_in(desk_app.test_client(), "+85512111111")
    assert response.status_code == 401
    assert Translator("km")("Wrong phone number or password.") in response.get_data(as_text=True)
    assert audit_actions(desk_app)[-1] == "sign_in_failed"


def test_a_village_chief_cannot_sign_in_to_the_desk(desk_app: Flask) -> None:
    assert sign_in(desk_app.test_client(), "+85512600001").status_code == 401


def test_a_set_up_code_by_sms_sets_the_password_once(desk_app: Flask) -> None:
    officer = staff_id(desk_app, COMMUNE_DESK)
    code = send_setup_code(db(desk_app), officer, DeskTexts("KH"), SmsPolicy(), LockPolicy(), "km")
    assert code in sms_to(desk_app, COMMUNE_DESK)[-1]
    client = desk_app.test_client()
    data = {"phone": COMMUNE_DESK, "code": code, "password": "a brand new password"}
    first = client.post("/desk/set-up", data={**data, "csrf_token": token(client, "/desk/set-up")})
    assert first.status_code == 302
    other = desk_app.test_client()
    again = other.post("/desk/set-up", data={**data, "csrf_token": token(other, "/desk/set-up")})
    assert again.status_code == 200  # the code worked once only
    assert sign_in(desk_app.test_client(), COMMUNE_DESK, "a brand new password").status_code == 302
    assert sign_in(desk_app.test_client(), COMMUNE_DESK, PASSWORD).status_code == 401


def test_a_set_up_code_reads_in_the_officers_language_else_the_default(desk_app: Flask) -> None:
    officer = staff_id(desk_app, COMMUNE_DESK)
    send_setup_code(db(desk_app), officer, DeskTexts("KH"), SmsPolicy(), LockPolicy(), "pt")
    set_language(db(desk_app), COMMUNE_DESK, "en")
    send_setup_code(db(desk_app), officer, DeskTexts("KH"), SmsPolicy(), LockPolicy(), "pt")
    with db(desk_app)() as session:
        languages = session.scalars(
            select(OutboxMessage.language)
            .where(OutboxMessage.recipient == COMMUNE_DESK, OutboxMessage.purpose == "staff_setup")
            .order_by(OutboxMessage.id)
        ).all()
    assert languages == ["pt", "en"]


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(tmp_path, environ={"DEPLOYMENT": "production"})
    assert load(tmp_path, environ={"DEPLOYMENT": "production", "SECRET_KEY": "s" * 32})["SECRET_KEY"]


def test_the_language_chosen_is_remembered_for_the_officer(desk_app: Flask) -> None:
    client = desk_app.test_client()
    sign_in(client, COMMUNE_DESK)
    page = client.get("/desk/").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/desk/language", data={"language": "pt", "next": "/desk/", "csrf_token": csrf})
    fresh = desk_app.test_client()
    sign_in(fresh, COMMUNE_DESK)
    assert 'lang="pt"' in fresh.get("/desk/").get_data(as_text=True)
