"""In-process caches of the catalogue and the areas, dropped when an import moves their version."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import update

from registry import services
from registry.areas import find_area
from registry.memo import Memo
from registry.models import DataVersion, Programme
from registry.versions import AREAS, CATALOGUE, bump, read_version


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


def test_a_bump_by_another_process_is_seen_on_the_next_check(app: Flask) -> None:
    db = app.extensions["janela"].db
    memo = Memo("test-remote", recheck=0)
    with db.begin() as session:
        bump(session, "test-remote")
    memo.get(db, "k", lambda: "old")
    # Another process's import: the version row moves, and this process is not told.
    with db.begin() as session:
        session.execute(
            update(DataVersion)
            .where(DataVersion.name == "test-remote")
            .values(version=DataVersion.version + 1)
        )
    assert memo.get(db, "k", lambda: "new") == "new"


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
    import threading
    import time

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
