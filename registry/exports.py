"""Exports of an area's registry for a period: streamed from the database into a file, whatever its size.

Rows are read a thousand at a time through a server-side cursor (only the columns a sheet shows)
and written as they come, to an XLSX write-only workbook or a CSV, into a file the caller gives:
memory stays flat from a village to the whole country. A sheet that reaches XLSX's row limit goes
on in the next sheet ("Persons (2)"), headers repeated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from registry.audit import record, record_now
from registry.consolidation import Translate
from registry.db import utcnow
from registry.errors import N_, InvalidData, NotFound, Problem
from registry.models import (
    Area,
    Case,
    Enrolment,
    Household,
    HouseholdPhone,
    Person,
    PreRegistration,
    Programme,
    area_name_column,
)
from registry.scoping import DESK_ROLES, Actor, areas_in_scope, villages_under
from registry.services import Db

# Whoever runs `flask registry export` on the server without --by: every area, audited as nobody.
COMMAND_LINE = Actor(0, "national_admin", "command line", "", None)
FORMATS = ("xlsx", "csv")
# XLSX holds at most 1,048,576 rows a sheet, the header included.
XLSX_ROWS = 1_048_576
BATCH = 1000

SHEETS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "households": (
        N_("Households"),
        (
            ("household", N_("Household no.")),
            ("village_code", N_("Village code")),
            ("village", N_("Village")),
            ("household_size", N_("Household size")),
            ("members", N_("Members")),
            ("phones", N_("Phone")),
            ("created", N_("Registered on")),
        ),
    ),
    "persons": (
        N_("Persons"),
        (
            ("sp_id", N_("Social-protection ID")),
            ("household", N_("Household no.")),
            ("village_code", N_("Village code")),
            ("village", N_("Village")),
            ("full_name", N_("Full name")),
            ("sex", N_("Sex (F/M)")),
            ("birth_date", N_("Date of birth (DD/MM/YYYY)")),
            ("birth_year", N_("Year of birth")),
            ("phone", N_("Phone")),
            ("national_id", N_("National ID")),
            ("created", N_("Registered on")),
        ),
    ),
    "preregistrations": (
        N_("Pre-registrations"),
        (
            ("reference", N_("Reference")),
            ("village_code", N_("Village code")),
            ("village", N_("Village")),
            ("full_name", N_("Full name")),
            ("sex", N_("Sex (F/M)")),
            ("birth_date", N_("Date of birth (DD/MM/YYYY)")),
            ("birth_year", N_("Year of birth")),
            ("household_size", N_("Household size")),
            ("phone", N_("Phone")),
            ("channel", N_("Channel")),
            ("status", N_("Status")),
            ("created", N_("Registered on")),
        ),
    ),
    "enrolments": (
        N_("Enrolments"),
        (
            ("sp_id", N_("Social-protection ID")),
            ("full_name", N_("Full name")),
            ("village_code", N_("Village code")),
            ("village", N_("Village")),
            ("programme", N_("Programme")),
            ("status", N_("Status")),
            ("started_on", N_("Started on")),
        ),
    ),
    "cases": (
        N_("Cases"),
        (
            ("reference", N_("Reference")),
            ("kind", N_("Kind")),
            ("category", N_("Category")),
            ("status", N_("Status")),
            ("village_code", N_("Village code")),
            ("village", N_("Village")),
            ("created", N_("Registered on")),
            ("acknowledged", N_("Acknowledged")),
            ("closed", N_("Closed")),
            ("escalated", N_("Escalated")),
            ("possible_duplicate", N_("Possible duplicate")),
        ),
    ),
}


@dataclass(frozen=True)
class Export:
    """What an export wrote: rows per table, rows per sheet of each table, and the file's name."""

    counts: dict[str, int]
    sheets: dict[str, list[int]]
    file_name: str


@dataclass(frozen=True)
class _Place:
    """The area exported (None for the whole country) and its code as chosen."""

    area: Area | None
    code: str


def _staff_id(actor: Actor) -> int | None:
    return actor.id or None


def _moment(day: date | None, zone: tzinfo) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC) if day else None


