"""Pre-registration: one transaction writes the declaration, its case, its timeline and its SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    bindparam,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from registry.areas import village_path
from registry.case_types import CaseStatus, add_case
from registry.db import utcnow
from registry.errors import InvalidData
from registry.idempotency import insert_once
from registry.models import (
    Area,
    Case,
    CaseEvent,
    Household,
    HouseholdPhone,
    Person,
    PreRegistration,
    Programme,
)
from registry.names import name_key
from registry.notify import active_staff, alert_staff, language_of
from registry.outbox import add_sms
from registry.services import Db
from registry.settings import ServiceSettings
from registry.timeline import PREREGISTRATION_ASSISTED, PREREGISTRATION_BY_USSD, PREREGISTRATION_WALK_IN


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


class Channel(StrEnum):
    """Where a pre-registration was taken; the values are what preregistrations.channel stores."""

    USSD = "ussd"  # the person's phone, or the village chief's for them
    DESK = "desk"  # a walk-in, filled by an officer at the counter


# The submission's first timeline entry says truthfully who filled it and where.
_SUBMITTED_NOTES = {
    (Channel.USSD, False): PREREGISTRATION_BY_USSD,
    (Channel.USSD, True): PREREGISTRATION_ASSISTED,
    (Channel.DESK, True): PREREGISTRATION_WALK_IN,
    (Channel.DESK, False): PREREGISTRATION_WALK_IN,
}


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


def _duplicate_statement(by_date: bool, by_phone: bool) -> CompoundSelect[Any]:
    """Build the duplicate check for a declaration with (or without) a full date and a phone."""
    key: BindParameter[str] = bindparam("key")
    year: BindParameter[int] = bindparam("birth_year")
    village: BindParameter[int] = bindparam("village_id")

    def same_birth(model: type[Person] | type[PreRegistration]) -> ColumnElement[bool]:
        if by_date:
            return or_(
                model.birth_date == bindparam("birth_date"),
                (model.birth_date.is_(None)) & (model.birth_year == year),
            )
        return model.birth_year == year

    # Each kind of match its own branch with its own LIMIT (at most one row each); the first
    # kind found wins. The birth year narrows a common name ("Sok Sophal" is shared by tens of
    # thousands) through the (name_key, birth_year) index; a full date implies its year.
    branches = [
        select(literal_column("0", Integer).label("kind"), Person.id)
        .join(Household, Person.household_id == Household.id)
        .where(
            Person.name_key == key,
            Person.birth_year == year,
            Household.village_id == village,
            same_birth(Person),
        )
        .limit(1)
    ]
    if by_phone:
        # Start from the phone, the rarest value, on each side: an OR across the join would
        # make the planner start from the name and read every namesake.
        phone: BindParameter[str] = bindparam("phone")
        branches.append(
            select(literal_column("1", Integer).label("kind"), Person.id)
            .where(Person.phone == phone, Person.name_key == key)
            .limit(1)
        )
        branches.append(
            select(literal_column("1", Integer).label("kind"), Person.id)
            .join(HouseholdPhone, HouseholdPhone.household_id == Person.household_id)
            .where(HouseholdPhone.phone == phone, Person.name_key == key)
            .limit(1)
        )
    conditions: list[ColumnElement[bool]] = [
        (PreRegistration.village_id == village) & same_birth(PreRegistration)
    ]
    if by_phone:
        conditions.append(PreRegistration.phone == bindparam("phone"))
    branches.append(
        select(literal_column("2", Integer).label("kind"), PreRegistration.id)
        .where(PreRegistration.name_key == key, or_(*conditions))
        .limit(1)
    )
    parts = [branch.subquery() for branch in branches]
    return union_all(*(select(part) for part in parts))


# Built once, one per shape of declaration: building and compiling the UNION cost many times
# what the database takes to run it.
_DUPLICATE = {
    (date, phone): _duplicate_statement(date, phone) for date in (True, False) for phone in (True, False)
}


def find_duplicate(session: Session, declared: Declaration, village_id: int) -> _Match:
    """Find a person or an earlier pre-registration this declaration may repeat.

    A match is the same name and birth in the same village, or the same phone with the same name.
    One statement, read as plain rows on the session's connection (inside a submission's
    transaction, or alone in autocommit).
    """
    statement = _DUPLICATE[(declared.birth_date is not None, bool(declared.phone))]
    params = {
        "key": name_key(declared.full_name),
        "birth_year": declared.birth_year,
        "birth_date": declared.birth_date,
        "village_id": village_id,
        "phone": declared.phone,
    }
    found = sorted(tuple(row) for row in session.connection().execute(statement, params))
    if not found:
        return _Match()
    kind, found_id = found[0]
    return _Match(person_id=found_id) if kind < 2 else _Match(preregistration_id=found_id)


def submit_preregistration(
    db: Db,
    declared: Declaration,
    language: str,
    consent_at: datetime,
    idempotency_key: str,
    texts: PreRegistrationTexts,
    settings: ServiceSettings,
    assisted_by_id: int | None = None,
    channel: Channel = Channel.USSD,
) -> Submitted:
    """Write the pre-registration, its case and first event, and the SMS, in one transaction.

    idempotency_key names the request with who made it (registry.idempotency.request_key: the
    phone and the USSD session); the same key again returns the first submission's reference and
    writes nothing, whether or not the caller still remembers it.
    """
    submitted, _ = insert_once(
        db,
        lambda session: already_submitted(session, idempotency_key),
        lambda session: _submit(
            session, declared, language, consent_at, idempotency_key, texts, settings, assisted_by_id, channel
        ),
    )
    return submitted


# Built once: every retried final hop asks it before anything else.
_SUBMITTED = (
    select(Case.reference, Case.possible_duplicate)
    .join(PreRegistration, Case.preregistration_id == PreRegistration.id)
    .where(PreRegistration.idempotency_key == bindparam("key"))
)


def already_submitted(session: Session, idempotency_key: str) -> Submitted | None:
    """Return what an earlier submission with this key produced, if any."""
    row = session.connection().execute(_SUBMITTED, {"key": idempotency_key}).one_or_none()
    return Submitted(row.reference, row.possible_duplicate, created=False) if row else None


def _submit(
    session: Session,
    declared: Declaration,
    language: str,
    consent_at: datetime,
    idempotency_key: str,
    texts: PreRegistrationTexts,
    settings: ServiceSettings,
    assisted_by_id: int | None,
    channel: Channel,
) -> Submitted:
    village = session.scalar(select(Area).where(Area.code == declared.village_code, Area.level == "village"))
    if village is None or village.parent_id is None:
        raise InvalidData([f"unknown village {declared.village_code!r}"])
    programmes = list(session.scalars(select(Programme).where(Programme.code.in_(declared.programme_codes))))
    match = find_duplicate(session, declared, village.id)
    if assisted_by_id is not None and declared.phone:
        # The chief's session speaks the chief's language; the villager's SMS speak theirs.
        language = language_of(session, declared.phone, settings.default_language)
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
        channel=str(channel),
    )
    session.add(registration)
    session.flush()
    now = utcnow()
    # Deadlines of their own kind, as complaints have by category: queued by due date, overdue and
    # escalated by the sweep like any case.
    ack_due, resolve_due = settings.deadlines.due(None, now, settings.zone, "preregistration")
    case = Case(
        reference="",  # drawn by add_case
        kind="preregistration",
        status=str(CaseStatus.RECEIVED),
        village_id=village.id,
        desk_id=village.parent_id,
        preregistration_id=registration.id,
        citizen_phone=declared.phone,
        language=language,
        possible_duplicate=match.found,
        duplicate_of_person_id=match.person_id,
        duplicate_of_preregistration_id=match.preregistration_id,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
    )
    add_case(session, case, settings.reference_length)
    event = CaseEvent(
        case_id=case.id,
        at=utcnow(),
        action="submitted",
        actor="staff" if assisted_by_id else "citizen",
        staff_id=assisted_by_id,
        phone=declared.phone,
        note=_SUBMITTED_NOTES[(channel, assisted_by_id is not None)],
    )
    session.add(event)
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
    session.flush()
    if declared.phone:
        add_sms(
            session,
            declared.phone,
            language,
            texts.confirmation(language, case.reference, match.found),
            "confirmation",
            settings.sms_policy,
            idempotency_key=f"case:{case.reference}:event:{event.id}:citizen",
        )
    # The chief who registered the villager knows already.
    chiefs = [c for c in active_staff(session, ("village_chief",), village.id) if c.id != assisted_by_id]
    alert_staff(
        session,
        chiefs,
        lambda lang: texts.chief_alert(
            lang,
            case.reference,
            declared.full_name,
            village_path(session, village.id, lang),
            declared.household_size,
        ),
        "chief_alert",
        f"case:{case.reference}:event:{event.id}:alert",
        settings.sms_policy,
        settings.default_language,
    )
    return Submitted(case.reference, match.found)


def _duplicate_note(match: _Match) -> str:
    if match.person_id is not None:
        return f"may be person {match.person_id} already in the registry"
    return f"may repeat pre-registration {match.preregistration_id}"
