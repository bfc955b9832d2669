"""The registry's tables as typed SQLAlchemy models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UtcDateTime, utcnow
from registry.statuses import CaseStatus, SmsStatus

PROGRAMME_FIELDS = ("name", "summary", "eligibility", "benefits", "how_to_apply")


class Contact(Base):
    """A phone number that has used the service, and the language its owner chose."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    # STOP by SMS: no more non-essential messages until START.
    opted_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Programme(Base):
    """A social-protection or employment programme of one country's catalogue."""

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("country", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    texts: Mapped[list[ProgrammeText]] = relationship(
        back_populates="programme", cascade="all, delete-orphan"
    )

    def text(self, language: str) -> ProgrammeText | None:
        """Return this programme's texts in a language, if it has them."""
        return next((t for t in self.texts if t.language == language), None)

    def text_for(self, language: str, fallback: str | None = None) -> ProgrammeText | None:
        """Return the texts in a language, else in fallback (DEFAULT_LANGUAGE), else in any it has."""
        # No language is assumed here: the caller names the deployment's default.
        found = self.text(language) or (self.text(fallback) if fallback else None)
        return found or (self.texts[0] if self.texts else None)


class ProgrammeText(Base):
    """A programme's description in one language."""

    __tablename__ = "programme_texts"
    __table_args__ = (UniqueConstraint("programme_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    # The short name a USSD menu shows on one line; empty when the name itself is short enough.
    label: Mapped[str] = mapped_column(String(60), default="", server_default="")
    summary: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[str] = mapped_column(Text)
    benefits: Mapped[str] = mapped_column(Text)
    how_to_apply: Mapped[str] = mapped_column(Text)
    programme: Mapped[Programme] = relationship(back_populates="texts")


class OutboxMessage(Base):
    """An SMS to send, written in the same transaction as the change that caused it.

    Status runs queued -> sending -> sent -> delivered, or to retry, failed, suppressed (the
    recipient opted out of non-essential messages) or held (SMS_BACKEND=outbox keeps it here).
    """

    __tablename__ = "outbox_messages"
    __dispatch__ = "sms"  # a job is enqueued for each new row once its transaction commits
    __dispatch_group__ = "body"  # rows of one text may share a job: one request, many recipients

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(40))
    essential: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default=SmsStatus.QUEUED, index=True)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    # Set by whoever may repeat the request (a retried USSD hop), so the SMS is written once.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Times the message was sent again after a send whose outcome was unknown: at most once.
    unknown_resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The announcement it carries, so the officer sees its delivered, failed and pending counts.
    announcement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    cost: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    """An SMS a person sent to the service, stored before anything is done with it."""

    __tablename__ = "inbound_messages"
    __dispatch__ = "inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(100), unique=True)
    sender: Mapped[str] = mapped_column(String(20), index=True)
    to: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    link_id: Mapped[str | None] = mapped_column(String(100))
    network_code: Mapped[str | None] = mapped_column(String(20))
    # new -> processing -> processed; failed when processing raised (the sweep tries it again at
    # next_attempt_at), gave_up after the last attempt (reported; `flask sms inbound-retry`)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    command: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UssdSessionEnd(Base):
    """The gateway's end-of-session notification, kept for operations and cost reporting."""

    __tablename__ = "ussd_session_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    service_code: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


AREA_LEVELS = ("province", "district", "commune", "village")
STAFF_ROLES = ("village_chief", "commune_desk", "district_officer", "province_officer", "national_admin")
# The area level each role is tied to (a national admin has none).
ROLE_LEVEL = {
    "village_chief": "village",
    "commune_desk": "commune",
    "district_officer": "district",
    "province_officer": "province",
    "national_admin": None,
}


def area_name(names: dict[str, str], language: str, fallback: str | None) -> str:
    """Pick a name by language, else by fallback; refuse a language areas are not named in.

    Areas are named in km, pt and en, the languages with catalogs: a new language needs its names
    first, and saying so beats showing a name in a language nobody chose.
    """
    for wanted in (language, fallback):
        if wanted and names.get(wanted):
            return names[wanted]
    raise ValueError(f"areas have no names in {language!r} (nor in {fallback!r})")


def area_name_column(language: str) -> Any:
    """Return the column that names areas in a language; refuse one areas are not named in."""
    columns = {"km": Area.name_km, "pt": Area.name_pt, "en": Area.name_en}
    if language not in columns:
        raise ValueError(f"areas have no names in {language!r}")
    return columns[language]


class Area(Base):
    """An administrative area: province, district, commune or village, with its official code."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    level: Mapped[str] = mapped_column(String(10), index=True)
    name_km: Mapped[str] = mapped_column(String(120))
    name_pt: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    parent: Mapped[Area | None] = relationship(remote_side="Area.id")

    def name(self, language: str, fallback: str | None = None) -> str:
        """Return the area's name in a language, else in fallback (the deployment's DEFAULT_LANGUAGE)."""
        return area_name({"km": self.name_km, "pt": self.name_pt, "en": self.name_en}, language, fallback)


class Household(Base):
    """A household of a village, with the phones it can be reached on."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    phones: Mapped[list[HouseholdPhone]] = relationship(cascade="all, delete-orphan")
    members: Mapped[list[Person]] = relationship(back_populates="household")


