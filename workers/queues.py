"""Which queue each job goes to, and how it is retried."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rq import Queue, Retry

from registry.export_jobs import job_token

INBOUND = "inbound"  # people waiting for an answer come first
SMS = "sms"
DEFAULT = "default"
EXPORTS = "exports"  # desk exports, minutes long: taken last, after every message
QUEUE_NAMES = (INBOUND, SMS, DEFAULT, EXPORTS)


def rq_retry(max_attempts: int, delays: Sequence[int]) -> Retry | None:
    """Return RQ's retry for a job tried max_attempts times in all, waiting delays between tries."""
    if max_attempts <= 1:
        return None
    return Retry(max=max_attempts - 1, interval=list(delays) or 0)


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
    batch_size: int = 100  # recipients of one text in one request to the provider

    @property
    def rq_retry(self) -> Retry | None:
        """RQ's retry for a send job: one fewer than the attempts, with backoff delays."""
        return rq_retry(self.max_attempts, self.retry_delays)


# Rows paced by slots share a job only when their slots fall within this span, so a batch sent at
# its last slot keeps the rate to the second.
PACING_SPAN = timedelta(seconds=1)


@dataclass
class SmsBatch:
    """The rows one send job takes, and the time it may start (its last row's slot)."""

    ids: list[int]
    text: str | None
    first_slot: datetime | None
    at: datetime | None


def sms_batches(
    ids: Sequence[int],
    later: Mapping[int, datetime],
    texts: Mapping[int, str],
    size: int,
) -> list[SmsBatch]:
    """Group rows into send jobs: one text each, at most size rows, their slots within PACING_SPAN.

    A row without a known text is grouped with the others without one; the job still sends each
    text in its own request.
    """
    done: list[SmsBatch] = []
    open_by_text: dict[str | None, SmsBatch] = {}
    # In slot order (rows due now first), so each batch spans as little time as it can.
    for message_id in sorted(ids, key=lambda i: (later[i].timestamp() if i in later else 0.0, i)):
        text, slot = texts.get(message_id), later.get(message_id)
        batch = open_by_text.get(text)
        if batch is None or not _fits(batch, slot, size):
            if batch is not None:
                done.append(batch)
            batch = open_by_text[text] = SmsBatch([], text, slot, None)
        batch.ids.append(message_id)
        batch.at = slot or batch.at
    done.extend(open_by_text.values())
    return sorted(done, key=lambda b: b.ids[0])


def _fits(batch: SmsBatch, slot: datetime | None, size: int) -> bool:
    """Say whether a row with this slot may join the batch."""
    if len(batch.ids) >= max(1, size):
        return False
    if slot is None or batch.first_slot is None:
        return slot is None and batch.first_slot is None  # rows due now never wait for a slotted one
    return slot - batch.first_slot < PACING_SPAN


def enqueue_sms(
    queues: dict[str, Queue],
    ids: Sequence[int],
    retry: Retry | None,
    later: Mapping[int, datetime] | None = None,
    batch_size: int = 1,
    texts: Mapping[int, str] | None = None,
) -> None:
    """Enqueue send jobs for outbox rows: a row alone, or rows of one text in batches of batch_size.

    A batch with a slot in `later` waits for its last row's slot (RQ's scheduler), so no row goes
    before its own.
    """
    due = []
    args: tuple[Any, ...]
    for batch in sms_batches(ids, later or {}, texts or {}, batch_size):
        options: dict[str, Any] = {"retry": retry, "failure_ttl": FAILURE_TTL}
        if len(batch.ids) == 1:
            # A single SMS (a confirmation, an alert) goes at once and alone, as its own job.
            func, args = "workers.jobs.send_sms", (batch.ids[0],)
            options["description"] = f"send sms {batch.ids[0]}"
        else:
            func, args = "workers.jobs.send_sms_batch", (batch.ids,)
            options["description"] = f"send {len(batch.ids)} sms {batch.ids[0]}..{batch.ids[-1]}"
        if batch.at is not None:
            queues[SMS].enqueue_at(batch.at, func, *args, **options)
        else:
            due.append(Queue.prepare_data(func, args, **options))
    if due:
        # One pipeline for all the jobs due now: the commit that wrote the rows waits on this.
        queues[SMS].enqueue_many(due)


def enqueue_inbound(queues: dict[str, Queue], ids: Sequence[int]) -> None:
    """Enqueue one processing job per inbound SMS."""
    for inbound_id in ids:
        queues[INBOUND].enqueue(
            "workers.jobs.process_inbound",
            inbound_id,
            description=f"process inbound sms {inbound_id}",
            failure_ttl=FAILURE_TTL,
        )


@dataclass(frozen=True)
class ExportJobs:
    """How export jobs are run: how long one may take, and how often it is tried."""

    timeout: int = 3600
    max_attempts: int = 3
    retry_delays: tuple[int, ...] = (60, 300)

    @property
    def rq_retry(self) -> Retry | None:
        """RQ's retry for an export job: one fewer than the attempts."""
        return rq_retry(self.max_attempts, self.retry_delays)


def enqueue_exports(queues: dict[str, Queue], handoffs: Sequence[tuple[int, int]], jobs: ExportJobs) -> None:
    """Enqueue one job per (export id, hand-off number), named so its claim is its name."""
    for export_id, handoff in handoffs:
        queues[EXPORTS].enqueue(
            "workers.export_job.build_export",
            export_id,
            handoff,
            job_id=job_token(export_id, handoff),
            job_timeout=jobs.timeout,
            retry=jobs.rq_retry,
            failure_ttl=FAILURE_TTL,
            description=f"export {export_id}",
        )
