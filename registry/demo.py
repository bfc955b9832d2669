"""The demo registry of a country: areas, staff, a few households, and the programme catalogue."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from registry.areas import import_areas
from registry.catalogue import demo_catalogue, import_catalogue
from registry.models import Area, Enrolment, Household, HouseholdPhone, Person, Programme, Staff
from registry.names import name_key
from registry.services import Db
from registry.staff import add_staff

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DemoLoaded:
    """What the demo loader added."""

    programmes: int
    areas: int
    staff: int
    households: int


def load_demo(db: Db, country: str) -> DemoLoaded:
    """Load a country's demo data into the parts of the registry that are still empty."""
    suffix = country.lower()
    programmes = areas = staff = households = 0
    if demo_catalogue(country).exists():
        programmes = import_catalogue(db, demo_catalogue(country)).created
    with db() as session:
        has_areas = bool(session.scalar(select(func.count()).select_from(Area)))
        has_staff = bool(session.scalar(select(func.count()).select_from(Staff)))
        has_households = bool(session.scalar(select(func.count()).select_from(Household)))
    if not has_areas and (DATA / f"areas-{suffix}.csv").exists():
        areas = import_areas(db, DATA / f"areas-{suffix}.csv").created
    if not has_staff and (DATA / f"staff-{suffix}.csv").exists():
        with (DATA / f"staff-{suffix}.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                add_staff(db, row["role"], row["area_code"], row["phone"], row["name"])
                staff += 1
    if not has_households and (DATA / f"households-{suffix}.json").exists():
        households = _load_households(db, DATA / f"households-{suffix}.json", country)
    return DemoLoaded(programmes, areas, staff, households)


def _load_households(db: Db, path: Path, country: str) -> int:
    entries = json.loads(path.read_text(encoding="utf-8"))
    with db.begin() as session:
        programmes = {
            p.code: p.id for p in session.scalars(select(Programme).where(Programme.country == country))
        }
        for entry in entries:
            village = session.scalar(select(Area).where(Area.code == entry["village"]))
            if village is None:
                continue
            household = Household(village_id=village.id, size=entry["size"])
            household.phones = [HouseholdPhone(phone=p) for p in entry["phones"]]
            session.add(household)
            session.flush()
            for code in entry.get("enrolments", []):
                session.add(Enrolment(household_id=household.id, programme_id=programmes[code]))
            for member in entry["members"]:
                born = date.fromisoformat(member["birth_date"]) if "birth_date" in member else None
                person = Person(
                    household=household,
                    full_name=member["name"],
                    name_key=name_key(member["name"]),
                    sex=member["sex"],
                    birth_date=born,
                    birth_year=born.year if born else member["birth_year"],
                    sp_id=member.get("sp_id"),
                )
                session.add(person)
                session.flush()
                for code in member.get("enrolments", []):
                    session.add(Enrolment(person_id=person.id, programme_id=programmes[code]))
    return len(entries)
