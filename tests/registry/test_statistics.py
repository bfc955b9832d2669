"""Coverage statistics against a registry counted by hand, refreshed once, twice and at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, func, or_, select, update

from registry.db import utcnow
from registry.errors import NotFound
from registry.models import (
    Area,
    AuditEntry,
    Case,
    CaseEvent,
    Enrolment,
    Household,
    HouseholdPhone,
    Person,
    Programme,
    Staff,
)
from registry.scoping import Actor, actor_of
from registry.statistics import median_of, read_coverage, refresh_statistics
from registry.summaries import StatsFigure, StatsRefresh

ZONE = ZoneInfo("Asia/Phnom_Penh")
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # noon in Phnom Penh
A, B, C = "17010101", "17010102", "17120101"  # A and B in commune 170101 (district 1701); C in 1712


def at(day: str, hour: int = 3) -> datetime:
    """Return a UTC moment on a day (03:00 UTC is 10:00 in Phnom Penh)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _db(app: Flask) -> Any:
    return app.extensions["janela"].db


def national() -> Actor:
    return Actor(1, "national_admin", "N", "+85512999999", None)


def officer(app: Flask, phone: str) -> Actor:
    with _db(app)() as session:
        staff = session.scalars(
            select(Staff).where(Staff.phone == phone, Staff.role != "village_chief")
        ).one()
        return actor_of(staff)


def hand_counted(app: Flask) -> None:
    """Fill the registry with what the tests below count by hand (the demo's households removed)."""
    with _db(app).begin() as session:
        for table in (Enrolment, Person, HouseholdPhone, Household):
            session.execute(delete(table))
        village = dict(session.execute(select(Area.code, Area.id).where(Area.code.in_([A, B, C]))).all())
        idpoor = session.scalars(select(Programme.id).where(Programme.code == "idpoor")).one()
        nssf = session.scalars(select(Programme.id).where(Programme.code == "nssf")).one()

        def household(code: str, created: datetime, members: int) -> Household:
            found = Household(village_id=village[code], size=members, created_at=created)
            session.add(found)
            session.flush()
            for i in range(members):
                session.add(
                    Person(
                        household_id=found.id,
                        full_name=f"P {found.id} {i}",
                        name_key=f"p {found.id} {i}",
                        sex="F",
                        birth_year=1980,
                        created_at=created,
                    )
                )
            return found

        # A: two households in October (3 + 2 persons), one whose moment is 31 October in UTC but
        # 1 November in Phnom Penh (1 person); B: one in November (4); C: two in November (1 + 1).
        a1 = household(A, at("2026-10-05"), 3)
        a2 = household(A, at("2026-10-20"), 2)
        household(A, datetime(2026, 10, 31, 20, 0, tzinfo=UTC), 1)
        household(B, at("2026-11-02"), 4)
        c1 = household(C, at("2026-11-03"), 1)
        household(C, at("2026-11-04"), 1)
        session.flush()
        session.add_all(
            [
                Enrolment(household_id=a1.id, programme_id=idpoor, created_at=at("2026-10-06")),
                Enrolment(household_id=a2.id, programme_id=idpoor, created_at=at("2026-11-06")),
                Enrolment(household_id=a2.id, programme_id=nssf, status="ended", created_at=at("2026-11-06")),
            ]
        )
        person_c = session.scalars(select(Person.id).where(Person.household_id == c1.id)).one()
        session.add(Enrolment(person_id=person_c, programme_id=nssf, created_at=at("2026-11-07")))

        serial = iter(range(1000, 2000))

        def case(
            code: str, kind: str, category: str | None, status: str, created: datetime, **extra: Any
        ) -> Case:
            made = Case(
                reference=f"{next(serial)}0",
                kind=kind,
                status=status,
                village_id=village[code],
                desk_id=village[code],
                language="km",
                category=category,
                created_at=created,
                **extra,
            )
            session.add(made)
            session.flush()
            return made

        # A, November: closed after 2 days (in time), 10 days (late), 1 day (rejected, in time);
        # one open, escalated twice.
        case(A, "complaint", "payment_missing", "resolved", at("2026-11-01", 0),
             closed_at=at("2026-11-03", 12), resolve_due_at=at("2026-11-10"))  # fmt: skip
        case(A, "complaint", "payment_missing", "resolved", at("2026-11-02"),
             closed_at=at("2026-11-12"), resolve_due_at=at("2026-11-08"))  # fmt: skip
        case(A, "complaint", "wrong_amount", "rejected", at("2026-11-03"),
             closed_at=at("2026-11-04"), resolve_due_at=at("2026-11-20"))  # fmt: skip
        open_one = case(
            A, "complaint", "misconduct", "escalated", at("2026-11-05"), resolve_due_at=at("2026-11-30")
        )
        # C, October: closed after 4 days, late, escalated once.
        late = case(C, "complaint", "appeal", "resolved", at("2026-10-10"),
                    closed_at=at("2026-10-14"), resolve_due_at=at("2026-10-12"))  # fmt: skip
        for escalated in (open_one, open_one, late):
            session.add(CaseEvent(case_id=escalated.id, action="escalated", actor="system", at=NOW))
        # Pre-registrations pending: A 2 and 10 days old, B 1 day; one verified (not pending).
        case(A, "preregistration", None, "queued", NOW - timedelta(days=2))
        case(A, "preregistration", None, "picked_up", NOW - timedelta(days=10, hours=1))
        case(B, "preregistration", None, "acknowledged", NOW - timedelta(days=1))
        case(B, "preregistration", None, "resolved", NOW - timedelta(days=30), closed_at=NOW)


