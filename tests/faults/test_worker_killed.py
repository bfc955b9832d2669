"""A worker killed while AT holds its request: the SMS reaches AT at most twice, and is sent."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import select

from app import create_app
from cli import prepare_database
from registry.models import OutboxMessage
from registry.outbox import SmsPolicy, add_sms, queue_sms
from tests.fake_at import Answer
from tests.faults.servers import private_redis, sending_settings, start_worker, wait_until

pytestmark = pytest.mark.fault

PHONE = "+85512765499"


def test_a_worker_killed_mid_send_leaves_one_resend_at_most(tmp_path: Path, fake_at: Any) -> None:
    with private_redis() as redis_server:
        settings = sending_settings(
            tmp_path, redis_server.url, fake_at, SMS_TIMEOUT="30", STALE_AFTER="2", SMS_UNKNOWN_WINDOW="3"
        )
        app = create_app(settings)
        with app.app_context():
            prepare_database(app)
        db = app.extensions["janela"].db
        fake_at.script(Answer(delay=10))  # AT holds the first request: the worker dies waiting
        first = start_worker(tmp_path, settings)
        second = None
        try:
            queue_sms(db, PHONE, "km", "សួស្តី", "test", SmsPolicy())
            wait_until(lambda: len(fake_at.received) == 1, seconds=30)
            # RQ's scheduler runs as the worker's child and would outlive it: end it as the host would.
            orphans = psutil.Process(first.pid).children(recursive=True)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            for orphan in orphans:
                with contextlib.suppress(psutil.NoSuchProcess):
                    orphan.kill()
            second = start_worker(tmp_path, settings)

            def settled() -> bool:
                with db() as session:
                    return session.scalar(select(OutboxMessage.status)) == "sent"

            wait_until(settled, seconds=60)
            with db() as session:
                message = session.scalars(select(OutboxMessage)).one()
            assert message.unknown_resends == 1  # the claim was released as unknown, then sent once more
        finally:
            if second is not None:
                second.terminate()
                second.wait(timeout=30)
        assert [r["to"] for r in fake_at.received] == [PHONE, PHONE]  # at most twice, never more
        app.extensions["janela"].engine.dispose()


def test_a_worker_killed_mid_batch_leaves_each_row_one_resend_at_most(tmp_path: Path, fake_at: Any) -> None:
    phones = [f"+8551276550{n}" for n in range(3)]
    with private_redis() as redis_server:
        settings = sending_settings(
            tmp_path, redis_server.url, fake_at, SMS_TIMEOUT="30", STALE_AFTER="2", SMS_UNKNOWN_WINDOW="3"
        )
        app = create_app(settings)
        with app.app_context():
            prepare_database(app)
        janela = app.extensions["janela"]
        fake_at.script(Answer(delay=10))  # AT holds the batch's request: the worker dies waiting
        first = start_worker(tmp_path, settings)
        second = None
        try:
            with janela.db.begin() as session:  # one transaction, one text: one batch job
                for phone in phones:
                    add_sms(session, phone, "km", "សួស្តី", "announcement", SmsPolicy(), essential=False)
            wait_until(lambda: len(fake_at.received) == len(phones), seconds=30)
            assert fake_at.requests == 1
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = start_worker(tmp_path, settings)

            def settled() -> bool:
                with janela.db() as session:
                    return set(session.scalars(select(OutboxMessage.status))) == {"sent"}

            wait_until(settled, seconds=60)
            with janela.db() as session:
                messages = session.scalars(select(OutboxMessage)).all()
            # Every row of the request was released as unknown, then sent once more.
            assert [m.unknown_resends for m in messages] == [1, 1, 1]
        finally:
            if second is not None:
                second.terminate()
                second.wait(timeout=30)
        assert sorted(r["to"] for r in fake_at.received) == sorted(phones * 2)  # at most twice each
        janela.engine.dispose()
