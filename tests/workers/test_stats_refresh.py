"""The statistics' refresh beside the sweep: once at a time, never in a loop, never in the sweep's way."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError

from registry.db import utcnow
from registry.models import Area, Case, Household
from registry.statistics import refresh_statistics, statistics_due
from registry.summaries import StatsFigure, StatsRefresh
from tests.conftest import app_config
from tests.faults.servers import start_worker, wait_until
from tests.test_cases import complain
from workers.stats_refresh import LEASE_KEY, lease_seconds, refresh_when_due, start_stats_refresher

HOUR = timedelta(hours=1)
Row = tuple[int, str, str, str, int]


def figures(app: Flask) -> list[Row]:
    """Return every summary row, sorted."""
    with app.extensions["janela"].db() as session:
        rows = session.execute(
            select(StatsFigure.area_id, StatsFigure.period, StatsFigure.measure, StatsFigure.key,
                   StatsFigure.value)
        ).all()  # fmt: skip
    return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def refreshed_at(app: Flask) -> Any:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(StatsRefresh.refreshed_at))


def counted_then_changed(app: Flask) -> list[Row]:
    """Count the registry, then file a household and age the count: the next refresh is due and differs."""
    db = app.extensions["janela"].db
    complain(app, "en")  # figures down to the province, whatever the demo holds
    refresh_statistics(db, app.extensions["janela"].settings.zone)
    before = figures(app)
    with db.begin() as session:
        village = session.scalars(select(Area.id).where(Area.code == "17010101")).one()
        session.add(Household(village_id=village, size=1))
        session.execute(update(StatsRefresh).values(refreshed_at=utcnow() - 2 * HOUR))
    assert statistics_due(db, HOUR)
    return before


def postgres_only(app: Flask) -> Engine:
    engine: Engine = app.extensions["janela"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("holds a refresh open with PostgreSQL's row locks (SQLite has one writer at a time)")
    return engine


@contextmanager
def refresh_held_open(engine: Engine) -> Iterator[None]:
    """Hold every refresh just before it commits, until the block ends.

    The roll-up's last statement writes the provinces' figures, and its foreign-key check must
    share the province's row, which this transaction holds for update: the refresh has deleted the
    old summary and written the villages', districts' and communes', and waits.
    """
    with engine.connect() as connection:
        connection.execute(text("SELECT id FROM areas WHERE code = '17' FOR UPDATE"))
        try:
            yield
        finally:
            connection.rollback()


def waiting_backend(engine: Engine, statement: str) -> int | None:
    """Return the server process of a statement waiting on a lock, if one is."""
    with engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q"
                " AND pid <> pg_backend_pid()"
            ),
            {"q": f"{statement}%"},
        )


def backend_alive(engine: Engine, pid: int) -> bool:
    with engine.connect() as connection:
        alive = connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid})
    return bool(alive)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run call in a thread; its result or its exception lands in the list."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # the thread's failure must reach the test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop a worker process as a deployment does (SIGTERM), and for certain if it does not go."""
    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)
        raise


def worker_settings(database_url: str, redis_url: str) -> dict[str, str]:
    """Settings of a `flask worker` process on the test servers, sweeping every second."""
    settings = app_config(database_url, redis_url, SWEEP_INTERVAL=1)
    return {name: str(value) for name, value in settings.items()}


def test_refreshers_of_several_workers_at_once_count_once(app: Flask) -> None:
    complain(app, "en")
    barrier = threading.Barrier(3)

    def together() -> Any:
        barrier.wait()
        return refresh_when_due(app)

    started = [in_thread(together) for _ in range(3)]
    for thread, _ in started:
        thread.join(60)
    outcomes = [outcome[0] for _, outcome in started]
    refreshed = [o for o in outcomes if o is not None]
    # One took the lease and counted; the others found it taken (or, later, the figures fresh).
    assert len(refreshed) == 1 and refreshed[0].refreshed, outcomes
    assert app.extensions["janela"].redis.get(LEASE_KEY) is None  # given back once done
    assert not statistics_due(app.extensions["janela"].db, HOUR)
    assert refresh_when_due(app) is None  # fresh: nothing until the hour has passed


