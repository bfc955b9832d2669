"""What the desk reads about a case, a household or a search, scoped and audited.

Each read takes the acting staff member: a thing outside their area answers NotFound, exactly as a
thing that does not exist, and the attempt is recorded; a read that succeeds is recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from registry.areas import village_path
from registry.audit import record, record_now
from registry.clock import days_late
from registry.db import utcnow
from registry.errors import NotFound
from registry.models import (
    Area,
    Case,
    CaseEvent,
    Enrolment,
    EnrolmentRequest,
    Household,
    HouseholdPhone,
    Person,
    PreRegistration,
    Programme,
    Staff,
)
from registry.names import name_key
from registry.references import is_valid
from registry.scoping import Actor, in_scope
from registry.services import Db


@dataclass(frozen=True)
class PersonView:
    """A registered person."""

    id: int
    full_name: str
    sex: str
    birth_date: date | None
    birth_year: int
    sp_id: str | None
    household_id: int | None
    village: str


@dataclass(frozen=True)
class DeclarationView:
    """A pre-registration as the person declared it."""

    id: int
    full_name: str
    sex: str
    birth_date: date | None
    birth_year: int
    household_size: int
    phone: str | None
    channel: str
    programmes: list[str]
    village: str
    reference: str | None = None


@dataclass(frozen=True)
class EventView:
    """One line of a case's timeline."""

    at: datetime
    action: str
    actor: str
    staff_name: str | None
    note: str | None


@dataclass(frozen=True)
class EnrolmentRequestView:
    """A programme asked for, and the district's decision."""

    id: int
    programme: str
    person: str
    status: str
    reason: str | None
    case_reference: str  # empty when asked on a commune's form
    village: str
    household_id: int
    import_id: int | None  # the commune's form that asked for it, when no case did


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows."""

    reference: str
    kind: str
    category: str | None
    status: str
    village: str
    village_code: str
    created_at: datetime
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    acknowledged_at: datetime | None
    escalated: bool
    picked_by_id: int | None
    picked_by: str | None
    picked_at: datetime | None
    description: str | None
    outcome: str | None
    citizen_phone: str | None
    language: str
    anonymous: bool
    complainant_name: str | None
    callback: bool
    possible_duplicate: bool
    declaration: DeclarationView | None
    duplicate_person: PersonView | None
    duplicate_declaration: DeclarationView | None
    household_members: list[PersonView]
    person: PersonView | None
    timeline: list[EventView]
    enrolment_requests: list[EnrolmentRequestView]
    due_at: datetime | None = None  # the deadline that counts now: acknowledgement, then resolution
    days_late: int = 0  # started days past due_at while open (0 when on time or closed)


def _person_view(session: Session, person: Person, language: str) -> PersonView:
    village = ""
    if person.household is not None:
        village = village_path(session, person.household.village_id, language)
    return PersonView(
        person.id,
        person.full_name,
        person.sex,
        person.birth_date,
        person.birth_year,
        person.sp_id,
        person.household_id,
        village,
    )


def _declaration_view(session: Session, prereg: PreRegistration, language: str) -> DeclarationView:
    programmes = [programme_name(p, language) for p in prereg.programmes]
    reference = session.scalar(select(Case.reference).where(Case.preregistration_id == prereg.id))
    return DeclarationView(
        prereg.id,
        prereg.full_name,
        prereg.sex,
        prereg.birth_date,
        prereg.birth_year,
        prereg.household_size,
        prereg.phone,
        prereg.channel,
        programmes,
        village_path(session, prereg.village_id, language),
        reference,
    )


def programme_name(programme: Programme, language: str) -> str:
    """Return a programme's name in a language, else its code."""
    text = programme.text_for(language)
    return text.name if text else programme.code


def _refuse(db: Db, actor: Actor, what: str) -> NotFound:
    # Its own transaction: the refusal is kept although the read raises.
    record_now(db, "refused_read", actor.id, what, actor.area_id)
    return NotFound(what)


