"""Drafts: answers of an unfinished flow, kept per phone in Redis so a dropped call can resume."""

from __future__ import annotations

import json
from typing import Any

import redis

KEY = "janela:draft:{}:{}"


class DraftStore:
    """Keep one draft per flow and phone, for a while (DRAFT_TTL)."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.client = client
        self.ttl = ttl

    @staticmethod
    def key(flow: str, phone: str) -> str:
        """Return the Redis key of a flow's draft for a phone."""
        return KEY.format(flow, phone)

    def load(self, flow: str, phone: str) -> dict[str, Any]:
        """Return the draft, or an empty one."""
        raw = self.client.get(KEY.format(flow, phone))
        return json.loads(raw) if raw else {}

    def exists(self, key: str) -> bool:
        """Return True when a draft waits under key (see key())."""
        return bool(self.client.exists(key))

    def save(self, flow: str, phone: str, draft: dict[str, Any]) -> None:
        """Store the draft and restart its time to live."""
        self.client.set(KEY.format(flow, phone), json.dumps(draft, ensure_ascii=False), ex=self.ttl)

    def delete(self, flow: str, phone: str) -> None:
        """Forget the draft: the flow was completed or started over."""
        self.client.delete(KEY.format(flow, phone))