def _local_date(value: datetime | None, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%d/%m/%Y") if value else ""


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _stream(session: Session, query: Any) -> Iterator[Any]:
    """Yield a query's rows a batch at a time, from a server-side cursor where the database has one."""
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _sheet_rows(
    session: Session,
    sheet: str,
    place: _Place,
    start: datetime | None,
    end: datetime | None,
    language: str,
    zone: tzinfo,
) -> Iterator[list[Any]]:
    """Yield the rows of one sheet, reading only the columns it shows."""
    villages = villages_under(place.area.id, place.area.level) if place.area is not None else None
    names_query = select(Area.id, Area.code, area_name_column(language)).where(Area.level == "village")
    if villages is not None:
        names_query = names_query.where(Area.id.in_(villages))
    # The villages' codes and names, a few thousand even for the country: looked up, not joined.
    names = {vid: (code, name) for vid, code, name in session.execute(names_query)}

    def where(query: Any, village: Any, made: Any) -> Any:
        condition: ColumnElement[bool] = village.in_(villages) if villages is not None else true()
        query = query.where(condition)
        if start is not None:
            query = query.where(made >= start)
        if end is not None:
            query = query.where(made < end)
        return query

    if sheet == "households":
        members = select(func.count(Person.id)).where(Person.household_id == Household.id).scalar_subquery()
        phones = (
            select(func.aggregate_strings(HouseholdPhone.phone, " "))
            .where(HouseholdPhone.household_id == Household.id)
            .scalar_subquery()
        )
        query = select(
            Household.id, Household.village_id, Household.size, members, phones, Household.created_at
        )
        query = where(query, Household.village_id, Household.created_at).order_by(Household.id)
        for household_id, village_id, size, count, numbers, created in _stream(session, query):
            code, name = names[village_id]
            yield [household_id, code, name, size, count, numbers or "", _local_date(created, zone)]
    elif sheet == "persons":
        query = select(
            Person.sp_id,
            Person.household_id,
            Household.village_id,
            Person.full_name,
            Person.sex,
            Person.birth_date,
            Person.birth_year,
            Person.phone,
            Person.national_id,
            Person.created_at,
        ).join(Household, Household.id == Person.household_id)
        query = where(query, Household.village_id, Person.created_at).order_by(Person.id)
        for sp_id, household_id, village_id, full_name, sex, born, year, *rest in _stream(session, query):
            phone, national_id, created = rest
            code, name = names[village_id]
            yield [
                sp_id,
                household_id,
                code,
                name,
                full_name,
                sex,
                _day(born),
                year,
                phone or "",
                national_id or "",
                _local_date(created, zone),
            ]
    elif sheet == "preregistrations":
        query = select(
            Case.reference,
            PreRegistration.village_id,
            PreRegistration.full_name,
            PreRegistration.sex,
            PreRegistration.birth_date,
            PreRegistration.birth_year,
            PreRegistration.household_size,
            PreRegistration.phone,
            PreRegistration.channel,
            Case.status,
            PreRegistration.created_at,
        ).outerjoin(Case, Case.preregistration_id == PreRegistration.id)
        query = where(query, PreRegistration.village_id, PreRegistration.created_at)
        query = query.order_by(PreRegistration.id)
        for reference, village_id, full_name, sex, born, year, size, *rest in _stream(session, query):
            phone, channel, status, created = rest
            code, name = names[village_id]
            yield [
                reference or "",
                code,
                name,
                full_name,
                sex,
                _day(born),
                year,
                size,
                phone or "",
                channel,
                status or "",
                _local_date(created, zone),
            ]
    elif sheet == "enrolments":
        query = (
            select(
                Person.sp_id,
                Person.full_name,
                Household.village_id,
                Programme.code,
                Enrolment.status,
                Enrolment.started_on,
            )
            .join(Person, Person.id == Enrolment.person_id)
            .join(Household, Household.id == Person.household_id)
            .join(Programme, Programme.id == Enrolment.programme_id)
        )
        query = where(query, Household.village_id, Enrolment.created_at).order_by(Enrolment.id)
        for sp_id, full_name, village_id, programme, status, started in _stream(session, query):
            code, name = names[village_id]
            yield [sp_id, full_name, code, name, programme, status, _day(started)]
    elif sheet == "cases":
        query = select(
            Case.reference,
            Case.kind,
            Case.category,
            Case.status,
            Case.village_id,
            Case.created_at,
            Case.acknowledged_at,
            Case.closed_at,
            Case.escalated_at,
            Case.possible_duplicate,
        )
        query = where(query, Case.village_id, Case.created_at).order_by(Case.id)
        for reference, kind, category, status, village_id, *moments, duplicate in _stream(session, query):
            code, name = names[village_id]
            made, acknowledged, closed, escalated = (_local_date(m, zone) for m in moments)
            yield [
                reference,
                kind,
                category or "",
                status,
                code,
                name,
                made,
                acknowledged,
                closed,
                escalated,
                "1" if duplicate else "",
            ]


def sheet_title(title: str, number: int) -> str:
    """Name the number-th sheet of a table: its title, then "Title (2)", within XLSX's 31 characters."""
    suffix = f" ({number})" if number > 1 else ""
    return title[: 31 - len(suffix)] + suffix


def _write_xlsx(
    book: Workbook, title: str, header: list[str], rows: Iterator[list[Any]], sheet_rows: int
) -> list[int]:
    """Append a table's rows to the book, going on in a next sheet at sheet_rows; return rows per sheet."""
    per_sheet: list[int] = []
    sheet: Any = None
    for values in rows:
        if sheet is None or per_sheet[-1] + 1 >= sheet_rows:
            sheet = book.create_sheet(sheet_title(title, len(per_sheet) + 1))
            sheet.append(header)
            per_sheet.append(0)
        sheet.append(values)
        per_sheet[-1] += 1
    if sheet is None:
        book.create_sheet(sheet_title(title, 1)).append(header)
        per_sheet.append(0)
    return per_sheet


def _find_place(session: Session, area_code: str, country: str) -> _Place | None:
    code = area_code.strip()
    if code.upper() == country.upper():
        return _Place(None, country.upper())
    area = session.scalar(select(Area).where(Area.code == code))
    return _Place(area, area.code) if area is not None else None


def _allowed(session: Session, actor: Actor, place: _Place | None) -> bool:
    if place is None:
        return False
    if place.area is None:
        # The whole country is the national level's alone.
        return actor.is_national
    scope = areas_in_scope(session, actor)
    return scope is None or place.area.id in scope


def check_options(actor: Actor, fmt: str, sheet: str, since: date | None, until: date | None) -> None:
    """Refuse an export's format, table or period that cannot be, and anyone not of the desk."""
    if fmt not in FORMATS or sheet not in SHEETS:
        raise InvalidData([Problem(N_("Choose a format and a table to export."))])
    if since and until and until < since:
        raise InvalidData([Problem(N_("The period ends before it starts."))])
    if actor.role not in DESK_ROLES:
        raise NotFound("export")


def allowed_area(db: Db, actor: Actor, area_code: str, country: str) -> tuple[str, int | None]:
    """Return the code and id (None: the country) of an area the actor may export; else NotFound.

    A refusal is recorded as refused_read, as export_area records it.
    """
    with db() as session:
        place = _find_place(session, area_code, country)
        allowed = _allowed(session, actor, place)
    if place is None or not allowed:
        record_now(db, "refused_read", _staff_id(actor), f"export:{area_code[:20]}", actor.area_id)
        raise NotFound(f"area {area_code}")
    return place.code, place.area.id if place.area is not None else None


def export_area(
    db: Db,
    actor: Actor,
    area_code: str,
    label: Translate,
    language: str,
    out: IO[bytes],
    *,
    country: str,
    fmt: str = "xlsx",
    since: date | None = None,
    until: date | None = None,
    sheet: str = "persons",
    zone: tzinfo = UTC,
    sheet_rows: int = XLSX_ROWS,
) -> Export:
    """Write an area's registry for a period (the days rows were made, both included) into out; audited.

    area_code is an area's code, or the country's (KH, MZ) for the whole country, which only the
    national level may export. Nothing is written to out before the area is allowed.
    """
    check_options(actor, fmt, sheet, since, until)
    start = _moment(since, zone)
    end = _moment(until + timedelta(days=1), zone) if until else None
    with db.begin() as session:
        place = _find_place(session, area_code, country)
        if place is None or not _allowed(session, actor, place):
            session.rollback()
            record_now(db, "refused_read", _staff_id(actor), f"export:{area_code[:20]}", actor.area_id)
            raise NotFound(f"area {area_code}")
        sheets: dict[str, list[int]] = {}
        if fmt == "xlsx":
            # Write-only: each sheet goes to a temporary file as rows arrive, with inline strings.
            book = Workbook(write_only=True)
            for key, (title, columns) in SHEETS.items():
                rows = _sheet_rows(session, key, place, start, end, language, zone)
                header = [label(text) for _k, text in columns]
                sheets[key] = _write_xlsx(book, label(title), header, rows, sheet_rows)
            book.save(out)
        else:
            # With a byte-order mark a spreadsheet program reads the Khmer as UTF-8.
            text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow([label(t) for _k, t in SHEETS[sheet][1]])
            count = 0
            for values in _sheet_rows(session, sheet, place, start, end, language, zone):
                writer.writerow(values)
                count += 1
            text.flush()
            text.detach()  # the caller's file stays open
            sheets[sheet] = [count]
        counts = {key: sum(per_sheet) for key, per_sheet in sheets.items()}
        period = f"{since or ''}..{until or ''}"
        record(
            session,
            "export",
            _staff_id(actor),
            f"export:{place.code}",
            place.area.id if place.area is not None else None,
            f"{fmt} {period}: " + ", ".join(f"{k} {'+'.join(map(str, v))}" for k, v in sheets.items()),
        )
    suffix = "" if fmt == "xlsx" else f"-{sheet}"
    name = f"janela-{place.code}{suffix}-{since or 'start'}-{until or utcnow().date()}.{fmt}"
    return Export(counts, sheets, name)


def export_choices(
    db: Db, actor: Actor, language: str, label: Translate, country: str
) -> list[tuple[str, str]]:
    """Return (code, name) of the areas an export form offers: the actor's own and those just below."""
    with db() as session:
        if actor.is_national or actor.area_id is None:
            provinces = session.scalars(select(Area).where(Area.level == "province").order_by(Area.code))
            whole = (country.upper(), f"{country.upper()} {label(N_('The whole country'))}")
            # Last, so that the form's first choice is not the biggest export there is.
            return [(a.code, f"{a.code} {a.name(language)}") for a in provinces] + [whole]
        own = session.get_one(Area, actor.area_id)
        below = session.scalars(select(Area).where(Area.parent_id == own.id).order_by(Area.code))
        return [(area.code, f"{area.code} {area.name(language)}") for area in [own, *below]]
