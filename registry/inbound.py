"""Inbound SMS: stored first, idempotent on the provider's id, then claimed by one job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.db import utcnow
from registry.models import Contact, InboundMessage, OutboxMessage
from registry.outbox import SmsPolicy, add_sms
from registry.services import Db

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
                    InboundMessage.status.in_(("new", "failed")),
                    (InboundMessage.status == "processing") & (InboundMessage.claimed_at < now - stale),
                ),
            )
            .values(status="processing", claimed_at=now)
            .returning(InboundMessage.id)
        )
        if claimed is None:
            return None
        message = session.get_one(InboundMessage, inbound_id)
        return Inbound(message.id, message.sender, message.text)


def mark_inbound_failed(db: Db, inbound_id: int) -> None:
    """Record that processing raised, so the sweep and operators see it."""
    with db.begin() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id).values(status="failed"))


def unprocessed_inbound(db: Db, grace: timedelta, limit: int = 500) -> list[int]:
    """Return inbound messages whose job should have finished by now."""
    cutoff = utcnow() - grace
    with db() as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(
                    or_(
                        (InboundMessage.status == "new") & (InboundMessage.received_at < cutoff),
                        (InboundMessage.status == "processing") & (InboundMessage.claimed_at < cutoff),
                    )
                )
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )


def finish_inbound(
    db: Db,
    inbound_id: int,
    command: str,
    language: str,
    reply: str,
    policy: SmsPolicy,
    set_language: str | None = None,
    opt_out: bool | None = None,
) -> list[int]:
    """Apply an inbound SMS's outcome in one transaction: preferences, the reply, processed."""
    with db.begin() as session:
        message = session.get_one(InboundMessage, inbound_id)
        contact = session.scalar(select(Contact).where(Contact.phone == message.sender))
        if contact is None and (set_language or opt_out is not None):
            contact = Contact(phone=message.sender)
            session.add(contact)
        if contact is not None and set_language:
            contact.language = set_language
        if contact is not None and opt_out is not None:
            contact.opted_out = opt_out
        key = f"inbound:{inbound_id}:reply"
        replies = (
            []
            if _has_reply(session, key)
            else add_sms(session, message.sender, language, reply, "reply", policy, idempotency_key=key)
        )
        message.status, message.command, message.processed_at = "processed", command, utcnow()
        session.flush()
        return [r.id for r in replies]


def _has_reply(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None
