"""USSD session state: plain data in Redis, one key per gateway session, with a TTL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field

import redis
from redis.exceptions import LockError

from conversations.errors import SessionBusy

KEY = "janela:ussd:session:{}"
LOCK = "janela:ussd:lock:{}"


@dataclass
class Frame:
    """One screen on the session's stack: its name, parameters and the page shown."""

    screen: str
    params: dict[str, str] = field(default_factory=dict)
    page: int = 0


@dataclass
class Reply:
    """What the person sees: the screen text, and whether the session ends with it."""

    text: str
    final: bool = False


@dataclass
class SessionState:
    """Everything the engine remembers between two hops of one session."""

    phone: str
    language: str | None
    stack: list[Frame]
    seen: int = 0  # how many of the gateway's inputs were already acted on
    digest: str = ""  # fingerprint of the inputs last answered, to spot a repeated hop
    reply: Reply | None = None
    notice: str | None = None  # a one-line reason shown above the next screen
    pending: list[str] = field(default_factory=list)  # dial-string inputs awaiting a language
    ended: bool = False

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionState:
        """Load from JSON written by to_json."""
        data = json.loads(raw)
        data["stack"] = [Frame(**f) for f in data["stack"]]
        data["reply"] = Reply(**data["reply"]) if data.get("reply") else None
        return cls(**data)


class SessionStore:
    """Keep session states in Redis."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.client = client
        self.ttl = ttl

    def load(self, session_id: str) -> SessionState | None:
        """Return the session's state, or None for an unknown or expired session."""
        raw = self.client.get(KEY.format(session_id))
        return SessionState.from_json(raw) if raw else None

    def save(self, session_id: str, state: SessionState) -> None:
        """Store the session's state and restart its TTL."""
        self.client.set(KEY.format(session_id), state.to_json(), ex=self.ttl)

    @contextmanager
    def locked(self, session_id: str, wait: float = 8.0) -> Iterator[None]:
        """Serialise the hops of one session, so a retried hop waits for the first to finish."""
        lock = self.client.lock(LOCK.format(session_id), timeout=30, blocking_timeout=wait)
        if not lock.acquire():
            raise SessionBusy(session_id)
        try:
            yield
        finally:
            # If it expired while we worked, nobody else holds our token: nothing to release.
            with suppress(LockError):
                lock.release()
