"""Work janela's queues with an RQ worker, inside the one app context its caller made.

The caller (app.py's `janela-worker`, or `flask worker`) builds the app: nothing under workers/
imports app, so the package stays below the edges.
"""

from __future__ import annotations

import threading

from flask import Flask
from rq import SimpleWorker

from workers.sweep import start_sweeper


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
