"""Administrative areas: the four levels, their import from CSV, and the lookups flows need."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.db import without_transaction
from registry.errors import InvalidData, NotFound
from registry.memo import Memo
from registry.models import AREA_LEVELS, Area, Household, HouseholdPhone, PreRegistration
from registry.services import Db
from registry.versions import AREAS, bump

COLUMNS = ("code", "parent_code", "level", "name_km", "name_pt", "name_en")
# Areas change when an import runs; menus list them on many hops: kept in memory.
_AREAS = Memo(AREAS)


@dataclass(frozen=True)
class AreaView:
    """An area as a menu or a summary shows it."""

    id: int
    code: str
    level: str
    name: str


@dataclass(frozen=True)
class AreaImport:
    """What an import changed."""

    created: int
    updated: int
    unchanged: int


def _parent_level(level: str) -> str | None:
    index = AREA_LEVELS.index(level)
    return AREA_LEVELS[index - 1] if index else None


def read_areas_csv(path: Path) -> list[dict[str, str]]:
    """Read and check a whole areas file; raise InvalidData naming every bad row by line number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidData([f"{path}: {exc}"]) from exc
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != list(COLUMNS):
        raise InvalidData([f"line 1: the columns must be {','.join(COLUMNS)}"])
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            problems.append(f"line {line}: more cells than columns")
        values["line"] = str(line)
        rows.append(values)
    seen: dict[str, dict[str, str]] = {}
    for row in rows:
        where = f"line {row['line']}"
        if not row["code"]:
            problems.append(f"{where}: code is missing")
        elif row["code"] in seen:
            problems.append(
                f"{where}: duplicate code {row['code']} (first on line {seen[row['code']]['line']})"
            )
        else:
            seen[row["code"]] = row
        if row["level"] not in AREA_LEVELS:
            problems.append(f"{where}: bad level {row['level']!r} (use {', '.join(AREA_LEVELS)})")
        for column in ("name_km", "name_pt", "name_en"):
            if not row[column]:
                problems.append(f"{where}: {column} is missing")
    return _check_parents(rows, seen, problems)


def _check_parents(
    rows: list[dict[str, str]], seen: dict[str, dict[str, str]], problems: list[str]
) -> list[dict[str, str]]:
    for row in rows:
        if row["level"] not in AREA_LEVELS:
            continue
        where = f"line {row['line']}"
        wanted = _parent_level(row["level"])
        parent_code = row["parent_code"]
        if wanted is None:
            if parent_code:
                problems.append(f"{where}: a province has no parent")
            continue
        if not parent_code:
            problems.append(f"{where}: a {row['level']} needs a parent {wanted}")
        elif parent_code in seen:
            if seen[parent_code]["level"] != wanted:
                problems.append(
                    f"{where}: parent {parent_code} is a {seen[parent_code]['level']}, not a {wanted}"
                )
        else:
            row["parent_in_db"] = wanted  # checked against the registry when importing
    if problems:
        raise InvalidData(problems)
    return rows


def import_areas(db: Db, path: Path) -> AreaImport:
    """Create or update areas from a CSV file in one transaction; nothing is imported on any error."""
    rows = read_areas_csv(path)
    created = updated = unchanged = 0
    with db.begin() as session:
        existing = {a.code: a for a in session.scalars(select(Area))}
        problems = [
            f"line {row['line']}: unknown parent {row['parent_code']}"
            for row in rows
            if "parent_in_db" in row
            and (
                row["parent_code"] not in existing
                or existing[row["parent_code"]].level != row["parent_in_db"]
            )
        ]
        if problems:
            raise InvalidData(problems)
        # Parents come before children: provinces first, villages last.
        for row in sorted(rows, key=lambda r: AREA_LEVELS.index(r["level"])):
            parent = existing.get(row["parent_code"]) if row["parent_code"] else None
            area = existing.get(row["code"])
            values = {
                "level": row["level"],
                "name_km": row["name_km"],
                "name_pt": row["name_pt"],
                "name_en": row["name_en"],
            }
            if area is None:
                area = Area(code=row["code"], parent=parent, **values)
                session.add(area)
                session.flush()
                existing[row["code"]] = area
                created += 1
            elif area.parent is not parent or any(getattr(area, k) != v for k, v in values.items()):
                area.parent = parent
                for key, value in values.items():
                    setattr(area, key, value)
                updated += 1
            else:
                unchanged += 1
        bump(session, AREAS)
    return AreaImport(created, updated, unchanged)


