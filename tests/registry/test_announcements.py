"""Announcements: count and cost first, one SMS per phone however often sent, STOP respected."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import timedelta

from flask import Flask
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from registry.announcements import Draft, announcement_counts, preview_announcement, send_announcement
from registry.models import Area, Contact, Household, HouseholdPhone, OutboxMessage
from registry.outbox import record_delivery
from registry.staff_auth import find_desk_staff
from tests.jobs import run_jobs
from tests.workers.test_inbound import bodies, text_in

DISTRICT = "+85512800001"  # Hout Sarin, district officer of Angkor Chum (1701)
KM = "ថ្ងៃបើកប្រាក់ ថ្ងៃទី ១៥ នៅសាលាឃុំ។"
PT = "Dia de pagamento: 15, na sede da comuna."


def _phones(app: Flask, count: int, village: str = "17010102") -> list[str]:
    """Add count households with a phone each to a village, in one transaction."""
    phones = [f"+8551760{n:04d}" for n in range(count)]
    with app.extensions["janela"].db.begin() as session:
        village_id = session.scalars(select(Area.id).where(Area.code == village)).one()
        for phone in phones:
            session.add(Household(village_id=village_id, size=3, phones=[HouseholdPhone(phone=phone)]))
    return phones


def _stop(app: Flask, phones: list[str]) -> None:
    with app.extensions["janela"].db.begin() as session:
        for phone in phones:
            session.add(Contact(phone=phone, opted_out=True))


def _send(app: Flask, draft: Draft, key: str, rate: int = 0) -> int:
    janela = app.extensions["janela"]
    actor = find_desk_staff(janela.db, DISTRICT)
    assert actor is not None
    sent = send_announcement(
        janela.db, actor, draft, key, janela.settings.sms_policy, janela.settings.default_language, rate
    )
    return sent.announcement_id


def test_chiefs_get_the_announcement_in_their_language_once(app: Flask) -> None:
    janela = app.extensions["janela"]
    actor = find_desk_staff(janela.db, DISTRICT)
    assert actor is not None
    draft = Draft("1701", "chiefs", {"km": KM, "pt": PT})
    preview = preview_announcement(janela.db, actor, draft, janela.settings.sms_policy, "km")
    assert preview.recipients >= 1 and preview.opted_out == 0
    assert preview.segments == preview.recipients  # one Khmer segment each
    first = _send(app, draft, "form:1")
    assert _send(app, draft, "form:1") == first  # the same form again: the same announcement
    with janela.db() as session:
        rows = session.execute(select(OutboxMessage.recipient, OutboxMessage.body)).all()
    assert len(rows) == preview.recipients and {body for _, body in rows} == {KM}
    assert len({phone for phone, _ in rows}) == len(rows)


def test_an_announcement_to_1000_phones_reaches_the_fake_at_once_each_and_skips_stop(
    at_app: Flask, fake_at: object
) -> None:
    phones = _phones(at_app, 1000)
    _stop(at_app, phones[:25])
    draft = Draft("17010102", "households", {"km": KM, "pt": PT})
    started = time.monotonic()
    announcement = _send(at_app, draft, "form:big")
    _send(at_app, draft, "form:big")  # a double click
    written = time.monotonic() - started
    # The workers' per-job log lines are not kept: capturing them costs about as much as the sends.
    logging.disable(logging.INFO)
    try:
        run_jobs(at_app)
    finally:
        logging.disable(logging.NOTSET)
    elapsed = time.monotonic() - started
    received = [r["to"] for r in fake_at.received if r["accepted"]]  # type: ignore[attr-defined]
    assert len(received) == len(set(received)) == 975
    assert not set(received) & set(phones[:25])
    # Reported, not asserted: one in-process worker on a shared machine measures the machine too.
    print(f"1000 phones: written in {written:.1f} s, all handed to the fake AT after {elapsed:.1f} s")
    janela = at_app.extensions["janela"]
    actor = find_desk_staff(janela.db, DISTRICT)
    assert actor is not None
    counts = announcement_counts(janela.db, actor, announcement)
    assert (counts.recipients, counts.opted_out, counts.pending) == (975, 25, 975)
    for report in fake_at.received[:900]:  # type: ignore[attr-defined]
        record_delivery(janela.db, report["message_id"], "Success", None)
    for report in fake_at.received[900:910]:  # type: ignore[attr-defined]
        record_delivery(janela.db, report["message_id"], "Failed", "UserInBlacklist")
    counts = announcement_counts(janela.db, actor, announcement)
    assert (counts.delivered, counts.failed, counts.pending) == (900, 10, 65)


def test_a_stop_after_writing_suppresses_the_message(at_app: Flask, fake_at: object) -> None:
    phones = _phones(at_app, 3)
    _send(at_app, Draft("17010102", "households", {"km": KM}), "form:late-stop")
    _stop(at_app, [phones[0]])
    run_jobs(at_app)
    assert sorted(r["to"] for r in fake_at.received) == sorted(phones[1:])  # type: ignore[attr-defined]


def test_the_rate_spreads_the_messages_and_the_jobs_wait_for_their_slot(app: Flask) -> None:
    _phones(app, 30)
    _send(app, Draft("17010102", "households", {"pt": PT}), "form:slow", rate=60)
    janela = app.extensions["janela"]
    with janela.db() as session:
        slots = list(session.scalars(select(OutboxMessage.next_attempt_at).order_by(OutboxMessage.id)))
        total = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert total == 30
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(slots))
    # The first goes now; the other 29 wait in RQ's scheduled registry for their second.
    assert ScheduledJobRegistry("sms", connection=janela.redis).count == 29


def test_households_can_be_narrowed_to_a_programme(app: Flask) -> None:
    janela = app.extensions["janela"]
    actor = find_desk_staff(janela.db, DISTRICT)
    assert actor is not None
    policy = janela.settings.sms_policy
    everyone = preview_announcement(
        janela.db, actor, Draft("17010101", "households", {"km": KM}), policy, "km"
    )
    enrolled = preview_announcement(
        janela.db, actor, Draft("17010101", "households", {"km": KM}, "older-persons-allowance"), policy, "km"
    )
    assert (everyone.recipients, enrolled.recipients) == (2, 1)


def test_the_command_shows_the_cost_and_sends_only_with_yes_and_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    args = [
        "announce",
        "--area",
        "1701",
        "--to",
        "chiefs",
        "--text-km",
        KM,
        "--text-pt",
        PT,
        "--by",
        DISTRICT,
    ]
    shown = runner.invoke(args=args)
    assert shown.exit_code == 0, shown.output
    assert "recipients (0 opted out, left out)" in shown.output and "SMS segments" in shown.output
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    sent = runner.invoke(args=[*args, "--yes"])
    assert "queued to" in sent.output, sent.output
    again = runner.invoke(args=[*args, "--yes"])
    assert "sent already" in again.output, again.output
    refused = runner.invoke(
        args=["announce", "--area", "1712", "--to", "chiefs", "--text-km", KM, "--by", DISTRICT]
    )
    assert refused.exit_code != 0 and "not an area of" in refused.output


def test_a_chief_s_reply_reaches_the_officer_once(app: Flask) -> None:
    chief = "+85512600001"  # chief of Trapeang Thom
    _send(app, Draft("1701", "chiefs", {"km": KM}), "form:reply")
    text_in(app, chief, "Noted: we gather at the pagoda at 8")
    run_jobs(app)
    to_officer = bodies(app, DISTRICT, "announcement_reply")
    assert len(to_officer) == 1 and "we gather at the pagoda at 8" in to_officer[0]
    assert any("សូមអរគុណ" in body or "Hout Sarin" in body for body in bodies(app, chief))
    # Someone who is not a chief gets the usual answer, and nothing reaches the officer.
    text_in(app, "+85512345999", "hello there")
    run_jobs(app)
    assert len(bodies(app, DISTRICT, "announcement_reply")) == 1
