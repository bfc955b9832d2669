"""The registry's tables as typed SQLAlchemy models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UtcDateTime, utcnow

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


class ProgrammeText(Base):
    """A programme's description in one language."""

    __tablename__ = "programme_texts"
    __table_args__ = (UniqueConstraint("programme_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
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

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(40))
    essential: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    # Set by whoever may repeat the request (a retried USSD hop), so the SMS is written once.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
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
    # new -> processing -> processed; failed when processing raised (the job is kept for retry)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    command: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
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
