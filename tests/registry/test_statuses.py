"""Status values are enums, stored as the same strings the database always held."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select, text

from registry.case_types import CaseStatus as CaseStatusOfCases
from registry.models import Case, OutboxMessage
from registry.outbox import SENDABLE, SmsPolicy, SmsStatus, queue_sms
from registry.statuses import CaseStatus


def test_the_tables_default_to_enum_members() -> None:
    assert Case.__table__.c.status.default.arg is CaseStatus.RECEIVED
    assert OutboxMessage.__table__.c.status.default.arg is SmsStatus.QUEUED
    assert CaseStatusOfCases is CaseStatus


def test_an_sms_is_stored_with_the_value_it_always_had(app: Flask) -> None:
    db = app.extensions["janela"].db
    (message_id,) = queue_sms(db, "+85512000900", "en", "hello", "reply", SmsPolicy())
    with db() as session:
        stored = session.execute(
            text("SELECT status FROM outbox_messages WHERE id = :id"), {"id": message_id}
        )
        assert stored.scalar_one() == "queued"
        assert session.scalar(select(OutboxMessage.status)) in SENDABLE
    assert [str(s) for s in SmsStatus] == [
        "queued",
        "retry",
        "sending",
        "sent",
        "delivered",
        "failed",
        "suppressed",
        "held",
        "unknown",
    ]