@pytest.fixture
def counted(app: Flask) -> Flask:
    hand_counted(app)
    report = refresh_statistics(_db(app), ZONE, now=NOW)
    assert report.refreshed and report.figures > 0
    return app


def test_median_of_a_histogram() -> None:
    assert median_of({}) is None
    assert median_of({2: 1, 10: 1, 1: 1}) == 2
    assert median_of({1: 1, 3: 1}) == 2
    assert median_of({0: 3, 7: 1}) == 0


def test_the_nation_shows_its_provinces_with_hand_counted_totals(counted: Flask) -> None:
    coverage = read_coverage(_db(counted), national(), None, "all", "en", "km", "Cambodia")
    assert coverage.child_level == "province"
    assert [(f.code, f.name) for f in coverage.children] == [("17", "Siem Reap")]
    total = coverage.area
    assert (total.name, total.households, total.persons) == ("Cambodia", 6, 12)
    assert total.enrolments == {"idpoor": 2, "nssf": 1}  # the ended enrolment is not counted
    assert total.complaints == {"payment_missing": 2, "wrong_amount": 1, "misconduct": 1, "appeal": 1}
    assert (total.closed, total.in_time, total.escalations) == (4, 2, 3)
    assert total.in_time_share == 0.5
    assert total.median_days == 3  # days 1, 2, 4, 10
    assert (total.pending, total.pending_median_days, total.pending_oldest_days) == (3, 2, 10)


def test_a_district_sees_its_communes_side_by_side(counted: Flask) -> None:
    coverage = read_coverage(_db(counted), national(), "1701", "all", "en", "km", "Cambodia")
    assert coverage.child_level == "commune"
    assert [c.code for c in coverage.children][:2] == ["170101", "170102"]
    char_chhuk = coverage.children[0]
    assert (char_chhuk.households, char_chhuk.persons, char_chhuk.pending) == (4, 10, 3)
    assert coverage.children[1].households == 0
    district = coverage.area
    assert (district.closed, district.in_time) == (3, 2)
    assert district.median_days == 2  # days 1, 2, 10
    assert district.escalations == 2
    assert [name for _code, name in coverage.path] == ["Cambodia", "Siem Reap", "Angkor Chum"]


def test_periods_count_by_the_local_month(counted: Flask) -> None:
    db = _db(counted)
    october = read_coverage(db, national(), A, "2026-10", "en", "km", "Cambodia").area
    november = read_coverage(db, national(), A, "2026-11", "en", "km", "Cambodia").area
    # The household made at 20:00 UTC on 31 October is November's in Phnom Penh.
    assert (october.households, october.persons, november.households, november.persons) == (2, 5, 1, 1)
    assert october.enrolments == {"idpoor": 1} and november.enrolments == {"idpoor": 1}
    assert october.complaints == {} and november.complaints_total == 4
    # Pending pre-registrations are as of the count, whatever the period.
    assert october.pending == november.pending == 2
    year = read_coverage(db, national(), "17", "2026", "en", "km", "Cambodia")
    assert year.area.households == 6 and year.periods == ["2026-11", "2026-10"]
    village = read_coverage(db, national(), C, "2026-10", "en", "km", "Cambodia")
    assert village.children == [] and village.child_level is None
    assert (village.area.closed, village.area.in_time, village.area.median_days) == (1, 0, 4)


def test_refreshing_twice_writes_the_same_figures_and_a_fresh_one_is_skipped(counted: Flask) -> None:
    db = _db(counted)

    def figures() -> list[tuple[int, str, str, str, int]]:
        with db() as session:
            return sorted(session.execute(select(StatsFigure.area_id, StatsFigure.period, StatsFigure.measure,
                                                 StatsFigure.key, StatsFigure.value)).all())  # fmt: skip

    first = figures()
    assert refresh_statistics(db, ZONE, now=NOW).refreshed
    assert figures() == first
    skipped = refresh_statistics(db, ZONE, max_age=timedelta(hours=1), now=NOW + timedelta(minutes=5))
    assert not skipped.refreshed and figures() == first
    assert refresh_statistics(db, ZONE, max_age=timedelta(hours=1), now=NOW + timedelta(hours=2)).refreshed
    assert figures() == first


