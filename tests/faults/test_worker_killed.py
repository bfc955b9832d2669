"""A worker killed while AT holds its request: the SMS reaches AT at most twice, and is sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from cli import prepare_database
from registry.models import OutboxMessage
from registry.outbox import SmsPolicy, queue_sms
from tests.fake_at import Answer
from tests.faults.servers import private_redis, wait_until

pytestmark = pytest.mark.fault

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+85512765499"


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def test_a_worker_killed_mid_send_leaves_one_resend_at_most(tmp_path: Path, fake_at: Any) -> None:
    with private_redis() as redis_server:
        settings = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'janela.db'}",
            "REDIS_URL": redis_server.url,
            "SMS_BACKEND": "africastalking",
            "AT_USERNAME": "janela",
            "AT_API_KEY": fake_at.api_key,
            "AT_API_URL": fake_at.url,
            "WEBHOOK_TOKEN": "fault-token",
            "SIMULATOR": "",
            "SMS_TIMEOUT": "30",
            "SWEEP_INTERVAL": "1",
            "SWEEP_GRACE": "1",
            "STALE_AFTER": "2",
            "SMS_UNKNOWN_WINDOW": "3",
        }
        app = create_app(settings)
        with app.app_context():
            prepare_database(app)
        db = app.extensions["janela"].db
        env = {**os.environ, **settings, "INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
        fake_at.script(Answer(delay=10))  # AT holds the first request: the worker dies waiting
        first = start_worker(env, tmp_path / "worker.log")
        second = None
        try:
            queue_sms(db, PHONE, "km", "សួស្តី", "test", SmsPolicy())
            wait_until(lambda: len(fake_at.received) == 1, seconds=30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = start_worker(env, tmp_path / "worker.log")

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
