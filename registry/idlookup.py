"""Social-protection IDs: who holds one, what they are enrolled in, and every lookup recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, cast, literal_column, null, or_, select, union
from sqlalchemy.orm import Session

from registry.case_types import OPEN
from registry.clock import local_today
from registry.db import utcnow, without_transaction
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


def _holder_statement() -> Select[Any]:
    """Build, once, the lookup of a holder with their enrolments and open requests."""
    # One round trip: the holder (only with the right year), their enrolments (their own and
    # their household's), and their open requests, each side of which starts from its own index
    # (the person's, and the household phones'): an OR across a subquery scans every open case.
    holder = (
        select(Person.id, Person.full_name, Person.household_id)
        .where(Person.sp_id == bindparam("sp_id"), Person.birth_year == bindparam("birth_year"))
        .cte("holder")
    )
    no_text = cast(null(), String)

    def kind(n: int) -> Any:
        return literal_column(str(n), Integer)

    enrolled = select(
        kind(0).label("kind"),
        Enrolment.id.label("ord"),
        holder.c.full_name,
        Enrolment.programme_id,
        Enrolment.status,
        no_text.label("reference"),
    ).select_from(
        holder.outerjoin(
            Enrolment,
            or_(
                Enrolment.person_id == holder.c.id,
                (Enrolment.household_id == holder.c.household_id) & (Enrolment.household_id.is_not(None)),
            ),
        )
    )
    open_statuses = [str(status) for status in OPEN]

    def requests(source: Any) -> Select[Any]:
        return (
            select(kind(1), Case.id, holder.c.full_name, cast(null(), Integer), Case.status, Case.reference)
            .select_from(source)
            .where(Case.status.in_(open_statuses))
        )

    own = requests(holder.join(Case, Case.person_id == holder.c.id))
    by_phone = requests(
        holder.join(HouseholdPhone, HouseholdPhone.household_id == holder.c.household_id).join(
            Case, Case.citizen_phone == HouseholdPhone.phone
        )
    )
    both = union(enrolled, own, by_phone).subquery()
    return select(both).order_by(both.c.kind, both.c.ord)


# Built once: constructing the statement cost more CPU than the database took to run it.
_HOLDER = _holder_statement()


def find_holder(db: Db, sp_id: str, birth_year: int, language: str, fallback: str) -> Holder | None:
    """Return the holder of sp_id when birth_year is theirs; None for any mismatch.

    Programmes are named in language, else in fallback (the deployment's DEFAULT_LANGUAGE).
    """
    if not is_valid(sp_id):
        return None
    with db() as session:
        found = (
            without_transaction(session).execute(_HOLDER, {"sp_id": sp_id, "birth_year": birth_year}).all()
        )
    if not found:
        return None
    # Programme names come from the cached catalogue, not from a join per lookup.
    names = programme_names(db, language, fallback)
    rows = [
        (names.get(row.programme_id, str(row.programme_id)), row.status)
        for row in found
        if row.kind == 0 and row.programme_id is not None
    ]
    cases = [(row.reference, row.status) for row in found if row.kind == 1]
    return Holder(found[0].full_name, rows, cases)


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
