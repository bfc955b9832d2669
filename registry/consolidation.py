"""Consolidation: a commune's standard enrolment form, checked whole and imported once.

The import follows the areas import: the whole file is checked first, every bad row is reported
with its line, column and reason, and nothing is written when any row is bad. A file is imported
once: its SHA-256 is unique in `imports`, so the same file sent twice, or by two officers at the
same moment, creates its households once and the second is told when and by whom it was imported.
People go into the registry as verification puts them there, with IDs drawn from the same issuer.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.audit import record
from registry.db import utcnow
from registry.errors import N_, InvalidData, NotFound, Problem
from registry.models import (
    Area,
    EnrolmentRequest,
    Household,
    HouseholdPhone,
    Person,
    Programme,
    RegistryImport,
    Staff,
)
from registry.names import clean_name, name_key
from registry.phones import normalise_phone
from registry.scoping import Actor, areas_in_scope, villages_in_scope
from registry.services import Db
from registry.verification import RequestStatus, district_of_village, new_sp_ids

Translate = Callable[[str], str]
# Who may import a commune's form: the district back office and the levels above it.
IMPORTERS = ("district_officer", "province_officer", "national_admin")
MAX_ROWS = 50_000
MAX_HOUSEHOLD = 30
# The standard enrolment form, one person a row; rows with the same household number are one household.
FORM: tuple[tuple[str, str], ...] = (
    ("household", N_("Household no.")),
    ("village_code", N_("Village code")),
    ("full_name", N_("Full name")),
    ("sex", N_("Sex (F/M)")),
    ("birth_date", N_("Date of birth (DD/MM/YYYY)")),
    ("birth_year", N_("Year of birth")),
    ("household_size", N_("Household size")),
    ("phone", N_("Phone")),
    ("national_id", N_("National ID")),
    # Several codes in one cell, as a commune officer types them: "idpoor, scholarship".
    ("programmes", N_("Programmes asked for (codes)")),
)
COLUMN_LABELS = dict(FORM)
# A form filled from a template older than the programmes column still imports, and hashes the same.
OPTIONAL = ("programmes",)
REQUIRED = tuple(key for key in COLUMN_LABELS if key not in OPTIONAL)
_CODES = re.compile(r"[\s,;、]+")
SEXES = {"F": "F", "M": "M", "ស្រី": "F", "ប្រុស": "M"}


@dataclass(frozen=True)
class RowProblem:
    """One bad cell: its line in the file, its column (a FORM key, empty for the whole row) and why."""

    line: int
    column: str
    problem: Problem


@dataclass(frozen=True)
class Duplicate:
    """A row that may be someone the registry already has."""

    line: int
    full_name: str
    person_id: int
    sp_id: str | None
    village_code: str


@dataclass(frozen=True)
class ImportView:
    """An import as recorded."""

    id: int
    at: datetime
    staff_name: str
    file_name: str
    file_hash: str
    rows: int
    households: int
    persons: int
    duplicates: int
    requests: int


@dataclass(frozen=True)
class ImportReport:
    """What checking a file found; importable when it has no problems."""

    file_hash: str
    rows: int
    households: int
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    already: ImportView | None = None
    # Programmes asked for (a person and a programme each): enrolment requests once imported.
    requests: int = 0

    @property
    def ok(self) -> bool:
        """Whether the file can be imported."""
        return not self.problems


@dataclass(frozen=True)
class ImportOutcome:
    """The report and, when imported (now or before), the import's record."""

    report: ImportReport
    imported: ImportView | None
    created: bool


@dataclass
class _Row:
    line: int
    household: str
    village_code: str
    full_name: str
    key: str
    sex: str
    birth_date: date | None
    birth_year: int
    household_size: int | None
    phone: str | None
    national_id: str | None
    programmes: tuple[str, ...] = ()
    village_id: int = 0
    programme_ids: tuple[int, ...] = ()


def file_hash(content: bytes) -> str:
    """Return the SHA-256 of a file's bytes (what names a file that cannot be read as the form)."""
    return hashlib.sha256(content).hexdigest()


# The template


