"""Data versions: a counter per kind of slow-changing data (the catalogue, the areas).

Whatever changes such data bumps its version in the same transaction, so every web process
can keep a copy in memory and drop it as soon as it sees the version move (registry/memo.py).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from registry.db import without_transaction
from registry.models import DataVersion

CATALOGUE = "catalogue"
AREAS = "areas"

# Called with the name after a bump commits, so this process forgets at once, not a second later.
_listeners: list[Callable[[str], None]] = []


def on_bump(listener: Callable[[str], None]) -> None:
    """Call listener(name) whenever a bump of name commits in this process."""
    _listeners.append(listener)


def bump(session: Session, name: str) -> None:
    """Move name's version on, within the caller's transaction."""
    step = update(DataVersion).where(DataVersion.name == name).values(version=DataVersion.version + 1)
    if session.execute(step).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(DataVersion(name=name, version=1))
        except IntegrityError:
            # Another first bump of this name committed meanwhile: move the row it made.
            session.execute(step)

    @event.listens_for(session, "after_commit", once=True)
    def _tell(_session: Session) -> None:
        for listener in _listeners:
            listener(name)


_VERSION = select(DataVersion.version).where(DataVersion.name == bindparam("name"))


def read_version(db: sessionmaker[Session], name: str) -> int:
    """Return name's current version (0 when it was never bumped)."""
    with db() as session:
        # Read once a second by every process for every cached kind, beside the hops: one statement.
        return without_transaction(session).scalar(_VERSION, {"name": name}) or 0