def test_concurrent_refreshes_take_turns_and_leave_one_set_of_figures(counted: Flask) -> None:
    db = _db(counted)
    with db() as session:
        expected = session.scalar(select(func.count()).select_from(StatsFigure))
    later = utcnow()
    barrier = threading.Barrier(3)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        barrier.wait()
        try:
            reports.append(refresh_statistics(db, ZONE, max_age=timedelta(hours=1), now=later))
        except BaseException as exc:  # a thread's failure must reach the test
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # The first rebuilt; the others waited on its row lock, then found the figures fresh.
    assert sorted(r.refreshed for r in reports) == [False, False, True]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(StatsFigure)) == expected
        assert session.get(StatsRefresh, "coverage").refreshed_at == later  # type: ignore[union-attr]


def test_figures_wait_for_the_next_refresh(counted: Flask) -> None:
    db = _db(counted)
    with db.begin() as session:
        village = session.scalars(select(Area.id).where(Area.code == B)).one()
        session.add(Household(village_id=village, size=1, created_at=at("2026-11-15")))
    assert read_coverage(db, national(), B, "all", "en", "km", "X").area.households == 1
    refresh_statistics(db, ZONE, now=NOW)
    assert read_coverage(db, national(), B, "all", "en", "km", "X").area.households == 2


def test_scoping_an_officer_reads_their_area_and_below_only(counted: Flask) -> None:
    db = _db(counted)
    district = officer(counted, "+85512800001")
    assert read_coverage(db, district, None, "all", "en", "km", "X").area.code == "1701"
    assert read_coverage(db, district, A, "all", "en", "km", "X").area.households == 3
    for outside in ("17", "1712", C, "171201"):
        with pytest.raises(NotFound):
            read_coverage(db, district, outside, "all", "en", "km", "X")
    with pytest.raises(NotFound):
        read_coverage(db, district, "99999999", "all", "en", "km", "X")
    commune = officer(counted, "+85512700001")
    own = read_coverage(db, commune, None, "all", "en", "km", "X")
    assert own.child_level == "village" and [c.code for c in own.children] == [A, B, "17010103"]
    with pytest.raises(NotFound):
        read_coverage(db, commune, "1701", "all", "en", "km", "X")
    with db() as session:
        refused = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "refused_read")).all()
    assert "stats:1712" in refused and "stats:1701" in refused


def test_writing_only_what_changed_equals_a_rebuild_from_nothing(counted: Flask) -> None:
    db = _db(counted)

    def figures() -> list[tuple[int, str, str, str, int]]:
        with db() as session:
            return sorted(session.execute(select(StatsFigure.area_id, StatsFigure.period, StatsFigure.measure,
                                                 StatsFigure.key, StatsFigure.value)).all())  # fmt: skip

    before = figures()
    # Every kind of change a month's figures see: a new household, one gone (its village's
    # only: its rows must go), an enrolment ended, a complaint closed, one recategorised, and a
    # day passing for the pending pre-registrations.
    with db.begin() as session:
        villages = dict(session.execute(select(Area.code, Area.id).where(Area.code.in_([B, C]))).all())
        session.add(Household(village_id=villages[B], size=1, created_at=at("2026-09-01")))
        gone = select(Household.id).where(Household.village_id == villages[C]).scalar_subquery()
        members = select(Person.id).where(Person.household_id.in_(gone)).scalar_subquery()
        session.execute(
            delete(Enrolment).where(or_(Enrolment.household_id.in_(gone), Enrolment.person_id.in_(members)))
        )
        session.execute(delete(Person).where(Person.household_id.in_(gone)))
        session.execute(delete(Household).where(Household.village_id == villages[C]))
        session.execute(update(Enrolment).where(Enrolment.status == "active").values(status="ended"))
        misconduct = session.scalars(select(Case).where(Case.category == "misconduct")).one()
        misconduct.status, misconduct.closed_at = "resolved", at("2026-11-19")
        session.execute(update(Case).where(Case.category == "wrong_amount").values(category="other"))
    later = NOW + timedelta(days=1)
    report = refresh_statistics(db, ZONE, now=later)
    changed = figures()
    assert changed != before and 0 < report.changed < len(before) + len(changed)
    with db.begin() as session:
        session.execute(delete(StatsFigure))
    rebuilt = refresh_statistics(db, ZONE, now=later)
    assert figures() == changed and rebuilt.changed == rebuilt.figures == len(changed)
    assert refresh_statistics(db, ZONE, now=later).changed == 0  # nothing changed: nothing written
