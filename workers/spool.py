"""Callbacks that arrived while the database was gone: kept in Redis (else a local file) and replayed."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

from registry.db import utcnow
from registry.inbound import store_inbound
from registry.outbox import record_delivery
from registry.services import Db

log = logging.getLogger(__name__)

SPOOL = "janela:spool"
REPLAYING = "janela:spool:replaying"
_file_lock = threading.Lock()


@dataclass(frozen=True)
class Spooled:
    """One callback as it arrived, already cleaned at the edge."""

    kind: str  # inbound or delivery
    fields: dict[str, str | None]
    spooled_at: str = field(default_factory=lambda: utcnow().isoformat())

    def to_json(self) -> str:
        """Write the entry as one line of JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Spooled:
        """Read an entry written by to_json."""
        data: dict[str, Any] = json.loads(raw)
        return cls(kind=data["kind"], fields=data["fields"], spooled_at=data["spooled_at"])


class Spool:
    """Keep callbacks the database could not take, so that they are acted on once it is back."""

    def __init__(self, client: redis.Redis, file: Path) -> None:
        self.client = client
        self.file = file

    def keep(self, entry: Spooled) -> str:
        """Keep an entry in Redis, else in the local file; return where it went."""
        try:
            self.client.rpush(SPOOL, entry.to_json())
            return "redis"
        except redis.RedisError:
            log.warning("spool: Redis is gone too; keeping the callback in %s", self.file, exc_info=True)
        with _file_lock:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            with self.file.open("a", encoding="utf-8") as fh:
                fh.write(entry.to_json() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        return "file"

    def move_file_to_redis(self) -> int:
        """Hand the local file's entries to Redis, where any worker replays them; return how many."""
        if not self.file.exists():
            return 0
        with _file_lock:
            # Renamed first, so lines appended meanwhile go to a new file; another web process of
            # this host may have taken it a moment before.
            taken = self.file.with_suffix(".moving")
            if not taken.exists():
                try:
                    self.file.rename(taken)
                except FileNotFoundError:
                    return 0
            lines = [line for line in taken.read_text(encoding="utf-8").splitlines() if line.strip()]
            if lines:
                self.client.rpush(SPOOL, *lines)
            taken.unlink()
        return len(lines)

    def replay(self, db: Db, limit: int = 1000) -> int:
        """Apply spooled callbacks to the database, each once; return how many were applied.

        An entry moves to a replaying list before it is applied and leaves it after, so a replay
        cut short is finished by the next; applying twice is harmless (inbound SMS are stored once
        per provider id, delivery reports never move a message backwards).
        """
        done = 0
        for left in self.client.lrange(REPLAYING, 0, -1):
            self._apply_and_forget(db, left)
            done += 1
        while done < limit:
            raw = self.client.lmove(SPOOL, REPLAYING, "LEFT", "RIGHT")
            if raw is None:
                break
            self._apply_and_forget(db, raw)
            done += 1
        return done

    def _apply_and_forget(self, db: Db, raw: str | bytes) -> None:
        _apply(db, Spooled.from_json(raw))
        self.client.lrem(REPLAYING, 1, raw)  # type: ignore[arg-type]  # bytes are accepted too

    def waiting(self) -> int:
        """Return how many callbacks wait for the database (Redis and file)."""
        lines = 0
        if self.file.exists():
            lines = sum(1 for line in self.file.read_text(encoding="utf-8").splitlines() if line.strip())
        return int(self.client.llen(SPOOL)) + int(self.client.llen(REPLAYING)) + lines


def _apply(db: Db, entry: Spooled) -> None:
    f = entry.fields
    if entry.kind == "inbound":
        store_inbound(
            db,
            provider_id=f["id"] or "",
            sender=f["from"] or "",
            text=f.get("text") or "",
            to=f.get("to"),
            link_id=f.get("linkId"),
            network_code=f.get("networkCode"),
        )
    elif entry.kind == "delivery":
        record_delivery(
            db, f["id"] or "", f.get("status") or "", f.get("failureReason"), f.get("phoneNumber")
        )
    else:
        log.error("spool: unknown entry kind %r dropped", entry.kind)
