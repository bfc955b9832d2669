"""Shared fixtures: a real database and a real Redis, clean for every test.

DATABASE_URL and REDIS_URL point the suite at servers (CI uses PostgreSQL and Redis); without
them it runs on a SQLite file and an embedded Redis, as a newcomer's laptop does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from embedded_redis import EmbeddedRedis
from registry.db import Base, make_engine
from registry.demo import load_demo
from registry.migrate import upgrade


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for the whole run: REDIS_URL, or an embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    # Nothing of a test run is worth saving, and its folder is removed after the run.
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), save=False)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated from scratch once per run: DATABASE_URL, or a SQLite file."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    engine.dispose()
    return url


def _clean(app: Flask) -> None:
    janela = app.extensions["janela"]
    with janela.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    janela.redis.flushdb()


def app_config(database_url: str, redis_url: str, **overrides: Any) -> dict[str, Any]:
    """Return the settings of a test app: Cambodia's demo shape on the test servers, then overrides."""
    config: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "COUNTRY": "KH",
        "LANGUAGES": "km,pt,en",
        "DEFAULT_LANGUAGE": "km",
        "WEBHOOK_TOKEN": "",
        "USSD_SERVICE_CODES": "",
        "AT_API_KEY": "",
        "SMS_BACKEND": "",
        "SIMULATOR": "",
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_app(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Any]:
    """Build apps on the test servers, with overrides; the registry starts clean, with a country's demo."""
    made: list[Flask] = []

    def build(catalogue: str | None = "KH", **overrides: Any) -> Flask:
        app = create_app(app_config(database_url, redis_url, **overrides))
        app.config["TESTING"] = True
        if not made:
            _clean(app)
            if catalogue:
                load_demo(app.extensions["janela"].db, catalogue)
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["janela"].engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    """The app on the embedded defaults' shape, with the Cambodian demo catalogue."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of app."""
    return app.test_client()


@pytest.fixture
def redis_client(app: Flask) -> redis.Redis:
    """The app's Redis client."""
    return app.extensions["janela"].redis


@pytest.fixture
def fake_at() -> Iterator[Any]:
    """A fake Africa's Talking API on a local port."""
    from tests.fake_at import FakeAfricasTalking

    server = FakeAfricasTalking()
    yield server
    server.stop()


@pytest.fixture
def at_app(make_app: Any, fake_at: Any) -> Flask:
    """The app sending SMS through the real SDK to the fake AT, retrying without delay."""
    return make_app(
        AT_USERNAME="janela",
        AT_API_KEY=fake_at.api_key,
        AT_API_URL=fake_at.url,
        WEBHOOK_TOKEN="at-token",
        AT_SENDER_ID="JANELA",
        SMS_RETRY_DELAYS="0",
        SMS_TIMEOUT=1,
        SMS_MAX_ATTEMPTS=3,
    )
