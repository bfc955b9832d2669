"""Time the registry's real service functions on a registry of a country's size.

    .venv/bin/python -m bench.registry_scale [--scale 1.0] [--reuse] [--url postgresql+psycopg://...]

Builds (unless --reuse) a database of Cambodia's size with bench.registry_data, into its own
database (BENCH_DATABASE_URL, default janela_bench on the local server, created if missing), then
calls each service many times and prints p50/p95/p99 against its target.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.registry_data import BUSY_DESK, Size, build, mark_samples
from bench.stats import percentile
from registry.areas import village_path
from registry.cases import case_status_for, list_queue
from registry.db import make_engine, make_sessionmaker, utcnow, without_transaction
from registry.escalation import overdue_references
from registry.idlookup import find_holder
from registry.models import Area, Staff
from registry.outbox import stranded_sms
from registry.preregistration import Declaration, already_submitted, find_duplicate
from registry.services import Db
from registry.staff import active_chief

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/janela_bench"


@dataclass(frozen=True)
class Timing:
    """One measured service: name, target p99 in ms, and the samples in seconds."""

    name: str
    target_ms: float
    samples: list[float]

    def line(self) -> str:
        """Print the timing with its verdict."""
        p = [percentile(self.samples, q) * 1000 for q in (0.50, 0.95, 0.99)]
        verdict = "ok" if p[2] < self.target_ms else "OVER TARGET"
        return (
            f"  {self.name:<34} p50 {p[0]:7.2f}  p95 {p[1]:7.2f}  p99 {p[2]:7.2f} ms"
            f"   target p99 < {self.target_ms:g} ms: {verdict}"
        )


def ensure_database(url: str) -> None:
    """Create the benchmark's database if it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _time(call: Callable[[int], object], rounds: int) -> list[float]:
    call(0)  # warm the connection pool and the plan cache
    samples = []
    for i in range(rounds):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def chief_alert_lookup(db: Db, village_id: int) -> list[tuple[str, str]]:
    """Find a village's chiefs and the place name their alert carries, as a submission does."""
    with db() as session:
        chiefs = session.scalars(
            select(Staff).where(
                Staff.role == "village_chief", Staff.area_id == village_id, Staff.active.is_(True)
            )
        ).all()
        return [(chief.phone, village_path(session, village_id, "km")) for chief in chiefs]


def busy_desk_code(db: Db) -> str:
    """Return the code of the commune desk with 2,000 open cases."""
    with db() as session:
        code = session.scalar(select(Area.code).where(Area.id == BUSY_DESK))
    assert code is not None
    return code


def measure(db: Db, size: Size, rounds: int) -> list[Timing]:
    """Call each service `rounds` times over different samples; return the timings."""
    engine = db.kw["bind"]
    samples = mark_samples(engine, size, count=min(rounds, 200))
    desk = busy_desk_code(db)
    with db() as session:
        village_ids = list(session.scalars(select(Area.id).where(Area.level == "village").limit(500)))

    def lookup(i: int) -> None:
        _pid, sp_id, year, _ref, _phone = samples[i % len(samples)]
        assert find_holder(db, sp_id, year, "km", "km") is not None

    def status(i: int) -> None:
        _pid, _sp, _year, reference, phone = samples[i % len(samples)]
        assert case_status_for(db, reference, phone, "km") is not None

    def duplicate_new_person(i: int) -> None:
        # The commonest name in the country, a birth nobody has in this village: the slow case.
        declared = Declaration("Sok Sophal", "M", 1950 + i % 50, None, "", 4, (), f"+85560{i:07d}")
        with db() as session:
            # The check alone, one statement: inside a submission it rides the submission's own
            # transaction, whose BEGIN and COMMIT are paid once for every write of it.
            without_transaction(session)
            find_duplicate(session, declared, village_ids[i % len(village_ids)])

    with db() as session:
        # Keys of pre-registrations with exactly one case, as every submission has.
        submitted = list(
            session.scalars(
                text(
                    "SELECT p.idempotency_key FROM preregistrations p"
                    " JOIN cases c ON c.preregistration_id = p.id"
                    " GROUP BY p.id HAVING count(*) = 1 ORDER BY p.id LIMIT 500"
                )
            )
        )

    def retried_submit(i: int) -> None:
        # What a retried final hop costs before it answers: insert_once's look for the first.
        with db() as session:
            without_transaction(session)
            assert already_submitted(session, submitted[i % len(submitted)]) is not None

    def queue(_i: int) -> None:
        assert len(list_queue(db, desk, "km", "km")) >= 2000

    def queue_page(i: int) -> None:
        assert len(list_queue(db, desk, "km", "km", limit=50, offset=50 * (i % 40))) == 50

    def sweep(_i: int) -> None:
        stranded_sms(db, timedelta(seconds=60))

    def escalation(_i: int) -> None:
        # The steady state: the sweep ran a minute ago, so nothing (or next to nothing) is overdue.
        overdue_references(db, utcnow() - timedelta(days=3))

    def chief(i: int) -> None:
        assert chief_alert_lookup(db, village_ids[i % len(village_ids)])

    def chief_by_phone(i: int) -> None:
        assert active_chief(db, f"+8551{1 + i % size.villages:07d}") is not None

    # A web worker freezes what it built at start (deploy/gunicorn.conf.py, post_worker_init), so
    # its full collections walk only what its requests made since: measure the reads the same way.
    gc.collect()
    gc.freeze()
    # A tiny registry gives every pre-registration several cases: no retry can be timed there.
    retried = [Timing("retried submit (same key)", 5, _time(retried_submit, rounds))] if submitted else []
    timings = [
        Timing("ID lookup with year of birth", 5, _time(lookup, rounds)),
        Timing("STATUS by reference", 5, _time(status, rounds)),
        Timing("duplicate check (common name)", 20, _time(duplicate_new_person, rounds)),
        *retried,
        Timing("commune queue page of 50 (of 2,000)", 100, _time(queue_page, rounds)),
        Timing("commune queue, all 2,000 open cases", 100, _time(queue, max(10, rounds // 10))),
        Timing("outbox sweep query", 50, _time(sweep, max(20, rounds // 5))),
        Timing("escalation sweep query", 50, _time(escalation, max(20, rounds // 5))),
        Timing("chief lookup for an alert", 5, _time(chief, rounds)),
        Timing("chief lookup by phone (SMS)", 5, _time(chief_by_phone, rounds)),
    ]
    gc.unfreeze()  # the caller's objects are collected as usual again
    return timings


def database_size(db: Db) -> str:
    """Return the database's size on disk, as PostgreSQL prints it."""
    with db() as session:
        return str(session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))")))


def run(url: str, scale: float, reuse: bool, rounds: int, resume: str | None = None) -> list[Timing]:
    """Build (unless reuse) and measure; print everything."""
    size = Size.at(scale)
    ensure_database(url)
    engine = make_engine(url)
    db = make_sessionmaker(engine)
    print(f"registry at scale {scale:g}: {size}")
    if not reuse:
        started = time.perf_counter()
        build(engine, size, resume=resume)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    print(f"  database size {database_size(db)}")
    timings = measure(db, size, rounds)
    for timing in timings:
        print(timing.line())
    engine.dispose()
    return timings


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true", help="measure the registry already built")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--resume", help="continue a failed build at this step (e.g. cases)")
    args = parser.parse_args()
    run(args.url, args.scale, args.reuse, args.rounds, args.resume)


if __name__ == "__main__":
    main()
