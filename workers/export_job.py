"""The export job: build one desk export into the database, with a heartbeat while it runs."""

from __future__ import annotations

import logging
import threading

from flask import current_app

from conversations.i18n import Translator
from registry.export_jobs import (
    ExportPolicy,
    claim_export,
    job_token,
    release_export,
    touch_export,
    write_export,
)
from registry.services import Db

log = logging.getLogger(__name__)


def _heartbeat(db: Db, export_id: int, token: str, every: float, stop: threading.Event) -> None:
    """Renew the claim until stop is set; a beat that fails is tried again at the next."""
    while not stop.wait(every):
        try:
            touch_export(db, export_id, token)
        except Exception:
            # The database may be back by the next beat; if not, the claim goes stale as it should.
            log.warning("export %s heartbeat failed", export_id, exc_info=True)


def build_export(export_id: int, handoff: int) -> str:
    """Build an export once: claim it, write it while beating, store it whole; raise on failure.

    A failed attempt puts it back in the queue (RQ retries this job, which claims it again by its
    name) or, at the last attempt, marks it failed. A worker killed midway leaves a claim whose
    heartbeat stops: the sweep takes it back. Nothing half built is ever stored.
    """
    app = current_app.extensions["janela"]
    policy: ExportPolicy = app.export_policy
    token = job_token(export_id, handoff)
    task = claim_export(app.db, export_id, token, policy.stale_after)
    if task is None:
        return "skipped: done, failed, expired, or built by another job"
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(app.db, export_id, token, max(1.0, policy.stale_after.total_seconds() / 5), stop),
        name=f"export-{export_id}-heartbeat",
        daemon=True,
    )
    beat.start()
    try:
        stored = write_export(
            app.db, task, token, Translator(task.language), app.settings.country, app.settings.zone, policy
        )
    except Exception as exc:
        try:
            status = release_export(
                app.db, export_id, token, f"{type(exc).__name__}: {exc}", policy.max_attempts
            )
            log.warning("export %s attempt failed, now %s", export_id, status, exc_info=True)
        except Exception:
            # The database is gone: the claim stays this job's, and RQ's retry takes it by name.
            log.warning("export %s failed and could not be released", export_id, exc_info=True)
        raise
    finally:
        stop.set()
        beat.join(timeout=5)
    if not stored:
        # Taken over while built (this worker looked dead): the job that holds it now stores it.
        log.warning("export %s built but its claim was taken over; not stored", export_id)
        return "lost: claim taken over, nothing stored"
    log.info("export %s stored", export_id, extra={"export_id": export_id})
    return "done"
