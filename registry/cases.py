"""Cases: complaints filed, routed by rules that are data, worked by desks and chiefs, escalated.

Every change of a case appends a timeline event and, where the citizen should hear of it, writes
their SMS in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from registry.areas import village_path
from registry.db import utcnow
from registry.errors import InvalidData, NotFound
from registry.models import Area, Case, CaseEvent, Contact, HouseholdPhone, Person, Programme, Staff
from registry.outbox import SmsPolicy, add_sms
from registry.preregistration import _new_case_reference
from registry.references import is_valid
from registry.services import Db

CATEGORIES = (
    "payment_missing",
    "wrong_amount",
    "excluded",
    "data_correction",
    "misconduct",
    "appeal",
    "other",
)
OPEN = ("queued", "acknowledged", "picked_up", "resolved_village")
CLOSED = ("resolved", "rejected")


@dataclass(frozen=True)
class Route:
    """Where a kind of case is queued and who is alerted when it arrives."""

    queue_level: str  # the level of the desk: commune, or district
    alert_roles: tuple[str, ...]


# Misconduct never reaches the village chief (he may be the one complained about).
ROUTES: dict[str, Route] = {"misconduct": Route("district", ("district_officer",))}
DEFAULT_ROUTE = Route("commune", ("village_chief",))


@dataclass(frozen=True)
class Deadlines:
    """Days to acknowledge and to resolve, per category, with a default."""

    by_category: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"misconduct": (1, 10), "payment_missing": (2, 15), "wrong_amount": (2, 15)}
    )
    default: tuple[int, int] = (3, 30)

    def due(self, category: str | None, start: datetime) -> tuple[datetime, datetime]:
        """Return when a case of category must be acknowledged and resolved."""
        ack, resolve = self.by_category.get(category or "", self.default)
        return start + timedelta(days=ack), start + timedelta(days=resolve)


class CaseTexts(Protocol):
    """The SMS cases send, written in the reader's language by the layer that knows languages."""

    def received(self, language: str, reference: str) -> str: ...
    def staff_alert(self, language: str, reference: str, category: str, summary: str, place: str) -> str: ...
    def acknowledged(self, language: str, reference: str, by: str) -> str: ...
    def picked_up(self, language: str, reference: str) -> str: ...
    def resolved(self, language: str, reference: str, outcome: str) -> str: ...
    def rejected(self, language: str, reference: str, reason: str) -> str: ...
    def escalated(self, language: str, reference: str) -> str: ...
    def escalation_alert(self, language: str, reference: str, category: str, place: str) -> str: ...


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


@dataclass(frozen=True)
class ActionResult:
    """What became of a staff action on a case."""

    ok: bool
    reason: str = ""  # not_found, not_allowed, already_taken, closed
    case: CaseView | None = None


def _view(case: Case, language: str) -> CaseView:
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
    )


def _language_of(session: Session, phone: str, default: str) -> str:
    return session.scalar(select(Contact.language).where(Contact.phone == phone)) or default


def _tell_citizen(session: Session, case: Case, body: str, purpose: str, policy: SmsPolicy, key: str) -> None:
    if case.citizen_phone:
        add_sms(session, case.citizen_phone, case.language, body, purpose, policy, idempotency_key=key)


def _event(
    session: Session,
    case: Case,
    action: str,
    actor: str,
    staff: Staff | None = None,
    phone: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=utcnow(),
            action=action,
            actor=actor,
            staff_id=staff.id if staff else None,
            phone=phone,
            note=note,
        )
    )


def _area_at(area: Area, level: str) -> Area:
    while area.level != level and area.parent is not None:
        area = area.parent
    return area


