"""Desk exports as jobs, with a real RQ worker: built once, stored whole, handed on when lost."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from registry.db import utcnow
from registry.export_jobs import (
    ExportPolicy,
    ask_export,
    claim_export,
    job_token,
    read_chunks,
    store_file,
)
from registry.models import AuditEntry, ExportChunk, ExportRequest, Staff
from registry.scoping import Actor
from tests.desk.conftest import DISTRICT, db
from tests.jobs import run_jobs
from tests.registry.test_consolidation import GOOD, actor, form, run_import
from workers.sweep import sweep


def ask(app: Flask, who: Actor, code: str = "1701", **options: Any) -> int:
    """Ask for an export as the desk does; return its id."""
    return ask_export(db(app), who, code, country="KH", language="en", **options).id


def row(app: Flask, export_id: int) -> ExportRequest:
    """Return an export's row as it is now."""
    with db(app)() as session:
        return session.get_one(ExportRequest, export_id)


def chunks(app: Flask, export_id: int) -> int:
    """Count the chunks stored for an export."""
    with db(app)() as session:
        return session.scalar(select(func.count()).where(ExportChunk.export_id == export_id)) or 0


def age(app: Flask, export_id: int, seconds: int, **values: Any) -> None:
    """Make an export look asked (and claimed) seconds ago, as if time had passed."""
    past = utcnow() - timedelta(seconds=seconds)
    with db(app).begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(created_at=past, claimed_at=past, **values)
        )


