"""Staff: who works cases, where, and how they are reached."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry.errors import InvalidData, NotFound
from registry.models import ROLE_LEVEL, STAFF_ROLES, Area, Staff
from registry.services import Db


@dataclass(frozen=True)
class StaffView:
    """A staff member as lists and flows see them."""

    id: int
    role: str
    name: str
    phone: str
    area_id: int | None
    area_code: str | None
    active: bool


def _view(staff: Staff) -> StaffView:
    code = staff.area.code if staff.area else None
    return StaffView(staff.id, staff.role, staff.name, staff.phone, staff.area_id, code, staff.active)


def add_staff(db: Db, role: str, area_code: str | None, phone: str, name: str) -> StaffView:
    """Add a staff member tied to an area of the level their role works at."""
    problems = []
    if role not in STAFF_ROLES:
        problems.append(f"role must be one of {', '.join(STAFF_ROLES)}")
    if not name.strip():
        problems.append("name is missing")
    if problems:
        raise InvalidData(problems)
    with db.begin() as session:
        area = None
        level = ROLE_LEVEL[role]
        if level is not None:
            area = session.scalar(select(Area).where(Area.code == (area_code or "")))
            if area is None:
                raise InvalidData([f"unknown area {area_code!r}"])
            if area.level != level:
                raise InvalidData([f"a {role} works at a {level}, and {area.code} is a {area.level}"])
        duplicate = session.scalar(
            select(Staff).where(
                Staff.phone == phone,
                Staff.role == role,
                Staff.area_id == (area.id if area else None),
                Staff.active.is_(True),
            )
        )
        if duplicate is not None:
            raise InvalidData([f"{phone} is already an active {role} there"])
        staff = Staff(role=role, area=area, phone=phone, name=name.strip())
        session.add(staff)
        session.flush()
        return _view(staff)


def list_staff(db: Db, role: str | None = None, include_inactive: bool = False) -> list[StaffView]:
    """Return staff, by role and area."""
    with db() as session:
        query = select(Staff).order_by(Staff.role, Staff.area_id, Staff.id)
        if role:
            query = query.where(Staff.role == role)
        if not include_inactive:
            query = query.where(Staff.active.is_(True))
        return [_view(s) for s in session.scalars(query)]


def deactivate_staff(db: Db, staff_id: int) -> StaffView:
    """Stop a staff member from acting and from receiving alerts; their history stays."""
    with db.begin() as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise NotFound(f"staff {staff_id}")
        staff.active = False
        return _view(staff)


def active_chief(db: Db, phone: str) -> StaffView | None:
    """Return the active village chief using this phone, if any."""
    with db() as session:
        staff = session.scalar(
            select(Staff)
            .where(Staff.phone == phone, Staff.role == "village_chief", Staff.active.is_(True))
            .order_by(Staff.id)
        )
        return _view(staff) if staff else None
