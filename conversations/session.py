"""USSD session state: plain data in Redis, one key per gateway session, with a TTL."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

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
        """Serialise to compact JSON (every hop writes it: no deep copy, no spaces)."""
        data = dict(vars(self))
        data["stack"] = [vars(frame) for frame in self.stack]
        data["reply"] = vars(self.reply) if self.reply else None
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionState:
        """Load from JSON written by to_json."""
        data = json.loads(raw)
        data["stack"] = [Frame(**f) for f in data["stack"]]
        data["reply"] = Reply(**data["reply"]) if data.get("reply") else None
        return cls(**data)


# Take the session's lock and read its state in one round trip; on a new session, also tell
# which of the given draft keys exist (a call that dropped may be offered to continue).
_BEGIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local state = redis.call('GET', KEYS[2])
local out = {1, state}
if not state then
  for i = 3, #KEYS do out[#out + 1] = redis.call('EXISTS', KEYS[i]) end
end
return out
"""
# Write the state and let go of the lock in one round trip; the lock only if it is still ours.
_END = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


@dataclass
class Opened:
    """A session opened under its lock: its state (None when new) and which probed keys exist."""

    state: SessionState | None
    found: list[bool]
    token: str


class SessionStore:
    """Keep session states in Redis: two round trips a hop, one to open and one to close."""

    def __init__(self, client: redis.Redis, ttl: int, lock_timeout: float = 30.0) -> None:
        self.client = client
        self.ttl = ttl
        self.lock_ms = int(lock_timeout * 1000)
        self._begin = client.register_script(_BEGIN)
        self._end = client.register_script(_END)

    def load(self, session_id: str) -> SessionState | None:
        """Return the session's state, or None for an unknown or expired session."""
        raw = self.client.get(KEY.format(session_id))
        return SessionState.from_json(raw) if raw else None

    def save(self, session_id: str, state: SessionState) -> None:
        """Store the session's state and restart its TTL."""
        self.client.set(KEY.format(session_id), state.to_json(), ex=self.ttl)

    def open(self, session_id: str, probes: Sequence[str] = (), wait: float = 8.0) -> Opened:
        """Lock the session and read its state; wait while another hop of it runs.

        A retried hop waits for the first to finish, then finds its reply; after `wait` seconds
        it gives up with SessionBusy rather than keep the gateway waiting past its own timeout.
        """
        token = secrets.token_hex(8)
        keys = [LOCK.format(session_id), KEY.format(session_id), *probes]
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            answer = self._begin(keys=keys, args=[token, self.lock_ms])
            if answer[0]:
                raw = answer[1]
                state = SessionState.from_json(raw) if raw else None
                return Opened(state, [bool(flag) for flag in answer[2:]], token)
            if time.monotonic() + delay > deadline:
                raise SessionBusy(session_id)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def close(self, session_id: str, opened: Opened, state: SessionState | None) -> None:
        """Store the state (unless None) with a fresh TTL and release the lock, if still ours."""
        keys = [LOCK.format(session_id), KEY.format(session_id)]
        self._end(keys=keys, args=[opened.token, state.to_json() if state else "", self.ttl])
