"""The SMS outbox: write messages with the change that causes them, then claim and settle them.

Rows are claimed by one sender at a time with a conditional UPDATE (a batch of them in one
statement), so two jobs racing for the same row cannot both hand it to the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonetext.encoding import fold_to_gsm7, measure_sms
from phonetext.splitting import split_sms
from registry.db import utcnow
from registry.models import Contact, OutboxMessage
from registry.services import Db
from registry.statuses import SmsStatus

SENDABLE = (SmsStatus.QUEUED, SmsStatus.RETRY)
FINAL = (SmsStatus.DELIVERED, SmsStatus.FAILED, SmsStatus.SUPPRESSED, SmsStatus.HELD)
# AT's delivery statuses, and what each means for the message.
DELIVERY_STATUS = {
    "Success": SmsStatus.DELIVERED,
    "Sent": SmsStatus.SENT,
    "Submitted": SmsStatus.SENT,
    "Buffered": SmsStatus.SENT,
    "Failed": SmsStatus.FAILED,
    "Rejected": SmsStatus.FAILED,
    "Expired": SmsStatus.FAILED,
}
# A delivery report never moves a message backwards: a late "Sent" after "Success" changes nothing.
_RANK: dict[str, int] = {
    SmsStatus.QUEUED: 0,
    SmsStatus.RETRY: 0,
    SmsStatus.SENDING: 1,
    SmsStatus.UNKNOWN: 1,
    SmsStatus.SENT: 2,
    SmsStatus.DELIVERED: 3,
    SmsStatus.FAILED: 3,
}


@dataclass(frozen=True)
class SmsPolicy:
    """How a deployment writes SMS: a cap on segments per message, and accents or not."""

    max_segments: int = 3
    fold_accents: bool = False

    def parts(self, body: str, language: str) -> list[str]:
        """Return the messages body is sent as, each within the segment cap."""
        if self.fold_accents and language != "km":
            body = fold_to_gsm7(body)
        return split_sms(body.strip(), self.max_segments) or [""]


@dataclass(frozen=True)
class SmsToSend:
    """A claimed message, as the sender needs it."""

    id: int
    recipient: str
    body: str
    attempts: int
    suppressed: bool = False  # the recipient opted out and the message is not essential
    unknown_resends: int = 0  # sends again after an unknown outcome, so far


@dataclass(frozen=True)
class Settlement:
    """What became of one claimed message, as its settle writes it."""

    id: int
    status: SmsStatus
    provider_message_id: str | None = None
    cost: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class SmsView:
    """An outgoing SMS as the simulator and operators see it."""

    id: int
    recipient: str
    body: str
    purpose: str
    status: str
    encoding: str
    segments: int
    part: int
    parts: int
    cost: str | None
    last_error: str | None
    created_at: datetime


def add_sms(
    session: Session,
    recipient: str,
    language: str,
    body: str,
    purpose: str,
    policy: SmsPolicy,
    idempotency_key: str | None = None,
    essential: bool = True,
) -> list[OutboxMessage]:
    """Add a message to the outbox inside the caller's transaction, split into capped parts."""
    texts = policy.parts(body, language)
    messages = []
    for number, text in enumerate(texts, start=1):
        measure = measure_sms(text)
        key = idempotency_key if number == 1 or idempotency_key is None else f"{idempotency_key}#{number}"
        message = OutboxMessage(
            recipient=recipient,
            language=language,
            body=text,
            purpose=purpose,
            essential=essential,
            encoding=measure.encoding,
            segments=measure.segments,
            part=number,
            parts=len(texts),
            idempotency_key=key,
        )
        session.add(message)
        messages.append(message)
    return messages


@dataclass(frozen=True)
class DailyCap:
    """At most `limit` messages of one purpose to one phone since `since` (local midnight)."""

    limit: int
    since: datetime


def queue_sms(
    db: Db,
    recipient: str,
    language: str,
    body: str,
    purpose: str,
    policy: SmsPolicy,
    idempotency_key: str | None = None,
    essential: bool = True,
    cap: DailyCap | None = None,
) -> list[int]:
    """Write an SMS to the outbox and return its rows' ids; a repeated key writes nothing.

    With a cap, a message over the day's limit for that phone and purpose is not written, and
    the list is empty: the service cannot be made to send SMS in a loop at its own cost.
    """
    if idempotency_key is not None:
        existing = _ids_for_key(db, idempotency_key)
        if existing:
            return existing
    if cap is not None:
        _ensure_contact(db, recipient)
    try:
        with db.begin() as session:
            if cap is not None and _over_cap(session, recipient, purpose, cap):
                return []
            messages = add_sms(
                session, recipient, language, body, purpose, policy, idempotency_key, essential
            )
            session.flush()
            return [m.id for m in messages]
    except IntegrityError:
        # A concurrent request with the same key won the race: its rows are the ones.
        existing = _ids_for_key(db, idempotency_key) if idempotency_key else []
        if not existing:
            raise
        return existing


