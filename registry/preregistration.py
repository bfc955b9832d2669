"""Pre-registration: one transaction writes the declaration, its case, its timeline and its SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.areas import village_path
from registry.db import utcnow
from registry.errors import InvalidData
from registry.models import (
    Area,
    Case,
    CaseEvent,
    Contact,
    Household,
    HouseholdPhone,
    Person,
    PreRegistration,
    Programme,
    Staff,
)
from registry.names import name_key
from registry.outbox import SmsPolicy, add_sms
from registry.references import new_reference
from registry.services import Db


@dataclass(frozen=True)
class Declaration:
    """What a person declares when pre-registering."""

    full_name: str
    sex: str
    birth_year: int
    birth_date: date | None
    village_code: str
    household_size: int
    programme_codes: tuple[str, ...] = ()
    phone: str | None = None  # where the person can be reached; None when they have no phone


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: its reference and whether it may duplicate someone."""

    reference: str
    possible_duplicate: bool
    created: bool = True


class PreRegistrationTexts(Protocol):
    """The SMS a submission sends, written in the reader's language by the caller's layer."""

    def confirmation(self, language: str, reference: str, possible_duplicate: bool) -> str:
        """The citizen's confirmation."""
        ...

    def chief_alert(self, language: str, reference: str, name: str, village: str, size: int) -> str:
        """The village chief's alert."""
        ...


@dataclass(frozen=True)
class _Match:
    person_id: int | None = None
    preregistration_id: int | None = None

    @property
    def found(self) -> bool:
        return self.person_id is not None or self.preregistration_id is not None


def _same_birth(declared: Declaration):  # type: ignore[no-untyped-def]
    def condition(model):  # type: ignore[no-untyped-def]
        if declared.birth_date is not None:
            return or_(
                model.birth_date == declared.birth_date,
                (model.birth_date.is_(None)) & (model.birth_year == declared.birth_year),
            )
        return model.birth_year == declared.birth_year

    return condition


def find_duplicate(session: Session, declared: Declaration, village_id: int) -> _Match:
    """Find a person or an earlier pre-registration this declaration may repeat.

    A match is the same name and birth in the same village, or the same phone with the same name.
    """
    key = name_key(declared.full_name)
    same_birth = _same_birth(declared)
    person = session.scalar(
        select(Person.id)
        .join(Household, Person.household_id == Household.id)
        .where(Person.name_key == key, Household.village_id == village_id, same_birth(Person))
        .limit(1)
    )
    if person is None and declared.phone:
        person = session.scalar(
            select(Person.id)
            .outerjoin(HouseholdPhone, HouseholdPhone.household_id == Person.household_id)
            .where(
                Person.name_key == key,
                or_(Person.phone == declared.phone, HouseholdPhone.phone == declared.phone),
            )
            .limit(1)
        )
    if person is not None:
        return _Match(person_id=person)
    conditions = [(PreRegistration.village_id == village_id) & same_birth(PreRegistration)]
    if declared.phone:
        conditions.append(PreRegistration.phone == declared.phone)
    earlier = session.scalar(
        select(PreRegistration.id).where(PreRegistration.name_key == key, or_(*conditions)).limit(1)
    )
    return _Match(preregistration_id=earlier)


def _new_case_reference(session: Session, length: int) -> str:
    for _ in range(20):
        reference = new_reference(length)
        if session.scalar(select(Case.id).where(Case.reference == reference)) is None:
            return reference
    raise RuntimeError("no free reference found: raise REFERENCE_LENGTH")


def _contact_language(session: Session, phone: str, default: str) -> str:
    return session.scalar(select(Contact.language).where(Contact.phone == phone)) or default


def submit_preregistration(
    db: Db,
    declared: Declaration,
    language: str,
    consent_at: datetime,
    idempotency_key: str,
    texts: PreRegistrationTexts,
    policy: SmsPolicy,
    assisted_by_id: int | None = None,
    reference_length: int = 7,
    default_language: str = "km",
) -> Submitted:
    """Write the pre-registration, its case and first event, and the SMS, in one transaction.

    The same idempotency key (a retried submission) returns the first submission's reference.
    """
    earlier = _already_submitted(db, idempotency_key)
    if earlier is not None:
        return earlier
    try:
        with db.begin() as session:
            return _submit(
                session,
                declared,
                language,
                consent_at,
                idempotency_key,
                texts,
                policy,
                assisted_by_id,
                reference_length,
                default_language,
            )
    except IntegrityError:
        earlier = _already_submitted(db, idempotency_key)
        if earlier is None:
            raise
        return earlier


