"""The sweep: hand on messages whose job was lost or whose retry is due, and escalate overdue cases.

The coverage statistics are not counted here: their refresh has its own thread
(workers/stats_refresh.py), so a long recount never holds back an escalation or a resend.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from conversations.case_texts import CaseTexts
from registry.escalation import escalate_overdue
from registry.export_jobs import hand_on_again, job_token, queued_exports, reclaim_stale_exports
from registry.inbound import unprocessed_inbound
from registry.outbox import release_stale_claims, resend_unknown, stranded_sms
from registry.retention import Retention, prune_old_records
from workers.queues import enqueue_exports, enqueue_inbound, enqueue_sms

log = logging.getLogger(__name__)
LOCK = "janela:sweep"
PRUNE_LOCK = "janela:prune"


@dataclass(frozen=True)
class SweepReport:
    """What one sweep handed on."""

    released: int
    sms: int
    inbound: int
    escalated: int = 0
    exports: int = 0  # exports handed on again: a worker went silent, or Redis lost the job


def sweep(app: Flask) -> SweepReport:
    """Release claims of dead workers and re-enqueue every message left behind."""
    janela = app.extensions["janela"]
    policy = janela.delivery
    grace = timedelta(seconds=policy.sweep_grace)
    # Callbacks the web kept while the database was gone: stored now, each once.
    janela.spool.move_file_to_redis()
    replayed = janela.spool.replay(janela.db)
    if replayed:
        log.warning("sweep stored %s callbacks kept while the database was unavailable", replayed)
    window = timedelta(seconds=policy.unknown_window)
    # A claim a silent worker left may have been sent: it waits out the window like any unknown.
    released = release_stale_claims(janela.db, timedelta(seconds=policy.stale_after), window)
    resent = resend_unknown(janela.db)
    sms = sorted(set(resent) | set(stranded_sms(janela.db, grace)))
    enqueue_sms(janela.queues, sms, policy.rq_retry, batch_size=policy.batch_size)
    inbound = unprocessed_inbound(janela.db, grace)
    enqueue_inbound(janela.queues, inbound)
    exports = hand_on_exports(app)
    escalated = escalate_overdue(janela.db, janela.settings.services, CaseTexts(janela.settings.country))
    # Once a day, whichever worker sweeps first also prunes what outlived its retention.
    if janela.redis.set(PRUNE_LOCK, "1", nx=True, ex=86400):
        retention = Retention(app.config["RETENTION_DAYS"], app.config["SMS_RETENTION_DAYS"])
        pruned = prune_old_records(janela.db, retention)
        if pruned.total:
            log.info("pruned %s records past their retention", pruned.total)
    if sms or inbound:
        log.warning(
            "sweep handed on %s sms and %s inbound (%s stale claims)", len(sms), len(inbound), len(released)
        )
    return SweepReport(len(released), len(sms), len(inbound), len(escalated), exports)


# An RQ job in one of these will still run (or is running): its export is not lost.
_ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def _job_alive(app: Flask, job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=app.extensions["janela"].redis).get_status() in _ALIVE
    except NoSuchJobError:
        return False


def hand_on_exports(app: Flask) -> int:
    """Take back exports a silent worker held, and enqueue again those whose job Redis lost."""
    janela = app.extensions["janela"]
    policy = janela.export_policy
    reclaimed = reclaim_stale_exports(janela.db, policy.stale_after, policy.max_attempts)
    # Enqueued before the lost jobs are looked for, so these are not found lost too.
    enqueue_exports(janela.queues, reclaimed, janela.export_jobs)
    again: list[tuple[int, int]] = []
    grace = timedelta(seconds=janela.delivery.sweep_grace)
    for export_id, handoff, claimed_by in queued_exports(janela.db, grace):
        # A failed attempt waits in RQ for its retry under its claim's name; else the latest hand-off's.
        if _job_alive(app, claimed_by or job_token(export_id, handoff)):
            continue
        number = hand_on_again(janela.db, export_id, handoff)
        if number is not None:
            again.append((export_id, number))
    enqueue_exports(janela.queues, again, janela.export_jobs)
    handed = reclaimed + again
    if handed:
        log.warning("sweep handed on %s exports", len(handed), extra={"export_ids": [i for i, _h in handed]})
    return len(handed)


def start_sweeper(app: Flask, stop: threading.Event) -> threading.Thread:
    """Sweep every SWEEP_INTERVAL seconds in a thread; one worker sweeps at a time."""
    janela = app.extensions["janela"]
    interval = janela.delivery.sweep_interval

    def loop() -> None:
        while not stop.wait(interval):
            try:
                # Whoever takes the lock sweeps for this interval; the others skip.
                if janela.redis.set(LOCK, "1", nx=True, ex=max(1, interval - 1)):
                    with app.app_context():
                        sweep(app)
            except Exception:
                log.exception("sweep failed; trying again next interval")

    thread = threading.Thread(target=loop, name="janela-sweeper", daemon=True)
    thread.start()
    return thread
