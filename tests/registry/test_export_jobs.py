"""The export's life in the registry: one row per request, one claim at a time, one file or none."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from registry.db import utcnow
from registry.errors import InvalidData, NotFound
from registry.export_jobs import (
    ExportPolicy,
    ask_export,
    claim_export,
    list_exports,
    read_chunks,
    reclaim_stale_exports,
    release_export,
    store_file,
    touch_export,
)
from registry.models import AuditEntry, ExportChunk, ExportRequest, Staff
from tests.desk.conftest import COMMUNE_DESK, DISTRICT, db
from tests.registry.test_consolidation import actor

STALE = timedelta(minutes=5)


def test_two_requests_for_the_same_export_at_once_make_one_row(app: Flask) -> None:
    district = actor(app, DISTRICT)
    answers = []
    start = threading.Barrier(4)

    def click() -> None:
        start.wait()
        answers.append(ask_export(db(app), district, "1701", country="KH", language="km"))

    clicks = [threading.Thread(target=click) for _ in range(4)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert len({a.id for a in answers}) == 1 and sum(a.new for a in answers) == 1
    with db(app)() as session:
        assert session.scalar(select(func.count()).select_from(ExportRequest)) == 1


def test_an_area_outside_the_scope_is_refused_recorded_and_nothing_queued(app: Flask) -> None:
    desk = actor(app, COMMUNE_DESK)
    with pytest.raises(NotFound):
        ask_export(db(app), desk, "1712", country="KH", language="km")
    with pytest.raises(NotFound):
        ask_export(db(app), desk, "KH", country="KH", language="km")
    with pytest.raises(InvalidData):
        ask_export(db(app), desk, "170101", country="KH", language="km", fmt="pdf")
    with db(app)() as session:
        assert session.scalar(select(func.count()).select_from(ExportRequest)) == 0
        refused = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "refused_read")).all()
    assert sorted(refused) == ["export:1712", "export:KH"]
    assert app.extensions["janela"].queues["exports"].count == 0


def test_one_claim_at_a_time_and_a_failed_attempt_is_claimed_again_by_its_own_job(app: Flask) -> None:
    export_id = ask_export(db(app), actor(app, DISTRICT), "1701", country="KH", language="km").id
    assert claim_export(db(app), export_id, "job-a", STALE) is not None
    assert claim_export(db(app), export_id, "job-b", STALE) is None  # a live claim is not shared
    assert release_export(db(app), export_id, "job-b", "not mine", 3) is None
    assert release_export(db(app), export_id, "job-a", "OperationalError: gone", 3) == "queued"
    assert claim_export(db(app), export_id, "job-a", STALE) is not None  # RQ's retry, same job
    assert release_export(db(app), export_id, "job-a", "OperationalError: gone", 3) == "queued"
    assert claim_export(db(app), export_id, "job-a", STALE) is not None
    assert release_export(db(app), export_id, "job-a", "OperationalError: gone", 3) == "failed"
    assert claim_export(db(app), export_id, "job-a", STALE) is None  # failed stays failed
    assert list_exports(db(app), actor(app, DISTRICT))[0].status == "failed"


def test_the_file_and_done_are_stored_together_or_not_at_all(app: Flask) -> None:
    export_id = ask_export(db(app), actor(app, DISTRICT), "1701", country="KH", language="km").id
    policy = ExportPolicy(chunk_size=3)
    # Not claimed: nothing is stored.
    assert not store_file(db(app), export_id, "job-a", io.BytesIO(b"abcdefgh"), "f.csv", "", 1, policy)
    claim_export(db(app), export_id, "job-a", STALE)
    assert store_file(db(app), export_id, "job-a", io.BytesIO(b"abcdefgh"), "f.csv", "persons 1", 1, policy)
    assert b"".join(read_chunks(db(app), export_id)) == b"abcdefgh"
    # A repeated finish (the job run twice) changes nothing.
    assert not store_file(db(app), export_id, "job-a", io.BytesIO(b"other"), "f.csv", "", 1, policy)
    with db(app)() as session:
        assert session.scalar(select(func.count()).select_from(ExportChunk)) == 3
        assert session.get_one(ExportRequest, export_id).size == 8


def test_an_officer_who_left_the_desk_gets_no_file(app: Flask) -> None:
    export_id = ask_export(db(app), actor(app, DISTRICT), "1701", country="KH", language="km").id
    with db(app).begin() as session:
        session.execute(update(Staff).where(Staff.phone == DISTRICT).values(active=False))
    assert claim_export(db(app), export_id, "job-a", STALE) is None
    with db(app)() as session:
        row = session.get_one(ExportRequest, export_id)
        assert (row.status, row.error) == ("failed", "staff no longer active")


def test_a_heartbeat_keeps_a_claim_from_going_stale_and_only_its_own(app: Flask) -> None:
    export_id = ask_export(db(app), actor(app, DISTRICT), "1701", country="KH", language="km").id
    claim_export(db(app), export_id, "job-a", STALE)
    long_ago = utcnow() - timedelta(minutes=10)
    with db(app).begin() as session:
        session.execute(update(ExportRequest).values(claimed_at=long_ago))
    assert not touch_export(db(app), export_id, "job-b")  # not its claim: nothing renewed
    assert touch_export(db(app), export_id, "job-a")
    # Renewed: another job cannot take it over, and the sweep finds nothing stale.
    assert claim_export(db(app), export_id, "job-b", STALE) is None
    assert reclaim_stale_exports(db(app), STALE, 3) == []
