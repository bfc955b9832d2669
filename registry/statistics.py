"""Coverage statistics: rebuild the summary tables, and read them per area and period, scoped.

The summary is rebuilt by `refresh_statistics`, which a worker's refresher thread runs once it
is STATS_REFRESH_MINUTES old (workers/stats_refresh.py, beside the sweep): one transaction that
recounts the whole registry per village and month into a temporary table, adds each village's
figures to its commune, district and province there, then deletes and writes only the summary
rows that differ, so the summary equals a rebuild from nothing at the cost of what changed.
Readers see the old figures or the new ones, never half. Refreshes take turns on one row lock
(`stats_refreshes`); one that waited for another finds the figures fresh and does nothing, and one
forced to run again writes the same figures, since they are a pure count of the registry.
Pages read only the summary rows of an area's children: 25 provinces' rows for the nation.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.audit import record_now
from registry.db import UtcDateTime, utcnow
from registry.errors import N_, NotFound
from registry.models import Area, Case, CaseEvent, Enrolment, Household, Person, Programme
from registry.scoping import Actor
from registry.services import Db
from registry.statuses import CaseStatus
from registry.summaries import COUNTED, SNAPSHOT, StatsFigure, StatsRefresh

REFRESH = "coverage"
# Measures, as the summary stores them.
HOUSEHOLDS, PERSONS, ENROLMENTS = "households", "persons", "enrolments"
COMPLAINTS, CLOSED, IN_TIME, DAYS, ESCALATIONS = "complaints", "closed", "in_time", "days", "escalations"
PENDING = "pending"  # pre-registrations waiting, by whole days since filing (SNAPSHOT period)
CLOSED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.REJECTED)
OPEN_STATUSES = tuple(s for s in CaseStatus if s not in CLOSED_STATUSES)
LEVEL_BELOW = {None: "province", "province": "district", "district": "commune", "commune": "village"}


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did: rebuilt (with how many rows, how many changed, in how long) or skipped."""

    refreshed: bool
    figures: int = 0
    seconds: float = 0.0
    changed: int = 0  # summary rows deleted or written: those whose figure differed


