"""Start an RQ worker on janela's queues, inside one app context made once."""

from __future__ import annotations

import logging

from flask import Flask
from rq import Worker

log = logging.getLogger(__name__)


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Work the app's queues until stopped (or, with burst, until they are empty)."""
    janela = app.extensions["janela"]
    with app.app_context():
        worker = Worker(list(janela.queues.values()), connection=janela.redis)
        return worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")


def main() -> None:
    """Entry point of `janela-worker`."""
    from app import create_app

    logging.basicConfig(level=logging.INFO)
    run_worker(create_app())