def case_in_scope(session: Session, actor: Actor, reference: str) -> Case | None:
    """Return the case when the actor may read it, else None."""
    reference = reference.strip()
    if not is_valid(reference):
        return None
    query = select(Case).where(Case.reference == reference, in_scope(actor, Case.village_id))
    if actor.role == "commune_desk":
        query = query.where(or_(Case.category.is_(None), Case.category != "misconduct"))
    return session.scalar(query)


def read_case(db: Db, actor: Actor, reference: str, language: str) -> CaseFile:
    """Return a case's file for the actor; NotFound (recorded) outside their area."""
    with db.begin() as session:
        case = case_in_scope(session, actor, reference)
        if case is None:
            session.rollback()
            raise _refuse(db, actor, f"case:{reference[:20]}")
        record(session, "view_case", actor.id, f"case:{case.reference}", case.village_id)
        declaration = duplicate_person = duplicate_declaration = person = None
        members: list[PersonView] = []
        if case.preregistration_id:
            prereg = session.scalar(
                select(PreRegistration)
                .where(PreRegistration.id == case.preregistration_id)
                .options(selectinload(PreRegistration.programmes).selectinload(Programme.texts))
            )
            if prereg is not None:
                declaration = _declaration_view(session, prereg, language)
        if case.duplicate_of_person_id:
            dup = session.get(Person, case.duplicate_of_person_id)
            if dup is not None:
                duplicate_person = _person_view(session, dup, language)
                if dup.household_id:
                    members = [
                        _person_view(session, p, language)
                        for p in session.scalars(
                            select(Person).where(Person.household_id == dup.household_id).order_by(Person.id)
                        )
                    ]
        if case.duplicate_of_preregistration_id:
            earlier = session.get(PreRegistration, case.duplicate_of_preregistration_id)
            if earlier is not None:
                duplicate_declaration = _declaration_view(session, earlier, language)
        if case.person_id:
            found = session.get(Person, case.person_id)
            person = _person_view(session, found, language) if found else None
        picker = session.get(Staff, case.picked_by_id) if case.picked_by_id else None
        village = session.get_one(Area, case.village_id)
        timeline = [
            EventView(e.at, e.action, e.actor, name, e.note)
            for e, name in session.execute(
                select(CaseEvent, Staff.name)
                .outerjoin(Staff, Staff.id == CaseEvent.staff_id)
                .where(CaseEvent.case_id == case.id)
                .order_by(CaseEvent.id)
            )
        ]
        # As the queue counts it: until acknowledged, the acknowledgement deadline is the one that counts.
        due_at = case.ack_due_at if case.acknowledged_at is None and case.ack_due_at else case.resolve_due_at
        late = days_late(due_at, utcnow()) if case.closed_at is None else 0
        return CaseFile(
            due_at=due_at,
            days_late=late,
            reference=case.reference,
            kind=case.kind,
            category=case.category,
            status=case.status,
            village=village_path(session, case.village_id, language),
            village_code=village.code,
            created_at=case.created_at,
            ack_due_at=case.ack_due_at,
            resolve_due_at=case.resolve_due_at,
            acknowledged_at=case.acknowledged_at,
            escalated=case.escalated_at is not None,
            picked_by_id=case.picked_by_id,
            picked_by=picker.name if picker else None,
            picked_at=case.picked_at,
            description=case.description,
            outcome=case.outcome,
            citizen_phone=case.citizen_phone,
            language=case.language,
            anonymous=case.anonymous,
            complainant_name=case.complainant_name,
            callback=case.callback,
            possible_duplicate=case.possible_duplicate,
            declaration=declaration,
            duplicate_person=duplicate_person,
            duplicate_declaration=duplicate_declaration,
            household_members=members,
            person=person,
            timeline=timeline,
            enrolment_requests=enrolment_requests_of_case(session, case.id, language),
        )


def enrolment_requests_of_case(session: Session, case_id: int, language: str) -> list[EnrolmentRequestView]:
    """Return the enrolment requests a case made."""
    query = select(EnrolmentRequest).where(EnrolmentRequest.case_id == case_id)
    return [request_view(session, r, language) for r in session.scalars(query.order_by(EnrolmentRequest.id))]


