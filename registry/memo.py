"""Keep slow-changing reads (the catalogue, the area lists) in memory, per process.

A cached read is answered without the database until its data version moves; the version is
read at most once per RECHECK seconds, so a change made by another process shows within that,
and one made by this process shows at once (versions.on_bump).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from registry import versions

Db = sessionmaker[Session]


T = TypeVar("T")
RECHECK = 1.0  # seconds between two reads of a version by one process


class _Entries:
    """One database's cached reads of one kind of data, and the version they were read at."""

    def __init__(self) -> None:
        self.version = -1
        self.checked: float | None = None  # when the version was last read; None: read it now
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

    def _bumped(self, name: str) -> None:
        if name == self.name:
            with self._lock:
                for entries in self._by_db.values():
                    entries.checked = None

    def get(self, db: Db, key: Hashable, read: Callable[[], T]) -> T:
        """Return the cached value of key, or read it (and keep it) when missing or stale."""
        with self._lock:
            entries = self._by_db.setdefault(db, _Entries())
        now = time.monotonic()
        if entries.checked is None or now - entries.checked >= self.recheck:
            version = versions.read_version(db, self.name)
            with self._lock:
                if version != entries.version:
                    entries.values.clear()
                    entries.version = version
                entries.checked = now
        try:
            return entries.values[key]  # type: ignore[no-any-return]
        except KeyError:
            value = read()
            with self._lock:
                if len(entries.values) >= self.max_entries:
                    entries.values.clear()
                entries.values[key] = value
            return value

    def clear(self) -> None:
        """Forget everything (tests, or an operator who changed data by hand)."""
        with self._lock:
            self._by_db.clear()
