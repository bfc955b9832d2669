"""Verify a pre-registration into the registry, and let the district decide the programmes asked for.

Each verification is one transaction that first moves the case out of the open states with a
conditional UPDATE: of two officers (or two clicks) verifying the same case, the first wins and the
second is told it was done, so a household and its IDs are created once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.audit import record, record_now
from registry.case_states import apply_move_in
from registry.case_types import CaseTexts, Move, Refusal
from registry.casefile import EnrolmentRequestView, case_in_scope, request_view
from registry.db import utcnow
from registry.errors import N_, InvalidData, NotFound, Problem
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
from registry.names import clean_name, name_key
from registry.notify import language_of
from registry.outbox import SmsPolicy, add_sms
from registry.references import check_digit
from registry.scoping import Actor, in_scope, staff_row
from registry.services import Db
from registry.settings import ServiceSettings

SERIAL_DIGITS = 5
# Who decides enrolment requests: the district of the household (and a national admin).
DECIDERS = ("district_officer", "national_admin")


class RequestStatus(StrEnum):
    """Where an enrolment request is; the values are what enrolment_requests.status stores."""

    REQUESTED = "requested"  # waiting for the district
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True)
class Member:
    """Another member of a household being registered."""

    full_name: str
    sex: str
    birth_year: int
    birth_date: date | None = None


class VerificationTexts(CaseTexts, Protocol):
    """The SMS verification and enrolment decisions send, besides a case's, in the reader's language."""

    def registered(self, language: str, reference: str, ids: list[tuple[str, str]]) -> str: ...
    def enrolment_approved(self, language: str, programme: str, name: str) -> str: ...
    def enrolment_declined(self, language: str, programme: str, name: str, reason: str) -> str: ...


@dataclass(frozen=True)
class Verified:
    """What a verification did: the household and the IDs issued, or why nothing was done."""

    ok: bool
    reason: str = ""  # the state machine's refusal: closed, already_done, held, not_allowed...
    held_by: str = ""  # when held: the name of the officer who holds the case
    household_id: int | None = None
    ids: tuple[tuple[str, str], ...] = ()


def check_members(members: list[Member], this_year: int) -> None:
    """Refuse members without a usable name, sex or year of birth."""
    problems: list[str] = []
    for number, member in enumerate(members, start=1):
        if clean_name(member.full_name) is None:
            problems.append(Problem(N_("Member {number}: the name is not a person's name."), number=number))
        if member.sex not in ("F", "M"):
            problems.append(Problem(N_("Member {number}: sex must be F or M."), number=number))
        if not this_year - 120 <= member.birth_year <= this_year:
            problems.append(Problem(N_("Member {number}: the year of birth is not possible."), number=number))
    if problems:
        raise InvalidData(problems)


def _district(session: Session, village_id: int) -> Area:
    area = session.get_one(Area, village_id)
    while area.level != "district" and area.parent is not None:
        area = area.parent
    return area


def new_sp_ids(session: Session, district: Area, count: int) -> list[str]:
    """Return the next count social-protection IDs of a district: its code, a serial, a check digit."""
    prefix = "".join(ch for ch in district.code if ch.isdigit())
    highest = session.scalar(
        select(func.max(Person.sp_id)).where(Person.sp_id.like(prefix + "_" * (SERIAL_DIGITS + 1)))
    )
    first = int(highest[len(prefix) : len(prefix) + SERIAL_DIGITS]) + 1 if highest else 1
    # Two writers drawing the same serials are told apart by the unique index on sp_id; the loser
    # runs again (see _verify and the spreadsheet import).
    bodies = [f"{prefix}{serial:0{SERIAL_DIGITS}d}" for serial in range(first, first + count)]
    return [body + check_digit(body) for body in bodies]


def district_of_village(session: Session, village_id: int) -> Area:
    """Return the district a village lies in, whose code starts its people's IDs."""
    return _district(session, village_id)


