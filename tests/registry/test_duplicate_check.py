"""The duplicate check, built once per shape of declaration: each shape finds what it should."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from conversations.prereg import Texts
from registry.db import without_transaction
from registry.models import Area, Person
from registry.preregistration import Declaration, already_submitted, find_duplicate, submit_preregistration

HOUSEHOLD = "+85512345601"  # on Sok Srey Pov's household (17010101)


def declared(name: str, year: int, born: date | None, village: str, phone: str | None = None) -> Declaration:
    return Declaration(name, "F", year, born, village, 4, (), phone)


@pytest.mark.parametrize(
    ("declaration", "found"),
    [
        # Same name, same full date, same village: the person.
        (declared("Sok Srey Pov", 1990, date(1990, 4, 12), "17010101"), "person"),
        # Spelt otherwise, with the year alone: the same person.
        (declared("  SOK  srey-pov ", 1990, None, "17010101"), "person"),
        # Same year but another full date: someone else.
        (declared("Sok Srey Pov", 1990, date(1990, 5, 1), "17010101"), None),
        # A person known by year only matches any full date of that year.
        (declared("សុខ ចាន់ធី", 1958, date(1958, 3, 3), "17010101"), "person"),
        (declared("សុខ ចាន់ធី", 1959, date(1959, 3, 3), "17010101"), None),
        # Another village, no phone: nobody.
        (declared("Sok Srey Pov", 1990, date(1990, 4, 12), "17010102"), None),
        # Another village and year, but the household's phone with the same name: the person.
        (declared("Sok Srey Pov", 1991, None, "17010102", HOUSEHOLD), "person"),
        # The household's phone with another name: nobody.
        (declared("Keo Sreymom", 1991, None, "17010102", HOUSEHOLD), None),
    ],
)
def test_each_shape_of_declaration_finds_what_it_should(
    app: Flask, declaration: Declaration, found: str | None
) -> None:
    db = app.extensions["janela"].db
    with db() as session:
        village_id = session.scalar(select(Area.id).where(Area.code == declaration.village_code))
        expected = (
            session.scalar(select(Person.id).where(Person.name_key == "sok srey pov"))
            if declaration.full_name.strip().startswith(("Sok", "SOK"))
            else session.scalar(select(Person.id).where(Person.full_name == "សុខ ចាន់ធី"))
        )
    assert village_id is not None
    # Alone, in autocommit, as the benchmark times it; and inside a transaction, as a submission.
    with db() as session:
        without_transaction(session)
        alone = find_duplicate(session, declaration, village_id)
    with db.begin() as session:
        inside = find_duplicate(session, declaration, village_id)
    assert alone == inside
    assert alone.person_id == (expected if found == "person" else None)
    assert alone.preregistration_id is None


def test_an_earlier_preregistration_is_found_by_village_and_birth_or_by_phone(app: Flask) -> None:
    janela = app.extensions["janela"]
    db = janela.db
    first = declared("Chea Lina", 1985, None, "17010103", "+85512000701")
    key = "prereg:+85512000701:ATUid_first"
    consent = datetime(2026, 11, 23, tzinfo=UTC)
    submitted = submit_preregistration(db, first, "en", consent, key, Texts(), janela.settings.services)
    with db() as session:
        without_transaction(session)
        village_id = session.scalar(select(Area.id).where(Area.code == "17010103"))
        other_village = session.scalar(select(Area.id).where(Area.code == "17010101"))
        assert village_id is not None and other_village is not None
        by_birth = find_duplicate(
            session, declared("chea lina", 1985, date(1985, 2, 2), "17010103"), village_id
        )
        by_phone = find_duplicate(
            session, declared("Chea Lina", 1970, None, "17010101", "+85512000701"), other_village
        )
        neither = find_duplicate(session, declared("Chea Lina", 1986, None, "17010103"), village_id)
        again = already_submitted(session, key)
        never = already_submitted(session, "prereg:+85512000701:ATUid_other")
    assert by_birth.preregistration_id is not None and by_birth.person_id is None
    assert by_phone.preregistration_id == by_birth.preregistration_id
    assert not neither.found
    assert again is not None and (again.reference, again.created) == (submitted.reference, False)
    assert never is None