def request_view(session: Session, request: EnrolmentRequest, language: str) -> EnrolmentRequestView:
    """Return an enrolment request as pages show it."""
    programme = session.get_one(Programme, request.programme_id)
    person = session.get_one(Person, request.person_id)
    household = session.get_one(Household, request.household_id)
    reference = ""
    if request.case_id is not None:
        reference = session.scalar(select(Case.reference).where(Case.id == request.case_id)) or ""
    return EnrolmentRequestView(
        request.id,
        programme_name(programme, language),
        person.full_name,
        request.status,
        request.reason,
        reference,
        village_path(session, household.village_id, language),
        household.id,
        request.import_id,
    )


@dataclass(frozen=True)
class HouseholdFile:
    """Everything the household page shows."""

    id: int
    village: str
    size: int | None
    phones: list[str]
    members: list[PersonView]
    enrolments: list[tuple[str, str, str]]  # (who, programme, status)


def read_household(db: Db, actor: Actor, household_id: int, language: str) -> HouseholdFile:
    """Return a household's file for the actor; NotFound (recorded) outside their area."""
    with db.begin() as session:
        household = session.scalar(
            select(Household).where(Household.id == household_id, in_scope(actor, Household.village_id))
        )
        if household is None:
            session.rollback()
            raise _refuse(db, actor, f"household:{household_id}")
        record(session, "view_household", actor.id, f"household:{household.id}", household.village_id)
        members = list(session.scalars(select(Person).where(Person.household_id == household.id)))
        names = {p.id: p.full_name for p in members}
        enrolments = []
        for enrolment, programme in session.execute(
            select(Enrolment, Programme)
            .join(Programme, Programme.id == Enrolment.programme_id)
            .where(
                or_(
                    Enrolment.household_id == household.id,
                    Enrolment.person_id.in_([p.id for p in members] or [0]),
                )
            )
            .options(selectinload(Programme.texts))
        ):
            who = names.get(enrolment.person_id or 0, "")
            name = programme_name(programme, language)
            enrolments.append((who, name, enrolment.status))
        return HouseholdFile(
            household.id,
            village_path(session, household.village_id, language),
            household.size,
            [p.phone for p in household.phones],
            [_person_view(session, p, language) for p in sorted(members, key=lambda p: p.id)],
            enrolments,
        )


def search_registry(db: Db, actor: Actor, query: str, language: str, limit: int = 50) -> list[PersonView]:
    """Find people of the actor's area by social-protection ID, phone, folded name or village."""
    text = " ".join(query.split())[:80]
    if not text:
        return []
    with db.begin() as session:
        base = (
            select(Person)
            .join(Household, Household.id == Person.household_id)
            .where(in_scope(actor, Household.village_id))
        )
        digits = text.replace(" ", "").lstrip("+")
        conditions = []
        if digits.isdigit():
            conditions.append(Person.sp_id == digits)
            phone_households = select(HouseholdPhone.household_id).where(
                HouseholdPhone.phone.like(f"%{digits[-8:]}")
            )
            conditions.append(Person.phone.like(f"%{digits[-8:]}"))
            conditions.append(Person.household_id.in_(phone_households))
            conditions.append(
                Household.village_id.in_(select(Area.id).where(Area.code == digits, Area.level == "village"))
            )
        else:
            key = name_key(text)
            conditions.append(Person.name_key.contains(key, autoescape=True))
            villages = select(Area.id).where(
                Area.level == "village",
                or_(
                    Area.name_en.icontains(text, autoescape=True),
                    Area.name_pt.icontains(text, autoescape=True),
                    Area.name_km.contains(text, autoescape=True),
                ),
            )
            conditions.append(Household.village_id.in_(villages))
        found = list(
            session.scalars(base.where(or_(*conditions)).order_by(Person.full_name, Person.id).limit(limit))
        )
        # Who was shown, not only how many: the log answers "who saw this person's data?".
        persons = ",".join(str(p.id) for p in found)
        households = ",".join(dict.fromkeys(str(p.household_id) for p in found if p.household_id))
        detail = f"{len(found)} found" + (f"; persons {persons}; households {households}" if found else "")
        record(session, "search", actor.id, text, actor.area_id, detail)
        return [_person_view(session, p, language) for p in found]