def file_complaint(
    db: Db,
    complaint: Complaint,
    phone: str | None,
    language: str,
    idempotency_key: str,
    texts: CaseTexts,
    policy: SmsPolicy,
    deadlines: Deadlines,
    reference_length: int = 7,
    default_language: str = "km",
) -> str:
    """File a complaint as a case routed by ROUTES; return its reference (the same on a retry)."""
    if complaint.category not in CATEGORIES:
        raise InvalidData([f"unknown category {complaint.category!r}"])
    kind = "appeal" if complaint.category == "appeal" else "complaint"
    earlier = _reference_for_key(db, idempotency_key)
    if earlier:
        return earlier
    try:
        with db.begin() as session:
            village = session.scalar(
                select(Area).where(Area.code == complaint.village_code, Area.level == "village")
            )
            if village is None:
                raise InvalidData([f"unknown village {complaint.village_code!r}"])
            route = ROUTES.get(complaint.category, DEFAULT_ROUTE)
            desk = _area_at(village, route.queue_level)
            programme = (
                session.scalar(select(Programme.id).where(Programme.code == complaint.programme_code))
                if complaint.programme_code
                else None
            )
            now = utcnow()
            ack_due, resolve_due = deadlines.due(complaint.category, now)
            case = Case(
                reference=_new_case_reference(session, reference_length),
                kind=kind,
                category=complaint.category,
                village_id=village.id,
                desk_id=desk.id,
                programme_id=programme,
                description=complaint.description,
                anonymous=complaint.anonymous,
                complainant_name=None if complaint.anonymous else complaint.name,
                callback=complaint.callback and phone is not None,
                citizen_phone=phone,
                language=language,
                ack_due_at=ack_due,
                resolve_due_at=resolve_due,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            session.add(case)
            session.flush()
            _event(session, case, "filed", "citizen", phone=phone, note="complaint by USSD")
            _tell_citizen(
                session,
                case,
                texts.received(language, case.reference),
                "case_update",
                policy,
                f"case:{case.reference}:received",
            )
            _alert_staff(
                session,
                case,
                route.alert_roles,
                village if route.queue_level == "commune" else desk,
                texts,
                policy,
                default_language,
            )
            return case.reference
    except IntegrityError:
        earlier = _reference_for_key(db, idempotency_key)
        if earlier is None:
            raise
        return earlier


def _reference_for_key(db: Db, idempotency_key: str) -> str | None:
    with db() as session:
        return session.scalar(select(Case.reference).where(Case.idempotency_key == idempotency_key))


def _alert_staff(
    session: Session,
    case: Case,
    roles: tuple[str, ...],
    area: Area,
    texts: CaseTexts,
    policy: SmsPolicy,
    default_language: str,
) -> None:
    """Alert the active staff of those roles at the area, each in their own language."""
    staff = session.scalars(
        select(Staff).where(Staff.role.in_(roles), Staff.area_id == area.id, Staff.active.is_(True))
    )
    summary = (case.description or "")[:60]
    for member in staff:
        language = _language_of(session, member.phone, default_language)
        body = texts.staff_alert(
            language,
            case.reference,
            case.category or case.kind,
            summary,
            village_path(session, case.village_id, language),
        )
        add_sms(
            session,
            member.phone,
            language,
            body,
            "staff_alert",
            policy,
            idempotency_key=f"case:{case.reference}:alert:{member.id}",
        )


def _find(session: Session, reference: str) -> Case | None:
    reference = reference.strip()
    if not is_valid(reference):
        return None
    return session.scalar(select(Case).where(Case.reference == reference).options(selectinload(Case.village)))


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
        case = _find(session, reference)
        if case is None or not _citizen_may_see(session, case, phone):
            return None
        return _view(case, language)


def _chief_of(session: Session, case: Case, phone: str) -> Staff | None:
    return session.scalar(
        select(Staff).where(
            Staff.phone == phone,
            Staff.role == "village_chief",
            Staff.area_id == case.village_id,
            Staff.active.is_(True),
        )
    )


def chief_action(
    db: Db,
    reference: str,
    phone: str,
    action: str,
    texts: CaseTexts,
    policy: SmsPolicy,
    note: str | None = None,
    language: str = "km",
) -> ActionResult:
    """Let the village chief of the case's village acknowledge (ok), resolve (done) or read (info) it.

    Anyone else is refused, and the attempt is recorded on the case.
    """
    with db.begin() as session:
        case = _find(session, reference)
        if case is None:
            return ActionResult(False, "not_found")
        chief = _chief_of(session, case, phone)
        if chief is None or case.category == "misconduct":
            _event(session, case, f"refused_{action}", "staff", phone=phone, note="not the village's chief")
            return ActionResult(False, "not_allowed")
        if action == "info":
            return ActionResult(True, case=_view(case, language))
        if case.status in CLOSED:
            return ActionResult(False, "closed", _view(case, language))
        now = utcnow()
        if action == "ok":
            if case.acknowledged_at is None:
                case.acknowledged_at = now
                if case.status == "queued":
                    case.status = "acknowledged"
                _event(session, case, "acknowledged", "staff", chief, phone)
                _tell_citizen(
                    session,
                    case,
                    texts.acknowledged(case.language, case.reference, chief.name),
                    "case_update",
                    policy,
                    f"case:{case.reference}:acknowledged",
                )
        elif action == "done":
            case.status = "resolved_village"
            case.outcome = note or case.outcome
            case.acknowledged_at = case.acknowledged_at or now
            _event(session, case, "resolved_at_village", "staff", chief, phone, note)
            _tell_citizen(
                session,
                case,
                texts.resolved(case.language, case.reference, note or "-"),
                "case_update",
                policy,
                f"case:{case.reference}:resolved_village",
            )
        return ActionResult(True, case=_view(case, language))


def _desk_staff(session: Session, case: Case, phone: str) -> Staff | None:
    """Return the staff member using phone if they may work this case's queue."""
    candidates = session.scalars(select(Staff).where(Staff.phone == phone, Staff.active.is_(True)))
    desk = session.get_one(Area, case.desk_id)
    above = set()
    area: Area | None = desk
    while area is not None:
        above.add(area.id)
        area = area.parent
    for staff in candidates:
        if staff.role == "national_admin" or (staff.role != "village_chief" and staff.area_id in above):
            return staff
    return None


def list_queue(db: Db, desk_code: str, language: str, include_closed: bool = False) -> list[CaseView]:
    """Return a desk's cases, the one due soonest first."""
    with db() as session:
        desk = session.scalar(select(Area).where(Area.code == desk_code))
        if desk is None:
            raise NotFound(f"desk {desk_code}")
        query = select(Case).where(Case.desk_id == desk.id).options(selectinload(Case.village))
        if not include_closed:
            query = query.where(Case.status.in_(OPEN))
        cases = session.scalars(query.order_by(Case.resolve_due_at.is_(None), Case.resolve_due_at, Case.id))
        return [_view(c, language) for c in cases]


def desk_action(
    db: Db,
    reference: str,
    phone: str,
    action: str,
    texts: CaseTexts,
    policy: SmsPolicy,
    note: str | None = None,
    language: str = "en",
) -> ActionResult:
    """Pick up, annotate, resolve, reject or escalate a case, as a desk officer."""
    with db.begin() as session:
        case = _find(session, reference)
        if case is None:
            return ActionResult(False, "not_found")
        staff = _desk_staff(session, case, phone)
        if staff is None:
            _event(session, case, f"refused_{action}", "staff", phone=phone, note="not this desk")
            return ActionResult(False, "not_allowed")
        if case.status in CLOSED and action != "note":
            return ActionResult(False, "closed", _view(case, language))
        now = utcnow()
        if action == "pickup":
            # One statement decides between two officers picking up at once.
            taken = session.scalar(
                update(Case)
                .where(Case.id == case.id, Case.picked_by_id.is_(None))
                .values(picked_by_id=staff.id, picked_at=now, status="picked_up", updated_at=now)
                .returning(Case.id)
            )
            if taken is None:
                return ActionResult(False, "already_taken", _view(case, language))
            session.refresh(case)
            _event(session, case, "picked_up", "staff", staff, phone)
            _tell_citizen(
                session,
                case,
                texts.picked_up(case.language, case.reference),
                "case_update",
                policy,
                f"case:{case.reference}:picked_up",
            )
        elif action == "note":
            if not note:
                raise InvalidData(["a note needs text"])
            _event(session, case, "note", "staff", staff, phone, note)
        elif action in ("resolve", "reject"):
            if not note:
                raise InvalidData([f"to {action} a case, say why"])
            case.status, case.closed_at = ("resolved" if action == "resolve" else "rejected"), now
            case.outcome = note
            _event(session, case, case.status, "staff", staff, phone, note)
            body = (texts.resolved if action == "resolve" else texts.rejected)(
                case.language, case.reference, note
            )
            _tell_citizen(session, case, body, "case_update", policy, f"case:{case.reference}:{case.status}")
        elif action == "escalate":
            _escalate(session, case, texts, policy, "staff", staff, note)
        else:
            raise InvalidData([f"unknown action {action!r}"])
        return ActionResult(True, case=_view(case, language))


def _escalate(
    session: Session,
    case: Case,
    texts: CaseTexts,
    policy: SmsPolicy,
    actor: str,
    staff: Staff | None = None,
    note: str | None = None,
    default_language: str = "km",
) -> bool:
    """Move a case to its district's queue once; return False when it was escalated already."""
    now = utcnow()
    district = _area_at(session.get_one(Area, case.village_id), "district")
    moved = session.scalar(
        update(Case)
        .where(Case.id == case.id, Case.escalated_at.is_(None))
        .values(escalated_at=now, desk_id=district.id, updated_at=now)
        .returning(Case.id)
    )
    if moved is None:
        return False
    session.refresh(case)
    _event(session, case, "escalated", actor, staff, note=note)
    _tell_citizen(
        session,
        case,
        texts.escalated(case.language, case.reference),
        "case_update",
        policy,
        f"case:{case.reference}:escalated",
    )
    officers = session.scalars(
        select(Staff).where(
            Staff.role == "district_officer", Staff.area_id == district.id, Staff.active.is_(True)
        )
    )
    for officer in officers:
        language = _language_of(session, officer.phone, default_language)
        body = texts.escalation_alert(
            language,
            case.reference,
            case.category or case.kind,
            village_path(session, case.village_id, language),
        )
        add_sms(
            session,
            officer.phone,
            language,
            body,
            "staff_alert",
            policy,
            idempotency_key=f"case:{case.reference}:escalation:{officer.id}",
        )
    return True


def escalate_overdue(
    db: Db, texts: CaseTexts, policy: SmsPolicy, now: datetime | None = None, default_language: str = "km"
) -> list[str]:
    """Escalate every open case past its acknowledgement or resolution deadline, once each."""
    now = now or utcnow()
    with db() as session:
        ids = list(
            session.scalars(
                select(Case.id).where(
                    Case.status.in_(OPEN),
                    Case.escalated_at.is_(None),
                    or_(
                        (Case.acknowledged_at.is_(None) & (Case.ack_due_at < now)), Case.resolve_due_at < now
                    ),
                )
            )
        )
    escalated = []
    for case_id in ids:
        with db.begin() as session:
            case = session.get_one(Case, case_id)
            if _escalate(
                session,
                case,
                texts,
                policy,
                "system",
                note="deadline passed",
                default_language=default_language,
            ):
                escalated.append(case.reference)
    return escalated


def add_citizen_note(db: Db, reference: str, phone: str, note: str) -> bool:
    """Add what a citizen sent by SMS to their own open request; False if it is not theirs or closed."""
    with db.begin() as session:
        case = _find(session, reference)
        if case is None or case.status in CLOSED or not _citizen_may_see(session, case, phone):
            return False
        _event(session, case, "citizen_details", "citizen", phone=phone, note=note)
        return True
