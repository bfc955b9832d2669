"""Cases as people ask after them: a citizen's status, a desk's queue, details a citizen adds.

The case work lives in smaller modules, re-exported here for callers that want one name:
case_types (states, moves, texts, views), case_filing (complaints filed), case_states (the state
machine: apply_move), escalation (deadlines passing), case_reads (a citizen's status and a desk's
queue, each one statement).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.case_filing import file_complaint, file_complaint_in
from registry.case_reads import case_status_for, list_queue
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
from registry.escalation import escalate_overdue
from registry.models import Case, HouseholdPhone, Person, Staff
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
    "case_status_for",
    "escalate_overdue",
    "file_complaint",
    "file_complaint_in",
    "list_queue",
]
