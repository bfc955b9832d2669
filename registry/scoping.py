"""Scoping: which areas a staff member may read, applied inside every desk query.

A commune desk reads its commune's villages, a district officer its communes' villages, a province
officer its districts' villages, a national admin everything. A read outside the scope raises
NotFound (the same answer as a thing that does not exist) and is recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session, aliased

from registry.models import Area, Staff
from registry.services import Db

DESK_ROLES = ("commune_desk", "district_officer", "province_officer", "national_admin")


@dataclass(frozen=True)
class Actor:
    """A signed-in staff member, as every desk service receives them."""

    id: int
    role: str
    name: str
    phone: str
    area_id: int | None

    @property
    def is_national(self) -> bool:
        """Whether this staff member sees every area."""
        return self.role == "national_admin"


def actor_of(staff: Staff) -> Actor:
    """Return the actor for a staff row."""
    return Actor(staff.id, staff.role, staff.name, staff.phone, staff.area_id)


def load_actor(session: Session, staff_id: int) -> Actor | None:
    """Return the active desk staff member with this id, or None."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.role not in DESK_ROLES:
        return None
    return actor_of(staff)


def villages_in_scope(actor: Actor):  # type: ignore[no-untyped-def]
    """Return a subquery of the village ids the actor may read (every village for a national admin)."""
    # An alias, so that the subquery never correlates with an Area of the query it sits in.
    village = aliased(Area)
    if actor.is_national:
        return select(village.id).where(village.level == "village")
    level = ROLE_LEVELS.get(actor.role)
    if level is None or actor.area_id is None:
        return select(village.id).where(false_())
    return villages_under(actor.area_id, level)


# The level of the area each desk role reads below.
ROLE_LEVELS = {"commune_desk": "commune", "district_officer": "district", "province_officer": "province"}


def villages_under(area_id: int, level: str) -> Select[int]:
    """Return a select of the ids of the villages at or under an area of this level."""
    village = aliased(Area)
    query = select(village.id).where(village.level == "village")
    if level == "village":
        return query.where(village.id == area_id)
    if level == "commune":
        return query.where(village.parent_id == area_id)
    commune = aliased(Area)
    query = query.join(commune, village.parent_id == commune.id)
    if level == "district":
        return query.where(commune.parent_id == area_id)
    district = aliased(Area)
    return query.join(district, commune.parent_id == district.id).where(district.parent_id == area_id)


def false_() -> ColumnElement[bool]:
    """Return a condition that holds for no row."""
    return ~true()


def in_scope(actor: Actor, village_column: Any) -> ColumnElement[bool]:
    """Return the condition 'this row's village is the actor's to read'."""
    if actor.is_national:
        return true()
    return village_column.in_(villages_in_scope(actor))


def areas_in_scope(session: Session, actor: Actor) -> set[int] | None:
    """Return the ids of every area at or under the actor's area; None for everywhere."""
    if actor.is_national:
        return None
    found = {actor.area_id} if actor.area_id is not None else set()
    frontier = set(found)
    while frontier:
        frontier = set(session.scalars(select(Area.id).where(Area.parent_id.in_(frontier))))
        found |= frontier
    return found


def district_of(session: Session, area_id: int) -> int | None:
    """Return the id of the district an area lies in (the area itself if it is one)."""
    area = session.get(Area, area_id)
    while area is not None and area.level != "district":
        area = area.parent
    return area.id if area else None


def staff_row(db: Db, actor: Actor) -> Staff | None:
    """Return the actor's staff row (detached), as the case state machine takes it; None if inactive."""
    with db() as session:
        staff = session.get(Staff, actor.id)
        return staff if staff is not None and staff.active else None
