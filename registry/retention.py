"""Retention: personal data kept only as long as it serves someone, case timelines always."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Delete, delete
from sqlalchemy.orm import Session

from registry.db import changed_rows, utcnow
from registry.export_jobs import expire_exports
from registry.inbound import InboundStatus
from registry.models import Contact, IdLookup, InboundMessage, OutboxMessage, UssdSessionEnd
from registry.outbox import FINAL
from registry.services import Db

# Outbox rows that no worker will touch again; queued, retrying or sending ones are never pruned.
FINISHED_SMS = (*FINAL, "sent")


@dataclass(frozen=True)
class Retention:
    """How long each kind of record is kept, in days."""

    days: int = 180  # session ends, ID lookups, inbound texts handled, contacts with nothing kept
    sms_days: int = 365  # SMS sent or given up on (their text is personal data too)


@dataclass(frozen=True)
class PruneReport:
    """How many rows of each kind one prune removed."""

    session_ends: int
    id_lookups: int
    inbound: int
    outbox: int
    contacts: int
    exports: int = 0  # export files past their time, and old export rows

    @property
    def total(self) -> int:
        """Return the rows removed in all."""
        return self.session_ends + self.id_lookups + self.inbound + self.outbox + self.contacts + self.exports


def _removed(session: Session, statement: Delete) -> int:
    return changed_rows(session.execute(statement))


def prune_old_records(db: Db, retention: Retention, now: datetime | None = None) -> PruneReport:
    """Delete what has outlived its retention, in one transaction; case timelines and audit stay."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention.days)
    sms_cutoff = now - timedelta(days=retention.sms_days)
    with db.begin() as session:
        ends = _removed(session, delete(UssdSessionEnd).where(UssdSessionEnd.received_at < cutoff))
        lookups = _removed(session, delete(IdLookup).where(IdLookup.at < cutoff))
        # Only messages whose effect is done: a failed or given-up one still waits for someone.
        inbound = _removed(
            session,
            delete(InboundMessage).where(
                InboundMessage.received_at < cutoff, InboundMessage.status == InboundStatus.PROCESSED
            ),
        )
        outbox = _removed(
            session,
            delete(OutboxMessage).where(
                OutboxMessage.created_at < sms_cutoff, OutboxMessage.status.in_(FINISHED_SMS)
            ),
        )
        # A contact with no language and no STOP keeps nothing the person asked for.
        contacts = _removed(
            session,
            delete(Contact).where(
                Contact.updated_at < cutoff, Contact.language.is_(None), Contact.opted_out.is_(False)
            ),
        )
    # Export files go once past their time (a day by default); the row stays as long as a lookup.
    exports = expire_exports(db, now, timedelta(days=retention.days))
    return PruneReport(ends, lookups, inbound, outbox, contacts, exports)