def build_template(
    db: Db, label: Translate, country: str, actor: Actor | None = None, language: str = "en"
) -> bytes:
    """Return the standard enrolment form as XLSX: headers in the reader's language, villages, programmes."""
    book = Workbook()
    form = book.active
    assert form is not None
    form.title = label(N_("Enrolment form"))[:31]
    form.append([label(text) for _key, text in FORM])
    for cell in form[1]:
        cell.font = Font(bold=True)
    for index in range(len(FORM)):
        form.column_dimensions[chr(ord("A") + index)].width = 22
    # Dates as text, so that a laptop's regional setting cannot turn 04/12 into 12 April.
    form.column_dimensions["E"].number_format = "@"
    villages = book.create_sheet(label(N_("Villages"))[:31])
    villages.append([label(N_("Village code")), label(N_("Village"))])
    with db() as session:
        query = select(Area).where(Area.level == "village").order_by(Area.code)
        if actor is not None and not actor.is_national:
            query = query.where(Area.id.in_(villages_in_scope(actor)))
        for area in session.scalars(query):
            villages.append([area.code, area.name(language)])
        programmes = book.create_sheet(label(N_("Programmes"))[:31])
        programmes.append([label(N_("Programme code")), label(N_("Programme"))])
        for programme in session.scalars(_open_programmes(country)):
            text = programme.text_for(language)
            programmes.append([programme.code, text.name if text else programme.code])
    for sheet in (villages, programmes):
        sheet.column_dimensions["A"].width = 22
        sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _open_programmes(country: str) -> Any:
    """Return the query of the programmes a form may ask for: the country's open ones, in order."""
    return (
        select(Programme)
        .where(Programme.country == country, Programme.active.is_(True))
        .order_by(Programme.position, Programme.code)
    )


# Reading and checking