class HouseholdPhone(Base):
    """A phone number registered on a household."""

    __tablename__ = "household_phones"
    __table_args__ = (UniqueConstraint("household_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20), index=True)


class Person(Base):
    """A person known to the registry."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # Names compared for duplicates: case, accents and spacing folded.
    name_key: Mapped[str] = mapped_column(String(120), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int] = mapped_column(Integer)
    national_id: Mapped[str | None] = mapped_column(String(40))
    # The social-protection ID printed on the person's card; its last digit is a check digit.
    sp_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    household: Mapped[Household | None] = relationship(back_populates="members")


class Enrolment(Base):
    """A person's or household's place in a programme."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Staff(Base):
    """Someone who works cases: a village chief, a commune desk officer, a district officer..."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    area: Mapped[Area | None] = relationship()


preregistration_programmes = Table(
    "preregistration_programmes",
    Base.metadata,
    Column("preregistration_id", ForeignKey("preregistrations.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programmes.id"), primary_key=True),
)


class PreRegistration(Base):
    """What a person declared when pre-registering, as they declared it."""

    __tablename__ = "preregistrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int] = mapped_column(Integer)
    village_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    household_size: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    consent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(10), default="ussd")
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The request that submitted it (a USSD session): a retried submission finds it here.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    programmes: Mapped[list[Programme]] = relationship(secondary=preregistration_programmes)
    village: Mapped[Area] = relationship()


class Case(Base):
    """A request queued to a commune desk: a pre-registration, a complaint, an appeal..."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.RECEIVED, index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)  # the commune desk
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    preregistration_id: Mapped[int | None] = mapped_column(ForeignKey("preregistrations.id"))
    citizen_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(30))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    description: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(default=False)
    complainant_name: Mapped[str | None] = mapped_column(String(120))
    callback: Mapped[bool] = mapped_column(default=False)
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    picked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    picked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    # The request that filed it (a USSD session): a retried filing finds the case here.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    possible_duplicate: Mapped[bool] = mapped_column(default=False)
    duplicate_of_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    duplicate_of_preregistration_id: Mapped[int | None] = mapped_column(ForeignKey("preregistrations.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id")
    village: Mapped[Area] = relationship(foreign_keys=[village_id])
    desk: Mapped[Area] = relationship(foreign_keys=[desk_id])
    picked_by: Mapped[Staff | None] = relationship(foreign_keys=[picked_by_id])


class CaseEvent(Base):
    """One entry of a case's timeline; entries are only ever added."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(20))  # citizen, staff or system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # The request that made this move, with who acted (an inbound SMS, a desk form): made once.
    request_key: Mapped[str | None] = mapped_column(String(200), unique=True)


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _timeline_is_append_only(_mapper: object, _connection: object, target: CaseEvent) -> None:
    raise ValueError(f"case event {target.id} cannot be changed: the timeline is append-only")


class IdLookup(Base):
    """One try at looking up a social-protection ID, kept to spot people trying IDs at random."""

    __tablename__ = "id_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    sp_id: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(12))  # found, mismatch, locked
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StaffCredential(Base):
    """A staff member's desk password (an argon2 hash), lock-out state and one-time set-up code."""

    __tablename__ = "staff_credentials"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    setup_code_hash: Mapped[str | None] = mapped_column(String(200))
    setup_code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Who read or tried to read what, and every sign-in, failure and lock; rows are only added."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))  # view_case, view_household, search, sign_in...
    target: Mapped[str | None] = mapped_column(String(80))  # case:1234567, household:12, query text
    # The area the target belongs to, so province officers read only their part of the log.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class EnrolmentRequest(Base):
    """A programme asked for, waiting for the district's decision.

    Asked by a verified pre-registration (its case), or on a commune's form (its import).
    """

    __tablename__ = "enrolment_requests"
    __table_args__ = (
        UniqueConstraint("case_id", "programme_id"),
        UniqueConstraint("import_id", "person_id", "programme_id"),
        CheckConstraint("case_id IS NOT NULL OR import_id IS NOT NULL", name="asked_somewhere"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DataVersion(Base):
    """A counter that imports bump, so every process knows its cached copy of that data is stale."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class RegistryImport(Base):
    """A commune's spreadsheet imported once: who, when, the file's hash and what it created."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same file imported twice (or by two officers at once) is one import: the hash is unique.
    file_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(200))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer)
    persons: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    # Programmes asked for on the form, one enrolment request each, for the district to decide.
    requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "line:new person id:matching person id" for each possible duplicate, for the desk to check.
    duplicate_detail: Mapped[str | None] = mapped_column(Text)
    first_person_id: Mapped[int | None] = mapped_column(Integer)
    last_person_id: Mapped[int | None] = mapped_column(Integer)


class CardIssue(Base):
    """One printing of a person's ID card: the first is the issue, later ones are reprints."""

    __tablename__ = "card_issues"
    __table_args__ = (UniqueConstraint("person_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    sp_id: Mapped[str] = mapped_column(String(16))
    # 1 for the first card, 2 and up for reprints: the card itself says which it is.
    number: Mapped[int] = mapped_column(Integer)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Announcement(Base):
    """An announcement an officer sent to the chiefs or households of an area or chosen villages."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The area named, or the smallest area holding every chosen village: who may read it is who
    # reads that area. None only for villages of several provinces (national staff alone).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    audience: Mapped[str] = mapped_column(String(12))  # chiefs or households
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    text_km: Mapped[str] = mapped_column(Text, default="")
    text_pt: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[int] = mapped_column(Integer, default=0)
    # The form (or command) that sent it: sent again, it finds this announcement and sends nothing.
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AnnouncementVillage(Base):
    """A village chosen one by one for an announcement (an announcement to an area has none)."""

    __tablename__ = "announcement_villages"

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    village_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class AnnouncementReply(Base):
    """A village chief's SMS answer to an announcement, forwarded to the officer who sent it."""

    __tablename__ = "announcement_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    # The inbound SMS it came in: processed twice, it is kept and forwarded once.
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ExportRequest(Base):
    """An export a desk officer asked for, built by a worker and kept a while for them to download."""

    __tablename__ = "exports"
    __dispatch__ = "export"  # its job is enqueued once the asking transaction commits

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(20))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # None: the whole country
    fmt: Mapped[str] = mapped_column(String(8))
    sheet: Mapped[str] = mapped_column(String(20))
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8))
    # queued, running, done, failed, expired (the file pruned; the row stays to say so).
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    # Set while queued or running, unique: the same export asked twice at once is one row, one job.
    pending_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)  # jobs enqueued for it, the first included
    claimed_by: Mapped[str | None] = mapped_column(String(60))  # the RQ job id running it
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the running job's last heartbeat
    error: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[str | None] = mapped_column(Text)  # rows per sheet, "persons 1048575+141425, ..."
    total_rows: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(Integer)  # bytes
    file_name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class ExportChunk(Base):
    """About a megabyte of a finished export's file, in order: every web node reads it from here."""

    __tablename__ = "export_chunks"

    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
