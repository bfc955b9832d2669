"""The commune form's import: all or nothing, every bad row, duplicates, once per file."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from conversations.i18n import Translator
from desk.texts import DeskTexts
from registry.consolidation import (
    FORM,
    build_template,
    check_import,
    header_names,
    import_form,
)
from registry.errors import NotFound
from registry.models import (
    Area,
    AuditEntry,
    Enrolment,
    EnrolmentRequest,
    Household,
    OutboxMessage,
    Person,
    Programme,
    RegistryImport,
)
from registry.outbox import SmsPolicy
from registry.scoping import Actor
from registry.staff_auth import find_desk_staff
from registry.verification import decide_enrolment, list_enrolment_requests
from tests.desk.conftest import COMMUNE_DESK, DISTRICT, db

HEADERS = header_names(Translator(language) for language in ("km", "pt", "en"))
GOOD = [
    ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "3", "012345678", ""],
    ["1", "17010101", "Phal Sophea", "F", "", "1984", "", "", ""],
    ["1", "17010101", "Phal Vuthy", "M", "01/02/2015", "2015", "3", "", ""],
    ["2", "17010102", "សុខ ស្រីមុំ", "F", "05/06/1975", "", "1", "", "N123456"],
]


def actor(app: Flask, phone: str) -> Actor:
    """Return the desk staff member using phone."""
    found = find_desk_staff(db(app), phone)
    assert found is not None
    return found


def form(rows: Sequence[Sequence[Any]], language: str = "en") -> bytes:
    """Return a filled standard form, its headers in language."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    translate = Translator(language)
    sheet.append([translate(text) for _key, text in FORM])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_import(app: Flask, content: bytes, phone: str = DISTRICT, **options: Any) -> Any:
    return import_form(db(app), actor(app, phone), content, "char-chhuk.xlsx", HEADERS, "KH", **options)


def counts(app: Flask) -> tuple[int, int, int]:
    with db(app)() as session:
        return (
            session.scalar(select(func.count(Household.id))) or 0,
            session.scalar(select(func.count(Person.id))) or 0,
            session.scalar(select(func.count(RegistryImport.id))) or 0,
        )


