"""Inbound SMS: stored first, idempotent on the provider's id, then claimed by one job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.clock import local_today
from registry.db import utcnow
from registry.models import Contact, InboundMessage, OutboxMessage
from registry.outbox import SmsPolicy, add_sms
from registry.services import Db


class InboundStatus(StrEnum):
    """Where an inbound SMS is; the values are what the database stores."""

    NEW = "new"  # stored, its job queued
    PROCESSING = "processing"  # claimed by a job
    PROCESSED = "processed"  # its effect and reply committed
    FAILED = "failed"  # processing raised; the sweep tries again at next_attempt_at
    GAVE_UP = "gave_up"  # failed every attempt; reported, retried only by an operator


MAX_TEXT = 1000  # longer than any command; the rest of a 10 kB message is not kept


@dataclass(frozen=True)
class Inbound:
    """A claimed inbound message."""

    id: int
    sender: str
    text: str


def store_inbound(
    db: Db,
    provider_id: str,
    sender: str,
    text: str,
    to: str | None,
    link_id: str | None,
    network_code: str | None,
) -> bool:
    """Store an inbound SMS once; return False when that provider id was already stored."""
    with db() as session:
        if session.scalar(select(InboundMessage.id).where(InboundMessage.provider_id == provider_id)):
            return False
    try:
        with db.begin() as session:
            session.add(
                InboundMessage(
                    provider_id=provider_id,
                    sender=sender,
                    text=text[:MAX_TEXT],
                    to=to,
                    link_id=link_id,
                    network_code=network_code,
                    received_at=utcnow(),
                )
            )
        return True
    except IntegrityError:
        return False  # the same callback, delivered twice at once


def claim_inbound(db: Db, inbound_id: int, stale: timedelta) -> Inbound | None:
    """Take an inbound message for processing; a claim older than stale is taken over."""
    now = utcnow()
    with db.begin() as session:
        claimed = session.scalar(
            update(InboundMessage)
            .where(
                InboundMessage.id == inbound_id,
                or_(
                    InboundMessage.status.in_((InboundStatus.NEW, InboundStatus.FAILED)),
                    (InboundMessage.status == InboundStatus.PROCESSING)
                    & (InboundMessage.claimed_at < now - stale),
                ),
            )
            .values(status=InboundStatus.PROCESSING, claimed_at=now)
            .returning(InboundMessage.id)
        )
        if claimed is None:
            return None
        message = session.get_one(InboundMessage, inbound_id)
        return Inbound(message.id, message.sender, message.text)


# What an inbound SMS's effect says it was, and what to reply: (command, reply).
Effect = Callable[[Session], tuple[str, str]]


@dataclass(frozen=True)
class InboundDecision:
    """What to do with one inbound SMS: decided by the router, applied here in one transaction.

    effect, when set, makes the SMS's change (a case move, a complaint, a note) inside the same
    transaction as the reply, and returns the command and reply that replace the ones given.
    """

    command: str
    language: str
    reply: str
    set_language: str | None = None
    opt_out: bool | None = None
    effect: Effect | None = None


@dataclass(frozen=True)
class InboundRetry:
    """How failed inbound messages are tried again: the delays between attempts, in seconds."""

    delays: tuple[int, ...] = (60, 300, 1800)

    @property
    def max_attempts(self) -> int:
        """Attempts in all, the first included."""
        return len(self.delays) + 1

    def delay(self, attempts: int) -> int:
        """Seconds to wait after the given number of failed attempts."""
        return self.delays[min(attempts, len(self.delays)) - 1] if self.delays else 0


def mark_inbound_failed(db: Db, inbound_id: int, error: str, retry: InboundRetry | None = None) -> str:
    """Record that processing raised: failed (tried again later), or gave_up after the last attempt."""
    retry = retry or InboundRetry()
    with db.begin() as session:
        message = session.get(InboundMessage, inbound_id, with_for_update=True)
        if message is None or message.status == InboundStatus.PROCESSED:
            return InboundStatus.PROCESSED
        message.attempts = (message.attempts or 0) + 1
        message.last_error = error[:500]
        if message.attempts >= retry.max_attempts:
            message.status, message.next_attempt_at = InboundStatus.GAVE_UP, None
        else:
            message.status = InboundStatus.FAILED
            message.next_attempt_at = utcnow() + timedelta(seconds=retry.delay(message.attempts))
        return message.status


def unprocessed_inbound(db: Db, grace: timedelta, limit: int = 500) -> list[int]:
    """Return inbound messages whose job should have finished by now, or whose retry is due."""
    now = utcnow()
    cutoff = now - grace
    with db() as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(
                    or_(
                        (InboundMessage.status == InboundStatus.NEW) & (InboundMessage.received_at < cutoff),
                        (InboundMessage.status == InboundStatus.PROCESSING)
                        & (InboundMessage.claimed_at < cutoff),
                        (InboundMessage.status == InboundStatus.FAILED)
                        & (InboundMessage.next_attempt_at <= now),
                    )
                )
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )


@dataclass(frozen=True)
class GaveUp:
    """An inbound message nobody could process after every attempt, for an operator."""

    id: int
    sender: str
    text: str
    attempts: int
    last_error: str | None
    received_at: datetime


def inbound_given_up(db: Db, limit: int = 100) -> list[GaveUp]:
    """Return the inbound messages processing gave up on, newest first."""
    with db() as session:
        rows = session.scalars(
            select(InboundMessage)
            .where(InboundMessage.status == InboundStatus.GAVE_UP)
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        )
        return [GaveUp(m.id, m.sender, m.text, m.attempts, m.last_error, m.received_at) for m in rows]


def count_inbound(db: Db, status: str) -> int:
    """Count inbound messages in a status (for /healthz)."""
    with db() as session:
        return session.scalar(select(func.count()).where(InboundMessage.status == status)) or 0


def retry_inbound(db: Db, ids: list[int] | None = None) -> list[int]:
    """Give messages that processing gave up on a fresh set of attempts; return their ids."""
    with db.begin() as session:
        query = update(InboundMessage).where(InboundMessage.status == InboundStatus.GAVE_UP)
        if ids is not None:
            query = query.where(InboundMessage.id.in_(ids))
        return list(
            session.scalars(
                query.values(status=InboundStatus.FAILED, attempts=0, next_attempt_at=utcnow()).returning(
                    InboundMessage.id
                )
            )
        )


def finish_inbound(
    db: Db, inbound_id: int, decision: InboundDecision, policy: SmsPolicy, zone: ZoneInfo | None = None
) -> list[int]:
    """Apply an inbound SMS's decision in one transaction: its effect, preferences, the reply, processed.

    The message row is locked first, so a second worker that took over a stale claim waits and
    then finds it processed; a crash before the commit leaves nothing, and the retry does it all.
    A text nobody understood is answered once a local day (in zone): two auto-responders texting
    each other, or a phone repeating itself, get one reply and then silence.
    """
    with db.begin() as session:
        message = session.get(InboundMessage, inbound_id, with_for_update=True, populate_existing=True)
        if message is None or message.status == InboundStatus.PROCESSED:
            return []
        command, reply = decision.command, decision.reply
        if decision.effect is not None:
            command, reply = decision.effect(session)
        contact = session.scalar(select(Contact).where(Contact.phone == message.sender))
        if contact is None and (decision.set_language or decision.opt_out is not None):
            contact = Contact(phone=message.sender)
            session.add(contact)
        if contact is not None and decision.set_language:
            contact.language = decision.set_language
        if contact is not None and decision.opt_out is not None:
            contact.opted_out = decision.opt_out
        key = f"inbound:{inbound_id}:reply"
        if command == "unknown" and zone is not None:
            key = f"unknown_reply:{message.sender}:{local_today(zone).isoformat()}"
        replies = (
            []
            if _has_reply(session, key)
            else add_sms(
                session, message.sender, decision.language, reply, "reply", policy, idempotency_key=key
            )
        )
        message.status, message.command, message.processed_at = InboundStatus.PROCESSED, command, utcnow()
        message.next_attempt_at = None
        session.flush()
        return [r.id for r in replies]


def _has_reply(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None
