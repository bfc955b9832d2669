"""The coverage statistics' refresh: a thread of its own in every worker, beside the sweeper.

A national recount takes about 25 s. Run inside the sweep, it held back that worker's
escalations and resends for as long, once an hour; in its own thread it delays neither the sweep
nor the jobs, and needs no queue of its own that a deployment could forget to work.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import redis
from flask import Flask

from registry.statistics import RefreshReport, refresh_statistics, statistics_due

log = logging.getLogger(__name__)
LEASE_KEY = "janela:stats"
# How long a refresher holds the lease at most. A refresh that fails, or whose worker is killed,
# leaves it to expire: the next attempt comes this long after the last start, never in a tight
# loop, and a dead worker's lease cannot block refreshes for ever. One outlived by a slow refresh
# only lets another refresher wait on the row lock, then find the figures fresh.
LEASE = timedelta(minutes=10)
# Delete the lease only while it is still this refresher's (it may have expired and been retaken).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def lease_seconds(max_age: timedelta) -> int:
    """Return the lease's length: LEASE, or the refresh interval when that is shorter (a minute at least)."""
    return max(60, int(min(LEASE, max_age).total_seconds()))


def _release(client: redis.Redis, token: str) -> None:
    client.eval(_RELEASE, 1, LEASE_KEY, token)


def refresh_when_due(app: Flask) -> RefreshReport | None:
    """Refresh the statistics when they are due and no other worker holds the lease; None: not now."""
    janela = app.extensions["janela"]
    max_age = timedelta(minutes=app.config["STATS_REFRESH_MINUTES"])
    token = uuid.uuid4().hex
    if not janela.redis.set(LEASE_KEY, token, nx=True, ex=lease_seconds(max_age)):
        return None  # another worker is refreshing, or a failed attempt is waiting out its lease
    # An exception from here on keeps the lease, so the failure is tried again when it expires.
    if not statistics_due(janela.db, max_age):
        _release(janela.redis, token)
        return None
    # Without the lease (Redis flushed meanwhile) a second refresher would wait on the row lock,
    # then find the figures fresh: the lease spares the wait, the row lock keeps the count single.
    report = refresh_statistics(janela.db, janela.settings.zone, max_age=max_age)
    _release(janela.redis, token)
    return report


def start_stats_refresher(app: Flask, stop: threading.Event) -> threading.Thread:
    """Look every SWEEP_INTERVAL seconds whether the statistics are due, in a thread of its own."""
    interval = app.extensions["janela"].delivery.sweep_interval

    def loop() -> None:
        while not stop.wait(interval):
            try:
                report = refresh_when_due(app)
            except Exception:
                lease = lease_seconds(timedelta(minutes=app.config["STATS_REFRESH_MINUTES"]))
                log.exception("statistics refresh failed; the old figures stay, tried again in %s s", lease)
                continue
            if report is not None and report.refreshed:
                log.info("statistics refreshed: %s figures in %.1f s", report.figures, report.seconds)

    thread = threading.Thread(target=loop, name="janela-stats-refresher", daemon=True)
    thread.start()
    return thread