def test_a_refresh_held_open_does_not_delay_an_escalation(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    engine = postgres_only(app)
    db = app.extensions["janela"].db
    reference = complain(app, "en")
    worker = None
    try:
        with refresh_held_open(engine):
            worker = start_worker(tmp_path, worker_settings(database_url, redis_url))
            wait_until(lambda: waiting_backend(engine, "INSERT INTO stats_figures") is not None, 60)
            held = waiting_backend(engine, "INSERT INTO stats_figures")
            # Overdue only now, while the worker's refresh is in the middle of its count.
            with db.begin() as session:
                session.execute(
                    update(Case)
                    .where(Case.reference == reference)
                    .values(ack_due_at=func.now() - text("interval '1 hour'"))
                )

            def escalated() -> bool:
                with db() as session:
                    status = session.scalar(select(Case.status).where(Case.reference == reference))
                return status == "escalated"

            wait_until(escalated, 20)
            assert waiting_backend(engine, "INSERT INTO stats_figures") == held  # still counting
            assert statistics_due(db, HOUR)
        wait_until(lambda: not statistics_due(db, HOUR), 60)  # let go, the refresh commits
    finally:
        if worker is not None:
            stop(worker)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()


def test_a_worker_killed_mid_refresh_leaves_the_old_figures_and_a_lease_that_expires(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    engine = postgres_only(app)
    client = app.extensions["janela"].redis
    before = counted_then_changed(app)
    counted_at = refreshed_at(app)
    with refresh_held_open(engine):
        worker = start_worker(tmp_path, worker_settings(database_url, redis_url))
        try:
            wait_until(lambda: waiting_backend(engine, "INSERT INTO stats_figures") is not None, 60)
            backend = waiting_backend(engine, "INSERT INTO stats_figures")
            assert backend is not None
        finally:
            # SIGKILL, as the out-of-memory killer or a container's end would: RQ's scheduler, a
            # child process of the worker, goes with it.
            for child in psutil.Process(worker.pid).children(recursive=True):
                child.kill()
            worker.kill()
            worker.wait(10)
    # Let go, its server process finishes the statement, finds nobody to answer, and rolls back.
    wait_until(lambda: not backend_alive(engine, backend), 30)
    assert figures(app) == before and refreshed_at(app) == counted_at
    ttl = client.ttl(LEASE_KEY)
    assert 0 < ttl <= lease_seconds(HOUR) == 600  # the dead worker's lease runs out by itself
    assert refresh_when_due(app) is None  # until then nobody counts: no loop of failed recounts
    client.pexpire(LEASE_KEY, 1)  # as ten minutes passing would
    wait_until(lambda: client.exists(LEASE_KEY) == 0, 5)
    report = refresh_when_due(app)
    assert report is not None and report.refreshed
    assert figures(app) != before and not statistics_due(app.extensions["janela"].db, HOUR)


def test_the_database_gone_mid_refresh_fails_it_once_and_it_is_tried_when_the_lease_runs_out(
    app: Flask,
) -> None:
    engine = postgres_only(app)
    client = app.extensions["janela"].redis
    before = counted_then_changed(app)
    with refresh_held_open(engine):
        thread, outcome = in_thread(lambda: refresh_when_due(app))
        wait_until(lambda: waiting_backend(engine, "INSERT INTO stats_figures") is not None, 30)
        with engine.connect() as connection:
            # The server ends the refresh's connection, as a restart or a failover would.
            connection.execute(
                text("SELECT pg_terminate_backend(:p)"),
                {"p": waiting_backend(engine, "INSERT INTO stats_figures")},
            )
        thread.join(30)
    assert isinstance(outcome[0], DBAPIError), outcome
    assert figures(app) == before
    assert 0 < client.ttl(LEASE_KEY) <= 600
    assert refresh_when_due(app) is None  # not tried again at once
    client.delete(LEASE_KEY)  # the lease has run out
    report = refresh_when_due(app)
    assert report is not None and report.refreshed and figures(app) != before


def test_a_refresher_without_its_database_logs_the_failure_once_per_lease(
    app: Flask, make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    gone = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", SWEEP_INTERVAL=1)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="workers.stats_refresh"):
        thread = start_stats_refresher(gone, stop)
        time.sleep(3.5)  # three looks, a second apart
        stop.set()
        thread.join(10)
    failures = [r for r in caplog.records if "statistics refresh failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert 0 < gone.extensions["janela"].redis.ttl(LEASE_KEY) <= 600


def test_redis_flushed_mid_refresh_lets_a_second_refresher_wait_then_skip(app: Flask) -> None:
    engine = postgres_only(app)
    client = app.extensions["janela"].redis
    counted_then_changed(app)
    with refresh_held_open(engine):
        first, first_outcome = in_thread(lambda: refresh_when_due(app))
        wait_until(lambda: waiting_backend(engine, "INSERT INTO stats_figures") is not None, 30)
        client.flushdb()  # the lease is gone with everything else
        second, second_outcome = in_thread(lambda: refresh_when_due(app))
        # The second took a new lease and waits on the row lock the first holds.
        wait_until(lambda: waiting_backend(engine, "UPDATE stats_refreshes") is not None, 30)
    first.join(30)
    second.join(30)
    assert first_outcome[0].refreshed and not second_outcome[0].refreshed
    assert client.exists(LEASE_KEY) == 0  # each gave back its own lease, none another's
    expected = figures(app)
    refresh_statistics(app.extensions["janela"].db, app.extensions["janela"].settings.zone)
    assert figures(app) == expected  # one count, the same as any other
