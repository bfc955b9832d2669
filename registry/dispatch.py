"""Hand new outbox and inbound rows to whoever runs jobs, once their transaction has committed.

Models that need a job declare `__dispatch__ = "<kind>"`, and may name in `__dispatch_group__`
the column whose equal values may share one job (an outbox row's text). Enqueueing only after the
commit means a job never looks for a row that is not there yet; a row whose job is lost (Redis
restarted, the hand-off failed) is found again by the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from registry.db import utcnow

log = logging.getLogger(__name__)

# handler(kind, ids, not_before, groups): not_before holds the rows that may go only later (their
# next_attempt_at, an announcement's slot), groups each row's `__dispatch_group__` value; both are
# read from the rows just written, not from the database.
Handler = Callable[[str, list[int], dict[int, datetime], dict[int, str]], None]
_PENDING = "janela_dispatch"


def dispatch_after_commit(db: sessionmaker[Session], handler: Handler) -> None:
    """Call handler(kind, ids, not_before, groups) after each commit that added dispatchable rows."""

    @event.listens_for(db, "after_flush")
    def collect(session: Session, _context: Any) -> None:
        for obj in session.new:
            kind = getattr(type(obj), "__dispatch__", None)
            if kind:
                session.info.setdefault(_PENDING, []).append((kind, obj))

    @event.listens_for(db, "after_commit")
    def hand_on(session: Session) -> None:
        pending = session.info.pop(_PENDING, [])
        by_kind: dict[str, list[int]] = {}
        later: dict[str, dict[int, datetime]] = {}
        groups: dict[str, dict[int, str]] = {}
        now = utcnow()
        for kind, obj in pending:
            by_kind.setdefault(kind, []).append(obj.id)
            at = getattr(obj, "next_attempt_at", None)
            if at is not None and at > now:
                later.setdefault(kind, {})[obj.id] = at
            group_by = getattr(type(obj), "__dispatch_group__", None)
            if group_by:
                groups.setdefault(kind, {})[obj.id] = str(getattr(obj, group_by))
        for kind, ids in by_kind.items():
            try:
                handler(kind, ids, later.get(kind, {}), groups.get(kind, {}))
            except Exception:
                # The rows are committed; the sweep will hand them on when the queue is back.
                log.warning("could not enqueue %s jobs %s", kind, ids, exc_info=True)

    @event.listens_for(db, "after_rollback")
    def forget(session: Session) -> None:
        session.info.pop(_PENDING, None)