def _month_sql(session: Session, column: Any, zone: ZoneInfo) -> ColumnElement[str]:
    """Return SQL naming the local month ('YYYY-MM') of a stored UTC moment."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(str(zone), column), "YYYY-MM")
    # SQLite knows no zones: the zone's offset now (Cambodia and Mozambique keep no summer time).
    minutes = int((utcnow().astimezone(zone).utcoffset() or timedelta()).total_seconds() // 60)
    return func.strftime("%Y-%m", column, f"{minutes:+d} minutes")


def _month(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def _days_sql(session: Session, start: Any, end: Any) -> ColumnElement[str]:
    """Return SQL naming the whole days from start to end, as text (a summary key)."""
    if session.get_bind().dialect.name == "postgresql":
        days: Any = func.floor(func.extract("epoch", end - start) / 86400)
    else:
        days = func.julianday(end) - func.julianday(start)
    whole = cast(days, Integer)
    return cast(case((whole < 0, 0), else_=whole), String)


COLUMNS_OF_A_FIGURE = ["area_id", "period", "measure", "key", "value"]


def _put(session: Session, into: Table, measure: str, query: Any) -> None:
    """Insert a query's (village, period, key, count) rows as one measure's figures."""
    grouped = query.subquery()
    area, period, key, value = grouped.c
    rows = select(area, period, literal(measure), key, value)
    session.execute(insert(into).from_select(COLUMNS_OF_A_FIGURE, rows))


def count_villages(session: Session, zone: ZoneInfo, now: datetime, into: Table = COUNTED) -> None:
    """Write every village's figures per month, read from the national tables once each."""
    # The database groups and counts: nothing of the registry's size passes through Python.
    month = _month_sql(session, Household.created_at, zone)
    _put(
        session,
        into,
        HOUSEHOLDS,
        select(Household.village_id, month, literal(""), func.count()).group_by(Household.village_id, month),
    )
    month = _month_sql(session, Person.created_at, zone)
    _put(
        session,
        into,
        PERSONS,
        select(Household.village_id, month, literal(""), func.count())
        .join(Household, Person.household_id == Household.id)
        .group_by(Household.village_id, month),
    )
    # An enrolment is a household's, or a person's whose household names the village.
    person_household = select(Person.household_id).where(Person.id == Enrolment.person_id).scalar_subquery()
    month = _month_sql(session, Enrolment.created_at, zone)
    _put(
        session,
        into,
        ENROLMENTS,
        select(Household.village_id, month, Programme.code, func.count())
        .select_from(Enrolment)
        .join(Household, Household.id == func.coalesce(Enrolment.household_id, person_household))
        .join(Programme, Programme.id == Enrolment.programme_id)
        .where(Enrolment.status == "active")
        .group_by(Household.village_id, month, Programme.code),
    )
    # Complaints and appeals count in the month they were filed, closed or not.
    month = _month_sql(session, Case.created_at, zone)
    complaint = Case.kind != "preregistration"
    category = func.coalesce(Case.category, "other")
    _put(
        session,
        into,
        COMPLAINTS,
        select(Case.village_id, month, category, func.count())
        .where(complaint)
        .group_by(Case.village_id, month, category),
    )
    _put(
        session,
        into,
        ESCALATIONS,
        select(Case.village_id, month, literal(""), func.count())
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(complaint, CaseEvent.action == "escalated")
        .group_by(Case.village_id, month),
    )
    closed = and_(complaint, Case.status.in_([str(s) for s in CLOSED_STATUSES]), Case.closed_at.is_not(None))
    _put(
        session,
        into,
        CLOSED,
        select(Case.village_id, month, literal(""), func.count())
        .where(closed)
        .group_by(Case.village_id, month),
    )
    # The deadline in force when it closed (escalation restarts it at the next level).
    in_time = or_(Case.resolve_due_at.is_(None), Case.closed_at <= Case.resolve_due_at)
    _put(
        session,
        into,
        IN_TIME,
        select(Case.village_id, month, literal(""), func.count())
        .where(closed, in_time)
        .group_by(Case.village_id, month),
    )
    days = _days_sql(session, Case.created_at, Case.closed_at)
    _put(
        session,
        into,
        DAYS,
        select(Case.village_id, month, days, func.count())
        .where(closed)
        .group_by(Case.village_id, month, days),
    )
    # Pre-registrations waiting now, by their age in whole days.
    age = _days_sql(session, Case.created_at, literal(now, UtcDateTime()))
    waiting = and_(Case.kind == "preregistration", Case.status.in_([str(s) for s in OPEN_STATUSES]))
    _put(
        session,
        into,
        PENDING,
        select(Case.village_id, literal(SNAPSHOT), age, func.count())
        .where(waiting)
        .group_by(Case.village_id, age),
    )


def roll_up(session: Session, into: Table = COUNTED) -> None:
    """Add every area's figures to its parent's, a level at a time: village to province."""
    figure = into.c
    for level in ("village", "commune", "district"):
        rows = (
            select(Area.parent_id, figure.period, figure.measure, figure.key, func.sum(figure.value))
            .join(Area, Area.id == figure.area_id)
            .where(Area.level == level, Area.parent_id.is_not(None))
            .group_by(Area.parent_id, figure.period, figure.measure, figure.key)
        )
        session.execute(insert(into).from_select(COLUMNS_OF_A_FIGURE, rows))


def _fresh_count_table(session: Session) -> None:
    """Create the refresh's empty count table (SQLite keeps one left by a failed refresh: drop it)."""
    connection = session.connection()
    COUNTED.drop(connection, checkfirst=True)
    COUNTED.create(connection)


def _keep_what_changed(session: Session) -> int:
    """Make stats_figures equal the new count, touching only the rows that differ; return how many."""
    # An hour changes few figures (this month's, the pending ages, a case closed): rewriting the
    # whole summary cost most of a refresh (a foreign-key check, index entries and WAL per row).
    old, new = StatsFigure.__table__.c, COUNTED.c
    same_key = and_(
        new.area_id == old.area_id, new.period == old.period, new.measure == old.measure, new.key == old.key
    )
    connection = session.connection()
    gone = connection.execute(delete(StatsFigure).where(~exists().where(same_key, new.value == old.value)))
    # Left now are the rows whose figure stayed the same: every other counted row goes in.
    missing = select(COUNTED).where(~exists().where(same_key))
    added = connection.execute(
        insert(StatsFigure).from_select(COLUMNS_OF_A_FIGURE, missing),
        execution_options={"preserve_rowcount": True},  # an INSERT's count is kept only when asked
    )
    if session.get_bind().dialect.name != "postgresql":
        COUNTED.drop(session.connection())  # PostgreSQL drops it at commit
    return gone.rowcount + added.rowcount


