"""The summary tables coverage statistics read: figures per area, period and measure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UtcDateTime

# The period of figures that describe now rather than a month (pending pre-registrations).
SNAPSHOT = ""


class StatsFigure(Base):
    """One figure of one area (at every level) for one month: a count, or one bar of a histogram."""

    __tablename__ = "stats_figures"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    # 'YYYY-MM' in the deployment's time zone, or SNAPSHOT.
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    # A programme code, a category or a number of days; '' for a plain count.
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class StatsRefresh(Base):
    """When the summary tables were last rebuilt; its row lock makes refreshes take turns."""

    __tablename__ = "stats_refreshes"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[int] = mapped_column(Integer, default=0)


# A refresh's own count, before it is compared with stats_figures: a temporary table of the
# refresh's transaction (outside Base's metadata, so no migration ever creates it). Writing it
# costs no WAL, no foreign-key check and no index: PostgreSQL's comparison hashes it whole,
# which beats a walk along an index (SQLite, comparing row by row, is given one once it is full).
COUNTED = Table(
    "stats_counted",
    MetaData(),
    Column("area_id", Integer, nullable=False),
    Column("period", String(7), nullable=False),
    Column("measure", String(20), nullable=False),
    Column("key", String(40), nullable=False),
    Column("value", Integer, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
