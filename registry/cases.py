"""Cases as people ask after them: a citizen's status, a desk's queue, details a citizen adds.

The case work lives in smaller modules, re-exported here for callers that want one name:
case_types (states, moves, texts, views), case_filing (complaints filed), case_states (the state
machine: apply_move), escalation (deadlines passing).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from registry.case_filing import file_complaint, file_complaint_in
from registry.case_states import ACTOR_MOVES, allowed_moves, apply_move, apply_move_in, available_moves
from registry.case_types import (
    CATEGORIES,
    CLOSED,
    DEFAULT_ROUTE,
    OPEN,
    ROUTES,
    SWEEP,
    CaseStatus,
    CaseTexts,
    CaseView,
    ChiefPhone,
    Complaint,
    Move,
    MoveResult,
    Refusal,
    find_case,
    record_event,
    view_of,
)
from registry.db import without_transaction
from registry.errors import NotFound
from registry.escalation import escalate_overdue
from registry.models import Area, Case, HouseholdPhone, Person, Staff, area_name
from registry.services import Db
from registry.timeline import NOT_THE_LEADER


def _citizen_may_see(session: Session, case: Case, phone: str) -> bool:
    """The phone that filed the case, or a phone registered on the household of its person."""
    if case.citizen_phone == phone:
        return True
    if case.person_id is None:
        return False
    return (
        session.scalar(
            select(HouseholdPhone.id)
            .join(Person, Person.household_id == HouseholdPhone.household_id)
            .where(Person.id == case.person_id, HouseholdPhone.phone == phone)
        )
        is not None
    )


def case_status_for(db: Db, reference: str, phone: str, language: str) -> CaseView | None:
    """Return a case's status to a phone allowed to see it; None otherwise (or if there is none)."""
    with db() as session:
        # Reads only: no BEGIN and ROLLBACK around them (two round trips of the few it makes).
        without_transaction(session)
        case = find_case(session, reference)
        if case is None or not _citizen_may_see(session, case, phone):
            return None
        return view_of(case, language)


def case_for_chief(session: Session, reference: str, phone: str, language: str) -> CaseView | None:
    """Return a case to the active chief of its village; record anyone else's attempt on the case.

    A case routed away from chiefs (misconduct) is never shown to one.
    """
    case = find_case(session, reference)
    if case is None:
        return None
    chief = session.scalar(
        select(Staff.id).where(
            Staff.phone == phone,
            Staff.role == "village_chief",
            Staff.area_id == case.village_id,
            Staff.active.is_(True),
        )
    )
    if chief is None or "village_chief" not in ROUTES.get(case.category or "", DEFAULT_ROUTE).alert_roles:
        record_event(session, case, "refused_info", "staff", phone=phone, note=NOT_THE_LEADER)
        return None
    return view_of(case, language)


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

    Reads only the columns a queue shows, with the village joined in the same query: a desk with
    2,000 open cases is one index scan, not 2,000 objects and their villages.
    """
    with db() as session:
        desk = session.scalar(select(Area.id).where(Area.code == desk_code))
        if desk is None:
            raise NotFound(f"desk {desk_code}")
        village = aliased(Area)
        query = (
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
            )
            .join(village, village.id == Case.village_id)
            .where(Case.desk_id == desk)
        )
        if not include_closed:
            query = query.where(Case.status.in_([str(s) for s in OPEN]))
        query = query.order_by(Case.resolve_due_at.is_(None), Case.resolve_due_at, Case.id)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        views = []
        for row in session.execute(query):
            names = {"km": row.name_km, "pt": row.name_pt, "en": row.name_en}
            place = area_name(names, language, fallback)
            views.append(
                CaseView(
                    row.reference,
                    row.kind,
                    row.category,
                    row.status,
                    row.escalated_at is not None,
                    place,
                    row.created_at,
                    row.resolve_due_at,
                    row.description,
                    row.outcome,
                    desk_code,
                )
            )
        return views


def staff_by_phone(db: Db, phone: str) -> Staff | None:
    """Return the active officer (not a chief) using this phone, for the command line."""
    with db() as session:
        return session.scalar(
            select(Staff)
            .where(Staff.phone == phone, Staff.active.is_(True), Staff.role != "village_chief")
            .order_by(Staff.id)
            .limit(1)
        )


def add_citizen_note_in(
    session: Session, reference: str, phone: str, note: str, request_key: str | None = None
) -> bool:
    """Add what a citizen sent to their own open request; False if it is not theirs or closed."""
    case = find_case(session, reference)
    if case is None or case.status in CLOSED or not _citizen_may_see(session, case, phone):
        return False
    record_event(session, case, "citizen_details", "citizen", phone=phone, note=note, request_key=request_key)
    return True


def add_citizen_note(db: Db, reference: str, phone: str, note: str, request_key: str | None = None) -> bool:
    """Add what a citizen sent to their own open request, in its own transaction."""
    with db.begin() as session:
        return add_citizen_note_in(session, reference, phone, note, request_key)


__all__ = [
    "ACTOR_MOVES",
    "CATEGORIES",
    "CLOSED",
    "OPEN",
    "SWEEP",
    "CaseStatus",
    "CaseTexts",
    "CaseView",
    "ChiefPhone",
    "Complaint",
    "Move",
    "MoveResult",
    "Refusal",
    "allowed_moves",
    "apply_move",
    "apply_move_in",
    "available_moves",
    "escalate_overdue",
    "file_complaint",
    "file_complaint_in",
]
