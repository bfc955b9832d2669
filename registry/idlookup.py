"""Social-protection IDs: who holds one, what they are enrolled in, and every lookup recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, union
from sqlalchemy.orm import Session

from registry.case_types import OPEN
from registry.clock import local_today
from registry.db import utcnow
from registry.idempotency import insert_once, request_key
from registry.models import Case, Enrolment, HouseholdPhone, IdLookup, OutboxMessage, Person
from registry.outbox import add_sms
from registry.references import is_valid
from registry.services import Db, programme_names
from registry.settings import ServiceSettings


@dataclass(frozen=True)
class Holder:
    """What the holder of an ID may see: their programmes and their open requests."""

    name: str
    enrolments: list[tuple[str, str]]  # (programme name, status)
    open_cases: list[tuple[str, str]]  # (reference, status)


def find_holder(db: Db, sp_id: str, birth_year: int, language: str, fallback: str) -> Holder | None:
    """Return the holder of sp_id when birth_year is theirs; None for any mismatch.

    Programmes are named in language, else in fallback (the deployment's DEFAULT_LANGUAGE).
    """
    if not is_valid(sp_id):
        return None
    with db() as session:
        # The holder and their enrolments (their own and their household's) in one round trip.
        found = session.execute(
            select(
                Person.id,
                Person.full_name,
                Person.birth_year,
                Person.household_id,
                Enrolment.status,
                Enrolment.programme_id,
            )
            .outerjoin(
                Enrolment,
                or_(
                    Enrolment.person_id == Person.id,
                    (Enrolment.household_id == Person.household_id) & (Enrolment.household_id.is_not(None)),
                ),
            )
            .where(Person.sp_id == sp_id)
            .order_by(Enrolment.id)
        ).all()
        if not found or found[0].birth_year != birth_year:
            return None
        person = found[0]
        # Programme names come from the cached catalogue, not from a join per lookup.
        names = programme_names(db, language, fallback)
        rows = [
            (names.get(row.programme_id, str(row.programme_id)), row.status)
            for row in found
            if row.programme_id is not None
        ]
        # The person's own requests and those filed from the household's phones, each side from
        # its own index: an OR across a subquery would scan every open case.
        open_statuses = [str(status) for status in OPEN]
        phones = select(HouseholdPhone.phone).where(HouseholdPhone.household_id == person.household_id)
        own = select(Case.id, Case.reference, Case.status).where(
            Case.person_id == person.id, Case.status.in_(open_statuses)
        )
        by_phone = select(Case.id, Case.reference, Case.status).where(
            Case.citizen_phone.in_(phones), Case.status.in_(open_statuses)
        )
        both = union(own, by_phone).subquery()
        cases = session.execute(select(both.c.reference, both.c.status).order_by(both.c.id)).all()
        return Holder(person.full_name, rows, [(c.reference, c.status) for c in cases])


def record_lookup(db: Db, phone: str, sp_id: str, outcome: str) -> None:
    """Record one lookup: found, mismatch or locked."""
    with db.begin() as session:
        session.add(IdLookup(phone=phone, sp_id=sp_id[:16], outcome=outcome, at=utcnow()))


def _ids_of(session: Session, phone: str) -> list[tuple[str, str]]:
    persons = session.scalars(
        select(Person)
        .outerjoin(HouseholdPhone, HouseholdPhone.household_id == Person.household_id)
        .where(Person.sp_id.is_not(None), or_(HouseholdPhone.phone == phone, Person.phone == phone))
        .order_by(Person.id)
    ).unique()
    return [(p.full_name, p.sp_id or "") for p in persons]


def send_ids_to_phone(
    db: Db,
    phone: str,
    language: str,
    compose: Callable[[str, list[tuple[str, str]]], str],
    settings: ServiceSettings,
    now: datetime | None = None,
) -> bool:
    """SMS the IDs of the household this phone is registered on, to this phone, once a local day.

    compose(language, [(name, id)]) writes the text. Returns True only when an SMS was written now:
    a phone on no household, or one already sent its IDs today, gets nothing, and the caller says
    the same either way. The limit is the outbox row's unique key (phone and local date), so it
    holds without Redis and when two requests race: otherwise anyone could make the service pay
    for SMS in a loop.
    """
    day = local_today(settings.zone, now).isoformat()
    key = request_key("id_reminder", phone, day)

    def sent_today(session: Session) -> bool | None:
        found = session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        return False if found is not None else None

    def send(session: Session) -> bool:
        ids = _ids_of(session, phone)
        if not ids:
            return False
        add_sms(
            session,
            phone,
            language,
            compose(language, ids),
            "id_reminder",
            settings.sms_policy,
            idempotency_key=key,
        )
        # Flush inside the transaction, so a racing twin fails on the key here, not at commit.
        session.flush()
        return True

    written, _ = insert_once(db, sent_today, send)
    return written


def ids_for_phone(db: Db, phone: str) -> list[tuple[str, str]]:
    """Return (name, ID) of everyone on the household this phone is registered on."""
    with db() as session:
        return _ids_of(session, phone)
