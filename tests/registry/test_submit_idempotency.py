"""Submissions: keyed by the phone and the USSD session in the database, and in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from conversations.prereg import Texts
from registry.idempotency import request_key
from registry.models import Case, OutboxMessage, PreRegistration, Staff
from registry.preregistration import Declaration, submit_preregistration
from registry.services import set_language
from tests.phones import Phone

MOTHER = "+85512345999"
FULL = ("2", "1", "Srey Pov Chan", "1", "15031992", "1", "17010102", "4", "2", "9")


def count(app: Flask, model: type) -> int:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_repeated_final_hop_after_a_redis_flush_creates_one_preregistration(
    app: Flask, client: FlaskClient
) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, MOTHER, "en")
    caller = Phone(client, MOTHER)
    caller.dial()
    for key in FULL:
        caller.send(key)
    done = caller.send("1")
    assert caller.ended and done.startswith("Thank you. Reference:")
    # Redis loses the session and its cached reply between the commit and the gateway's retry:
    # the retried hop replays every input from the start and reaches the submission again.
    janela.redis.flushdb()
    again = caller.repeat()
    assert again[4:] == done
    assert count(app, PreRegistration) == 1 and count(app, Case) == 1
    with janela.db() as session:
        purposes = list(
            session.scalars(select(OutboxMessage.purpose).where(OutboxMessage.recipient == MOTHER))
        )
    assert purposes == ["confirmation"]


def test_the_key_names_the_phone_as_well_as_the_session(app: Flask) -> None:
    janela = app.extensions["janela"]
    declared = Declaration("Sok Dara", "m", 1980, None, "17010101", 3, phone="+85512000700")
    other = Declaration("Chea Lina", "f", 1985, None, "17010101", 2, phone="+85512000701")
    consent = datetime(2026, 11, 23, tzinfo=UTC)

    def submit(who: Declaration) -> str:
        key = request_key("prereg", who.phone, "ATUid_same_session")
        return submit_preregistration(
            janela.db, who, "en", consent, key, Texts(), janela.settings.services
        ).reference

    first = submit(declared)
    assert submit(declared) == first  # the same person's retry
    assert submit(other) != first  # another phone that got the same session id from its operator
    assert count(app, PreRegistration) == 2
    with janela.db() as session:
        confirmations = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.purpose == "confirmation")
        )
    assert confirmations == 2


def test_a_villager_registered_by_the_chief_is_confirmed_in_their_own_language(app: Flask) -> None:
    janela = app.extensions["janela"]
    with janela.db() as session:
        chief_id = session.scalar(select(Staff.id).where(Staff.phone == "+85512600001"))
    set_language(janela.db, "+85512000800", "pt")
    consent = datetime(2026, 11, 23, tzinfo=UTC)
    for n, phone in enumerate(("+85512000800", "+85512000801")):
        declared = Declaration(f"Villager {n}", "f", 1960, None, "17010101", 2, phone=phone)
        # The chief's USSD session is in English.
        submit_preregistration(
            janela.db, declared, "en", consent, f"k-{n}", Texts(), janela.settings.services, chief_id
        )
    with janela.db() as session:
        languages = {m.recipient: m.language for m in session.scalars(select(OutboxMessage))}
    # A phone that chose Portuguese reads Portuguese; one that never chose reads DEFAULT_LANGUAGE.
    assert languages == {"+85512000800": "pt", "+85512000801": "km"}