def test_an_export_is_built_by_the_worker_and_stored_in_chunks(make_app: Any) -> None:
    app = make_app(EXPORT_RETRY_DELAYS="0")
    app.extensions["janela"].export_policy = ExportPolicy(chunk_size=4096)  # many chunks from a small file
    run_import(app, form(GOOD))
    export_id = ask(app, actor(app, DISTRICT))
    assert row(app, export_id).status == "queued"
    assert app.extensions["janela"].queues["exports"].count == 1  # enqueued after the commit
    run_jobs(app)
    done = row(app, export_id)
    assert done.status == "done" and done.pending_key is None and done.attempts == 1
    assert done.file_name and done.file_name.startswith("janela-1701-") and done.file_name.endswith(".xlsx")
    content = b"".join(read_chunks(db(app), export_id))
    assert len(content) == done.size and chunks(app, export_id) == -(-len(content) // 4096) > 1
    book = load_workbook(io.BytesIO(content))
    persons = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert done.rows and f"persons {len(persons)}" in done.rows and len(persons) >= 4
    assert done.expires_at is not None and done.finished_at is not None
    assert timedelta(hours=23) < done.expires_at - done.finished_at <= timedelta(hours=24)
    with db(app)() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert audited.target == "export:1701" and audited.staff_id == done.staff_id


def test_the_same_export_asked_twice_is_one_row_and_one_job(app: Flask) -> None:
    district = actor(app, DISTRICT)
    first = ask_export(db(app), district, "1701", country="KH", language="en")
    again = ask_export(db(app), district, "1701", country="KH", language="en")
    assert (first.new, again.new, again.id) == (True, False, first.id)
    other = ask(app, district, "1701", fmt="csv", sheet="cases")  # another export, its own row
    assert other != first.id
    assert app.extensions["janela"].queues["exports"].count == 2
    run_jobs(app)
    assert row(app, first.id).status == row(app, other).status == "done"
    # Once done, asking again is a new export: the registry may have changed since.
    assert ask_export(db(app), district, "1701", country="KH", language="en").new


def test_a_worker_killed_mid_export_is_taken_back_by_the_sweep_and_no_half_file_is_offered(
    app: Flask,
) -> None:
    export_id = ask(app, actor(app, DISTRICT))
    app.extensions["janela"].redis.flushdb()  # its job went with the worker that died
    dead = job_token(export_id, 0)
    assert claim_export(db(app), export_id, dead, timedelta(minutes=5)) is not None
    # The worker died while building: running, no chunk, nothing to download.
    assert row(app, export_id).status == "running" and chunks(app, export_id) == 0
    assert sweep(app).exports == 0  # its heartbeat is recent: maybe only slow
    age(app, export_id, 600)
    assert sweep(app).exports == 1
    assert (row(app, export_id).status, row(app, export_id).handoffs) == ("queued", 1)
    run_jobs(app)
    assert row(app, export_id).status == "done"
    stored = chunks(app, export_id)
    # The dead worker's late finish (it was only frozen) stores nothing over the other's file.
    assert not store_file(db(app), export_id, dead, io.BytesIO(b"half"), "x.xlsx", "", 0, ExportPolicy())
    assert chunks(app, export_id) == stored and row(app, export_id).status == "done"


def test_a_worker_silent_every_attempt_leaves_the_export_failed(app: Flask) -> None:
    export_id = ask(app, actor(app, DISTRICT))
    app.extensions["janela"].redis.flushdb()
    for handoff in range(3):
        assert claim_export(db(app), export_id, job_token(export_id, handoff), timedelta(minutes=5))
        age(app, export_id, 600)
        sweep(app)
        app.extensions["janela"].redis.flushdb()
    failed = row(app, export_id)
    assert (failed.status, failed.attempts, failed.pending_key) == ("failed", 3, None)
    assert chunks(app, export_id) == 0


def test_redis_flushed_while_queued_the_sweep_hands_the_export_on_once(app: Flask) -> None:
    export_id = ask(app, actor(app, DISTRICT))
    app.extensions["janela"].redis.flushdb()
    run_jobs(app)
    assert row(app, export_id).status == "queued"
    assert sweep(app).exports == 0  # too young: its job may only be late
    age(app, export_id, 600)
    assert sweep(app).exports == 1
    assert sweep(app).exports == 0  # its new job is there: not handed on twice
    assert app.extensions["janela"].queues["exports"].count == 1
    run_jobs(app)
    assert row(app, export_id).status == "done" and row(app, export_id).handoffs == 1


def test_a_waiting_export_whose_job_is_alive_is_left_alone(app: Flask) -> None:
    export_id = ask(app, actor(app, DISTRICT))
    age(app, export_id, 600)  # long in the queue behind a country export, its job still there
    assert sweep(app).exports == 0
    assert app.extensions["janela"].queues["exports"].count == 1


def test_with_the_database_gone_the_job_fails_and_the_export_is_built_later(make_app: Any) -> None:
    app = make_app(EXPORT_RETRY_DELAYS="0")
    export_id = ask(app, actor(app, DISTRICT))
    # A worker whose database is unreachable (nothing listens on port 1) takes the job.
    gone = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none", EXPORT_RETRY_DELAYS="0")
    run_jobs(gone)
    failed_jobs = gone.extensions["janela"].queues["exports"].failed_job_registry
    assert failed_jobs.count == 1  # tried three times by RQ, then kept for an operator
    assert row(app, export_id).status == "queued" and row(app, export_id).attempts == 0
    age(app, export_id, 600)
    assert sweep(app).exports == 1  # its job failed: the database is back, it goes again
    run_jobs(app)
    assert row(app, export_id).status == "done"


def test_a_failing_export_is_retried_by_rq_then_marked_failed(make_app: Any) -> None:
    app = make_app(EXPORT_RETRY_DELAYS="0")
    export_id = ask(app, actor(app, DISTRICT))
    # The officer moved to another district before it ran: the area is no longer theirs.
    with db(app).begin() as session:
        other = session.scalars(select(Staff).where(Staff.phone == "+85512800002")).one()
        session.execute(update(Staff).where(Staff.phone == DISTRICT).values(area_id=other.area_id))
    run_jobs(app)
    failed = row(app, export_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.error and "NotFound" in failed.error and chunks(app, export_id) == 0
    assert sweep(app).exports == 0  # failed stays failed
