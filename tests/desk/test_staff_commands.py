"""`flask staff set-password` and `send-code`, and the demo's password (never in production)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from cli import DEMO_DESK_PASSWORD, prepare_database
from registry.models import StaffCredential
from tests.desk.conftest import COMMUNE_DESK, db, sign_in, sms_to, staff_id


def test_set_password_from_the_command_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["staff", "set-password", "--phone", "012 700 001", "--password", "a long password"]
    )
    assert result.exit_code == 0, result.output
    assert sign_in(app.test_client(), COMMUNE_DESK, "a long password").status_code == 302
    short = runner.invoke(args=["staff", "set-password", "--phone", COMMUNE_DESK, "--password", "short"])
    assert short.exit_code != 0 and "10 characters" in short.output
    chief = runner.invoke(
        args=["staff", "set-password", "--phone", "+85512600001", "--password", "a long password"]
    )
    assert chief.exit_code != 0


def test_send_code_writes_the_code_by_sms(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["staff", "send-code", "--phone", COMMUNE_DESK])
    assert result.exit_code == 0, result.output
    [body] = sms_to(app, COMMUNE_DESK)
    assert any(word.rstrip("។.").isdigit() and len(word.rstrip("។.")) == 8 for word in body.split())


def test_the_demo_gives_desk_staff_its_password(app: Flask) -> None:
    with app.app_context():
        prepare_database(app)
    assert sign_in(app.test_client(), COMMUNE_DESK, DEMO_DESK_PASSWORD).status_code == 302


def test_production_gives_no_demo_password(make_app: Any) -> None:
    app = make_app(DEPLOYMENT="production", SECRET_KEY="k" * 32)
    with app.app_context():
        prepare_database(app)
    with db(app)() as session:
        assert (
            session.scalar(
                select(StaffCredential).where(StaffCredential.staff_id == staff_id(app, COMMUNE_DESK))
            )
            is None
        )
