"""What every piece of the case work shares: states, moves, actors, routes, texts, views, events.

The lowest of the case modules: filing, the state machine and escalation import it; it imports
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from registry.db import utcnow
from registry.models import Area, Case, CaseEvent, Staff
from registry.references import is_valid, unused_reference
from registry.statuses import CaseStatus

CATEGORIES = (
    "payment_missing",
    "wrong_amount",
    "excluded",
    "data_correction",
    "misconduct",
    "appeal",
    "other",
)


CLOSED: tuple[CaseStatus, ...] = (CaseStatus.RESOLVED, CaseStatus.REJECTED)
OPEN: tuple[CaseStatus, ...] = tuple(s for s in CaseStatus if s not in CLOSED)


class Move(StrEnum):
    """What someone may do to a case."""

    ACKNOWLEDGE = "ok"
    RESOLVE_IN_VILLAGE = "done"
    PICK_UP = "pickup"
    NOTE = "note"
    RESOLVE = "resolve"
    REJECT = "reject"
    ESCALATE = "escalate"
    DESK_ACKNOWLEDGE = "desk_ack"  # the desk tells the citizen it has the request, without taking it
    ASK_INFO = "ask"  # the desk asks the citizen a question by SMS; the answer comes as details
    TAKE_OVER = "take_over"  # an officer of a level above takes a case another officer holds


class Refusal(StrEnum):
    """Why a move changed nothing."""

    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"  # this actor may not make this move on this case
    ALREADY_DONE = "already_done"  # the same move was made before (DONE twice, OK twice)
    ALREADY_TAKEN = "already_taken"  # another officer picked it up
    CLOSED = "closed"  # the case is resolved or rejected
    NOT_NOW = "not_now"  # the case is in a state this move does not start from
    NEEDS_NOTE = "needs_note"  # resolve, reject and note must say something
    TOP_LEVEL = "top_level"  # there is no level above to escalate to
    NOT_OVERDUE = "not_overdue"  # the sweep escalates only cases past a deadline
    HELD = "held"  # another officer holds the case: only they (or a level above, taking over) act
    NO_PHONE = "no_phone"  # the case has no phone to send the citizen an SMS


@dataclass(frozen=True)
class ChiefPhone:
    """A village chief acting by SMS from this phone."""

    phone: str


@dataclass(frozen=True)
class SweepActor:
    """The deadline sweep, acting for nobody in particular."""

    name: str = "sweep"


SWEEP = SweepActor()
Actor = Staff | ChiefPhone | SweepActor


@dataclass(frozen=True)
class Route:
    """Where a kind of case is queued and who is alerted when it arrives."""

    queue_level: str  # the level of the desk: commune, or district
    alert_roles: tuple[str, ...]


# Misconduct never reaches the village chief (he may be the one complained about).
ROUTES: dict[str, Route] = {"misconduct": Route("district", ("district_officer",))}
DEFAULT_ROUTE = Route("commune", ("village_chief",))
# Who is alerted when a case arrives at a level by escalation.
LEVEL_OFFICERS = {"commune": "commune_desk", "district": "district_officer", "province": "province_officer"}


class CaseTexts(Protocol):
    """The SMS cases send, written in the reader's language by the layer that knows languages."""

    def received(self, language: str, reference: str) -> str: ...
    def staff_alert(self, language: str, reference: str, category: str, summary: str, place: str) -> str: ...
    def acknowledged(self, language: str, reference: str, by: str) -> str: ...
    def picked_up(self, language: str, reference: str) -> str: ...
    def resolved(self, language: str, reference: str, outcome: str) -> str: ...
    def rejected(self, language: str, reference: str, reason: str) -> str: ...
    def escalated(self, language: str, reference: str, level: str = "district") -> str: ...
    def escalation_alert(self, language: str, reference: str, category: str, place: str) -> str: ...
    def desk_acknowledged(self, language: str, reference: str, level: str = "commune") -> str: ...
    def asked_for_information(self, language: str, reference: str, question: str) -> str: ...


