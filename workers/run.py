"""Work janela's queues with an RQ worker, inside the one app context its caller made.

The caller (app.py's `janela-worker`, or `flask worker`) builds the app: nothing under workers/
imports app, so the package stays below the edges.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType

import redis
from flask import Flask
from rq import SimpleWorker
from rq.exceptions import StopRequested

from workers.stats_refresh import start_stats_refresher
from workers.sweep import start_sweeper

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0  # seconds between two starts of a worker that keeps losing Redis


class JanelaWorker(SimpleWorker):
    """RQ's SimpleWorker, with a command listener that lets go within a second when it stops.

    RQ's listener waits up to 60 s for a message before it looks whether it should stop, so every
    stop (a burst finishing, a SIGTERM, a lost Redis) hung for up to a minute.
    """

    asked_to_stop = False  # a SIGTERM or SIGINT came: a worker that stops then is not restarted

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Remember that a stop was asked for, then stop as RQ does (after the job in hand)."""
        self.asked_to_stop = True
        super().request_stop(signum, frame)

    def subscribe(self) -> None:
        """Listen for commands (stop a job, shut down) on this worker's channel."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ types it None
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Work the app's queues until stopped (or, with burst, until they are empty).

    Jobs are short and wait on the network, so they run in the worker process itself
    (SimpleWorker): one app context, one connection pool, no fork per job. When Redis or the
    database goes away long enough for RQ to give up, the worker starts again by itself, waiting
    1 s, then 2, 4... up to 30 s, until it is asked to stop (SIGTERM, SIGINT).
    """
    janela = app.extensions["janela"]
    stop = threading.Event()
    delay = 1.0
    with app.app_context():
        if not burst:
            start_sweeper(app, stop)
            start_stats_refresher(app, stop)
        try:
            while True:
                worker: JanelaWorker | None = None
                worked = False
                try:
                    worker = JanelaWorker(list(janela.queues.values()), connection=janela.redis)
                    worked = worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
                except redis.RedisError:
                    log.error("worker lost Redis while starting or stopping", exc_info=True)
                    if burst:
                        raise
                if burst or (worker is not None and worker.asked_to_stop):
                    return worked
                log.error(
                    "worker stopped working (Redis or the database gone?); starting again in %.0f s", delay
                )
                if stop.wait(delay):
                    return worked
                delay = min(delay * 2, MAX_BACKOFF)
        except StopRequested:
            return False  # asked to stop while waiting to start again
        finally:
            stop.set()
