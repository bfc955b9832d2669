"""The desk queue: open cases of the actor's area, due soonest first, filtered, counted and paged.

Only the columns a row shows are selected, so a long queue stays cheap on a slow laptop's server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from registry.cases import OPEN
from registry.clock import days_late
from registry.db import utcnow
from registry.models import Area, Case, Staff, area_name_column
from registry.scoping import Actor, in_scope
from registry.services import Db

KINDS = ("preregistration", "complaint", "appeal")


@dataclass(frozen=True)
class QueueFilters:
    """What the officer narrowed the queue to; empty values do not filter."""

    kind: str = ""
    category: str = ""
    village: str = ""  # a village code
    status: str = ""
    overdue: bool = False
    duplicate: bool = False
    mine: bool = False


@dataclass(frozen=True)
class QueueRow:
    """One case as the queue lists it."""

    reference: str
    kind: str
    category: str | None
    status: str
    village: str
    created_at: datetime
    due_at: datetime | None
    days_late: int  # 0 when not late
    picked_by: str | None
    picked_by_me: bool
    possible_duplicate: bool
    escalated: bool


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, with the counts the page's tabs show."""

    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Return how many pages the filtered queue has."""
        return max(1, -(-self.total // self.per_page))


def _due(now: datetime) -> tuple[ColumnElement[datetime], ColumnElement[bool]]:
    # Until acknowledged, the acknowledgement deadline is the one that counts.
    due = case(
        (Case.acknowledged_at.is_(None) & Case.ack_due_at.is_not(None), Case.ack_due_at),
        else_=Case.resolve_due_at,
    )
    overdue = or_(
        and_(Case.acknowledged_at.is_(None), Case.ack_due_at < now),
        Case.resolve_due_at < now,
    )
    return due, overdue


def _scoped_open(actor: Actor) -> list[ColumnElement[bool]]:
    conditions = [Case.status.in_(OPEN), in_scope(actor, Case.village_id)]
    if actor.role == "commune_desk":
        # A commune works what is queued at its own desk: an escalated case has left it, and
        # misconduct is queued at the district (it may be about someone the commune works with).
        conditions.append(Case.desk_id == actor.area_id)
    return conditions


def _filtered(query: Select, actor: Actor, filters: QueueFilters, now: datetime) -> Select:  # type: ignore[type-arg]
    _, overdue = _due(now)
    if filters.kind:
        query = query.where(Case.kind == filters.kind)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.village:
        village = select(Area.id).where(Area.code == filters.village).scalar_subquery()
        query = query.where(Case.village_id == village)
    if filters.overdue:
        query = query.where(overdue)
    if filters.duplicate:
        query = query.where(Case.possible_duplicate.is_(True))
    if filters.mine:
        query = query.where(Case.picked_by_id == actor.id)
    return query


def list_desk_queue(
    db: Db,
    actor: Actor,
    filters: QueueFilters,
    language: str,
    page: int = 1,
    per_page: int = 25,
    now: datetime | None = None,
) -> QueuePage:
    """Return a page of the actor's open cases, due soonest first, with the queue's counts."""
    now = now or utcnow()
    page = max(page, 1)
    due, _ = _due(now)
    picker = aliased(Staff)
    name_column = area_name_column(language)
    query = (
        select(
            Case.reference,
            Case.kind,
            Case.category,
            Case.status,
            name_column,
            Case.created_at,
            due.label("due_at"),
            picker.name,
            Case.picked_by_id,
            Case.possible_duplicate,
            Case.escalated_at,
        )
        .join(Area, Area.id == Case.village_id)
        .outerjoin(picker, picker.id == Case.picked_by_id)
        .where(*_scoped_open(actor))
    )
    query = _filtered(query, actor, filters, now)
    with db() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(due.is_(None), due, Case.created_at, Case.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        counts = _counts(session, actor, now)
    return QueuePage(
        [
            QueueRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                days_late(r[6], now),
                r[7],
                r[8] == actor.id,
                r[9],
                r[10] is not None,
            )
            for r in rows
        ],
        total,
        page,
        per_page,
        counts,
    )


def _counts(session, actor: Actor, now: datetime) -> dict[str, int]:  # type: ignore[no-untyped-def]
    _, overdue = _due(now)
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Case.kind == "preregistration"),
            func.count().filter(Case.kind == "complaint"),
            func.count().filter(Case.kind == "appeal"),
            func.count().filter(overdue),
            func.count().filter(Case.picked_by_id.is_(None)),
            func.count().filter(Case.picked_by_id == actor.id),
            func.count().filter(Case.possible_duplicate.is_(True)),
        ).where(*_scoped_open(actor))
    ).one()
    names = ("open", "preregistration", "complaint", "appeal", "overdue", "unassigned", "mine", "duplicate")
    return dict(zip(names, (int(v) for v in row), strict=True))


def queue_counts(db: Db, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """Return the counts the queue page refreshes without reloading."""
    with db() as session:
        return _counts(session, actor, now or utcnow())


def villages_of(db: Db, actor: Actor, language: str) -> list[tuple[str, str]]:
    """Return (code, name) of the villages in the actor's area, for the queue's filter."""
    name_column = area_name_column(language)
    with db() as session:
        rows = session.execute(
            select(Area.code, name_column)
            .where(Area.level == "village", in_scope(actor, Area.id))
            .order_by(name_column)
            .limit(500)
        ).all()
    return [(code, name) for code, name in rows]
