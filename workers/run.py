"""Start an RQ worker on janela's queues, inside one app context made once."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from rq import SimpleWorker

from workers.sweep import start_sweeper

log = logging.getLogger(__name__)


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Work the app's queues until stopped (or, with burst, until they are empty).

    Jobs are short and wait on the network, so they run in the worker process itself
    (SimpleWorker): one app context, one connection pool, no fork per job.
    """
    janela = app.extensions["janela"]
    stop = threading.Event()
    with app.app_context():
        if not burst:
            start_sweeper(app, stop)
        worker = SimpleWorker(list(janela.queues.values()), connection=janela.redis)
        try:
            return worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
        finally:
            stop.set()


def main() -> None:
    """Entry point of `janela-worker`."""
    from app import create_app

    logging.basicConfig(level=logging.INFO)
    run_worker(create_app())
