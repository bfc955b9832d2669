"""An ID lookup lists the holder's open requests: their own and those filed from the household's phones."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from conversations.case_texts import ids_sms
from registry.case_types import CaseStatus
from registry.idlookup import find_holder, send_ids_to_phone
from registry.models import Area, Case, OutboxMessage, Person
from registry.services import set_language
from tests.phones import Phone


def _case(reference: str, person: Person, village: Area, status: str, **values: object) -> Case:
    return Case(
        reference=reference,
        kind="complaint",
        status=status,
        village_id=village.id,
        desk_id=village.parent_id,
        language="en",
        **values,
    )


def test_the_holder_sees_open_requests_by_person_and_by_household_phone_only(app: Flask) -> None:
    db = app.extensions["janela"].db
    with db.begin() as session:
        person = session.scalars(select(Person).where(Person.sp_id == "1701000010")).one()
        village = session.scalars(select(Area).where(Area.code == "17010101")).one()
        session.add_all(
            [
                _case("1000001", person, village, CaseStatus.RECEIVED, person_id=person.id),
                _case("1000002", person, village, CaseStatus.PICKED_UP, citizen_phone="+85512345601"),
                _case("1000003", person, village, CaseStatus.RESOLVED, person_id=person.id),
                _case("1000004", person, village, CaseStatus.RECEIVED, citizen_phone="+85512999999"),
                # Both ways at once: listed once.
                _case(
                    "1000005",
                    person,
                    village,
                    CaseStatus.ESCALATED,
                    person_id=person.id,
                    citizen_phone="+85512345601",
                ),
            ]
        )
    holder = find_holder(db, "1701000010", 1990, "en", "km")
    assert holder is not None
    assert holder.open_cases == [("1000001", "queued"), ("1000002", "picked_up"), ("1000005", "escalated")]
    assert ("IDPoor (Equity Card)", "active") in holder.enrolments


HOUSEHOLD_PHONE = "+85512345601"  # on the household of 1701000010


def reminders(app: Flask, phone: str) -> list[str]:
    with app.extensions["janela"].db() as session:
        return list(
            session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.recipient == phone, OutboxMessage.purpose == "id_reminder")
                .order_by(OutboxMessage.id)
            )
        )


def forgot_by_ussd(app: Flask, phone: str) -> str:
    caller = Phone(app.test_client(), phone)
    caller.dial()
    caller.send("3")
    return caller.send("3")


def test_a_forgotten_id_is_sent_once_a_day_even_when_redis_forgets(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, HOUSEHOLD_PHONE, "en")
    set_language(janela.db, "+85512000558", "en")
    first = forgot_by_ussd(app, HOUSEHOLD_PHONE)
    janela.redis.flushdb()  # the limit is kept in the database, not in Redis
    second = forgot_by_ussd(app, HOUSEHOLD_PHONE)
    unknown = forgot_by_ussd(app, "+85512000558")
    assert first == second == unknown  # the screen never tells whether a phone is known or was served
    (sent,) = reminders(app, HOUSEHOLD_PHONE)
    assert "1701000010" in sent
    assert reminders(app, "+85512000558") == []


def test_the_forgotten_id_limit_follows_the_local_day(app: Flask) -> None:
    janela = app.extensions["janela"]
    settings = janela.settings.services  # Cambodia: Asia/Phnom_Penh, UTC+7

    def ask(at: datetime) -> bool:
        return send_ids_to_phone(janela.db, HOUSEHOLD_PHONE, "en", ids_sms, settings, now=at)

    # 16:30 and 17:30 UTC are the same UTC day but two days in Phnom Penh (23:30, then 00:30).
    assert ask(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
    assert not ask(datetime(2026, 11, 23, 16, 59, tzinfo=UTC))
    assert ask(datetime(2026, 11, 23, 17, 30, tzinfo=UTC))
    assert not ask(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert len(reminders(app, HOUSEHOLD_PHONE)) == 2


def test_concurrent_forgotten_id_requests_send_one_sms(app: Flask) -> None:
    janela = app.extensions["janela"]
    barrier = threading.Barrier(6)
    results: list[bool] = []
    errors: list[BaseException] = []

    def ask() -> None:
        barrier.wait()
        try:
            results.append(
                send_ids_to_phone(janela.db, HOUSEHOLD_PHONE, "en", ids_sms, janela.settings.services)
            )
        except BaseException as exc:  # a thread's failure must reach the test's assertions
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert len(reminders(app, HOUSEHOLD_PHONE)) == 1
