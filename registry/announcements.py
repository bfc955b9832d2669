"""Announcements to villages: an officer's SMS to the chiefs or household phones of villages.

The villages are an area's (a district, commune or village code) or chosen one by one
(registry.announcement_places); a phone shared by households of several of them gets one SMS.

The announcement and every recipient's outbox row are written in one transaction, keyed by the
form (or command) that sent it, so a double click or a resent form sends once; each row's key is
`announce:ID:PHONE`. Announcements are not essential: a phone that texted STOP is left out, and
one that stops while the announcement is being sent is suppressed by the sender. Rows are spread
over time (`next_attempt_at`) at the configured rate, and the workers send each at its time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonetext.encoding import measure_sms
from registry.announcement_places import (
    OutsideScope,
    Place,
    Places,
    chosen_codes,
    places_of,
    resolve_places,
    shape_problems,
)
from registry.audit import record, record_now
from registry.db import utcnow
from registry.errors import InvalidData, NotFound
from registry.models import (
    Announcement,
    AnnouncementReply,
    AnnouncementVillage,
    Area,
    Contact,
    Enrolment,
    Household,
    HouseholdPhone,
    OutboxMessage,
    Person,
    Programme,
    Staff,
)
from registry.outbox import SmsPolicy, add_sms
from registry.scoping import Actor, areas_in_scope
from registry.services import Db
from registry.statuses import SmsStatus

AUDIENCES = ("chiefs", "households")
LANGUAGES = ("km", "pt", "en")
PURPOSE = "announcement"


@dataclass(frozen=True)
class Draft:
    """What the officer wrote and chose, before sending."""

    area_code: str  # every village of this area; "" when villages are chosen
    audience: str
    texts: dict[str, str]  # language -> text; at least one
    programme_code: str | None = None
    village_codes: tuple[str, ...] | None = None  # villages chosen one by one; None: the area's


@dataclass(frozen=True)
class Preview:
    """Who an announcement reaches and what it costs, shown before it is sent."""

    recipients: int
    opted_out: int
    segments: int
    by_language: dict[str, int]
    area: Place | None = None  # the area named, or None when villages are chosen
    villages: tuple[Place, ...] = ()  # the chosen villages, in code order
    programme: str | None = None  # the programme's name in the reader's language, when one is chosen


@dataclass(frozen=True)
class Counts:
    """Where an announcement's messages are, as delivery reports come in."""

    announcement_id: int
    recipients: int
    segments: int
    opted_out: int
    delivered: int
    failed: int
    pending: int
    suppressed: int
    created_at: datetime
    audience: str
    area: Place | None
    villages: tuple[Place, ...]


@dataclass(frozen=True)
class Sent:
    """The announcement a send made, or found when the same send came again."""

    announcement_id: int
    recipients: int
    created: bool


def request_key_of(by: int, draft: Draft) -> str:
    """Return the key of a send from the command line: the same words to the same people send once."""
    codes = draft.village_codes
    chosen = [] if codes is None else ["villages=" + ",".join(chosen_codes(codes))]
    words = "\x1f".join(
        [str(by), draft.area_code, draft.audience, draft.programme_code or ""]
        + [f"{lang}={draft.texts.get(lang, '')}" for lang in LANGUAGES]
        + chosen  # the set of villages, so their order and repeats make no other send
    )
    return "cli:" + hashlib.sha256(words.encode()).hexdigest()[:40]


def preview_announcement(
    db: Db,
    actor: Actor,
    draft: Draft,
    policy: SmsPolicy,
    default_language: str,
    language: str | None = None,
) -> Preview:
    """Count the recipients and the SMS segments an announcement would cost; InvalidData or NotFound.

    Places are named in `language` (the reader's), else in the default language.
    """
    with _refusal_recorded(db, actor), db() as session:
        places, programme_id = _check(session, actor, draft, language or default_language)
        recipients, opted_out = _recipients(
            session, places.village_ids, draft.audience, programme_id, default_language
        )
        programme_name = _programme_name(session, programme_id, language or default_language)
    segments, by_language = 0, dict[str, int]()
    for _phone, recipient_language in recipients:
        text = _text_for(draft.texts, recipient_language, default_language)
        segments += _segments(text, recipient_language, policy)
        by_language[recipient_language] = by_language.get(recipient_language, 0) + 1
    return Preview(
        len(recipients), opted_out, segments, by_language, places.area, places.chosen, programme_name
    )


def _programme_name(session: Session, programme_id: int | None, language: str) -> str | None:
    """Name a programme in the reader's language, as its texts allow."""
    programme = session.get(Programme, programme_id) if programme_id is not None else None
    texts = programme.text_for(language) if programme is not None else None
    return texts.name if texts is not None else None


