"""A citizen's STATUS and a desk's whole queue: each one statement, built once per process.

Both are read often (STATUS on any phone, the queue on every desk refresh) and neither writes, so
each is sent alone on a connection in autocommit: no BEGIN and ROLLBACK round trips around it,
no statement built per call, and rows read as plain tuples, never as ORM objects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, exists, or_, select
from sqlalchemy.orm import aliased

from registry.areas import names_by_id
from registry.case_types import OPEN, CaseView
from registry.db import without_transaction
from registry.errors import NotFound
from registry.models import Area, Case, HouseholdPhone, Person, Staff, area_name
from registry.references import is_valid
from registry.services import Db


def _status_statement() -> Select[*tuple[Any, ...]]:
    """Build the read of a case by reference, only for a phone allowed to see it."""
    village, desk, picker = aliased(Area), aliased(Area), aliased(Staff)
    phone: BindParameter[str] = bindparam("phone")
    # The phone that filed the case, or a phone registered on the household of its person: the
    # same rule as a citizen's details (cases._citizen_may_see), decided inside the one statement.
    on_household = exists(
        select(HouseholdPhone.id)
        .join(Person, Person.household_id == HouseholdPhone.household_id)
        .where(Person.id == Case.person_id, HouseholdPhone.phone == phone)
    )
    return (
        select(
            Case.reference,
            Case.kind,
            Case.category,
            Case.status,
            Case.escalated_at,
            village.name_km,
            village.name_pt,
            village.name_en,
            Case.created_at,
            Case.resolve_due_at,
            Case.description,
            Case.outcome,
            desk.code.label("desk_code"),
            desk.level.label("desk_level"),
            picker.name.label("held_by"),
        )
        .join(village, village.id == Case.village_id)
        .join(desk, desk.id == Case.desk_id)
        .outerjoin(picker, picker.id == Case.picked_by_id)
        .where(Case.reference == bindparam("reference"), or_(Case.citizen_phone == phone, on_household))
    )


# Built once: building and compiling a statement cost more CPU than the database took to run it.
_STATUS = _status_statement()


def case_status_for(db: Db, reference: str, phone: str, language: str) -> CaseView | None:
    """Return a case's status to a phone allowed to see it; None otherwise (or if there is none)."""
    reference = reference.strip()
    if not is_valid(reference):
        return None
    with db() as session:
        row = without_transaction(session).execute(_STATUS, {"reference": reference, "phone": phone}).first()
    if row is None:
        return None
    names = {"km": row.name_km, "pt": row.name_pt, "en": row.name_en}
    return CaseView(
        row.reference,
        row.kind,
        row.category,
        row.status,
        row.escalated_at is not None,
        area_name(names, language, None),
        row.created_at,
        row.resolve_due_at,
        row.description,
        row.outcome,
        row.desk_code,
        row.desk_level,
        row.held_by or "",
    )


def _queue_statement(include_closed: bool, paged: bool) -> Select[*tuple[Any, ...]]:
    """Build the read of a desk's cases, due soonest first, optionally closed ones and a page."""
    desk = select(Area.id).where(Area.code == bindparam("desk")).scalar_subquery()
    # In the order list_queue unpacks them: a tuple unpacked costs a fraction of named access.
    # Villages are named from memory (areas.names_by_id), not joined: see there why.
    query = select(
        Case.reference,
        Case.kind,
        Case.category,
        Case.status,
        Case.escalated_at.is_not(None),
        Case.village_id,
        Case.created_at,
        Case.resolve_due_at,
        Case.description,
        Case.outcome,
    ).where(Case.desk_id == desk)
    if not include_closed:
        query = query.where(Case.status.in_([str(s) for s in OPEN]))
    query = query.order_by(Case.resolve_due_at.is_(None), Case.resolve_due_at, Case.id)
    if paged:
        query = query.limit(bindparam("limit")).offset(bindparam("offset"))
    return query


_QUEUE = {
    (closed, paged): _queue_statement(closed, paged) for closed in (True, False) for paged in (True, False)
}
_DESK = select(Area.id).where(Area.code == bindparam("desk"))


def list_queue(
    db: Db,
    desk_code: str,
    language: str,
    fallback: str,
    include_closed: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[CaseView]:
    """Return a desk's cases (a page of them, with limit), the one due soonest first.

    Villages are named in language, else in fallback (the deployment's DEFAULT_LANGUAGE).
    """
    statement = _QUEUE[(include_closed, limit is not None)]
    params: dict[str, object] = {"desk": desk_code, "limit": limit, "offset": offset}
    with db() as session:
        connection = without_transaction(session)
        rows = connection.execute(statement, params).all()
        # Only an empty answer needs to know whether the desk exists (one more read, then).
        if not rows and connection.execute(_DESK, params).first() is None:
            raise NotFound(f"desk {desk_code}")
    names = names_by_id(db, {row[5] for row in rows})
    places: dict[int, str] = {}
    views = []
    for reference, kind, category, status, escalated, village_id, created, due, text, outcome in rows:
        # A desk's 2,000 cases come from a few dozen villages: each name is picked once.
        place = places.get(village_id)
        if place is None:
            km, pt, en = names[village_id]
            place = places[village_id] = area_name({"km": km, "pt": pt, "en": en}, language, fallback)
        views.append(
            CaseView(
                reference, kind, category, status, escalated, place, created, due, text, outcome, desk_code
            )
        )
    return views
