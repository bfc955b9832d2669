"""Redis killed and started again under a running worker: every SMS is sent once, nobody steps in."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from cli import prepare_database
from registry.models import OutboxMessage
from registry.outbox import SmsPolicy, queue_sms
from tests.faults.servers import private_redis, sending_settings, start_worker, wait_until

pytestmark = pytest.mark.fault

PHONES = [f"+8551276543{n:02d}" for n in range(6)]


def test_a_busy_worker_outlives_a_redis_restart_and_everything_queued_is_sent_once(
    tmp_path: Path, fake_at: object
) -> None:
    with private_redis() as redis_server:
        settings = sending_settings(tmp_path, redis_server.url, fake_at, SMS_RETRY_DELAYS="1")
        app = create_app(settings)
        with app.app_context():
            prepare_database(app)
        db = app.extensions["janela"].db
        worker = start_worker(tmp_path, settings)
        try:
            for phone in PHONES[:3]:
                queue_sms(db, phone, "km", "សួស្តី", "test", SmsPolicy())
            wait_until(lambda: len(fake_at.received) >= 3, seconds=30)  # type: ignore[attr-defined]

            redis_server.kill()
            # Written while Redis is gone: the rows are in the database, their jobs never queued.
            for phone in PHONES[3:]:
                queue_sms(db, phone, "km", "សួស្តី", "test", SmsPolicy())
            time.sleep(3)
            assert worker.poll() is None, "the worker exited when Redis went away"
            redis_server.start()  # empty: every queued job was lost with it

            def all_sent() -> bool:
                with db() as session:
                    statuses = session.scalars(select(OutboxMessage.status)).all()
                return len(statuses) == 6 and set(statuses) == {"sent"}

            wait_until(all_sent, seconds=60)
            assert worker.poll() is None  # the same worker, never restarted by hand
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        sends = Counter(r["to"] for r in fake_at.received)  # type: ignore[attr-defined]
        assert sends == Counter(PHONES)  # each once
        app.extensions["janela"].engine.dispose()