def send_announcement(
    db: Db,
    actor: Actor,
    draft: Draft,
    request_key: str,
    policy: SmsPolicy,
    default_language: str,
    rate_per_minute: int,
) -> Sent:
    """Write the announcement and one outbox SMS per recipient, spread at the rate; once per key."""
    found = _by_key(db, request_key)
    if found is not None:
        return found
    try:
        with _refusal_recorded(db, actor), db.begin() as session:
            places, programme_id = _check(session, actor, draft, default_language)
            recipients, opted_out = _recipients(
                session, places.village_ids, draft.audience, programme_id, default_language
            )
            announcement = Announcement(
                area_id=places.area_id,
                audience=draft.audience,
                programme_id=programme_id,
                text_km=draft.texts.get("km", ""),
                text_pt=draft.texts.get("pt", ""),
                text_en=draft.texts.get("en", ""),
                sent_by_id=actor.id,
                recipients=len(recipients),
                opted_out=opted_out,
                request_key=request_key,
            )
            session.add(announcement)
            session.flush()
            session.add_all(
                AnnouncementVillage(announcement_id=announcement.id, village_id=village_id)
                for village_id in places.chosen_ids
            )
            start = utcnow()
            step = 60.0 / rate_per_minute if rate_per_minute > 0 else 0.0
            segments = 0
            for index, (phone, language) in enumerate(recipients):
                text = _text_for(draft.texts, language, default_language)
                key = f"announce:{announcement.id}:{phone}"
                # A recipient's slot: the rate is kept by when each row may go, not by the workers.
                at = start + timedelta(seconds=index * step) if step else None
                for message in add_sms(session, phone, language, text, PURPOSE, policy, key, essential=False):
                    message.announcement_id = announcement.id
                    message.next_attempt_at = at
                    segments += message.segments
            announcement.segments = segments
            codes = ",".join(place.code for place in places.chosen)
            villages = f"villages {codes}; " if codes else ""
            record(
                session,
                "announce",
                actor.id,
                f"announcement:{announcement.id}",
                places.area_id,
                f"{draft.audience}; {villages}{len(recipients)} recipients; {opted_out} opted out",
            )
            return Sent(announcement.id, len(recipients), True)
    except IntegrityError:
        # The same form sent at the same moment: the other request's announcement is the one.
        found = _by_key(db, request_key)
        if found is None:
            raise
        return found


def announcement_counts(db: Db, actor: Actor, announcement_id: int, language: str = "en") -> Counts:
    """Return an announcement's delivered, failed and pending counts; NotFound outside the actor's area."""
    with db() as session:
        announcement = session.get(Announcement, announcement_id)
        scope = areas_in_scope(session, actor)
        if announcement is None or (scope is not None and announcement.area_id not in scope):
            raise NotFound(f"announcement:{announcement_id}")
        area, villages = places_of(session, announcement, language)
        rows = session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.announcement_id == announcement_id, OutboxMessage.part == 1)
            .group_by(OutboxMessage.status)
        ).all()
    by_status = {status: count for status, count in rows}
    delivered = by_status.get(SmsStatus.DELIVERED, 0)
    failed = by_status.get(SmsStatus.FAILED, 0)
    suppressed = by_status.get(SmsStatus.SUPPRESSED, 0)
    pending = sum(by_status.values()) - delivered - failed - suppressed
    return Counts(
        announcement.id,
        announcement.recipients,
        announcement.segments,
        announcement.opted_out,
        delivered,
        failed,
        pending,
        suppressed,
        announcement.created_at,
        announcement.audience,
        area,
        villages,
    )


def list_announcements(db: Db, actor: Actor, limit: int = 20, language: str = "en") -> list[Counts]:
    """Return the latest announcements of the actor's area with their counts, newest first."""
    with db() as session:
        scope = areas_in_scope(session, actor)
        query = select(Announcement.id).order_by(Announcement.id.desc()).limit(limit)
        if scope is not None:
            query = query.where(Announcement.area_id.in_(scope))
        ids = list(session.scalars(query))
    return [announcement_counts(db, actor, i, language) for i in ids]


def _by_key(db: Db, request_key: str) -> Sent | None:
    with db() as session:
        found = session.scalar(select(Announcement).where(Announcement.request_key == request_key))
        return Sent(found.id, found.recipients, False) if found else None


@contextmanager
def _refusal_recorded(db: Db, actor: Actor) -> Iterator[None]:
    """Record a place refused to the actor, after the draft's own transaction has closed."""
    try:
        yield
    except OutsideScope as exc:
        # Its own transaction: the refusal is kept although the preview or the send fails.
        record_now(db, "refused_read", actor.id, exc.target, actor.area_id)
        raise


