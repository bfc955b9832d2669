"""In-process caches of the catalogue and the areas, dropped when an import moves their version."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text, update

from registry import services
from registry.areas import find_area
from registry.memo import Memo
from registry.models import DataVersion, Programme
from registry.versions import AREAS, CATALOGUE, bump, read_version
from tests.faults.servers import wait_until


def test_a_cached_read_is_answered_without_reading_again(app: Flask) -> None:
    db = app.extensions["janela"].db
    memo = Memo("test-data", recheck=60)
    reads: list[int] = []
    assert memo.get(db, "k", lambda: reads.append(1) or "first") == "first"
    assert memo.get(db, "k", lambda: reads.append(1) or "second") == "first"
    assert reads == [1]


def test_a_bump_in_this_process_is_seen_at_once(app: Flask) -> None:
    db = app.extensions["janela"].db
    memo = Memo("test-local", recheck=3600)
    memo.get(db, "k", lambda: "old")
    with db.begin() as session:
        bump(session, "test-local")
    assert memo.get(db, "k", lambda: "new") == "new"


def test_a_bump_that_rolls_back_changes_nothing(app: Flask) -> None:
    db = app.extensions["janela"].db
    before = read_version(db, "test-rollback")
    try:
        with db.begin() as session:
            bump(session, "test-rollback")
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    assert read_version(db, "test-rollback") == before


def _bump_elsewhere(db: Any, name: str) -> None:
    # Another process's import: the version row moves, and this process is not told.
    with db.begin() as session:
        step = update(DataVersion).where(DataVersion.name == name).values(version=DataVersion.version + 1)
        session.execute(step)


def test_a_bump_by_another_process_is_seen_on_the_next_check(app: Flask) -> None:
    db = app.extensions["janela"].db
    memo = Memo("test-remote", recheck=0)
    with db.begin() as session:
        bump(session, "test-remote")
    memo.get(db, "k", lambda: "old")
    _bump_elsewhere(db, "test-remote")
    # The read that notices the check is due is answered from memory; the check runs beside it.
    wait_until(lambda: memo.get(db, "k", lambda: "new") == "new", seconds=5)


def test_a_read_never_waits_for_the_version_check(app: Flask) -> None:
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("needs PostgreSQL's table locks to hold the check")
    db = app.extensions["janela"].db
    memo = Memo("test-held", recheck=0.05)
    with db.begin() as session:
        bump(session, "test-held")
    assert memo.get(db, "k", lambda: "old") == "old"
    time.sleep(0.1)
    # A version check that cannot finish (the table locked, as a frozen database would hold it).
    with app.extensions["janela"].engine.connect() as holder:
        holder.execute(text("LOCK TABLE data_versions IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        answers = [memo.get(db, "k", lambda: "read again") for _ in range(50)]
        took = time.monotonic() - started
        assert answers == ["old"] * 50
        assert took < 0.5, f"the reads waited {took:.2f} s for the check"
        assert sum(t.name == "memo-test-held" for t in threading.enumerate()) == 1  # one check, not fifty
        holder.rollback()
    _bump_elsewhere(db, "test-held")
    wait_until(lambda: memo.get(db, "k", lambda: "new") == "new", seconds=5)


def test_a_value_read_while_the_version_moved_is_not_kept(app: Flask) -> None:
    db = app.extensions["janela"].db
    memo = Memo("test-overtaken", recheck=3600)
    with db.begin() as session:
        bump(session, "test-overtaken")
    memo.get(db, "probe", lambda: "old probe")

    def read_across_an_import() -> str:
        # The read began before another process's import; the check sees the import before it ends.
        _bump_elsewhere(db, "test-overtaken")
        memo.recheck = 0
        wait_until(lambda: memo.get(db, "probe", lambda: "new probe") == "new probe", seconds=5)
        memo.recheck = 3600
        return "read before the import"

    assert memo.get(db, "k", read_across_an_import) == "read before the import"
    assert memo.get(db, "k", lambda: "read after") == "read after"


def test_the_catalogue_is_read_once_until_it_is_imported_again(app: Flask) -> None:
    db = app.extensions["janela"].db
    first = services.list_programmes(db, "KH", "en", "km")
    # A change that does not bump is not seen: whatever changes the catalogue must bump it.
    with db.begin() as session:
        session.execute(update(Programme).where(Programme.code == first[0].code).values(active=False))
    assert services.list_programmes(db, "KH", "en", "km") == first
    with db.begin() as session:
        bump(session, CATALOGUE)
    assert [p.code for p in services.list_programmes(db, "KH", "en", "km")] == [p.code for p in first[1:]]


def test_importing_areas_moves_their_version(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from registry.areas import import_areas

    db = app.extensions["janela"].db
    before = read_version(db, AREAS)
    assert find_area(db, "NEW01", "en") is None
    csv = tmp_path / "areas.csv"
    csv.write_text("code,parent_code,level,name_km,name_pt,name_en\nNEW01,,province,ខេត្តថ្មី,Nova,New\n")
    import_areas(db, csv)
    assert read_version(db, AREAS) == before + 1
    found = find_area(db, "NEW01", "en")
    assert found is not None and found.name == "New"


def test_two_first_bumps_at_once_both_count(app: Flask) -> None:
    db = app.extensions["janela"].db
    first_bumped = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with db.begin() as session:
            bump(session, "test-race")
            first_bumped.set()
            time.sleep(0.5)  # the second import runs while this one is not committed yet

    def second() -> None:
        first_bumped.wait(5)
        try:
            with db.begin() as session:
                bump(session, "test-race")  # sees no row, inserts, waits for the first: a clash
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert read_version(db, "test-race") == 2