@dataclass(frozen=True)
class Complaint:
    """What a person says when filing a complaint or an appeal."""

    category: str
    village_code: str
    description: str
    programme_code: str | None = None
    anonymous: bool = False
    name: str | None = None
    callback: bool = False


@dataclass(frozen=True)
class CaseView:
    """A case as queues, status answers and chiefs see it."""

    reference: str
    kind: str
    category: str | None
    status: str
    escalated: bool
    village: str
    created_at: datetime
    resolve_due_at: datetime | None
    description: str | None
    outcome: str | None
    desk: str = ""  # the code of the desk the case is queued at
    desk_level: str = ""  # commune, district or province
    held_by: str = ""  # the name of the officer who holds the case ("" when nobody does)


@dataclass(frozen=True)
class MoveResult:
    """What became of a move: applied, or refused and why (nothing changed)."""

    applied: bool
    refusal: Refusal | None = None
    case: CaseView | None = None

    @property
    def ok(self) -> bool:
        """True when the move was applied."""
        return self.applied

    @property
    def reason(self) -> str:
        """The refusal as a plain string ("" when applied)."""
        return str(self.refusal) if self.refusal else ""


def view_of(case: Case, language: str) -> CaseView:
    """Return what a case shows, with place names in language."""
    return CaseView(
        case.reference,
        case.kind,
        case.category,
        case.status,
        case.escalated_at is not None,
        case.village.name(language),
        case.created_at,
        case.resolve_due_at,
        case.description,
        case.outcome,
        case.desk.code,
        case.desk.level,
        case.picked_by.name if case.picked_by is not None else "",
    )


def find_case(session: Session, reference: str, lock: bool = False) -> Case | None:
    """Return the case with this reference (a mistyped one finds nothing); lock its row if asked."""
    reference = reference.strip()
    if not is_valid(reference):
        return None
    query = select(Case).where(Case.reference == reference).options(selectinload(Case.village))
    return session.scalar(query.with_for_update() if lock else query)


def record_event(
    session: Session,
    case: Case,
    action: str,
    actor: str,
    staff: Staff | None = None,
    phone: str | None = None,
    note: str | None = None,
    request_key: str | None = None,
) -> CaseEvent:
    """Append one entry to a case's timeline and return it (flushed, so it has an id)."""
    event = CaseEvent(
        case_id=case.id,
        at=utcnow(),
        action=action,
        actor=actor,
        staff_id=staff.id if staff else None,
        phone=phone,
        note=note,
        request_key=request_key,
    )
    session.add(event)
    session.flush()
    return event


def area_at(area: Area, level: str) -> Area:
    """Return the area of that level that contains area (or the top one reached)."""
    while area.level != level and area.parent is not None:
        area = area.parent
    return area


def new_case_reference(session: Session, length: int) -> str:
    """Return a reference with a check digit that no case has yet, longer once length fills up."""

    def is_taken(reference: str) -> bool:
        return session.scalar(select(Case.id).where(Case.reference == reference)) is not None

    return unused_reference(is_taken, length)


REFERENCE_ATTEMPTS = 5  # draws of a fresh reference when racing submissions keep taking ours


def is_reference_collision(exc: IntegrityError) -> bool:
    """Tell whether exc is another case holding the same reference (PostgreSQL or SQLite)."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == "uq_cases_reference"
    return "cases.reference" in str(exc.orig)


def add_case(session: Session, case: Case, length: int, attempts: int = REFERENCE_ATTEMPTS) -> None:
    """Add case under a new reference, drawing again when a racing submission took it first.

    Two submissions can draw the same free reference and both find it unused; the second to
    insert meets the unique constraint. Only the case's insert is undone (a savepoint), so the
    rest of the caller's transaction stands and the submission never fails for it.
    """
    # Everything else pending is written first, outside the savepoint a collision rolls back.
    session.flush()
    for attempt in range(1, attempts + 1):
        case.reference = new_case_reference(session, length)
        try:
            with session.begin_nested():
                session.add(case)
            return
        except IntegrityError as exc:
            if attempt == attempts or not is_reference_collision(exc):
                raise