def _check(session: Session, actor: Actor, draft: Draft, language: str) -> tuple[Places, int | None]:
    """Check a draft against the registry and the actor's area; return its places and programme id."""
    problems = []
    if draft.audience not in AUDIENCES:
        problems.append("choose chiefs or households")
    if not any(text.strip() for text in draft.texts.values()):
        problems.append("write the announcement in at least one language")
    problems += shape_problems(draft.area_code, draft.village_codes)
    if problems:
        raise InvalidData(problems)
    places = resolve_places(session, actor, draft.area_code, draft.village_codes, language)
    programme_id = None
    if draft.programme_code:
        programme_id = session.scalar(select(Programme.id).where(Programme.code == draft.programme_code))
        if programme_id is None:
            raise InvalidData([f"no programme {draft.programme_code}"])
    return places, programme_id


def _recipients(
    session: Session, villages: list[int], audience: str, programme_id: int | None, default_language: str
) -> tuple[list[tuple[str, str]], int]:
    """Return (phone, language) of each recipient of these villages once, in phone order, and the STOPs."""
    phones: Sequence[str]
    if audience == "chiefs":
        phones = session.scalars(
            select(Staff.phone)
            .where(Staff.role == "village_chief", Staff.active.is_(True), Staff.area_id.in_(villages))
            .distinct()
        ).all()
    else:
        query = (
            select(HouseholdPhone.phone)
            .join(Household, Household.id == HouseholdPhone.household_id)
            .where(Household.village_id.in_(villages))
        )
        if programme_id is not None:
            members = select(Person.household_id).join(Enrolment, Enrolment.person_id == Person.id)
            enrolled = or_(
                Household.id.in_(
                    select(Enrolment.household_id).where(
                        Enrolment.programme_id == programme_id, Enrolment.status == "active"
                    )
                ),
                Household.id.in_(
                    members.where(Enrolment.programme_id == programme_id, Enrolment.status == "active")
                ),
            )
            query = query.where(enrolled)
        phones = session.scalars(query.distinct()).all()
    contacts = {
        phone: (language, opted_out)
        for phone, language, opted_out in session.execute(
            select(Contact.phone, Contact.language, Contact.opted_out).where(Contact.phone.in_(list(phones)))
        )
    }
    recipients, opted_out = [], 0
    for phone in sorted(set(phones)):
        language, stopped = contacts.get(phone, (None, False))
        if stopped:
            opted_out += 1
            continue
        recipients.append((phone, language if language in LANGUAGES else default_language))
    return recipients, opted_out


def _text_for(texts: dict[str, str], language: str, default_language: str) -> str:
    """Return the text in the recipient's language, else the default language's, else any written."""
    for wanted in (language, default_language, *LANGUAGES):
        if texts.get(wanted, "").strip():
            return texts[wanted].strip()
    return ""


def _segments(text: str, language: str, policy: SmsPolicy) -> int:
    return sum(measure_sms(part).segments for part in policy.parts(text, language))


# A chief's SMS that is no command is taken as an answer to the latest announcement they got
# within this many days; older announcements are not answered by chance.
REPLY_DAYS = 7


@dataclass(frozen=True)
class ChiefReply:
    """A chief's answer as the officer's SMS shows it."""

    chief: str
    village: str
    officer: str
    officer_language: str
    text: str


def forward_chief_reply_in(
    session: Session,
    sender: str,
    text: str,
    request_key: str,
    compose: Callable[[ChiefReply], str],
    policy: SmsPolicy,
    default_language: str,
) -> ChiefReply | None:
    """Keep a chief's answer to their latest announcement and SMS it to its officer; None if none.

    Inside the inbound SMS's transaction: the reply and its forward are written once per inbound
    message (its key), however often the message is processed.
    """
    chief = session.scalar(
        select(Staff).where(Staff.phone == sender, Staff.role == "village_chief", Staff.active.is_(True))
    )
    if chief is None:
        return None
    since = utcnow() - timedelta(days=REPLY_DAYS)
    announcement = session.scalar(
        select(Announcement)
        .join(OutboxMessage, OutboxMessage.announcement_id == Announcement.id)
        .where(OutboxMessage.recipient == sender, Announcement.created_at >= since)
        .order_by(Announcement.id.desc())
        .limit(1)
    )
    if announcement is None:
        return None
    officer = session.get_one(Staff, announcement.sent_by_id)
    contact = session.scalar(select(Contact.language).where(Contact.phone == officer.phone))
    language = contact if contact in LANGUAGES else default_language
    village = session.get(Area, chief.area_id) if chief.area_id else None
    reply = ChiefReply(
        chief.name, village.name(language) if village else "", officer.name, language, text[:300]
    )
    found = session.scalar(select(AnnouncementReply.id).where(AnnouncementReply.request_key == request_key))
    if found is None:
        session.add(
            AnnouncementReply(
                announcement_id=announcement.id, staff_id=chief.id, text=reply.text, request_key=request_key
            )
        )
        add_sms(
            session,
            officer.phone,
            language,
            compose(reply),
            "announcement_reply",
            policy,
            f"{request_key}:fwd",
        )
    return reply