def _view(area: Area, language: str) -> AreaView:
    return AreaView(area.id, area.code, area.level, area.name(language))


def list_areas(db: Db, language: str, parent_code: str | None = None) -> list[AreaView]:
    """Return the provinces, or the areas directly under parent_code, by name."""
    key = ("list", language, parent_code)
    return list(_AREAS.get(db, key, lambda: tuple(_list_areas(db, language, parent_code))))


def find_area(db: Db, code: str, language: str, level: str | None = None) -> AreaView | None:
    """Return the area with that code (and level, if given), or None."""
    return _AREAS.get(
        db, ("find", code.strip(), language, level), lambda: _find_area(db, code, language, level)
    )


def _list_areas(db: Db, language: str, parent_code: str | None) -> list[AreaView]:
    with db() as session:
        query = select(Area)
        if parent_code is None:
            query = query.where(Area.level == "province")
        else:
            parent = session.scalar(select(Area).where(Area.code == parent_code))
            if parent is None:
                raise NotFound(f"area {parent_code}")
            query = query.where(Area.parent_id == parent.id)
        areas = [_view(a, language) for a in session.scalars(query.order_by(Area.code))]
    return areas


def _find_area(db: Db, code: str, language: str, level: str | None) -> AreaView | None:
    with db() as session:
        area = session.scalar(select(Area).where(Area.code == code.strip()))
        if area is None or (level and area.level != level):
            return None
        return _view(area, language)


# An area's names in km, pt and en, the languages areas are named in.
Names = tuple[str, str, str]
_NAMES = select(Area.id, Area.name_km, Area.name_pt, Area.name_en).where(
    Area.id.in_(bindparam("ids", expanding=True))
)


def names_by_id(db: Db, ids: Iterable[int]) -> dict[int, Names]:
    """Return the names of these areas by id: from memory, reading only those not seen yet.

    A desk's queue names the villages of 2,000 cases: joining the areas in its statement made
    the planner hash every area of the country (16,000) on each read.
    """
    known: dict[int, Names] = _AREAS.get(db, ("names by id",), dict)
    missing = set(ids).difference(known)
    if missing:
        with db() as session:
            rows = without_transaction(session).execute(_NAMES, {"ids": list(missing)})
            # Kept for the next read; a version move drops the whole dict, never a part of it.
            known.update((area_id, (km, pt, en)) for area_id, km, pt, en in rows)
    return known


def village_path(session: Session, village_id: int, language: str) -> str:
    """Return 'village, commune' for a village, as a summary shows it."""
    village = session.get_one(Area, village_id)
    commune = village.parent
    return f"{village.name(language)}, {commune.name(language)}" if commune else village.name(language)


def describe_village(db: Db, village_id: int, language: str) -> str:
    """Return 'village, commune' for a village."""
    with db() as session:
        return village_path(session, village_id, language)


def village_of_phone(db: Db, phone: str) -> str | None:
    """Return the code of the village this phone is known in: its household's, else its last request's."""
    with db() as session:
        code = session.scalar(
            select(Area.code)
            .join(Household, Household.village_id == Area.id)
            .join(HouseholdPhone, HouseholdPhone.household_id == Household.id)
            .where(HouseholdPhone.phone == phone)
            .limit(1)
        )
        if code is None:
            code = session.scalar(
                select(Area.code)
                .join(PreRegistration, PreRegistration.village_id == Area.id)
                .where(PreRegistration.phone == phone)
                .order_by(PreRegistration.id.desc())
                .limit(1)
            )
        return code