def _ensure_contact(db: Db, phone: str) -> None:
    """Make sure the phone has a contact row, the row a capped send locks."""
    with db() as session:
        if session.scalar(select(Contact.id).where(Contact.phone == phone)) is not None:
            return
    try:
        with db.begin() as session:
            session.add(Contact(phone=phone))
    except IntegrityError:
        pass  # written a moment ago by a concurrent request: that row serves


def _over_cap(session: Session, phone: str, purpose: str, cap: DailyCap) -> bool:
    # Writing the contact row first puts capped sends to one phone in line (a row lock on
    # PostgreSQL, the write lock on SQLite), so two at once cannot both count the same free slot.
    session.execute(update(Contact).where(Contact.phone == phone).values(updated_at=utcnow()))
    sent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.recipient == phone,
            OutboxMessage.purpose == purpose,
            OutboxMessage.part == 1,
            OutboxMessage.created_at >= cap.since,
        )
    )
    return int(sent or 0) >= cap.limit


def _ids_for_key(db: Db, key: str) -> list[int]:
    with db() as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    or_(
                        OutboxMessage.idempotency_key == key,
                        OutboxMessage.idempotency_key.like(f"{key}#%"),
                    )
                )
                .order_by(OutboxMessage.part)
            )
        )


def claim_batch(db: Db, message_ids: Sequence[int]) -> list[SmsToSend]:
    """Take the sendable messages among message_ids for sending, in one conditional UPDATE.

    A row another job holds (claimed, or being claimed right now) is left out, not waited for;
    a row whose recipient opted out of a message that is not essential is settled suppressed in
    the same transaction, and returned marked so.
    """
    if not message_ids:
        return []
    opted_out = (
        select(Contact.opted_out)
        .where(Contact.phone == OutboxMessage.recipient)
        .scalar_subquery()
        .label("opted_out")
    )
    # SKIP LOCKED: two jobs whose batches overlap neither wait on nor deadlock over each other's
    # rows; each claims what is free, and the status condition keeps a row to one claim.
    free = (
        select(OutboxMessage.id)
        .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status.in_(SENDABLE))
        .with_for_update(skip_locked=True)
    )
    with db.begin() as session:
        now = utcnow()
        rows = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(free), OutboxMessage.status.in_(SENDABLE))
            .values(
                status=SmsStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                claimed_at=now,
                updated_at=now,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.recipient,
                OutboxMessage.body,
                OutboxMessage.attempts,
                OutboxMessage.essential,
                OutboxMessage.unknown_resends,
                opted_out,
            )
        ).all()
        # The claim returns what the send needs, opt-out included: no second read of the rows.
        claimed = [
            SmsToSend(
                row.id,
                row.recipient,
                row.body,
                row.attempts,
                not row.essential and bool(row.opted_out),
                int(row.unknown_resends or 0),
            )
            for row in rows
        ]
        suppressed = [message.id for message in claimed if message.suppressed]
        if suppressed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(suppressed))
                .values(
                    status=SmsStatus.SUPPRESSED,
                    last_error="recipient opted out",
                    next_attempt_at=None,
                    updated_at=now,
                )
            )
    return sorted(claimed, key=lambda message: message.id)


_outbox = cast(Table, OutboxMessage.__table__)
# One statement for every row of a batch, sent with executemany: a provider id or a cost is
# only ever added (a retry keeps the id of an earlier send), and sent_at is set by a send.
_SETTLE = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        updated_at=bindparam("b_now", type_=_outbox.c.updated_at.type),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_retry_at", type_=_outbox.c.next_attempt_at.type),
        provider_message_id=func.coalesce(bindparam("b_provider_id"), _outbox.c.provider_message_id),
        cost=func.coalesce(bindparam("b_cost"), _outbox.c.cost),
        sent_at=func.coalesce(bindparam("b_sent_at", type_=_outbox.c.sent_at.type), _outbox.c.sent_at),
    )
)


def settle_batch(db: Db, settlements: Sequence[Settlement]) -> None:
    """Record what became of claimed messages, each by its own outcome, in one transaction."""
    if not settlements:
        return
    now = utcnow()
    params = [
        {
            "b_id": s.id,
            "b_status": str(s.status),
            "b_now": now,
            "b_error": s.error,
            "b_retry_at": s.retry_at,
            "b_provider_id": s.provider_message_id,
            "b_cost": s.cost,
            "b_sent_at": now if s.status == SmsStatus.SENT else None,
        }
        for s in settlements
    ]
    with db.begin() as session:
        session.execute(_SETTLE, params)


