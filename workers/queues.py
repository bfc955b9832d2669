"""Which queue each job goes to, and how it is retried."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rq import Queue, Retry

INBOUND = "inbound"  # people waiting for an answer come first
SMS = "sms"
DEFAULT = "default"
QUEUE_NAMES = (INBOUND, SMS, DEFAULT)


# A failed job is kept a week for `flask jobs failed` (RQ's default is a year); the outbox or
# inbound row stays the record of what happened.
FAILURE_TTL = 7 * 86400


@dataclass(frozen=True)
class Delivery:
    """How hard janela tries to deliver, and when it looks for work left behind."""

    max_attempts: int = 5
    retry_delays: tuple[int, ...] = (30, 120, 600, 1800)
    stale_after: int = 600  # seconds before a claim by a silent worker is taken over
    sweep_grace: int = 120  # seconds a message may wait for its job before the sweep steps in
    sweep_interval: int = 60
    unknown_window: int = 1800  # seconds to wait for a delivery report after an unknown outcome

    @property
    def rq_retry(self) -> Retry | None:
        """RQ's retry for a send job: one fewer than the attempts, with backoff delays."""
        if self.max_attempts <= 1:
            return None
        return Retry(max=self.max_attempts - 1, interval=list(self.retry_delays) or 0)


def enqueue_sms(
    queues: dict[str, Queue],
    ids: Sequence[int],
    retry: Retry | None,
    later: Mapping[int, datetime] | None = None,
) -> None:
    """Enqueue one send job per outbox row; a row with a time in `later` waits for it (RQ's scheduler)."""
    for message_id in ids:
        options: dict[str, Any] = {
            "retry": retry,
            "description": f"send sms {message_id}",
            "failure_ttl": FAILURE_TTL,
        }
        at = (later or {}).get(message_id)
        if at is not None:
            queues[SMS].enqueue_at(at, "workers.jobs.send_sms", message_id, **options)
        else:
            queues[SMS].enqueue("workers.jobs.send_sms", message_id, **options)


def enqueue_inbound(queues: dict[str, Queue], ids: Sequence[int]) -> None:
    """Enqueue one processing job per inbound SMS."""
    for inbound_id in ids:
        queues[INBOUND].enqueue(
            "workers.jobs.process_inbound",
            inbound_id,
            description=f"process inbound sms {inbound_id}",
            failure_ttl=FAILURE_TTL,
        )