def test_a_good_file_creates_households_people_and_ids_once(app: Flask) -> None:
    before = counts(app)
    outcome = run_import(app, form(GOOD, "km"))
    assert outcome.created and outcome.report.ok
    assert (outcome.imported.households, outcome.imported.persons) == (2, 4)
    after = counts(app)
    assert after == (before[0] + 2, before[1] + 4, before[2] + 1)
    with db(app)() as session:
        people = session.scalars(
            select(Person).where(Person.full_name.like("Phal %")).order_by(Person.id)
        ).all()
        assert [p.full_name for p in people] == ["Phal Dara", "Phal Sophea", "Phal Vuthy"]
        assert len({p.household_id for p in people}) == 1
        assert all(p.sp_id and p.sp_id.startswith("1701") and len(p.sp_id) == 10 for p in people)
        assert people[0].birth_date == date(1980, 4, 12) and people[1].birth_year == 1984
        household = session.get_one(Household, people[0].household_id)
        assert household.size == 3 and [p.phone for p in household.phones] == ["+85512345678"]
        done = session.scalars(select(RegistryImport)).one()
        assert len(done.file_hash) == 64 and done.rows == 4
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "import")) is not None
    # The same file again: nothing changes, and the officer is told it was imported before.
    again = run_import(app, form(GOOD, "km"))
    assert not again.created and again.imported.id == outcome.imported.id
    assert counts(app) == after


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["1", "99999999", "Phal Dara", "M", "12/04/1980", "", "3", "", ""], "village_code", "no village"),
        (
            ["1", "17120101", "Phal Dara", "M", "12/04/1980", "", "3", "", ""],
            "village_code",
            "not in your area",
        ),
        (["1", "1701", "Phal Dara", "M", "12/04/1980", "", "3", "", ""], "village_code", "no village"),
        (["1", "17010101", "Phal Dara", "M", "31/02/1980", "", "3", "", ""], "birth_date", "not a date"),
        (["1", "17010101", "Phal Dara", "M", "12/04/2999", "", "3", "", ""], "birth_date", "not possible"),
        (["1", "17010101", "", "M", "12/04/1980", "", "3", "", ""], "full_name", "name is missing"),
        (["1", "17010101", "12345", "M", "12/04/1980", "", "3", "", ""], "full_name", "not a person"),
        (["1", "17010101", "Phal Dara", "X", "12/04/1980", "", "3", "", ""], "sex", "F or M"),
        (["1", "17010101", "Phal Dara", "M", "", "", "3", "", ""], "birth_date", "at least the year"),
        (["1", "17010101", "Phal Dara", "M", "", "1850", "3", "", ""], "birth_year", "not possible"),
        (
            ["1", "17010101", "Phal Dara", "M", "12/04/1980", "1981", "3", "", ""],
            "birth_year",
            "not the year",
        ),
        (
            ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "31", "", ""],
            "household_size",
            "from 1 to 30",
        ),
        (
            ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "0", "", ""],
            "household_size",
            "from 1 to 30",
        ),
        (["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "three", "", ""], "household_size", "1 to 30"),
        (["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "", "", ""], "household_size", "missing"),
        (["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "3", "12", ""], "phone", "phone number"),
        (["", "17010101", "Phal Dara", "M", "12/04/1980", "", "3", "", ""], "household", "missing"),
    ],
)
def test_every_kind_of_bad_row_is_reported_and_nothing_imported(
    app: Flask, row: list[str], column: str, reason: str
) -> None:
    before = counts(app)
    other = ["3" if row[0] else "", row[1], "Keo Mony" if row[2] == "Phal Dara" else row[2], *row[3:]]
    content = form([*GOOD, other])  # a household and a person of their own
    outcome = run_import(app, content)
    assert not outcome.created and outcome.imported is None
    assert [(p.line, p.column) for p in outcome.report.problems] == [(6, column)]
    assert reason in outcome.report.problems[0].problem
    assert counts(app) == before


def test_every_bad_row_of_a_file_is_reported_at_once(app: Flask) -> None:
    rows = [
        ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "2", "", ""],
        ["1", "17010102", "Phal Sophea", "F", "", "1984", "", "", ""],  # another village
        ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "", "", ""],  # the same person again
        ["2", "17010101", "Keo Mony", "F", "bad", "", "9", "", ""],
    ]
    report = check_import(db(app), actor(app, DISTRICT), form(rows), HEADERS, "KH")
    found = [(p.line, p.column) for p in report.problems]
    assert found == [(2, "household_size"), (3, "village_code"), (4, "full_name"), (5, "birth_date")]
    assert "lists 3 people" in report.problems[0].problem


def test_a_file_not_of_the_form_is_refused_whole(app: Flask) -> None:
    report = check_import(db(app), actor(app, DISTRICT), b"not a spreadsheet", HEADERS, "KH")
    assert [p.line for p in report.problems] == [0]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "village"])
    out = io.BytesIO()
    book.save(out)
    report = check_import(db(app), actor(app, DISTRICT), out.getvalue(), HEADERS, "KH")
    assert [(p.line, p.column) for p in report.problems] == [(1, "")]


def test_possible_duplicates_are_flagged_not_merged(app: Flask) -> None:
    # The demo has Sok Srey Pov, born 12/04/1990, in Trapeang Thom.
    rows = [
        ["1", "17010101", "SOK  Srey-Pov", "F", "12/04/1990", "", "2", "", ""],
        ["1", "17010101", "Sok Dara", "M", "", "1988", "", "", ""],
    ]
    report = check_import(db(app), actor(app, DISTRICT), form(rows), HEADERS, "KH")
    assert report.ok and [d.line for d in report.duplicates] == [2]
    before = counts(app)
    outcome = run_import(app, form(rows))
    assert outcome.created and outcome.imported.duplicates == 1
    # Flagged: the person is added beside the match, and the import says which is which.
    assert counts(app)[1] == before[1] + 2
    with db(app)() as session:
        done = session.scalars(select(RegistryImport)).one()
        line, new_id, match_id = (done.duplicate_detail or "").split(":")
        assert line == "2" and int(match_id) == report.duplicates[0].person_id and new_id != match_id


