"""Keep slow-changing reads (the catalogue, the area lists) in memory, per process.

A cached read is answered without the database until its data version moves. The version is
read again at most once per RECHECK seconds, and never by the read that asks: that read is
answered from memory while a thread of its own reads the version, so no hop waits on the
database for a check (under load, that wait was the slowest hop in a hundred). A change made
by another process therefore shows within about RECHECK seconds (plus the check's own time),
and one made by this process shows at once (versions.on_bump): the next read checks itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from registry import versions

log = logging.getLogger(__name__)

Db = sessionmaker[Session]


T = TypeVar("T")
RECHECK = 1.0  # seconds between two reads of a version by one process


class _Entries:
    """One database's cached reads of one kind of data, and the version they were read at."""

    def __init__(self) -> None:
        self.version = -1
        self.checked: float | None = None  # when the version was last read; None: read it now
        self.checking = False  # a background check is under way
        self.generation = 0  # moves whenever the values are dropped or a bump is heard of
        self.values: dict[Hashable, Any] = {}


class Memo:
    """Cache the results of reads of one kind of data, dropped when its version moves."""

    def __init__(self, name: str, recheck: float = RECHECK, max_entries: int = 100_000) -> None:
        self.name = name
        self.recheck = recheck
        self.max_entries = max_entries  # codes typed at random must not grow it for ever
        self._by_db: weakref.WeakKeyDictionary[Db, _Entries] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        versions.on_bump(self._bumped)
        # A child forked while a check ran has neither the check's thread nor a usable lock.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()
        for entries in self._by_db.values():
            entries.checking = False

    def _bumped(self, name: str) -> None:
        if name == self.name:
            with self._lock:
                for entries in self._by_db.values():
                    entries.checked = None
                    entries.generation += 1

    def get(self, db: Db, key: Hashable, read: Callable[[], T]) -> T:
        """Return the cached value of key, or read it (and keep it) when missing or stale."""
        with self._lock:
            entries = self._by_db.setdefault(db, _Entries())
            due = entries.checked is not None and time.monotonic() - entries.checked >= self.recheck
            late = due and not entries.checking
            if late:
                entries.checking = True
        if entries.checked is None:
            # Nothing read yet, or this process changed the data: the answer must include it.
            self._check(db, entries, entries.generation, time.monotonic())
        elif late:
            self._check_later(db, entries)
        generation = entries.generation
        try:
            return entries.values[key]  # type: ignore[no-any-return]
        except KeyError:
            value = read()
            with self._lock:
                # A value read while the version moved may predate the move: not kept.
                if entries.generation == generation:
                    if len(entries.values) >= self.max_entries:
                        entries.values.clear()
                    entries.values[key] = value
            return value

    def _check(self, db: Db, entries: _Entries, generation: int, started: float) -> None:
        """Read the version; drop the values if it moved, unless a newer check came first."""
        version = versions.read_version(db, self.name)
        with self._lock:
            if entries.generation != generation:
                return  # a bump or another check overtook this one: its word is newer
            if version != entries.version:
                entries.values.clear()
                entries.version = version
                entries.generation += 1
            entries.checked = started

    def _check_later(self, db: Db, entries: _Entries) -> None:
        """Check the version on a thread of its own, so the read that noticed does not wait."""
        generation, started = entries.generation, time.monotonic()

        def check() -> None:
            try:
                self._check(db, entries, generation, started)
            except Exception:
                # The database is gone or frozen: keep answering from memory, check again later.
                log.warning("could not read the %s data version", self.name, exc_info=True)
            finally:
                with self._lock:
                    entries.checking = False
                    if entries.checked is not None:
                        entries.checked = max(entries.checked, started)

        try:
            threading.Thread(target=check, name=f"memo-{self.name}", daemon=True).start()
        except RuntimeError:
            # No thread to be had (the interpreter is closing): check another time.
            with self._lock:
                entries.checking = False

    def clear(self) -> None:
        """Forget everything (tests, or an operator who changed data by hand)."""
        with self._lock:
            self._by_db.clear()
