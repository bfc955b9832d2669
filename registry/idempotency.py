"""Insert once: a request that may come twice (a retried hop, a repeated SMS) writes its rows once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.db import without_transaction
from registry.services import Db

T = TypeVar("T")


def request_key(kind: str, phone: str | None, request: str) -> str:
    """Name one request of one person: the kind of write, who asked (phone), and the request (session)."""
    return f"{kind}:{phone or '-'}:{request}"


def insert_once(
    db: Db, find: Callable[[Session], T | None], create: Callable[[Session], T]
) -> tuple[T, bool]:
    """Return (what find sees, False), else create it in one transaction and return (it, True).

    Two requests racing past the first look meet at a unique key: the loser's transaction rolls
    back whole, and it returns the winner's rows.
    """
    with db() as session:
        # A look only: no BEGIN and ROLLBACK round trips around it.
        without_transaction(session)
        earlier = find(session)
    if earlier is not None:
        return earlier, False
    try:
        with db.begin() as session:
            return create(session), True
    except IntegrityError:
        with db() as session:
            earlier = find(session)
        if earlier is None:
            raise
        return earlier, False
