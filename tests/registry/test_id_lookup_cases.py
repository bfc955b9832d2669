"""An ID lookup lists the holder's open requests: their own and those filed from the household's phones."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from registry.case_types import CaseStatus
from registry.idlookup import find_holder
from registry.models import Area, Case, Person


def _case(reference: str, person: Person, village: Area, status: str, **values: object) -> Case:
    return Case(
        reference=reference,
        kind="complaint",
        status=status,
        village_id=village.id,
        desk_id=village.parent_id,
        language="en",
        **values,
    )


def test_the_holder_sees_open_requests_by_person_and_by_household_phone_only(app: Flask) -> None:
    db = app.extensions["janela"].db
    with db.begin() as session:
        person = session.scalars(select(Person).where(Person.sp_id == "1701000010")).one()
        village = session.scalars(select(Area).where(Area.code == "17010101")).one()
        session.add_all(
            [
                _case("1000001", person, village, CaseStatus.RECEIVED, person_id=person.id),
                _case("1000002", person, village, CaseStatus.PICKED_UP, citizen_phone="+85512345601"),
                _case("1000003", person, village, CaseStatus.RESOLVED, person_id=person.id),
                _case("1000004", person, village, CaseStatus.RECEIVED, citizen_phone="+85512999999"),
                # Both ways at once: listed once.
                _case(
                    "1000005",
                    person,
                    village,
                    CaseStatus.ESCALATED,
                    person_id=person.id,
                    citizen_phone="+85512345601",
                ),
            ]
        )
    holder = find_holder(db, "1701000010", 1990, "en")
    assert holder is not None
    assert holder.open_cases == [("1000001", "queued"), ("1000002", "picked_up"), ("1000005", "escalated")]
    assert ("IDPoor (Equity Card)", "active") in holder.enrolments
