"""Exports per area and period: streamed into a file, split past a sheet's row limit, the country whole."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from conversations.i18n import Translator
from registry.db import utcnow
from registry.errors import NotFound
from registry.exports import COMMAND_LINE, Export, export_area, sheet_title
from registry.models import AuditEntry, Person
from registry.scoping import Actor
from registry.staff import add_staff
from tests.desk.conftest import COMMUNE_DESK, DISTRICT, OTHER_DESK, OTHER_DISTRICT, PROVINCE, db
from tests.registry.test_consolidation import GOOD, actor, form, run_import

NATIONAL = "+85512999999"


def export(app: Flask, who: Actor, code: str, language: str = "en", **options: Any) -> tuple[Export, bytes]:
    """Export into a file, as the desk and the command do, and return what was written."""
    out = io.BytesIO()
    done = export_area(db(app), who, code, Translator(language), language, out, country="KH", **options)
    assert not out.closed
    return done, out.getvalue()


def table(content: bytes) -> list[list[str]]:
    """Read a CSV export back."""
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def national(app: Flask) -> Actor:
    """Return a national admin, added for the test."""
    add_staff(db(app), "national_admin", None, NATIONAL, "National Admin")
    return actor(app, NATIONAL)


def test_the_export_opens_with_every_sheet_in_the_officer_language(app: Flask) -> None:
    run_import(app, form(GOOD))
    km = Translator("km")
    done, content = export(app, actor(app, DISTRICT), "1701", "km")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == [
        km(t) for t in ("Households", "Persons", "Pre-registrations", "Enrolments", "Cases")
    ]
    persons = book.worksheets[1]
    header = [c.value for c in persons[1]]
    assert header[0] == km("Social-protection ID")
    rows = list(persons.iter_rows(min_row=2, values_only=True))
    names = {row[4] for row in rows}
    assert {"Phal Dara", "សុខ ស្រីមុំ", "Sok Srey Pov"} <= names
    assert done.counts["persons"] == len(rows) and done.sheets["persons"] == [len(rows)]
    dara = next(row for row in rows if row[4] == "Phal Dara")
    assert dara[2] == "17010101" and dara[6] == "12/04/1980" and dara[8] == "+85512345678"
    households = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert any(row[4] == 3 and row[3] == 3 and row[5] == "+85512345678" for row in households)
    with db(app)() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.target == "export:1701" and f"persons {len(rows)}" in (entry.detail or "")


def test_the_export_keeps_to_its_period_and_area_and_writes_csv(app: Flask) -> None:
    run_import(app, form(GOOD))
    today = utcnow().date()
    district = actor(app, DISTRICT)
    _done, later = export(app, district, "170101", fmt="csv", since=today + timedelta(days=1))
    assert table(later)[1:] == []
    _done, now = export(app, district, "170101", fmt="csv", since=today, until=today)
    rows = table(now)
    assert rows[0][0] == "Social-protection ID"
    assert {row[4] for row in rows[1:]} >= {"Phal Dara", "Phal Sophea", "Phal Vuthy", "សុខ ស្រីមុំ"}
    _done, village = export(app, district, "17010102", fmt="csv", sheet="households")
    assert {row[1] for row in table(village)[1:]} == {"17010102"}


def test_a_commune_exports_its_own_commune_only(app: Flask) -> None:
    commune = actor(app, COMMUNE_DESK)
    assert export(app, commune, "170101")[0].counts["persons"] >= 1
    for code in ("171201", "1701", "17120101"):
        with pytest.raises(NotFound):
            export(app, commune, code)
    with pytest.raises(NotFound):
        export(app, actor(app, OTHER_DESK), "170101")
    with pytest.raises(NotFound):
        export(app, actor(app, OTHER_DISTRICT), "1701")
    assert export(app, actor(app, PROVINCE), "1701")[0].counts
    with db(app)() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "refused_read")).all()
        assert {e.target for e in refused} >= {"export:171201", "export:1701", "export:17120101"}


def test_a_refused_export_writes_nothing_into_the_file(app: Flask) -> None:
    out = io.BytesIO()
    with pytest.raises(NotFound):
        export_area(db(app), actor(app, COMMUNE_DESK), "1701", Translator("en"), "en", out, country="KH")
    assert out.getvalue() == b""


def test_a_sheet_at_its_row_limit_goes_on_in_the_next_with_the_headers_again(app: Flask) -> None:
    run_import(app, form(GOOD))
    district = actor(app, DISTRICT)
    _done, whole = export(app, district, "1701", fmt="csv")
    # Three rows a sheet: the header and two people.
    done, content = export(app, district, "1701", sheet_rows=3)
    book = load_workbook(io.BytesIO(content))
    persons = [name for name in book.sheetnames if name.startswith("Persons")]
    per_sheet = done.sheets["persons"]
    assert len(per_sheet) >= 3 and set(per_sheet[:-1]) == {2} and 1 <= per_sheet[-1] <= 2
    assert persons == ["Persons"] + [f"Persons ({n})" for n in range(2, len(per_sheet) + 1)]
    seen: list[Any] = []
    for name, count in zip(persons, per_sheet, strict=True):
        sheet = book[name]
        assert [c.value for c in sheet[1]][:2] == ["Social-protection ID", "Household no."]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert len(rows) == count
        seen += [row[0] for row in rows]
    # Every person once, in the order of the unsplit CSV, across the sheets.
    assert seen == [row[0] for row in table(whole)[1:]] and len(seen) == len(set(seen))
    assert done.counts["persons"] == len(seen)
    with db(app)() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None and "persons " + "+".join(map(str, per_sheet)) in (entry.detail or "")
    # An empty period still has every sheet, with its header.
    tomorrow = utcnow().date() + timedelta(days=1)
    empty, content = export(app, district, "1701", sheet_rows=3, since=tomorrow)
    assert set(map(tuple, empty.sheets.values())) == {(0,)}
    assert [sheet.max_row for sheet in load_workbook(io.BytesIO(content)).worksheets] == [1] * 5


def test_a_sheet_title_stays_within_excel_limit() -> None:
    assert sheet_title("Persons", 1) == "Persons"
    assert sheet_title("Persons", 2) == "Persons (2)"
    long = sheet_title("ការចុះឈ្មោះជាមុន" * 3, 12)
    assert len(long) == 31 and long.endswith(" (12)")


def test_the_national_level_exports_the_whole_country_and_no_one_else_may(app: Flask) -> None:
    run_import(app, form(GOOD))
    run_import(
        app,
        form([["9", "17120101", "Keo Mony", "F", "", "1970", "1", "", ""]]),
        phone=PROVINCE,
    )
    done, content = export(app, national(app), "KH", fmt="csv")
    villages = {row[2] for row in table(content)[1:]}
    assert {"17010101", "17010102", "17120101"} <= villages
    with db(app)() as session:
        everyone = session.scalar(select(func.count(Person.id)).where(Person.household_id.is_not(None)))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert done.counts["persons"] == everyone and done.file_name.startswith("janela-KH-persons-")
    assert entry.target == "export:KH" and entry.area_id is None
    # The command line's national actor too, whatever the case of the code.
    assert export(app, COMMAND_LINE, "kh", fmt="csv")[0].counts["persons"] == everyone
    # A province officer, the highest below national, is refused as for an area outside their own.
    with pytest.raises(NotFound):
        export(app, actor(app, PROVINCE), "KH")
    with db(app)() as session:
        refused = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "refused_read")).all()
        assert "export:KH" in refused
