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
from registry.models import Area, Household, HouseholdPhone, Person, Staff
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
        households = _load_households(db, DATA / f"households-{suffix}.json")
    return DemoLoaded(programmes, areas, staff, households)


def _load_households(db: Db, path: Path) -> int:
    entries = json.loads(path.read_text(encoding="utf-8"))
    with db.begin() as session:
        for entry in entries:
            village = session.scalar(select(Area).where(Area.code == entry["village"]))
            if village is None:
                continue
            household = Household(village_id=village.id, size=entry["size"])
            household.phones = [HouseholdPhone(phone=p) for p in entry["phones"]]
            session.add(household)
            for member in entry["members"]:
                born = date.fromisoformat(member["birth_date"]) if "birth_date" in member else None
                session.add(
                    Person(
                        household=household,
                        full_name=member["name"],
                        name_key=name_key(member["name"]),
                        sex=member["sex"],
                        birth_date=born,
                        birth_year=born.year if born else member["birth_year"],
                    )
                )
    return len(entries)