def _claim(db: Db) -> None:
    """Make sure the refresh's row exists (its lock is what refreshes take turns on)."""
    with db() as session:
        if session.get(StatsRefresh, REFRESH) is not None:
            return
        session.add(StatsRefresh(name=REFRESH, duration_ms=0, figures=0))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another refresh made it first: the same row


def statistics_due(db: Db, max_age: timedelta, now: datetime | None = None) -> bool:
    """Whether the summary was never counted, or was counted max_age ago or longer."""
    with db() as session:
        last = session.scalar(select(StatsRefresh.refreshed_at).where(StatsRefresh.name == REFRESH))
    return last is None or (now or utcnow()) - last >= max_age


def refresh_statistics(
    db: Db, zone: ZoneInfo, max_age: timedelta | None = None, now: datetime | None = None
) -> RefreshReport:
    """Rebuild the summary tables in one transaction; with max_age, only when they are older."""
    _claim(db)
    now = now or utcnow()
    started = time.perf_counter()
    with db.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            # A national recount takes longer than a web request may: this transaction only.
            session.execute(select(func.set_config("statement_timeout", "0", True)))
            # Its groupings and comparisons hash hundreds of thousands of rows: in memory, not on
            # disk (one refresh runs at a time, so this much is taken once).
            session.execute(select(func.set_config("work_mem", "64MB", True)))
            # Just emptied and vacuumed, stats_figures looks like one row to the planner, which then
            # compares each counted row with a scan of it, growing as the INSERT fills it: minutes
            # on end where a hash takes a second. The refresh's joins are all whole-table ones.
            session.execute(select(func.set_config("enable_nestloop", "off", True)))
        # Taking the row lock first: a concurrent refresh waits here until this one commits.
        session.execute(update(StatsRefresh).where(StatsRefresh.name == REFRESH).values(started_at=now))
        last = session.scalar(select(StatsRefresh.refreshed_at).where(StatsRefresh.name == REFRESH))
        if max_age is not None and last is not None and now - last < max_age:
            return RefreshReport(refreshed=False)
        # Everything is counted again, so the figures equal a rebuild from nothing; only the
        # writing is spared where a figure is unchanged.
        _fresh_count_table(session)
        count_villages(session, zone, now)
        roll_up(session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE stats_counted"))  # a temporary table gets no autovacuum
        else:
            # SQLite compares row by row: without an index, every old row would scan the count.
            session.execute(
                text("CREATE INDEX stats_counted_key ON stats_counted (area_id, period, measure, key)")
            )
        changed = _keep_what_changed(session)
        figures = session.scalar(select(func.count()).select_from(StatsFigure)) or 0
        seconds = time.perf_counter() - started
        session.execute(
            update(StatsRefresh)
            .where(StatsRefresh.name == REFRESH)
            .values(refreshed_at=now, duration_ms=int(seconds * 1000), figures=figures)
        )
    return RefreshReport(refreshed=True, figures=figures, seconds=seconds, changed=changed)


# Reading


def median_of(histogram: Mapping[int, int]) -> float | None:
    """Return the median of a histogram of whole numbers (value -> how many), None when empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
    return sum(found) / 2


@dataclass
class Figures:
    """The figures of one area for a period."""

    code: str
    name: str
    level: str
    households: int = 0
    persons: int = 0
    enrolments: dict[str, int] = field(default_factory=dict)
    complaints: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    in_time: int = 0
    escalations: int = 0
    resolve_days: dict[int, int] = field(default_factory=dict)
    pending_days: dict[int, int] = field(default_factory=dict)

    @property
    def complaints_total(self) -> int:
        """Return the complaints and appeals filed in the period."""
        return sum(self.complaints.values())

    @property
    def in_time_share(self) -> float | None:
        """Return the share of closed complaints closed within their deadline (None: none closed)."""
        return self.in_time / self.closed if self.closed else None

    @property
    def median_days(self) -> float | None:
        """Return the median whole days from filing to closing."""
        return median_of(self.resolve_days)

    @property
    def pending(self) -> int:
        """Return the pre-registrations waiting now."""
        return sum(self.pending_days.values())

    @property
    def pending_median_days(self) -> float | None:
        """Return the median age in days of the waiting pre-registrations."""
        return median_of(self.pending_days)

    @property
    def pending_oldest_days(self) -> int | None:
        """Return the age in days of the oldest waiting pre-registration."""
        return max(self.pending_days) if self.pending_days else None

    def add(self, measure: str, key: str, value: int) -> None:
        """Add one summary row to these figures."""
        if measure in (HOUSEHOLDS, PERSONS, CLOSED, ESCALATIONS):
            setattr(self, measure, getattr(self, measure) + value)
        elif measure == IN_TIME:
            self.in_time += value
        elif measure in (ENROLMENTS, COMPLAINTS):
            bucket = getattr(self, measure)
            bucket[key] = bucket.get(key, 0) + value
        elif measure in (DAYS, PENDING):
            bucket = self.resolve_days if measure == DAYS else self.pending_days
            bucket[int(key)] = bucket.get(int(key), 0) + value

    def merge(self, other: Figures) -> None:
        """Add another area's figures to these (the nation is the sum of its provinces)."""
        self.households += other.households
        self.persons += other.persons
        self.closed += other.closed
        self.in_time += other.in_time
        self.escalations += other.escalations
        for name in (ENROLMENTS, COMPLAINTS):
            mine_s: dict[str, int] = getattr(self, name)
            for key, value in getattr(other, name).items():
                mine_s[key] = mine_s.get(key, 0) + value
        for mine_i, theirs_i in (
            (self.resolve_days, other.resolve_days),
            (self.pending_days, other.pending_days),
        ):
            for days, value in theirs_i.items():
                mine_i[days] = mine_i.get(days, 0) + value


@dataclass(frozen=True)
class Coverage:
    """An area's figures for a period, with its children's side by side."""

    area: Figures
    children: list[Figures]
    child_level: str | None
    period: str
    periods: list[str]
    programmes: list[str]
    categories: list[str]
    refreshed_at: datetime | None
    # The way up, for the page's breadcrumbs: (code, name), the nation first.
    path: list[tuple[str, str]]


def _period_filter(period: str) -> ColumnElement[bool]:
    """Return the condition for the summary rows of a period: 'all', 'YYYY' or 'YYYY-MM'."""
    if period == "all":
        return literal(True)
    months = StatsFigure.period == period if len(period) == 7 else StatsFigure.period.like(f"{period}-%")
    return or_(months, StatsFigure.period == SNAPSHOT)


def _valid_period(period: str | None) -> str:
    period = (period or "all").strip()
    if period == "all":
        return period
    if len(period) == 4 and period.isdigit():
        return period
    if len(period) == 7 and period[:4].isdigit() and period[4] == "-" and period[5:].isdigit():
        return period
    return "all"


def _within(session: Session, actor: Actor, area: Area | None) -> bool:
    """Whether the actor may read an area's statistics: theirs or one below it."""
    if actor.is_national:
        return True
    current = area
    while current is not None:
        if current.id == actor.area_id:
            return True
        current = current.parent
    return False


def _figures_of(
    session: Session, areas: Iterable[Area], period: str, language: str, fallback: str
) -> dict[int, Figures]:
    found = {a.id: Figures(a.code, a.name(language, fallback), a.level) for a in areas}
    if not found:
        return found
    rows = session.execute(
        select(StatsFigure.area_id, StatsFigure.measure, StatsFigure.key, func.sum(StatsFigure.value))
        .where(StatsFigure.area_id.in_(list(found)), _period_filter(period))
        .group_by(StatsFigure.area_id, StatsFigure.measure, StatsFigure.key)
    )
    for area_id, measure, key, value in rows:
        found[area_id].add(measure, key, int(value))
    return found


def read_coverage(
    db: Db, actor: Actor, area_code: str | None, period: str | None, language: str, fallback: str, nation: str
) -> Coverage:
    """Return an area's figures and its children's (the nation's: its provinces), within scope."""
    # No code: the actor's own area (the nation for a national admin). An area outside the scope
    # raises NotFound, as one that does not exist, and the attempt is recorded.
    chosen = _valid_period(period)
    with db() as session:
        area: Area | None = None
        if area_code:
            area = session.scalar(select(Area).where(Area.code == area_code.strip()))
            if area is None:
                raise NotFound(f"area {area_code}")
            if not _within(session, actor, area):
                record_now(db, "refused_read", actor.id, f"stats:{area.code}", actor.area_id)
                raise NotFound(f"area {area_code}")
        elif not actor.is_national:
            area = session.get(Area, actor.area_id) if actor.area_id is not None else None
            if area is None:
                raise NotFound("area")
        parent_id = area.id if area is not None else None
        child_level = LEVEL_BELOW.get(area.level if area is not None else None)
        children_areas = list(
            session.scalars(
                select(Area)
                .where(Area.parent_id == parent_id if parent_id is not None else Area.parent_id.is_(None))
                .order_by(Area.code)
            )
        )
        children = _figures_of(session, children_areas, chosen, language, fallback)
        if area is None:
            own = Figures("", nation, "nation")
            for child in children.values():
                own.merge(child)
        else:
            own = _figures_of(session, [area], chosen, language, fallback)[area.id]
        path: list[tuple[str, str]] = [("", nation)]
        up: list[tuple[str, str]] = []
        current = area
        while current is not None:
            up.append((current.code, current.name(language, fallback)))
            current = current.parent
        path += reversed(up)
        scope_ids = [parent_id] if parent_id is not None else [a.id for a in children_areas]
        periods = sorted(
            {
                p
                for p in session.scalars(
                    select(StatsFigure.period).where(StatsFigure.area_id.in_(scope_ids)).distinct()
                )
                if p != SNAPSHOT
            },
            reverse=True,
        )
        refreshed = session.scalar(select(StatsRefresh.refreshed_at).where(StatsRefresh.name == REFRESH))
        programmes = sorted(set(own.enrolments))
        categories = sorted(set(own.complaints))
    return Coverage(
        own,
        [children[a.id] for a in children_areas] if child_level else [],
        child_level if children_areas else None,
        chosen,
        periods,
        programmes,
        categories,
        refreshed,
        path,
    )


# Downloads: the same table the page shows, one row per area, the chosen area first.

Cell = str | int | float | None
# The table's fixed columns, in coverage_rows' order (the desk translates them).
COLUMNS = (
    N_("Code"),
    N_("Area"),
    N_("Households"),
    N_("Persons"),
    N_("Pre-registrations pending"),
    N_("Median days pending"),
    N_("Oldest pending (days)"),
    N_("Complaints and appeals"),
    N_("Closed"),
    N_("Closed within the deadline (%)"),
    N_("Median days to resolve"),
    N_("Escalations"),
)


def coverage_rows(coverage: Coverage) -> list[list[Cell]]:
    """Return one row per area, the chosen one first; per-programme and per-category columns last."""
    rows: list[list[Cell]] = []
    for figures in [coverage.area, *coverage.children]:
        share = figures.in_time_share
        rows.append(
            [
                figures.code,
                figures.name,
                figures.households,
                figures.persons,
                figures.pending,
                figures.pending_median_days,
                figures.pending_oldest_days,
                figures.complaints_total,
                figures.closed,
                round(share * 100, 1) if share is not None else None,
                figures.median_days,
                figures.escalations,
                *(figures.enrolments.get(code, 0) for code in coverage.programmes),
                *(figures.complaints.get(category, 0) for category in coverage.categories),
            ]
        )
    return rows


def export_csv(headers: list[str], rows: list[list[Cell]]) -> bytes:
    """Return the table as UTF-8 CSV with a byte-order mark (spreadsheets then read Khmer right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_xlsx(headers: list[str], rows: list[list[Cell]], sheet: str) -> bytes:
    """Return the table as an XLSX workbook of one sheet."""
    # Loaded on the first download only: most processes never write a workbook.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    page = book.active
    assert page is not None
    page.title = sheet[:31]
    page.append(headers)
    for cell in page[1]:
        cell.font = Font(bold=True)
    for row in rows:
        page.append(row)
    page.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
