"""Retention: old personal data goes, what still waits for someone and every case timeline stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from registry.db import utcnow
from registry.models import CaseEvent, Contact, IdLookup, InboundMessage, OutboxMessage, UssdSessionEnd
from registry.retention import Retention, prune_old_records

OLD = utcnow() - timedelta(days=200)
NEW = utcnow() - timedelta(days=10)


def count(app: Flask, model: Any) -> int:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def seed(app: Flask) -> None:
    with app.extensions["janela"].db.begin() as session:
        for n, at in enumerate((OLD, NEW)):
            session.add(UssdSessionEnd(session_id=f"s{n}", received_at=at))
            session.add(IdLookup(phone=f"+8551234560{n}", sp_id="1701000010", outcome="mismatch", at=at))
            for status in ("processed", "gave_up"):
                session.add(
                    InboundMessage(
                        provider_id=f"in-{n}-{status}",
                        sender="+85512345601",
                        text="OK",
                        status=status,
                        received_at=at,
                    )
                )
            session.add(Contact(phone=f"+8551299900{n}", language=None, updated_at=at, created_at=at))
            session.add(Contact(phone=f"+8551288800{n}", language="km", updated_at=at, created_at=at))
        for n, (status, days) in enumerate([("delivered", 400), ("retry", 400), ("delivered", 100)]):
            session.add(
                OutboxMessage(
                    recipient="+85512345601",
                    language="km",
                    body="សួស្តី",
                    purpose="test",
                    status=status,
                    encoding="UCS-2",
                    segments=1,
                    created_at=utcnow() - timedelta(days=days),
                    idempotency_key=f"retention-{n}",
                )
            )


def test_old_records_go_and_what_still_matters_stays(app: Flask) -> None:
    seed(app)
    events = count(app, CaseEvent)
    report = prune_old_records(app.extensions["janela"].db, Retention(days=180, sms_days=365))
    assert (report.session_ends, report.id_lookups, report.inbound, report.outbox, report.contacts) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert count(app, UssdSessionEnd) == 1 and count(app, IdLookup) == 1
    with app.extensions["janela"].db() as session:
        inbound = sorted(session.scalars(select(InboundMessage.provider_id)).all())
        outbox = sorted(session.scalars(select(OutboxMessage.idempotency_key)).all())
        contacts = sorted(
            session.scalars(select(Contact.phone).where(Contact.phone.like("+85512%00%"))).all()
        )
    # An old message given up on still waits for an operator; a retrying SMS still waits to be sent.
    assert inbound == ["in-0-gave_up", "in-1-gave_up", "in-1-processed"]
    assert outbox == ["retention-1", "retention-2"]
    # A contact that chose a language keeps it, however old.
    assert "+85512999000" not in contacts and "+85512888000" in contacts
    assert count(app, CaseEvent) == events  # timelines are never pruned


def test_pruning_twice_removes_nothing_more(app: Flask) -> None:
    seed(app)
    db = app.extensions["janela"].db
    assert prune_old_records(db, Retention()).total == 5
    assert prune_old_records(db, Retention()).total == 0


def test_flask_prune_reports_what_it_removed(app: Flask) -> None:
    seed(app)
    result = app.test_cli_runner().invoke(args=["prune", "--days", "5"])
    assert result.exit_code == 0, result.output
    assert "Removed 2 session ends, 2 ID lookups, 2 inbound texts" in result.output
    assert app.test_cli_runner().invoke(args=["prune", "--days", "0"]).exit_code != 0