def record_delivery(
    db: Db, provider_message_id: str, at_status: str, reason: str | None, phone: str | None = None
) -> bool:
    """Apply a delivery report; return False when no message has that provider id.

    Reports may arrive twice or out of order: a status never moves a message backwards. A report
    for an id we never heard of settles the oldest message to that phone whose send had an unknown
    outcome: the provider did take it, and says so here.
    """
    status = DELIVERY_STATUS.get(at_status)
    with db.begin() as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.provider_message_id == provider_message_id)
        )
        if message is None and phone:
            message = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == phone, OutboxMessage.status == SmsStatus.UNKNOWN)
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update()
            )
            if message is not None:
                message.provider_message_id = provider_message_id
                message.next_attempt_at = None
                message.last_error = None
                message.sent_at = message.sent_at or utcnow()
        if message is None:
            return False
        if status is None or _RANK.get(status, 0) < _RANK.get(message.status, 0):
            return True
        message.status = status
        if status == SmsStatus.DELIVERED:
            message.delivered_at = utcnow()
        if status == SmsStatus.FAILED:
            message.last_error = f"{at_status}: {reason}" if reason else at_status
        return True


def stranded_sms(db: Db, grace: timedelta, limit: int = 500) -> list[int]:
    """Return sendable messages whose job should have run by now: it was lost with Redis."""
    cutoff = utcnow() - grace
    with db() as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status.in_(SENDABLE),
                    OutboxMessage.updated_at < cutoff,
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at < cutoff),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )


def release_stale_claims(db: Db, older_than: timedelta, window: timedelta | None = None) -> list[int]:
    """Mark messages claimed by a worker that went silent as of unknown outcome; return their ids.

    The worker may have died after the provider took the message and before it could say so:
    sending again at once could send it twice. The message waits for a delivery report like any
    other unknown outcome, and is sent again once after the window (counted from the claim).
    """
    cutoff = utcnow() - older_than
    with db.begin() as session:
        claims = session.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_at)
            .where(OutboxMessage.status == SmsStatus.SENDING, OutboxMessage.claimed_at < cutoff)
            .with_for_update(skip_locked=True)
        ).all()
        for message_id, claimed_at in claims:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == SmsStatus.SENDING)
                .values(
                    status=SmsStatus.UNKNOWN,
                    last_error="the sending worker stopped mid-send: outcome unknown",
                    next_attempt_at=(claimed_at or cutoff) + (window or timedelta(0)),
                    updated_at=utcnow(),
                )
            )
        return [message_id for message_id, _ in claims]


def resend_unknown(db: Db, now: datetime | None = None) -> list[int]:
    """Make messages whose outcome stayed unknown past their window sendable once more; return ids."""
    now = now or utcnow()
    with db.begin() as session:
        ids = list(
            session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.status == SmsStatus.UNKNOWN, OutboxMessage.next_attempt_at <= now)
                .values(
                    status=SmsStatus.RETRY,
                    unknown_resends=OutboxMessage.unknown_resends + 1,
                    next_attempt_at=None,
                    last_error="no delivery report after a send with an unknown outcome: sent again, once",
                    updated_at=now,
                )
                .returning(OutboxMessage.id)
            )
        )
    return sorted(ids)


def retry_failed_sms(db: Db, message_ids: list[int] | None = None) -> list[int]:
    """Make failed messages sendable again (all of them, or the given ones); return their ids.

    "All" leaves out messages that may have been delivered (their sends had unknown outcomes):
    an operator names those one by one, after checking the provider's records.
    """
    with db.begin() as session:
        query = select(OutboxMessage).where(OutboxMessage.status == SmsStatus.FAILED)
        if message_ids:
            query = query.where(OutboxMessage.id.in_(message_ids))
        else:
            query = query.where(OutboxMessage.unknown_resends == 0)
        messages = list(session.scalars(query))
        for message in messages:
            message.status = SmsStatus.RETRY
        return [m.id for m in messages]


def list_sms(db: Db, phone: str | None = None, status: str | None = None, limit: int = 50) -> list[SmsView]:
    """Return the latest SMS, newest first, for one phone and one status if given."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if phone:
        query = query.where(OutboxMessage.recipient == phone)
    if status:
        query = query.where(OutboxMessage.status == status)
    with db() as session:
        return [
            SmsView(
                m.id,
                m.recipient,
                m.body,
                m.purpose,
                m.status,
                m.encoding,
                m.segments,
                m.part,
                m.parts,
                m.cost,
                m.last_error,
                m.created_at,
            )
            for m in session.scalars(query)
        ]


def sms_totals(db: Db) -> dict[str, tuple[int, int]]:
    """Return, per status, how many messages and how many billed segments there are."""
    with db() as session:
        rows = session.execute(
            select(
                OutboxMessage.status, func.count(), func.coalesce(func.sum(OutboxMessage.segments), 0)
            ).group_by(OutboxMessage.status)
        ).all()
    return {status: (count, segments) for status, count, segments in rows}
