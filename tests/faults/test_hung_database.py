"""A database that goes silent (frozen, not refusing) must not hang a USSD hop."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from app import create_app
from cli import prepare_database
from registry.services import set_language
from tests.conftest import app_config
from tests.faults.servers import PrivatePostgres, private_postgres, wait_until

pytestmark = pytest.mark.fault

DEADLINE = 1.5
KH = "+85512345678"


def hop(app: Flask, session_id: str, text: str, phone: str = KH) -> tuple[float, str]:
    form = {"sessionId": session_id, "serviceCode": "*384*123#", "phoneNumber": phone, "networkCode": "1"}
    started = time.monotonic()
    response = app.test_client().post("/ussd", data={**form, "text": text})
    assert response.status_code == 200
    return time.monotonic() - started, response.get_data(as_text=True)


@pytest.fixture
def frozen_db(redis_url: str) -> Any:
    with private_postgres() as server:
        app = create_app(app_config(server.url, redis_url, HOP_DEADLINE=DEADLINE))
        with app.app_context():
            prepare_database(app)
        app.extensions["janela"].redis.flushdb()
        yield app, server
        app.extensions["janela"].hops.shutdown()
        server.thaw()
        app.extensions["janela"].engine.dispose()


def test_every_hop_is_answered_within_the_deadline_while_the_database_is_frozen(
    frozen_db: tuple[Flask, PrivatePostgres],
) -> None:
    app, server = frozen_db
    set_language(app.extensions["janela"].db, KH, "pt")
    # Eight callers already in a session (their language is in Redis), then the database freezes.
    for n in range(8):
        took, screen = hop(app, f"live-{n}", "")
        assert screen.startswith("CON "), screen
    server.freeze()
    try:
        calls = [(f"live-{n}", "1") for n in range(8)] + [(f"new-{n}", "") for n in range(8)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda call: hop(app, *call), calls))
    finally:
        server.thaw()
    for (session_id, _text), (took, screen) in zip(calls, answers, strict=True):
        assert took < DEADLINE + 1.0, f"{session_id} waited {took:.1f} s"
        assert screen.startswith("END "), screen
        if session_id.startswith("live-"):
            # The session's own language, read from Redis: the database could not be asked.
            assert screen == "END Desculpe, o serviço não está disponível agora. Tente mais tarde.", screen
    # Once the database answers again, the held hops finish and the service answers within seconds.
    tries = iter(range(1000))
    wait_until(lambda: hop(app, f"after-{next(tries)}", "")[1].startswith("CON "), seconds=15)
