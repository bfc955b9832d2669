"""Inbound SMS and delivery reports that arrive while the database is down are kept and acted on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from app import create_app
from cli import prepare_database
from registry.models import InboundMessage, OutboxMessage
from tests.conftest import app_config
from tests.faults.servers import PrivatePostgres, private_postgres
from tests.jobs import run_jobs
from workers.sweep import sweep

pytestmark = pytest.mark.fault

SENDERS = [f"+8551234560{n}" for n in range(5)]


@pytest.fixture
def outage(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, PrivatePostgres]]:
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))  # where the local spool file goes
    with private_postgres() as server:
        app = create_app(app_config(server.url, redis_url))
        with app.app_context():
            prepare_database(app)
        app.extensions["janela"].redis.flushdb()
        yield app, server
        app.extensions["janela"].engine.dispose()


def inbound(app: Flask, n: int, sender: str) -> Any:
    form = {"from": sender, "to": "1234", "text": "HELP", "id": f"ATXid_out_{n}", "date": "2026-12-04"}
    return app.test_client().post("/sms/inbound", data=form)


def test_inbound_sms_during_an_outage_are_all_stored_and_answered_after_it(
    outage: tuple[Flask, PrivatePostgres],
) -> None:
    app, server = outage
    janela = app.extensions["janela"]
    server.halt()
    answers = [inbound(app, n, sender) for n, sender in enumerate(SENDERS)]
    # AT retries a callback it got no 200 for; the repeat of the first must not count twice.
    answers.append(inbound(app, 0, SENDERS[0]))
    assert [a.status_code for a in answers] == [200] * 6
    assert all("kept (redis)" in a.get_data(as_text=True) for a in answers)
    delivery = app.test_client().post("/sms/delivery", data={"id": "ATXid_unknown", "status": "Success"})
    assert delivery.status_code == 200
    assert janela.spool.waiting() == 7

    server.start()
    sweep(app)
    run_jobs(app)
    assert janela.spool.waiting() == 0
    with janela.db() as session:
        stored = sorted(session.scalars(select(InboundMessage.sender)).all())
        replies = sorted(session.scalars(select(OutboxMessage.recipient)).all())
    assert stored == SENDERS  # each once
    # Every sender got the help reply once (in as many parts as it takes, the same for all).
    parts = Counter(replies)
    assert sorted(parts) == SENDERS and len(set(parts.values())) == 1
    # A second sweep finds nothing more to store and sends nothing again.
    sweep(app)
    run_jobs(app)
    with janela.db() as session:
        assert len(session.scalars(select(OutboxMessage.id)).all()) == len(replies)


def test_with_redis_gone_too_the_callback_is_kept_in_a_local_file(
    outage: tuple[Flask, PrivatePostgres],
) -> None:
    app, server = outage
    janela = app.extensions["janela"]
    server.halt()
    reachable = janela.spool.client
    janela.spool.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        answer = inbound(app, 9, SENDERS[0])
    finally:
        janela.spool.client = reachable
    assert answer.status_code == 200 and "kept (file)" in answer.get_data(as_text=True)
    assert janela.spool.file.exists()
    server.start()
    sweep(app)  # moves the file into Redis and stores it
    assert not janela.spool.file.exists()
    with janela.db() as session:
        assert session.scalars(select(InboundMessage.provider_id)).all() == ["ATXid_out_9"]
