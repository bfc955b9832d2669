"""STATUS and a desk's queue, each one statement: the same answers the ORM gave, to the same phones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select

from registry import areas
from registry.areas import import_areas
from registry.case_reads import case_status_for, list_queue
from registry.case_types import CaseStatus, find_case, view_of
from registry.cases import _citizen_may_see
from registry.errors import NotFound
from registry.models import Area, Case, Person, PreRegistration, Staff
from registry.references import check_digit
from registry.services import Db

FILER = "+85512345999"  # filed requests 1, 3, 4 and 5
OTHER_FILER = "+85512000777"  # filed request 2, for Sok Srey Pov
HOUSEHOLD = "+85512345601"  # on Sok Srey Pov's household
NEIGHBOUR = "+85512345602"  # on another household of the same village
PHONES = (FILER, OTHER_FILER, HOUSEHOLD, NEIGHBOUR, "+85599999999")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ref(n: int) -> str:
    body = str(4_000_000 + n)
    return body + check_digit(body)


def _add_cases(db: Db) -> dict[str, str]:
    """Add five requests of every shape STATUS shows; return their references by name."""
    with db.begin() as session:
        village = session.scalars(select(Area).where(Area.code == "17010101")).one()
        district = session.scalars(select(Area).where(Area.code == "1701")).one()
        person = session.scalars(select(Person).where(Person.sp_id == "1701000010")).one()
        officer = session.scalars(select(Staff).where(Staff.phone == "+85512700001")).one()
        registration = PreRegistration(
            full_name="Keo Dara",
            name_key="keo dara",
            sex="M",
            birth_year=1980,
            village_id=village.id,
            household_size=3,
            phone=FILER,
            language="en",
            consent_at=NOW,
            idempotency_key="prereg:test",
        )
        session.add(registration)
        session.flush()

        def case(n: int, **values: Any) -> Case:
            values.setdefault("kind", "complaint")
            values.setdefault("status", CaseStatus.RECEIVED)
            values.setdefault("desk_id", village.parent_id)
            return Case(
                reference=ref(n),
                village_id=village.id,
                language="en",
                created_at=NOW,
                resolve_due_at=NOW + timedelta(days=n),
                **values,
            )

        session.add_all(
            [
                case(1, citizen_phone=FILER, category="payment_missing", description="not paid"),
                case(2, citizen_phone=OTHER_FILER, person_id=person.id, category="excluded"),
                case(3, citizen_phone=FILER, status=CaseStatus.RESOLVED, outcome="paid", closed_at=NOW),
                case(4, citizen_phone=FILER, kind="preregistration", preregistration_id=registration.id),
                case(
                    5,
                    citizen_phone=FILER,
                    status=CaseStatus.ESCALATED,
                    desk_id=district.id,
                    escalated_at=NOW,
                    picked_by_id=officer.id,
                ),
            ]
        )
    return {"open": ref(1), "household": ref(2), "closed": ref(3), "prereg": ref(4), "escalated": ref(5)}


def orm_status(db: Db, reference: str, phone: str, language: str) -> Any:
    """What STATUS answered when it loaded the case through the ORM."""
    with db() as session:
        case = find_case(session, reference)
        if case is None or not _citizen_may_see(session, case, phone):
            return None
        return view_of(case, language)


def test_status_answers_exactly_what_the_orm_did_for_every_phone(app: Flask) -> None:
    db = app.extensions["janela"].db
    references = _add_cases(db)
    seen = 0
    for reference in references.values():
        for phone in PHONES:
            for language in ("km", "pt", "en"):
                answer = case_status_for(db, reference, phone, language)
                assert answer == orm_status(db, reference, phone, language), (reference, phone)
                seen += answer is not None
    # Every request is shown to someone, and never to a stranger.
    assert seen == 3 * (4 + 2)  # four to FILER; request 2 to OTHER_FILER and HOUSEHOLD


def test_status_keeps_the_privacy_rules(app: Flask) -> None:
    db = app.extensions["janela"].db
    references = _add_cases(db)
    # Someone else's request is not shown, not even to a phone of the same village.
    assert case_status_for(db, references["open"], OTHER_FILER, "en") is None
    assert case_status_for(db, references["household"], NEIGHBOUR, "en") is None
    # A phone of the person's household sees the person's request; a request without a person
    # is the filer's alone.
    household = case_status_for(db, references["household"], HOUSEHOLD, "en")
    assert household is not None and household.category == "excluded"
    assert case_status_for(db, references["open"], HOUSEHOLD, "en") is None
    # A mistyped reference finds nothing; spaces around a right one do not matter.
    right = references["open"]
    assert case_status_for(db, right[:-1] + str((int(right[-1]) + 1) % 10), FILER, "en") is None
    assert case_status_for(db, f" {references['open']} ", FILER, "en") is not None


def test_status_of_closed_escalated_and_preregistration_requests(app: Flask) -> None:
    db = app.extensions["janela"].db
    references = _add_cases(db)
    closed = case_status_for(db, references["closed"], FILER, "pt")
    assert closed is not None
    assert (closed.status, closed.outcome, closed.village) == ("resolved", "paid", "Trapeang Thom")
    prereg = case_status_for(db, references["prereg"], FILER, "km")
    assert prereg is not None
    assert (prereg.kind, prereg.category, prereg.village) == ("preregistration", None, "ត្រពាំងធំ")
    escalated = case_status_for(db, references["escalated"], FILER, "en")
    assert escalated is not None
    assert (escalated.escalated, escalated.desk, escalated.desk_level, escalated.held_by) == (
        True,
        "1701",
        "district",
        "Keo Sarun",
    )
    opened = case_status_for(db, references["open"], FILER, "en")
    assert opened is not None
    assert (opened.escalated, opened.desk, opened.desk_level, opened.held_by) == (
        False,
        "170101",
        "commune",
        "",
    )
    assert opened.created_at == NOW and opened.resolve_due_at == NOW + timedelta(days=1)


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """Collect (SQL, in autocommit?) of every statement sent while inside."""
    sent: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append((sql, conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_status_and_the_queue_are_one_statement_each_without_a_transaction(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = app.extensions["janela"].db
    references = _add_cases(db)
    # The area names' version is read at most once a second: not during this test.
    monkeypatch.setattr(areas._AREAS, "recheck", 3600.0)
    case_status_for(db, references["open"], FILER, "en")  # a fresh connection is set up first
    list_queue(db, "170101", "en", "km")  # the villages' names are read once, then kept
    with statements(db.kw["bind"]) as sent:
        assert case_status_for(db, references["household"], HOUSEHOLD, "en") is not None
        assert case_status_for(db, references["household"], NEIGHBOUR, "en") is None
        assert len(list_queue(db, "170101", "en", "km")) == 3
    assert [autocommit for _sql, autocommit in sent] == [True, True, True]
    assert "JOIN" not in sent[2][0]  # the queue joins no areas: their names are in memory


def test_the_queue_is_due_soonest_first_and_pages(app: Flask) -> None:
    db = app.extensions["janela"].db
    references = _add_cases(db)
    queue = list_queue(db, "170101", "pt", "km")
    # Open cases of the commune desk only: the closed one and the escalated one are elsewhere.
    assert [c.reference for c in queue] == [references["open"], references["household"], references["prereg"]]
    assert {c.village for c in queue} == {"Trapeang Thom"} and {c.desk for c in queue} == {"170101"}
    assert queue[0].description == "not paid" and not queue[0].escalated
    assert list_queue(db, "170101", "pt", "km", limit=2, offset=1) == queue[1:3]
    everything = list_queue(db, "170101", "en", "km", include_closed=True)
    assert [c.reference for c in everything] == [
        references["open"],
        references["household"],
        references["closed"],
        references["prereg"],
    ]
    assert everything[2].outcome == "paid"


def test_an_empty_queue_is_empty_and_an_unknown_desk_is_not_found(app: Flask) -> None:
    db = app.extensions["janela"].db
    _add_cases(db)
    assert list_queue(db, "170102", "en", "km") == []  # a desk with nothing queued
    assert list_queue(db, "170101", "en", "km", limit=10, offset=50) == []  # past the last page
    with pytest.raises(NotFound):
        list_queue(db, "999999", "en", "km")


def test_the_queue_names_villages_as_an_import_renames_them(app: Flask, tmp_path: Path) -> None:
    db = app.extensions["janela"].db
    _add_cases(db)
    assert {c.village for c in list_queue(db, "170101", "en", "km")} == {"Trapeang Thom"}
    renamed = tmp_path / "areas.csv"
    renamed.write_text(
        "code,parent_code,level,name_km,name_pt,name_en\n"
        "17010101,170101,village,ត្រពាំងធំថ្មី,Trapeang Thom Novo,Trapeang Thom New\n",
        encoding="utf-8",
    )
    import_areas(db, renamed)
    assert {c.village for c in list_queue(db, "170101", "en", "km")} == {"Trapeang Thom New"}
    assert {c.village for c in list_queue(db, "170101", "km", "km")} == {"ត្រពាំងធំថ្មី"}