def _already_submitted(db: Db, idempotency_key: str) -> Submitted | None:
    with db() as session:
        row = session.execute(
            select(Case.reference, Case.possible_duplicate)
            .join(PreRegistration, Case.preregistration_id == PreRegistration.id)
            .where(PreRegistration.idempotency_key == idempotency_key)
        ).one_or_none()
    return Submitted(row.reference, row.possible_duplicate, created=False) if row else None


def _submit(
    session: Session,
    declared: Declaration,
    language: str,
    consent_at: datetime,
    idempotency_key: str,
    texts: PreRegistrationTexts,
    policy: SmsPolicy,
    assisted_by_id: int | None,
    reference_length: int,
    default_language: str,
) -> Submitted:
    village = session.scalar(select(Area).where(Area.code == declared.village_code, Area.level == "village"))
    if village is None or village.parent_id is None:
        raise InvalidData([f"unknown village {declared.village_code!r}"])
    programmes = list(session.scalars(select(Programme).where(Programme.code.in_(declared.programme_codes))))
    match = find_duplicate(session, declared, village.id)
    registration = PreRegistration(
        full_name=declared.full_name,
        name_key=name_key(declared.full_name),
        sex=declared.sex,
        birth_date=declared.birth_date,
        birth_year=declared.birth_year,
        village_id=village.id,
        household_size=declared.household_size,
        phone=declared.phone,
        language=language,
        consent_at=consent_at,
        assisted_by_id=assisted_by_id,
        idempotency_key=idempotency_key,
        programmes=programmes,
    )
    session.add(registration)
    session.flush()
    case = Case(
        reference=_new_case_reference(session, reference_length),
        kind="preregistration",
        village_id=village.id,
        desk_id=village.parent_id,
        preregistration_id=registration.id,
        citizen_phone=declared.phone,
        language=language,
        possible_duplicate=match.found,
        duplicate_of_person_id=match.person_id,
        duplicate_of_preregistration_id=match.preregistration_id,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case.id,
            at=utcnow(),
            action="submitted",
            actor="staff" if assisted_by_id else "citizen",
            staff_id=assisted_by_id,
            phone=declared.phone,
            note="pre-registration by USSD" + (" (assisted)" if assisted_by_id else ""),
        )
    )
    if match.found:
        session.add(
            CaseEvent(
                case_id=case.id,
                at=utcnow(),
                action="flagged_duplicate",
                actor="system",
                note=_duplicate_note(match),
            )
        )
    if declared.phone:
        add_sms(
            session,
            declared.phone,
            language,
            texts.confirmation(language, case.reference, match.found),
            "confirmation",
            policy,
            idempotency_key=f"case:{case.reference}:confirmation",
        )
    chiefs = session.scalars(
        select(Staff).where(
            Staff.role == "village_chief", Staff.area_id == village.id, Staff.active.is_(True)
        )
    )
    for chief in chiefs:
        if chief.id == assisted_by_id:
            continue  # the chief who registered the villager knows already
        chief_language = _contact_language(session, chief.phone, default_language)
        body = texts.chief_alert(
            chief_language,
            case.reference,
            declared.full_name,
            village_path(session, village.id, chief_language),
            declared.household_size,
        )
        add_sms(
            session,
            chief.phone,
            chief_language,
            body,
            "chief_alert",
            policy,
            idempotency_key=f"case:{case.reference}:alert:{chief.id}",
        )
    return Submitted(case.reference, match.found)


def _duplicate_note(match: _Match) -> str:
    if match.person_id is not None:
        return f"may be person {match.person_id} already in the registry"
    return f"may repeat pre-registration {match.preregistration_id}"


def village_of_phone(db: Db, phone: str) -> str | None:
    """Return the code of the village this phone is known in: its household's, else its last request's."""
    with db() as session:
        code = session.scalar(
            select(Area.code)
            .join(Household, Household.village_id == Area.id)
            .join(HouseholdPhone, HouseholdPhone.household_id == Household.id)
            .where(HouseholdPhone.phone == phone)
            .limit(1)
        )
        if code is None:
            code = session.scalar(
                select(Area.code)
                .join(PreRegistration, PreRegistration.village_id == Area.id)
                .where(PreRegistration.phone == phone)
                .order_by(PreRegistration.id.desc())
                .limit(1)
            )
        return code