def test_duplicates_can_be_left_out(app: Flask) -> None:
    rows = [
        ["1", "17010101", "Sok Srey Pov", "F", "12/04/1990", "", "2", "", ""],
        ["2", "17010101", "Sok Dara", "M", "", "1988", "1", "", ""],
    ]
    before = counts(app)
    outcome = run_import(app, form(rows), skip_duplicates=True)
    assert outcome.created and outcome.imported.persons == 1 and outcome.imported.households == 1
    assert counts(app)[:2] == (before[0] + 1, before[1] + 1)


def test_a_commune_desk_cannot_import(app: Flask) -> None:
    with pytest.raises(NotFound):
        run_import(app, form(GOOD), phone=COMMUNE_DESK)


def test_two_imports_of_one_file_at_once_create_it_once(app: Flask) -> None:
    content = form(GOOD)
    before = counts(app)
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            results.append(run_import(app, content))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.imported.id for r in results}) == 1
    assert counts(app) == (before[0] + 2, before[1] + 4, before[2] + 1)


def test_the_template_has_the_form_in_the_officer_language_their_villages_and_programmes(
    app: Flask,
) -> None:
    content = build_template(db(app), Translator("km"), "KH", actor(app, DISTRICT), "km")
    book = load_workbook(io.BytesIO(content))
    form_sheet, villages, programmes = book.worksheets
    headers = [c.value for c in form_sheet[1]]
    assert headers == [Translator("km")(text) for _key, text in FORM]
    assert headers[-1] == Translator("km")("Programmes asked for (codes)")
    assert all(
        HEADERS[" ".join(str(h).split()).casefold()] == key
        for h, (key, _t) in zip(headers, FORM, strict=True)
    )
    codes = [row[0] for row in villages.iter_rows(min_row=2, values_only=True)]
    assert "17010101" in codes and "17120101" not in codes
    offered = {row[0]: row[1] for row in programmes.iter_rows(min_row=2, values_only=True)}
    assert offered["idpoor"] == "ប័ណ្ណសមធម៌ (IDPoor)" and "scholarship" in offered
    with db(app).begin() as session:
        session.execute(update(Programme).where(Programme.code == "nssf").values(active=False))
    again = load_workbook(io.BytesIO(build_template(db(app), Translator("en"), "KH", None, "en")))
    assert "nssf" not in {row[0] for row in again.worksheets[2].iter_rows(min_row=2, values_only=True)}
    # The template, filled in, imports.
    form_sheet.append([*GOOD[0], "idpoor"])
    out = io.BytesIO()
    book.save(out)
    outcome = run_import(app, out.getvalue())
    assert outcome.created and outcome.imported.requests == 1


ASKING = [
    ["1", "17010101", "Phal Dara", "M", "12/04/1980", "", "3", "012345678", "", "IDPoor, family-package"],
    ["1", "17010101", "Phal Sophea", "F", "", "1984", "", "", "", ""],
    ["1", "17010101", "Phal Vuthy", "M", "01/02/2015", "2015", "3", "", "", "scholarship;scholarship"],
    ["2", "17010102", "សុខ ស្រីមុំ", "F", "05/06/1975", "", "1", "", "N123456", "older-persons-allowance"],
]


def requests_of(app: Flask) -> list[EnrolmentRequest]:
    with db(app)() as session:
        return list(session.scalars(select(EnrolmentRequest).order_by(EnrolmentRequest.id)))