def header_names(translators: Iterable[Translate]) -> dict[str, str]:
    """Return every accepted header text (each language's label and the key) mapped to its column."""
    names: dict[str, str] = {}
    for translate in translators:
        for key, text in FORM:
            names[_fold(translate(text))] = key
    for key, text in FORM:
        names[_fold(text)] = key
        names[_fold(key)] = key
    return names


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_rows(content: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise InvalidData(
            [Problem(N_("This file is not a spreadsheet of the standard form (.xlsx)."))]
        ) from exc
    sheet = book.worksheets[0]
    for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield line, tuple(values)
    book.close()


def _cell(values: tuple[Any, ...], index: int | None) -> Any:
    return values[index] if index is not None and index < len(values) else None


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _whole(value: Any) -> int:
    text = _cell_text(value)
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


@dataclass
class _Parsed:
    """A form read whole: its good rows, the problems found so far, its hash, and what the registry checks."""

    rows: list[_Row]
    problems: list[RowProblem]
    digest: str
    places: list[tuple[int, str]] = field(default_factory=list)  # (line, village code)
    asked: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (line, programme codes)


def programme_codes(value: Any) -> tuple[str, ...]:
    """Split a cell of programme codes (commas, semicolons or spaces between them), each once."""
    codes = (code.casefold() for code in _CODES.split(_cell_text(value)) if code)
    return tuple(dict.fromkeys(codes))


def _parse(content: bytes, headers: dict[str, str], country: str, today: date) -> _Parsed:
    """Read every row of the form, check what needs no registry, hash the cells; list villages, programmes."""
    # The hash is of the form's cells, not the file's bytes: a spreadsheet program saving the same
    # form again rewrites its timestamps, and that must still be the same file.
    digest = hashlib.sha256()
    rows: list[_Row] = []
    places: list[tuple[int, str]] = []
    asked: list[tuple[int, tuple[str, ...]]] = []
    filled = 0
    problems: list[RowProblem] = []
    positions: dict[str, int] = {}
    try:
        lines = _read_rows(content)
        for line, values in lines:
            if line == 1:
                positions = {
                    headers[_fold(_cell_text(v))]: i
                    for i, v in enumerate(values)
                    if _fold(_cell_text(v)) in headers
                }
                if not set(REQUIRED) <= set(positions):
                    return _not_the_form(content)
                continue
            # A column the form leaves out (the programmes, on an older template) reads as empty.
            cells = {key: _cell(values, positions.get(key)) for key in COLUMN_LABELS}
            if all(_cell_text(v) == "" for v in cells.values()):
                continue
            # The programmes cell counts only when filled: a form without it hashes as it always did.
            asks = _cell_text(cells["programmes"])
            digest.update(
                "\x1f".join(_cell_text(cells[key]) for key in REQUIRED).encode()
                + (f"\x1f{asks}".encode() if asks else b"")
                + b"\x1e"
            )
            filled += 1
            if filled > MAX_ROWS:
                problem = Problem(N_("A file holds at most {count} rows: split it."), count=MAX_ROWS)
                return _Parsed([], [RowProblem(line, "", problem)], file_hash(content))
            if _cell_text(cells["village_code"]):
                places.append((line, _cell_text(cells["village_code"])))
            if asks:
                asked.append((line, programme_codes(asks)))
            row = _check_row(line, cells, country, today, problems)
            if row is not None:
                rows.append(row)
    except InvalidData as exc:
        found = [RowProblem(0, "", p if isinstance(p, Problem) else Problem(str(p))) for p in exc.problems]
        return _Parsed([], found, file_hash(content))
    if not positions:
        return _not_the_form(content)
    _check_households(rows, problems)
    return _Parsed(rows, problems, digest.hexdigest(), places, asked)


def _not_the_form(content: bytes) -> _Parsed:
    problem = Problem(N_("The columns are not those of the standard form: download the template."))
    return _Parsed([], [RowProblem(1, "", problem)], file_hash(content))


def _check_row(
    line: int, cells: dict[str, Any], country: str, today: date, problems: list[RowProblem]
) -> _Row | None:
    before = len(problems)

    def bad(column: str, template: str, **values: str | int) -> None:
        problems.append(RowProblem(line, column, Problem(template, **values)))

    household = _cell_text(cells["household"])
    if not household:
        bad("household", N_("The household number is missing."))
    village_code = _cell_text(cells["village_code"])
    if not village_code:
        bad("village_code", N_("The village code is missing."))
    raw_name = _cell_text(cells["full_name"])
    name = clean_name(raw_name) if raw_name else None
    if not raw_name:
        bad("full_name", N_("The name is missing."))
    elif name is None:
        bad("full_name", N_("This is not a person's name."))
    sex = SEXES.get(_cell_text(cells["sex"]).upper()) or SEXES.get(_cell_text(cells["sex"]))
    if sex is None:
        bad("sex", N_("Sex must be F or M."))
    birth_date: date | None = None
    if _cell_text(cells["birth_date"]):
        try:
            birth_date = _parse_date(cells["birth_date"])
        except ValueError:
            bad("birth_date", N_("This is not a date: write DD/MM/YYYY."))
        else:
            if birth_date.year < today.year - 120 or birth_date > today:
                bad("birth_date", N_("This date of birth is not possible."))
    birth_year: int | None = None
    if _cell_text(cells["birth_year"]):
        try:
            birth_year = _whole(cells["birth_year"])
        except ValueError:
            bad("birth_year", N_("The year of birth is not possible."))
        else:
            if not today.year - 120 <= birth_year <= today.year:
                bad("birth_year", N_("The year of birth is not possible."))
                birth_year = None
            elif birth_date is not None and birth_date.year != birth_year:
                bad("birth_year", N_("The year of birth is not the year of the date of birth."))
    elif birth_date is None and not _cell_text(cells["birth_date"]):
        bad("birth_date", N_("Give the date of birth, or at least the year."))
    size: int | None = None
    if _cell_text(cells["household_size"]):
        try:
            size = _whole(cells["household_size"])
            if not 1 <= size <= MAX_HOUSEHOLD:
                raise ValueError(size)
        except ValueError:
            bad(
                "household_size",
                N_("The household size must be a whole number from 1 to {most}."),
                most=MAX_HOUSEHOLD,
            )
            size = None
    phone: str | None = None
    if _cell_text(cells["phone"]):
        try:
            phone = normalise_phone(_cell_text(cells["phone"]), country)
        except InvalidData:
            bad("phone", N_("This is not a phone number."))
    national_id = _cell_text(cells["national_id"]) or None
    if national_id is not None and len(national_id) > 40:
        bad("national_id", N_("The national ID is too long."))
    if len(problems) > before or name is None or sex is None:
        return None
    year = birth_year if birth_year is not None else birth_date.year if birth_date else 0
    return _Row(
        line,
        household,
        village_code,
        name,
        name_key(name),
        sex,
        birth_date,
        year,
        size,
        phone,
        national_id,
        programme_codes(cells["programmes"]),
    )


def _check_households(rows: list[_Row], problems: list[RowProblem]) -> None:
    """Check what ties rows together: one village and one size per household, no person twice."""
    first: dict[str, _Row] = {}
    members: dict[str, int] = defaultdict(int)
    seen: dict[tuple[str, str, int], int] = {}
    for row in rows:
        members[row.household] += 1
        head = first.setdefault(row.household, row)
        if head is not row:
            if row.village_code != head.village_code:
                problem = Problem(
                    N_("Household {household} is in village {code} on line {line}."),
                    household=row.household,
                    code=head.village_code,
                    line=head.line,
                )
                problems.append(RowProblem(row.line, "village_code", problem))
            if head.household_size is None:
                head.household_size = row.household_size
            elif row.household_size is not None and row.household_size != head.household_size:
                problem = Problem(N_("The household size differs from line {line}."), line=head.line)
                problems.append(RowProblem(row.line, "household_size", problem))
        same = (row.key, row.village_code, row.birth_year)
        if same in seen:
            problem = Problem(N_("The same person is on line {line}."), line=seen[same])
            problems.append(RowProblem(row.line, "full_name", problem))
        else:
            seen[same] = row.line
    for household, head in first.items():
        if head.household_size is None:
            problem = Problem(N_("The household size is missing."))
            problems.append(RowProblem(head.line, "household_size", problem))
        elif head.household_size < members[household]:
            problem = Problem(
                N_("Household {household} lists {count} people, more than its size."),
                household=household,
                count=members[household],
            )
            problems.append(RowProblem(head.line, "household_size", problem))


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_in_registry(
    session: Session,
    actor: Actor,
    rows: list[_Row],
    places: list[tuple[int, str]],
    problems: list[RowProblem],
) -> list[Duplicate]:
    """Check every row's village against the registry and the actor's area; return possible duplicates."""
    codes = sorted({code for _line, code in places})
    villages: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(codes):
        for area_id, code, level in session.execute(
            select(Area.id, Area.code, Area.level).where(Area.code.in_(chunk))
        ):
            villages[code] = (area_id, level)
    ids = [area_id for area_id, level in villages.values() if level == "village"]
    allowed: set[int] = set()
    for chunk in _chunks(ids):
        query = select(Area.id).where(Area.id.in_(chunk))
        if not actor.is_national:
            query = query.where(Area.id.in_(villages_in_scope(actor)))
        allowed |= set(session.scalars(query))
    for line, code in places:
        found = villages.get(code)
        if found is None or found[1] != "village":
            problem = Problem(N_("There is no village {code}."), code=code)
            problems.append(RowProblem(line, "village_code", problem))
        elif found[0] not in allowed:
            problem = Problem(N_("Village {code} is not in your area."), code=code)
            problems.append(RowProblem(line, "village_code", problem))
    for row in rows:
        found = villages.get(row.village_code)
        row.village_id = found[0] if found else 0
    return _duplicates(session, rows, sorted(allowed))


def _check_programmes(
    session: Session,
    country: str,
    rows: list[_Row],
    asked: list[tuple[int, tuple[str, ...]]],
    problems: list[RowProblem],
) -> None:
    """Check every programme code asked for against the country's catalogue; give rows their ids."""
    catalogue = {
        code: (programme_id, active)
        for programme_id, code, active in session.execute(
            select(Programme.id, Programme.code, Programme.active).where(Programme.country == country)
        )
    }
    for line, codes in asked:
        for code in codes:
            found = catalogue.get(code)
            if found is None:
                problem = Problem(
                    N_("There is no programme {code}: see the programmes sheet of the template."), code=code
                )
                problems.append(RowProblem(line, "programmes", problem))
            elif not found[1]:
                problem = Problem(N_("Programme {code} is closed: it takes no requests."), code=code)
                problems.append(RowProblem(line, "programmes", problem))
    for row in rows:
        row.programme_ids = tuple(catalogue[code][0] for code in row.programmes if code in catalogue)


def _duplicates(session: Session, rows: list[_Row], village_ids: list[int]) -> list[Duplicate]:
    """Find registry people of the same name, year and village, or of the same national ID."""
    by_name: dict[tuple[str, int, int], tuple[int, str | None]] = {}
    keys = sorted({row.key for row in rows})
    for villages in _chunks(village_ids):
        for names in _chunks(keys):
            query = (
                select(Person.id, Person.sp_id, Person.name_key, Person.birth_year, Household.village_id)
                .join(Household, Household.id == Person.household_id)
                .where(Household.village_id.in_(villages), Person.name_key.in_(names))
            )
            for person_id, sp_id, key, year, village_id in session.execute(query):
                by_name.setdefault((key, year, village_id), (person_id, sp_id))
    by_national: dict[str, tuple[int, str | None]] = {}
    national_ids = sorted({row.national_id for row in rows if row.national_id})
    for chunk in _chunks(national_ids):
        same_id = select(Person.id, Person.sp_id, Person.national_id).where(Person.national_id.in_(chunk))
        for person_id, sp_id, national_id in session.execute(same_id):
            by_national.setdefault(national_id or "", (person_id, sp_id))
    found: list[Duplicate] = []
    for row in rows:
        match = by_name.get((row.key, row.birth_year, row.village_id)) or (
            by_national.get(row.national_id) if row.national_id else None
        )
        if match is not None:
            found.append(Duplicate(row.line, row.full_name, match[0], match[1], row.village_code))
    return found


def _import_view(session: Session, done: RegistryImport) -> ImportView:
    staff = session.get(Staff, done.staff_id)
    return ImportView(
        done.id,
        done.at,
        staff.name if staff else "",
        done.file_name,
        done.file_hash,
        done.rows,
        done.households,
        done.persons,
        done.duplicates,
        done.requests,
    )


def _previous(session: Session, digest: str) -> ImportView | None:
    done = session.scalar(select(RegistryImport).where(RegistryImport.file_hash == digest))
    return _import_view(session, done) if done else None


def _check(
    session: Session, actor: Actor, content: bytes, headers: dict[str, str], country: str
) -> tuple[ImportReport, list[_Row]]:
    parsed = _parse(content, headers, country, utcnow().date())
    rows, problems, digest = parsed.rows, parsed.problems, parsed.digest
    # Villages and programmes are checked even when other cells are bad: one pass shows everything.
    clean = not problems
    duplicates = _check_in_registry(session, actor, rows, parsed.places, problems) if parsed.places else []
    if parsed.asked:
        _check_programmes(session, country, rows, parsed.asked, problems)
    if not clean:
        duplicates = []
    problems.sort(
        key=lambda p: (p.line, list(COLUMN_LABELS).index(p.column) if p.column in COLUMN_LABELS else -1)
    )
    report = ImportReport(
        digest,
        len(rows),
        len({row.household for row in rows}),
        problems,
        duplicates,
        _previous(session, digest),
        sum(len(row.programmes) for row in rows),
    )
    return report, rows


def _refuse_importer(actor: Actor) -> None:
    if actor.role not in IMPORTERS:
        raise NotFound("import")


def check_import(db: Db, actor: Actor, content: bytes, headers: dict[str, str], country: str) -> ImportReport:
    """Check a whole form file against the registry, writing nothing but the audit entry."""
    _refuse_importer(actor)
    with db.begin() as session:
        report, _rows = _check(session, actor, content, headers, country)
        # The report names people the registry holds (the possible duplicates): the read is audited.
        shown = ",".join(str(d.person_id) for d in report.duplicates[:200])
        record(
            session,
            "import_check",
            actor.id,
            f"file:{report.file_hash[:16]}",
            actor.area_id,
            f"{report.rows} rows, {len(report.problems)} problems, "
            f"{len(report.duplicates)} possible duplicates" + (f": persons {shown}" if shown else ""),
        )
        return report


def import_form(
    db: Db,
    actor: Actor,
    content: bytes,
    file_name: str,
    headers: dict[str, str],
    country: str,
    skip_duplicates: bool = False,
) -> ImportOutcome:
    """Import a checked form in one transaction: everything, or nothing when any row is bad; once per file."""
    _refuse_importer(actor)
    digest = ""
    for attempt in range(5):
        try:
            with db.begin() as session:
                report, rows = _check(session, actor, content, headers, country)
                digest = report.file_hash
                if report.already is not None or not report.ok:
                    return ImportOutcome(report, report.already, False)
                done = _write(session, actor, file_name, report, rows, skip_duplicates)
                return ImportOutcome(report, _import_view(session, done), True)
        except IntegrityError:
            # The same file imported by someone else meanwhile (the unique hash), or IDs drawn by a
            # verification in the same district (the unique sp_id): look again, and run again.
            with db() as session:
                previous = _previous(session, digest)
            if previous is not None:
                report = ImportReport(
                    previous.file_hash, previous.rows, previous.households, already=previous
                )
                return ImportOutcome(report, previous, False)
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _write(
    session: Session,
    actor: Actor,
    file_name: str,
    report: ImportReport,
    rows: list[_Row],
    skip_duplicates: bool,
) -> RegistryImport:
    duplicate_lines = {d.line: d for d in report.duplicates}
    done = RegistryImport(
        file_hash=report.file_hash,
        file_name=file_name[:200] or "form.xlsx",
        staff_id=actor.id,
        at=utcnow(),
        rows=report.rows,
        households=0,
        persons=0,
        duplicates=len(report.duplicates),
    )
    session.add(done)
    # The hash is claimed first: a second import of this file waits here, then fails, and is told.
    session.flush()
    kept = [row for row in rows if not (skip_duplicates and row.line in duplicate_lines)]
    households: dict[str, Household] = {}
    people: list[tuple[_Row, Person]] = []
    for row in kept:
        household = households.get(row.household)
        if household is None:
            household = Household(village_id=row.village_id, size=row.household_size)
            households[row.household] = household
        if row.phone and row.phone not in {p.phone for p in household.phones}:
            household.phones.append(HouseholdPhone(phone=row.phone))
        person = Person(
            household=household,
            full_name=row.full_name,
            name_key=row.key,
            sex=row.sex,
            birth_date=row.birth_date,
            birth_year=row.birth_year,
            national_id=row.national_id,
            phone=row.phone,
        )
        people.append((row, person))
    session.add_all(households.values())
    district_of = _issue_ids(session, people)
    session.add_all(person for _row, person in people)
    session.flush()
    done.households = len(households)
    done.persons = len(people)
    done.requests = _request_enrolments(session, done, people, district_of)
    ids = [person.id for _row, person in people]
    done.first_person_id = min(ids) if ids else None
    done.last_person_id = max(ids) if ids else None
    new_ids = {row.line: person.id for row, person in people}
    done.duplicate_detail = (
        "\n".join(f"{d.line}:{new_ids.get(d.line, '-')}:{d.person_id}" for d in report.duplicates) or None
    )
    record(
        session,
        "import",
        actor.id,
        f"import:{done.id}",
        actor.area_id,
        f"{file_name[:80]} sha256 {report.file_hash}: {done.households} households, {done.persons} persons, "
        f"{done.duplicates} possible duplicates"
        + (" (left out)" if skip_duplicates else "")
        + f", {done.requests} programme requests",
    )
    return done


def _request_enrolments(
    session: Session, done: RegistryImport, people: list[tuple[_Row, Person]], district_of: dict[int, int]
) -> int:
    """Record each programme a person's row asks for as a request for their district to decide."""
    # Requests, as verification makes them from a pre-registration: no enrolment is active until a
    # district officer approves it on the enrolment requests page.
    requests = [
        {
            "import_id": done.id,
            "person_id": person.id,
            "household_id": person.household_id,
            "programme_id": programme_id,
            "district_id": district_of[row.village_id],
            "status": str(RequestStatus.REQUESTED),
        }
        for row, person in people
        for programme_id in row.programme_ids
    ]
    if requests:
        session.execute(insert(EnrolmentRequest), requests)
    return len(requests)


def _issue_ids(session: Session, people: list[tuple[_Row, Person]]) -> dict[int, int]:
    """Give every person the next IDs of their district, drawn in one go per district; map villages to it."""
    district_of: dict[int, Area] = {}
    by_district: dict[int, list[Person]] = defaultdict(list)
    for row, person in people:
        if row.village_id not in district_of:
            district_of[row.village_id] = district_of_village(session, row.village_id)
        by_district[district_of[row.village_id].id].append(person)
    districts = {area.id: area for area in district_of.values()}
    for district_id, members in by_district.items():
        for person, sp_id in zip(
            members, new_sp_ids(session, districts[district_id], len(members)), strict=True
        ):
            person.sp_id = sp_id
    return {village_id: area.id for village_id, area in district_of.items()}


def list_imports(db: Db, actor: Actor, limit: int = 20) -> list[ImportView]:
    """Return the latest imports the actor's level made (their own and their area's staff)."""
    _refuse_importer(actor)
    with db() as session:
        query = select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)
        if not actor.is_national:
            areas = areas_in_scope(session, actor) or set()
            query = query.join(Staff, Staff.id == RegistryImport.staff_id).where(Staff.area_id.in_(areas))
        return [_import_view(session, done) for done in session.scalars(query)]
