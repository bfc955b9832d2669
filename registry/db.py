"""Database engine, sessions and the declarative base."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; constraint names are stable so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def make_engine(url: str, statement_timeout_ms: int = 0, pool_timeout: float = 30, **kwargs: Any) -> Engine:
    """Create an engine that never waits without end, and never logs the values it sends.

    SQLite gets foreign keys and a busy timeout for concurrent writers; PostgreSQL a connect
    timeout, TCP keepalives (a server gone silent is noticed) and, when given, a statement timeout.
    """
    # Parameters hold phone numbers and SMS texts: an error message must not carry them.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 15})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", pool_timeout)
    connect_args: dict[str, Any] = {
        "connect_timeout": 3,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    kwargs.setdefault("connect_args", connect_args)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory services open their transactions with."""
    return sessionmaker(engine, expire_on_commit=False)


def without_transaction(session: Session) -> Connection:
    """Return session's connection in autocommit, for a read that is one statement.

    One statement sees one snapshot by itself; the BEGIN and ROLLBACK around it would be two
    more round trips to the database, each waiting its turn on a busy machine.
    """
    return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def changed_rows(result: Any) -> int:
    """Return how many rows an UPDATE or DELETE's result says it changed (0 when it cannot say)."""
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0