def test_programmes_asked_for_become_requests_the_district_decides(app: Flask) -> None:
    report = check_import(db(app), actor(app, DISTRICT), form(ASKING), HEADERS, "KH")
    assert report.ok and report.requests == 4
    enrolments_before = count_enrolments(app)
    outcome = run_import(app, form(ASKING))
    assert outcome.created and outcome.imported.requests == 4
    made = requests_of(app)
    with db(app)() as session:
        codes = {p.id: p.code for p in session.scalars(select(Programme))}
        names = {p.id: p.full_name for p in session.scalars(select(Person))}
        district = session.scalars(select(Area.id).where(Area.code == "1701")).one()
    asked = sorted((names[r.person_id], codes[r.programme_id]) for r in made)
    assert asked == [
        ("Phal Dara", "family-package"),
        ("Phal Dara", "idpoor"),
        ("Phal Vuthy", "scholarship"),
        ("សុខ ស្រីមុំ", "older-persons-allowance"),
    ]
    assert all(r.case_id is None and r.import_id == outcome.imported.id for r in made)
    assert {(r.status, r.district_id) for r in made} == {("requested", district)}
    # Asked for, not enrolled: nothing is active until the district decides.
    assert count_enrolments(app) == enrolments_before
    # The district's normal list shows them, tied to the household and the import.
    district_officer = actor(app, DISTRICT)
    listed = list_enrolment_requests(db(app), district_officer, "en")
    ours = [view for view in listed if view.import_id == outcome.imported.id]
    assert len(ours) == 4 and {v.case_reference for v in ours} == {""}
    dara = next(r for r in made if names[r.person_id] == "Phal Dara")
    texts = DeskTexts("KH")
    policy = SmsPolicy()
    assert decide_enrolment(db(app), district_officer, dara.id, True, "", texts, policy, "km")
    # The same decision again, or a late decline, changes nothing.
    assert not decide_enrolment(db(app), district_officer, dara.id, True, "", texts, policy, "km")
    assert not decide_enrolment(db(app), district_officer, dara.id, False, "late", texts, policy, "km")
    assert count_enrolments(app) == enrolments_before + 1
    with db(app)() as session:
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "enrolment")).one()
        assert sms.recipient == "+85512345678" and sms.language == "km"
    # The same file again: no second request.
    again = run_import(app, form(ASKING))
    assert not again.created and len(requests_of(app)) == 4


def count_enrolments(app: Flask) -> int:
    with db(app)() as session:
        return session.scalar(select(func.count(Enrolment.id))) or 0


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        ("idpoor, nope", "There is no programme nope"),
        ("idpoor nssf", "Programme nssf is closed"),
        ("PSSB", "There is no programme pssb"),  # Mozambique's, not Cambodia's
    ],
)
def test_a_programme_not_in_the_catalogue_or_closed_is_reported_and_nothing_imported(
    app: Flask, asked: str, reason: str
) -> None:
    with db(app).begin() as session:
        session.execute(update(Programme).where(Programme.code == "nssf").values(active=False))
        session.add(Programme(country="MZ", code="pssb", position=0, active=True))
    before = counts(app)
    rows = [*ASKING, ["3", "17010101", "Keo Mony", "F", "", "1970", "1", "", "", asked]]
    outcome = run_import(app, form(rows, "pt"))
    assert outcome.imported is None
    assert [(p.line, p.column) for p in outcome.report.problems] == [(6, "programmes")]
    assert outcome.report.problems[0].problem.startswith(reason)
    assert counts(app) == before and requests_of(app) == []


def test_a_programme_closed_after_the_check_is_caught_by_the_import(app: Flask) -> None:
    assert check_import(db(app), actor(app, DISTRICT), form(ASKING), HEADERS, "KH").ok
    with db(app).begin() as session:
        session.execute(update(Programme).where(Programme.code == "scholarship").values(active=False))
    before = counts(app)
    outcome = run_import(app, form(ASKING))
    assert outcome.imported is None and [(p.line, p.column) for p in outcome.report.problems] == [
        (4, "programmes")
    ]
    assert counts(app) == before and requests_of(app) == []


def test_a_form_without_the_programmes_column_imports_and_hashes_as_before(app: Flask) -> None:
    # A template printed before the column existed: nine columns.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([Translator("en")(text) for key, text in FORM if key != "programmes"])
    for row in GOOD:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    old = run_import(app, out.getvalue())
    assert old.created and old.imported.requests == 0
    # The same people on today's template, the programmes left empty: the same file.
    assert (
        old.report.file_hash
        == check_import(db(app), actor(app, DISTRICT), form(GOOD), HEADERS, "KH").file_hash
    )
    assert not run_import(app, form([[*row, ""] for row in GOOD])).created
    # The same people asking for a programme: another file.
    asking = [[*GOOD[0], "idpoor"], *GOOD[1:]]
    assert (
        check_import(db(app), actor(app, DISTRICT), form(asking), HEADERS, "KH").file_hash
        != old.report.file_hash
    )


def test_a_file_too_long_is_refused_whole(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("registry.consolidation.MAX_ROWS", 3)
    report = check_import(db(app), actor(app, DISTRICT), form(GOOD), HEADERS, "KH")
    assert [(p.line, p.column) for p in report.problems] == [(5, "")]
    assert "at most 3 rows" in report.problems[0].problem
