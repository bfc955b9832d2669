"""Escalation by deadline: the sweep hands overdue cases to the next level, once each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from registry.case_states import apply_move, overdue_condition
from registry.case_types import OPEN, SWEEP, CaseTexts, Move
from registry.db import utcnow
from registry.models import Area, Case
from registry.services import Db
from registry.settings import ServiceSettings


def overdue_references(db: Db, now: datetime, limit: int = 1000) -> list[str]:
    """Return open cases past a deadline that still have a level above them."""
    with db() as session:
        return list(
            session.scalars(
                select(Case.reference)
                .join(Area, Area.id == Case.desk_id)
                .where(
                    Case.status.in_([str(s) for s in OPEN]),
                    Area.parent_id.is_not(None),
                    overdue_condition(now),
                )
                .order_by(Case.id)
                .limit(limit)
            )
        )


def escalate_overdue(
    db: Db, settings: ServiceSettings, texts: CaseTexts, now: datetime | None = None
) -> list[str]:
    """Escalate every open case past its deadline to the next level; return those escalated.

    Each case is its own transaction and its own conditional move, so a desk picking a case up
    while the sweep runs wins or loses cleanly, and two sweeps at once escalate a case once.
    """
    now = now or utcnow()
    escalated = []
    for reference in overdue_references(db, now):
        result = apply_move(db, reference, SWEEP, Move.ESCALATE, settings, texts, now=now)
        if result.applied:
            escalated.append(reference)
    return escalated


def set_missing_deadlines(db: Db, settings: ServiceSettings, now: datetime | None = None) -> int:
    """Give every open case without deadlines those of its category or kind, counted from now.

    From now, not from filing: cases that waited without a deadline (pre-registrations filed before
    they had one) would otherwise all be overdue at once and flood the level above at the next sweep.
    """
    now = now or utcnow()
    changed = 0
    with db.begin() as session:
        rows = session.execute(
            select(Case.id, Case.category, Case.kind).where(
                Case.status.in_([str(s) for s in OPEN]),
                Case.ack_due_at.is_(None),
                Case.resolve_due_at.is_(None),
            )
        ).all()
        for case_id, category, kind in rows:
            ack_due, resolve_due = settings.deadlines.due(category, now, settings.zone, kind)
            # Conditional: a case given deadlines meanwhile (escalated, say) keeps its own.
            moved = session.scalar(
                update(Case)
                .where(Case.id == case_id, Case.resolve_due_at.is_(None))
                .values(ack_due_at=ack_due, resolve_due_at=resolve_due)
                .returning(Case.id)
            )
            changed += moved is not None
    return changed
