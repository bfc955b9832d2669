"""Each benchmark at a small size, so that none can rot: they assert what they measure is right.

Times are not asserted here (bench/ prints them); these need PostgreSQL and Redis servers.
"""

from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import hop_load, outbox_load, redis_memory, registry_export, registry_scale, stats_scale
from bench.registry_data import BUSY_DESK, BUSY_OPEN, Size, build
from registry.cases import OPEN, list_queue
from registry.db import make_engine, make_sessionmaker
from registry.models import Area, Case, Person

pytestmark = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgresql") and os.environ.get("REDIS_URL")),
    reason="the benchmarks need PostgreSQL and Redis servers (DATABASE_URL, REDIS_URL)",
)


def free_port_pair() -> int:
    """Return a port that is free with the next one, so runs side by side do not collide."""
    while True:
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return int(port)


def bench_database_url() -> str:
    url = make_url(os.environ["DATABASE_URL"])
    return url.set(database=f"{url.database}_bench").render_as_string(hide_password=False)


def test_the_registry_generator_builds_the_shape_asked_for_and_the_services_answer() -> None:
    url = bench_database_url()
    registry_scale.ensure_database(url)
    engine = make_engine(url)
    db = make_sessionmaker(engine)
    size = Size.at(0.0002)
    build(engine, size, log=lambda _line: None)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == size.persons
        assert session.scalar(select(func.count()).where(Area.level == "village")) == size.villages
        busy_open = session.scalar(
            select(func.count()).where(Case.desk_id == BUSY_DESK, Case.status.in_(OPEN))
        )
        assert busy_open == BUSY_OPEN
    desk = registry_scale.busy_desk_code(db)
    whole = list_queue(db, desk, "en", "km")
    assert len(whole) == BUSY_OPEN
    assert [c.resolve_due_at for c in whole] == sorted(c.resolve_due_at for c in whole)  # type: ignore[type-var]
    assert list_queue(db, desk, "en", "km", limit=50, offset=100) == whole[100:150]
    assert whole[0].desk == desk and whole[0].village.startswith("Village ")
    # Every timed call asserts its answer (a holder found, a status shown, 2,000 in the queue...).
    timings = registry_scale.measure(db, size, rounds=3)
    assert {t.name for t in timings} >= {"ID lookup with year of birth", "STATUS by reference"}
    assert all(len(t.samples) >= 3 for t in timings)
    engine.dispose()


def test_the_hop_load_drives_janela_and_the_bare_endpoint_without_errors() -> None:
    results = hop_load.run(
        workers=1,
        callers=3,
        seconds=1.0,
        rounds=1,
        think=0.05,
        port=free_port_pair(),
        warmup=0.5,
        peak_rate=20,
    )
    for phase in ("throughput", "busy", "peak", "latency"):
        by_name = {r.name: r for r in results[phase]}
        assert by_name["janela"].errors == 0 and by_name["bare"].errors == 0
        assert by_name["janela"].latencies and by_name["bare"].latencies


def test_the_outbox_load_sends_each_message_once() -> None:
    result = outbox_load.run(messages=20, workers=2)
    assert result.delivered_once and result.duplicates == 0


def test_the_memory_benchmark_measures_real_sessions_and_jobs() -> None:
    result = redis_memory.run(os.environ["DATABASE_URL"], sessions=500, sms=50, port=free_port_pair())
    assert 100 < result.per_session < 5000
    assert 100 < result.per_sms < 5000


def test_the_statistics_benchmark_counts_the_generated_registry_right() -> None:
    url = bench_database_url()
    registry_scale.ensure_database(url)
    engine = make_engine(url)
    size = Size.at(0.0002)
    build(engine, size, log=lambda _line: None)
    stats_scale.spread_over_months(engine, 6)
    engine.dispose()
    result = stats_scale.measure(url, rounds=2)
    national = result.national.area
    assert (national.households, national.persons) == (size.households, size.persons)
    assert len(result.national.children) == size.provinces
    assert sum(c.households for c in result.national.children) == size.households
    assert len(result.national.periods) == 6
    db = make_sessionmaker(make_engine(url))
    with db() as session:
        complaints = session.scalar(select(func.count()).where(Case.kind == "complaint"))
        pending = session.scalar(
            select(func.count()).where(Case.kind == "preregistration", Case.status.in_(OPEN))
        )
    assert (national.complaints_total, national.pending) == (complaints, pending)
    assert result.figures > 0 and all(len(samples) >= 2 for samples in result.reads.values())


def test_the_export_benchmark_writes_every_row_of_the_generated_registry() -> None:
    url = bench_database_url()
    size = Size.at(0.0002)
    # Sheets of 300 rows, header in: the country's persons run over several.
    results = {r.what: r for r in registry_export.run(url, 0.0002, reuse=False, sheet_rows=300)}
    country = results["the country, every table as XLSX"]
    assert sum(country.sheets["persons"]) == size.persons
    assert set(country.sheets["persons"][:-1]) == {299} and len(country.sheets["persons"]) >= 3
    assert sum(results["the country, persons as CSV"].sheets["persons"]) == size.persons
    assert all(r.peak_mb > 10 and r.seconds >= 0 for r in results.values())
