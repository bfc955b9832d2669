"""Run queued jobs in tests with a real RQ worker on the real Redis."""

from __future__ import annotations

from flask import Flask

from workers.run import run_worker


def run_jobs(app: Flask) -> None:
    """Work every queue until it is empty, retries included."""
    run_worker(app, burst=True)
