"""Escalation by deadline: the sweep hands overdue cases to the next level, once each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

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
