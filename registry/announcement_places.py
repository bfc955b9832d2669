"""Where an announcement goes: every village of an area, or villages chosen one by one, in scope.

A draft names an area (all its villages) or a list of village codes. The list is a set: blanks and
repeats collapse and order does not matter. Every chosen village must lie in the officer's scope:
one outside refuses the whole list (OutsideScope, a NotFound), so nothing goes to part of it, and
the caller records the refusal once its own transaction is closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from registry.audit import record_now
from registry.errors import N_, InvalidData, NotFound, Problem
from registry.models import Announcement, AnnouncementVillage, Area
from registry.scoping import Actor, areas_in_scope
from registry.services import Db

# One announcement names at most this many villages; more is an area's worth: name the area.
MAX_VILLAGES = 1000
# The desk lists at most this many villages to tick on one page (a district has about 100).
LIST_LIMIT = 300


@dataclass(frozen=True)
class Place:
    """An area as a page shows it: its code and its name in the reader's language."""

    code: str
    name: str


@dataclass(frozen=True)
class Places:
    """The villages a draft reaches, the area it is filed under, and the villages chosen by name."""

    area_id: int | None  # the area named, or the smallest holding every chosen village
    village_ids: list[int]
    area: Place | None  # the area form's area; None for chosen villages
    chosen: tuple[Place, ...]  # the chosen villages in code order; empty for the area form
    chosen_ids: tuple[int, ...]


@dataclass(frozen=True)
class VillageGroup:
    """A commune and those of its villages an officer may tick."""

    commune: Place
    villages: list[Place]


@dataclass(frozen=True)
class VillageChoice:
    """The villages of an area to tick, grouped by commune; none listed when there are too many."""

    area: Place | None
    total: int
    groups: list[VillageGroup]


class OutsideScope(NotFound):
    """A place a draft names is unknown or outside the officer's scope; `target` names it."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def chosen_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Return village codes stripped, without blanks or repeats, in code order."""
    return tuple(sorted({code.strip() for code in codes if code.strip()}))


def shape_problems(area_code: str, village_codes: tuple[str, ...] | None) -> list[str]:
    """Return what is wrong with the choice of place before the registry is read."""
    if village_codes is None:
        return [] if area_code.strip() else [Problem(N_("Give an area code or at least one village."))]
    codes = chosen_codes(village_codes)
    if area_code.strip():
        return [Problem(N_("Give an area or villages, not both."))]
    if not codes:
        return [Problem(N_("Choose at least one village."))]
    if len(codes) > MAX_VILLAGES:
        too_many = N_("Choose at most {count} villages; for more, give the code of their area.")
        return [Problem(too_many, count=MAX_VILLAGES)]
    return []


def resolve_places(
    session: Session, actor: Actor, area_code: str, village_codes: tuple[str, ...] | None, language: str
) -> Places:
    """Find where a draft goes; InvalidData for codes that are no village, OutsideScope outside the scope."""
    scope = areas_in_scope(session, actor)
    if village_codes is None:
        area = session.scalar(select(Area).where(Area.code == area_code.strip()))
        if area is None or (scope is not None and area.id not in scope):
            raise OutsideScope(f"area:{area_code.strip()[:20]}")
        return Places(area.id, villages_under(session, area), _place(area, language), (), ())
    codes = chosen_codes(village_codes)
    found = {area.code: area for area in session.scalars(select(Area).where(Area.code.in_(codes)))}
    problems: list[str] = []
    for code in codes:
        if code not in found:
            problems.append(Problem(N_("No village has the code {code}."), code=code[:20]))
        elif found[code].level != "village":
            problems.append(Problem(N_("{code} is not a village code."), code=code))
    if problems:
        raise InvalidData(problems)
    villages = [found[code] for code in codes]
    outside = [village for village in villages if scope is not None and village.id not in scope]
    if outside:
        raise OutsideScope(f"village:{outside[0].code}")
    ids = [village.id for village in villages]
    chosen = tuple(_place(village, language) for village in villages)
    return Places(smallest_area_holding(session, set(ids)), ids, None, chosen, tuple(ids))


def villages_under(session: Session, area: Area) -> list[int]:
    """Return the ids of the villages at or under an area."""
    found, frontier = [area.id], [area.id]
    while frontier:
        frontier = list(session.scalars(select(Area.id).where(Area.parent_id.in_(frontier))))
        found += frontier
    return list(session.scalars(select(Area.id).where(Area.id.in_(found), Area.level == "village")))


def smallest_area_holding(session: Session, area_ids: set[int]) -> int | None:
    """Return the smallest area holding every one of areas of one level; None when none does."""
    while len(area_ids) > 1:
        parents = set(session.scalars(select(Area.parent_id).where(Area.id.in_(area_ids))))
        if None in parents:
            return None
        area_ids = {parent for parent in parents if parent is not None}
    return next(iter(area_ids), None)


def places_of(
    session: Session, announcement: Announcement, language: str
) -> tuple[Place | None, tuple[Place, ...]]:
    """Return the area an announcement named, or the villages chosen for it, named in a language."""
    villages = session.scalars(
        select(Area)
        .join(AnnouncementVillage, AnnouncementVillage.village_id == Area.id)
        .where(AnnouncementVillage.announcement_id == announcement.id)
        .order_by(Area.code)
    ).all()
    if villages:
        return None, tuple(_place(village, language) for village in villages)
    area = session.get(Area, announcement.area_id) if announcement.area_id is not None else None
    return (_place(area, language) if area else None), ()


def villages_to_choose(
    db: Db, actor: Actor, language: str, area_code: str | None = None, limit: int = LIST_LIMIT
) -> VillageChoice:
    """List the villages of an area (the actor's own by default) by commune; NotFound outside the scope."""
    code = (area_code or "").strip()[:20]
    with db() as session:
        scope = areas_in_scope(session, actor)
        if code:
            area = session.scalar(select(Area).where(Area.code == code))
        else:
            area = session.get(Area, actor.area_id) if actor.area_id is not None else None
        if area is None and not code:
            return VillageChoice(None, 0, [])  # a national admin names an area first
        refused = area is None or (scope is not None and area.id not in scope)
        if not refused and area is not None:
            ids = villages_under(session, area)
            shown = _place(area, language)
            if len(ids) > limit:
                return VillageChoice(shown, len(ids), [])
            return VillageChoice(shown, len(ids), _groups(session, ids, language))
    # Its own transaction, after the read's: the refusal is kept although the page says not found.
    record_now(db, "refused_read", actor.id, f"area:{code}", actor.area_id)
    raise NotFound(f"area:{code}")


def _groups(session: Session, village_ids: list[int], language: str) -> list[VillageGroup]:
    commune = aliased(Area)
    rows = session.execute(
        select(Area, commune)
        .join(commune, Area.parent_id == commune.id)
        .where(Area.id.in_(village_ids))
        .order_by(commune.code, Area.code)
    ).all()
    groups: list[VillageGroup] = []
    for village, parent in rows:
        if not groups or groups[-1].commune.code != parent.code:
            groups.append(VillageGroup(_place(parent, language), []))
        groups[-1].villages.append(_place(village, language))
    return groups


def _place(area: Area, language: str) -> Place:
    return Place(area.code, area.name(language, "en"))
