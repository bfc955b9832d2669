"""The audit log: every read of a person's data, every sign-in, failure, lock and refused read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.db import utcnow
from registry.errors import NotFound
from registry.models import Area, AuditEntry, Staff
from registry.scoping import Actor, areas_in_scope
from registry.services import Db

# Who may read the log: province officers (their province) and national admins (all).
READERS = ("province_officer", "national_admin")


@dataclass(frozen=True)
class AuditView:
    """One line of the audit log as the audit page shows it."""

    at: datetime
    staff_name: str | None
    staff_role: str | None
    action: str
    target: str | None
    area: str | None
    detail: str | None


def record(
    session: Session,
    action: str,
    staff_id: int | None,
    target: str | None = None,
    area_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add an audit entry inside the caller's transaction."""
    session.add(
        AuditEntry(
            at=utcnow(),
            staff_id=staff_id,
            action=action,
            target=(target or "")[:80] or None,
            area_id=area_id,
            detail=detail,
        )
    )


def record_now(
    db: Db,
    action: str,
    staff_id: int | None,
    target: str | None = None,
    area_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add an audit entry in a transaction of its own (kept even when the caller's work fails)."""
    with db.begin() as session:
        record(session, action, staff_id, target, area_id, detail)


@dataclass(frozen=True)
class AuditPage:
    """A page of the audit log, newest first."""

    entries: list[AuditView]
    total: int
    page: int
    per_page: int


def read_audit_log(
    db: Db, actor: Actor, language: str, page: int = 1, per_page: int = 50, action: str | None = None
) -> AuditPage:
    """Return the audit entries the actor may read; anyone but province and national staff gets NotFound."""
    if actor.role not in READERS:
        raise NotFound("audit log")
    page = max(page, 1)
    with db.begin() as session:
        areas = areas_in_scope(session, actor)
        query = select(AuditEntry, Staff.name, Staff.role, Area).outerjoin(
            Staff, Staff.id == AuditEntry.staff_id
        )
        query = query.outerjoin(Area, Area.id == AuditEntry.area_id)
        if areas is not None:
            query = query.where(AuditEntry.area_id.in_(areas))
        if action:
            query = query.where(AuditEntry.action == action)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        # Reading the log is itself a read of people's data.
        record(session, "view_audit_log", actor.id, f"page:{page}", actor.area_id)
        entries = [
            AuditView(
                entry.at,
                name,
                role,
                entry.action,
                entry.target,
                area.name(language) if area else None,
                entry.detail,
            )
            for entry, name, role, area in rows
        ]
        return AuditPage(entries, total, page, per_page)