def _new_sp_id(session: Session, district: Area) -> str:
    """Return the next social-protection ID of a district."""
    return new_sp_ids(session, district, 1)[0]


class _Refused(Exception):
    """The state machine refused to close the case: the whole verification is undone."""

    def __init__(self, reason: str, held_by: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.held_by = held_by


@dataclass(frozen=True)
class _RegisteredTexts:
    """A case's texts whose resolution SMS is the registration with the IDs issued."""

    texts: VerificationTexts
    ids: tuple[tuple[str, str], ...]

    def received(self, language: str, reference: str) -> str:
        return self.texts.received(language, reference)

    def staff_alert(self, language: str, reference: str, category: str, summary: str, place: str) -> str:
        return self.texts.staff_alert(language, reference, category, summary, place)

    def acknowledged(self, language: str, reference: str, by: str) -> str:
        return self.texts.acknowledged(language, reference, by)

    def picked_up(self, language: str, reference: str) -> str:
        return self.texts.picked_up(language, reference)

    def resolved(self, language: str, reference: str, outcome: str) -> str:
        return self.texts.registered(language, reference, list(self.ids))

    def rejected(self, language: str, reference: str, reason: str) -> str:
        return self.texts.rejected(language, reference, reason)

    def escalated(self, language: str, reference: str, level: str = "district") -> str:
        return self.texts.escalated(language, reference, level)

    def escalation_alert(self, language: str, reference: str, category: str, place: str) -> str:
        return self.texts.escalation_alert(language, reference, category, place)

    def desk_acknowledged(self, language: str, reference: str, level: str = "commune") -> str:
        return self.texts.desk_acknowledged(language, reference, level)

    def asked_for_information(self, language: str, reference: str, question: str) -> str:
        return self.texts.asked_for_information(language, reference, question)


def _resolve(
    session: Session,
    staff: Staff,
    case: Case,
    outcome: str,
    ids: tuple[tuple[str, str], ...],
    texts: VerificationTexts,
    settings: ServiceSettings,
) -> None:
    """Close the case through the state machine, whose SMS to the citizen carries the IDs."""
    result = apply_move_in(
        session, case.reference, staff, Move.RESOLVE, settings, _RegisteredTexts(texts, ids), note=outcome
    )
    if not result.applied:
        raise _Refused(str(result.refusal), result.case.held_by if result.case else "")


def _open_preregistration(session: Session, db: Db, actor: Actor, reference: str) -> Case:
    case = case_in_scope(session, actor, reference)
    if case is None:
        session.rollback()
        record_now(db, "refused_read", actor.id, f"case:{reference[:20]}", actor.area_id)
        raise NotFound(f"case {reference}")
    if case.kind != "preregistration" or case.preregistration_id is None:
        raise InvalidData([Problem(N_("Only a pre-registration can be verified."))])
    # One owner: before drawing IDs, refuse an officer who does not hold a case another holds (the
    # resolve that closes the case checks it again in SQL, in case a pick-up lands meanwhile).
    if case.picked_by_id is not None and case.picked_by_id != actor.id:
        raise _Refused(str(Refusal.HELD), case.picked_by.name if case.picked_by else "")
    return case


def _person(prereg: PreRegistration, household: Household) -> Person:
    return Person(
        household=household,
        full_name=prereg.full_name,
        name_key=prereg.name_key,
        sex=prereg.sex,
        birth_date=prereg.birth_date,
        birth_year=prereg.birth_year,
        phone=prereg.phone,
    )


def _request_enrolments(session: Session, case: Case, prereg: PreRegistration, person: Person) -> None:
    district = _district(session, prereg.village_id)
    for programme in prereg.programmes:
        session.add(
            EnrolmentRequest(
                case_id=case.id,
                person_id=person.id,
                household_id=person.household_id,
                programme_id=programme.id,
                district_id=district.id,
                status=str(RequestStatus.REQUESTED),
            )
        )


def register_household(
    db: Db,
    actor: Actor,
    reference: str,
    members: list[Member],
    texts: VerificationTexts,
    settings: ServiceSettings,
) -> Verified:
    """Register a pre-registration as a new household, issue every member's ID, and SMS the IDs."""
    check_members(members, utcnow().year)
    staff = _acting(db, actor)

    def work(session: Session) -> Verified:
        case = _open_preregistration(session, db, actor, reference)
        prereg = session.get_one(PreRegistration, case.preregistration_id)
        household = Household(village_id=prereg.village_id, size=max(prereg.household_size, len(members) + 1))
        if prereg.phone:
            household.phones = [HouseholdPhone(phone=prereg.phone)]
        session.add(household)
        head = _person(prereg, household)
        people = [head] + [
            Person(
                household=household,
                full_name=m.full_name.strip(),
                name_key=name_key(m.full_name),
                sex=m.sex,
                birth_date=m.birth_date,
                birth_year=m.birth_year,
            )
            for m in members
        ]
        session.add_all(people)
        district = _district(session, prereg.village_id)
        for person in people:
            # One at a time: each next ID is read after the previous one is written.
            person.sp_id = _new_sp_id(session, district)
            session.flush()
        ids = tuple((p.full_name, p.sp_id or "") for p in people)
        _resolve(session, staff, case, "registered as a new household", ids, texts, settings)
        case.person_id = head.id
        _request_enrolments(session, case, prereg, head)
        _finish(session, actor, case, f"new household {household.id}")
        return Verified(True, household_id=household.id, ids=ids)

    return _verify(db, work)


def attach_to_household(
    db: Db,
    actor: Actor,
    reference: str,
    household_id: int,
    texts: VerificationTexts,
    settings: ServiceSettings,
) -> Verified:
    """Add a pre-registered person to an existing household of the actor's area, with an ID."""
    staff = _acting(db, actor)

    def work(session: Session) -> Verified:
        case = _open_preregistration(session, db, actor, reference)
        household = session.scalar(
            select(Household).where(Household.id == household_id, in_scope(actor, Household.village_id))
        )
        if household is None:
            problem = Problem(N_("There is no household {number} in your area."), number=household_id)
            raise InvalidData([problem])
        prereg = session.get_one(PreRegistration, case.preregistration_id)
        person = _person(prereg, household)
        session.add(person)
        person.sp_id = _new_sp_id(session, _district(session, household.village_id))
        if prereg.phone and prereg.phone not in {p.phone for p in household.phones}:
            household.phones.append(HouseholdPhone(phone=prereg.phone))
        session.flush()
        ids = ((person.full_name, person.sp_id or ""),)
        _resolve(session, staff, case, f"added to household {household.id}", ids, texts, settings)
        case.person_id = person.id
        _request_enrolments(session, case, prereg, person)
        _finish(session, actor, case, f"household {household.id}")
        return Verified(True, household_id=household.id, ids=ids)

    return _verify(db, work)


def _acting(db: Db, actor: Actor) -> Staff:
    staff = staff_row(db, actor)
    if staff is None:
        raise NotFound(f"staff {actor.id}")
    return staff


def _verify(db: Db, work: Callable[[Session], Verified]) -> Verified:
    """Run a verification in one transaction; undo it all when the case could not be closed."""
    # Two verifications in one district can draw the same next ID; the unique index refuses the
    # second, which runs again, draws the next ID, or finds its case closed by the first.
    for attempt in range(5):
        try:
            with db.begin() as session:
                try:
                    return work(session)
                except _Refused as refused:
                    session.rollback()
                    return Verified(False, refused.reason, refused.held_by)
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _finish(session: Session, actor: Actor, case: Case, note: str) -> None:
    session.add(
        CaseEvent(
            case_id=case.id, at=utcnow(), action="verified", actor="staff", staff_id=actor.id, note=note
        )
    )
    record(session, "verify", actor.id, f"case:{case.reference}", case.village_id, note)


def list_enrolment_requests(
    db: Db, actor: Actor, language: str, status: str = RequestStatus.REQUESTED, limit: int = 100
) -> list[EnrolmentRequestView]:
    """Return the enrolment requests of the actor's area, oldest first; the read is audited."""
    with db.begin() as session:
        query = (
            select(EnrolmentRequest)
            .join(Household, Household.id == EnrolmentRequest.household_id)
            .where(in_scope(actor, Household.village_id))
        )
        if status:
            query = query.where(EnrolmentRequest.status == status)
        rows = list(session.scalars(query.order_by(EnrolmentRequest.id).limit(limit)))
        # The page names people and their households: which ones were shown is what the log keeps.
        shown = ",".join(str(r.id) for r in rows)
        record(
            session,
            "view_enrolment_requests",
            actor.id,
            f"status:{status or 'all'}",
            actor.area_id,
            f"{len(rows)} shown" + (f": requests {shown}" if shown else ""),
        )
        return [request_view(session, r, language) for r in rows]


def decide_enrolment(
    db: Db,
    actor: Actor,
    request_id: int,
    approve: bool,
    reason: str,
    texts: VerificationTexts,
    policy: SmsPolicy,
    default_language: str,
) -> bool:
    """Approve (enrolment active) or decline (with a reason) a request; False if it was decided already.

    A request from a commune's form has no case: its SMS goes to the person's phone, else the
    household's, in the language that phone chose, else default_language (DEFAULT_LANGUAGE).
    """
    reason = reason.strip()
    if not approve and not reason:
        raise InvalidData([Problem(N_("To decline, say why."))])
    with db.begin() as session:
        request = session.scalar(
            select(EnrolmentRequest)
            .join(Household, Household.id == EnrolmentRequest.household_id)
            .where(EnrolmentRequest.id == request_id, in_scope(actor, Household.village_id))
        )
        if request is None or actor.role not in DECIDERS:
            session.rollback()
            record_now(db, "refused_read", actor.id, f"enrolment_request:{request_id}", actor.area_id)
            raise NotFound(f"enrolment request {request_id}")
        now = utcnow()
        decided = session.scalar(
            update(EnrolmentRequest)
            .where(EnrolmentRequest.id == request.id, EnrolmentRequest.status == RequestStatus.REQUESTED)
            .values(
                status=str(RequestStatus.APPROVED if approve else RequestStatus.DECLINED),
                reason=reason or None,
                decided_by_id=actor.id,
                decided_at=now,
            )
            .returning(EnrolmentRequest.id)
        )
        if decided is None:
            return False
        session.refresh(request)
        person = session.get_one(Person, request.person_id)
        programme = session.get_one(Programme, request.programme_id)
        household = session.get_one(Household, request.household_id)
        case = session.get(Case, request.case_id) if request.case_id is not None else None
        phone = person.phone or (case.citizen_phone if case else _first_phone(household))
        if case is not None:
            language = case.language
        else:
            language = language_of(session, phone, default_language) if phone else default_language
        text = programme.text_for(language)
        name = text.name if text else programme.code
        if approve:
            enrolment = Enrolment(
                person_id=person.id, programme_id=programme.id, status="active", started_on=now.date()
            )
            session.add(enrolment)
            session.flush()
            request.enrolment_id = enrolment.id
            body = texts.enrolment_approved(language, name, person.full_name)
        else:
            body = texts.enrolment_declined(language, name, person.full_name, reason)
        record(
            session,
            f"enrolment_{request.status}",
            actor.id,
            f"enrolment_request:{request.id}",
            household.village_id,
            reason or None,
        )
        if phone:
            add_sms(
                session,
                phone,
                language,
                body,
                "enrolment",
                policy,
                idempotency_key=f"enrolment_request:{request.id}:{request.status}",
            )
        return True


def _first_phone(household: Household) -> str | None:
    phones = sorted(p.phone for p in household.phones)
    return phones[0] if phones else None
