"""Case life as one state machine: who may make which move, from which states, and what it writes.

Every move is one conditional UPDATE from the states it may start from (the database decides
between two people acting at once), then its timeline event and its SMS, in the caller's
transaction. A move that finds the case elsewhere changes nothing and says why, so a repeated or
late action (DONE twice, OK after DONE, resolve after reject) is answered politely.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.areas import village_path
from registry.case_types import (
    CLOSED,
    DEFAULT_ROUTE,
    LEVEL_OFFICERS,
    OPEN,
    ROUTES,
    SWEEP,
    Actor,
    CaseStatus,
    CaseTexts,
    ChiefPhone,
    Move,
    MoveResult,
    Refusal,
    SweepActor,
    find_case,
    record_event,
    view_of,
)
from registry.clock import start_of_local_day
from registry.db import UtcDateTime, utcnow
from registry.models import Area, Case, CaseEvent, Staff
from registry.notify import active_staff, alert_staff, language_of
from registry.outbox import add_sms
from registry.services import Db
from registry.settings import ServiceSettings
from registry.timeline import NOT_THE_LEADER, NOT_THIS_DESK

log = logging.getLogger(__name__)
S = CaseStatus
DESK_MOVES = frozenset(
    {
        Move.DESK_ACKNOWLEDGE,
        Move.PICK_UP,
        Move.NOTE,
        Move.ASK_INFO,
        Move.RESOLVE,
        Move.REJECT,
        Move.ESCALATE,
        Move.TAKE_OVER,
    }
)
# Once an officer holds a case, only they make these (a level above takes it over first); a note
# changes nothing, so a colleague may still add one.
OWNED_MOVES = frozenset({Move.ASK_INFO, Move.RESOLVE, Move.REJECT, Move.ESCALATE})
# Refused attempts one actor makes on one case in a local day that its timeline keeps.
REFUSALS_KEPT_PER_DAY = 3
# The moves each kind of actor may make; the sweep is "sweep".
ACTOR_MOVES: dict[str, frozenset[Move]] = {
    "village_chief": frozenset({Move.ACKNOWLEDGE, Move.RESOLVE_IN_VILLAGE}),
    "commune_desk": DESK_MOVES,
    "district_officer": DESK_MOVES,
    "province_officer": DESK_MOVES,
    "national_admin": DESK_MOVES,
    "sweep": frozenset({Move.ESCALATE}),
}


@dataclass(frozen=True)
class Rule:
    """Where a move may start, where it leads (None: the status stays), and whether it needs words."""

    start: frozenset[CaseStatus]
    to: CaseStatus | None
    needs_note: bool = False
    event: str = ""


RULES: dict[Move, Rule] = {
    Move.ACKNOWLEDGE: Rule(frozenset({S.RECEIVED}), S.ACKNOWLEDGED, event="acknowledged"),
    Move.RESOLVE_IN_VILLAGE: Rule(
        frozenset({S.RECEIVED, S.ACKNOWLEDGED, S.PICKED_UP}),
        S.RESOLVED_IN_VILLAGE,
        event="resolved_at_village",
    ),
    Move.PICK_UP: Rule(
        frozenset({S.RECEIVED, S.ACKNOWLEDGED, S.ESCALATED, S.RESOLVED_IN_VILLAGE}),
        S.PICKED_UP,
        event="picked_up",
    ),
    Move.NOTE: Rule(frozenset(CaseStatus), None, needs_note=True, event="note"),
    Move.RESOLVE: Rule(frozenset(OPEN), S.RESOLVED, needs_note=True, event="resolved"),
    Move.REJECT: Rule(frozenset(OPEN), S.REJECTED, needs_note=True, event="rejected"),
    Move.ESCALATE: Rule(frozenset(OPEN), S.ESCALATED, event="escalated"),
    # The desk says it has the request; nobody takes it, so the status stays where it is.
    Move.DESK_ACKNOWLEDGE: Rule(frozenset({S.RECEIVED, S.ESCALATED}), None, event="acknowledged_by_desk"),
    Move.ASK_INFO: Rule(frozenset(OPEN), None, needs_note=True, event="asked_citizen"),
    Move.TAKE_OVER: Rule(frozenset({S.PICKED_UP, S.RESOLVED_IN_VILLAGE}), None, event="taken_over"),
}


def actor_kind(actor: Actor) -> str:
    """Name the kind of actor, as ACTOR_MOVES does."""
    if isinstance(actor, SweepActor):
        return "sweep"
    if isinstance(actor, ChiefPhone):
        return "village_chief"
    return actor.role


def allowed_moves(actor: Actor) -> frozenset[Move]:
    """Return the moves this actor may ever make (on cases in their area)."""
    return ACTOR_MOVES.get(actor_kind(actor), frozenset())


def available_moves(db: Db, reference: str, actor: Actor) -> list[Move]:
    """Return the moves this actor could make on the case now (what a desk page offers as buttons).

    apply_move still decides: the case may change between this look and the move.
    """
    with db() as session:
        case = find_case(session, reference)
        if case is None:
            return []
        staff, _ = _acting_staff(session, case, actor)
        kind = actor_kind(actor)
        if staff is None and kind != "sweep":
            return []
        status = CaseStatus(case.status)
        has_next = session.get_one(Area, case.desk_id).parent_id is not None
        moves = []
        for move in sorted(ACTOR_MOVES.get(kind, frozenset()), key=list(Move).index):
            if status not in RULES[move].start:
                continue
            held_by_other = case.picked_by_id is not None and case.picked_by_id != getattr(staff, "id", None)
            if move in (Move.ACKNOWLEDGE, Move.DESK_ACKNOWLEDGE) and case.acknowledged_at is not None:
                continue
            if move is Move.PICK_UP and case.picked_by_id is not None:
                continue
            if move in OWNED_MOVES and held_by_other and staff is not None:
                continue
            if move is Move.TAKE_OVER and not (
                held_by_other and staff and _may_take_over(session, staff, case)
            ):
                continue
            if move is Move.ASK_INFO and case.citizen_phone is None:
                continue
            if move is Move.ESCALATE and not has_next:
                continue
            moves.append(move)
        return moves


def apply_move(
    db: Db,
    reference: str,
    actor: Actor,
    move: Move | str,
    settings: ServiceSettings,
    texts: CaseTexts,
    note: str | None = None,
    request_key: str | None = None,
    now: datetime | None = None,
    language: str | None = None,
) -> MoveResult:
    """Make one move on a case in its own transaction; see apply_move_in."""
    try:
        with db.begin() as session:
            return apply_move_in(
                session, reference, actor, move, settings, texts, note, request_key, now, language
            )
    except IntegrityError:
        # The same request_key won a race in another transaction: that one was the move.
        if request_key is None:
            raise
        with db() as session:
            case = find_case(session, reference)
            view = view_of(case, language or settings.default_language) if case else None
        return MoveResult(False, Refusal.ALREADY_DONE, view)


def apply_move_in(
    session: Session,
    reference: str,
    actor: Actor,
    move: Move | str,
    settings: ServiceSettings,
    texts: CaseTexts,
    note: str | None = None,
    request_key: str | None = None,
    now: datetime | None = None,
    language: str | None = None,
) -> MoveResult:
    """Make one move on a case inside the caller's transaction, or change nothing and say why.

    request_key names the request (with who acted: an inbound SMS, a desk form); the same key
    twice is one move. The view returned has place names in language (DEFAULT_LANGUAGE if None).
    """
    move = Move(move)
    language = language or settings.default_language
    now = now or utcnow()
    case = find_case(session, reference)
    if case is None:
        return MoveResult(False, Refusal.NOT_FOUND)
    if request_key and session.scalar(select(CaseEvent.id).where(CaseEvent.request_key == request_key)):
        return MoveResult(False, Refusal.ALREADY_DONE, view_of(case, language))
    staff, phone = _acting_staff(session, case, actor)
    kind = actor_kind(actor)
    if move not in ACTOR_MOVES.get(kind, frozenset()) or (kind != "sweep" and staff is None):
        who = NOT_THE_LEADER if kind == "village_chief" else NOT_THIS_DESK
        if _refusals_today(session, case, staff, phone, settings, now) < REFUSALS_KEPT_PER_DAY:
            record_event(session, case, f"refused_{move}", "staff", staff, phone, note=who)
        else:
            # Past a few a day the timeline would only grow: the attempt is counted in the log.
            log.warning(
                "refused move on case %s not recorded again today", case.reference, extra={"move": move}
            )
        return MoveResult(False, Refusal.NOT_ALLOWED, view_of(case, language))
    rule = RULES[move]
    note = (note or "").strip() or None
    if rule.needs_note and note is None:
        return MoveResult(False, Refusal.NEEDS_NOTE, view_of(case, language))
    if move is Move.NOTE:
        record_event(session, case, rule.event, "staff", staff, phone, note, request_key)
        return MoveResult(True, None, view_of(case, language))
    if move is Move.ASK_INFO and case.citizen_phone is None:
        return MoveResult(False, Refusal.NO_PHONE, view_of(case, language))
    holder = case.picked_by
    if move is Move.TAKE_OVER:
        assert staff is not None
        refusal = _take_over_refusal(session, staff, case)
        if refusal is not None:
            return MoveResult(False, refusal, view_of(case, language))
        # Who held it before stays on the timeline, with what the officer wrote.
        note = f"from {holder.name}" + (f": {note}" if note else "") if holder else note

    next_desk = None
    if move is Move.ESCALATE:
        next_desk = session.get_one(Area, case.desk_id).parent
        if next_desk is None:
            return MoveResult(False, Refusal.TOP_LEVEL, view_of(case, language))
    where, values = _guards(case, move, rule, staff, note, next_desk, settings, now, sweep=kind == "sweep")
    moved = session.scalar(update(Case).where(*where).values(**values).returning(Case.id))
    session.refresh(case)
    if moved is None:
        return MoveResult(False, _why_not(case, move, staff, kind), view_of(case, language))

    event = record_event(
        session,
        case,
        rule.event,
        "system" if kind == "sweep" else "staff",
        staff,
        phone,
        note if move is not Move.ESCALATE or kind != "sweep" else "deadline passed",
        request_key,
    )
    _tell(session, case, move, event, staff, note, settings, texts)
    if next_desk is not None:
        _alert_level(session, case, next_desk, event, settings, texts)
    return MoveResult(True, None, view_of(case, language))


def _refusals_today(
    session: Session,
    case: Case,
    staff: Staff | None,
    phone: str | None,
    settings: ServiceSettings,
    now: datetime,
) -> int:
    """Count the refused attempts this actor made on this case since local midnight."""
    who = CaseEvent.staff_id == staff.id if staff is not None else CaseEvent.phone == phone
    return int(
        session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(
                CaseEvent.case_id == case.id,
                CaseEvent.action.like("refused_%"),
                who,
                CaseEvent.at >= start_of_local_day(settings.zone, now),
            )
        )
        or 0
    )


def _acting_staff(session: Session, case: Case, actor: Actor) -> tuple[Staff | None, str | None]:
    """Return the active staff member acting, if they may act on this case at all, and their phone."""
    if isinstance(actor, SweepActor):
        return None, None
    if isinstance(actor, ChiefPhone):
        chief = session.scalar(
            select(Staff).where(
                Staff.phone == actor.phone,
                Staff.role == "village_chief",
                Staff.area_id == case.village_id,
                Staff.active.is_(True),
            )
        )
        if chief is None or "village_chief" not in ROUTES.get(case.category or "", DEFAULT_ROUTE).alert_roles:
            return None, actor.phone
        return chief, actor.phone
    staff = session.get(Staff, actor.id)
    if staff is None or not staff.active:
        return None, actor.phone
    if staff.role == "village_chief":
        return _acting_staff(session, case, ChiefPhone(staff.phone))
    return (staff if _works_desk(session, staff, case) else None), staff.phone


def _may_take_over(session: Session, staff: Staff, case: Case) -> bool:
    """An officer of a level above the case's desk may take it; anyone of the desk, from a holder gone."""
    holder = case.picked_by
    if holder is not None and not holder.active:
        return True
    if staff.role == "national_admin":
        return True
    return staff.area_id != case.desk_id and _works_desk(session, staff, case)


def _take_over_refusal(session: Session, staff: Staff, case: Case) -> Refusal | None:
    """Say why this officer may not take the case over now (None: they may)."""
    if CaseStatus(case.status) in CLOSED:
        return Refusal.CLOSED
    if case.picked_by_id is None:
        return Refusal.NOT_NOW  # nobody holds it: pick it up
    if case.picked_by_id == staff.id:
        return Refusal.ALREADY_DONE
    if not _may_take_over(session, staff, case):
        return Refusal.HELD
    return None


def _works_desk(session: Session, staff: Staff, case: Case) -> bool:
    """A national admin works every desk; other officers their area's desk and those below it."""
    if staff.role == "national_admin":
        return True
    area: Area | None = session.get_one(Area, case.desk_id)
    while area is not None:
        if area.id == staff.area_id:
            return True
        area = area.parent
    return False


def _guards(
    case: Case,
    move: Move,
    rule: Rule,
    staff: Staff | None,
    note: str | None,
    next_desk: Area | None,
    settings: ServiceSettings,
    now: datetime,
    sweep: bool,
) -> tuple[list[Any], dict[str, Any]]:
    """Return the conditions under which the move still applies, and what it writes."""
    where: list[Any] = [Case.id == case.id, Case.status.in_([str(s) for s in rule.start])]
    values: dict[str, Any] = {"updated_at": now}
    if rule.to is not None:
        values["status"] = str(rule.to)
    if move in OWNED_MOVES and staff is not None:
        # In SQL: a pick-up by another officer may have landed since this transaction read the case.
        where.append(or_(Case.picked_by_id.is_(None), Case.picked_by_id == staff.id))
    if move in (Move.ACKNOWLEDGE, Move.DESK_ACKNOWLEDGE):
        where.append(Case.acknowledged_at.is_(None))
        values["acknowledged_at"] = now
    elif move is Move.RESOLVE_IN_VILLAGE:
        # What the chief wrote is the outcome, kept as written.
        if note is not None:
            values["outcome"] = note
        # In SQL, not from what this transaction read: an OK may have landed since.
        values["acknowledged_at"] = func.coalesce(Case.acknowledged_at, literal(now, UtcDateTime()))
    elif move is Move.PICK_UP:
        assert staff is not None
        where.append(Case.picked_by_id.is_(None))
        # Picking up is acknowledging: the acknowledgement deadline no longer runs.
        values.update(
            picked_by_id=staff.id,
            picked_at=now,
            acknowledged_at=func.coalesce(Case.acknowledged_at, literal(now, UtcDateTime())),
        )
    elif move is Move.TAKE_OVER:
        assert staff is not None
        # From the holder this transaction saw: two officers taking over at once, one wins.
        where.append(Case.picked_by_id == case.picked_by_id)
        values.update(picked_by_id=staff.id, picked_at=now)
    elif move in (Move.RESOLVE, Move.REJECT):
        values.update(closed_at=now, outcome=note)
    elif move is Move.ESCALATE:
        assert next_desk is not None
        # From where it is now, once: two escalations at once move it one level, not two.
        where.append(Case.desk_id == case.desk_id)
        if sweep:
            where.append(overdue_condition(now))
        ack_due, resolve_due = settings.deadlines.due(case.category, now, settings.zone, case.kind)
        # The next level takes it afresh: nobody holds it, and its own deadlines start now.
        values.update(
            desk_id=next_desk.id,
            escalated_at=now,
            picked_by_id=None,
            picked_at=None,
            acknowledged_at=None,
            ack_due_at=ack_due,
            resolve_due_at=resolve_due,
        )
    return where, values


def overdue_condition(now: datetime) -> Any:
    """Past the acknowledgement deadline unacknowledged (nor picked up), or past resolution."""
    return or_(and_(Case.acknowledged_at.is_(None), Case.ack_due_at < now), Case.resolve_due_at < now)


def _why_not(case: Case, move: Move, staff: Staff | None, kind: str) -> Refusal:
    """Say why a move found the case where it could not start."""
    status = CaseStatus(case.status)
    if (move is Move.RESOLVE and status is S.RESOLVED) or (move is Move.REJECT and status is S.REJECTED):
        return Refusal.ALREADY_DONE
    if status in CLOSED:
        return Refusal.CLOSED
    if move in (Move.ACKNOWLEDGE, Move.DESK_ACKNOWLEDGE) and case.acknowledged_at is not None:
        return Refusal.ALREADY_DONE
    if move is Move.RESOLVE_IN_VILLAGE and status is S.RESOLVED_IN_VILLAGE:
        return Refusal.ALREADY_DONE
    if move is Move.PICK_UP and case.picked_by_id is not None:
        return Refusal.ALREADY_DONE if staff and case.picked_by_id == staff.id else Refusal.ALREADY_TAKEN
    if move in OWNED_MOVES and staff and case.picked_by_id not in (None, staff.id):
        return Refusal.HELD
    if move is Move.TAKE_OVER and staff and case.picked_by_id == staff.id:
        return Refusal.ALREADY_DONE
    if move is Move.ESCALATE and kind == "sweep":
        return Refusal.NOT_OVERDUE
    return Refusal.NOT_NOW


def _tell(
    session: Session,
    case: Case,
    move: Move,
    event: CaseEvent,
    staff: Staff | None,
    note: str | None,
    settings: ServiceSettings,
    texts: CaseTexts,
) -> None:
    """Write the citizen's SMS for a move, in their language, keyed by the event."""
    if case.citizen_phone is None:
        return
    language = language_of(session, case.citizen_phone, case.language or settings.default_language)
    reference = case.reference
    if move is Move.ACKNOWLEDGE:
        body = texts.acknowledged(language, reference, staff.name if staff else "")
    elif move in (Move.RESOLVE_IN_VILLAGE, Move.RESOLVE):
        body = texts.resolved(language, reference, note or "-")
    elif move is Move.REJECT:
        body = texts.rejected(language, reference, note or "-")
    elif move is Move.PICK_UP:
        body = texts.picked_up(language, reference)
    elif move is Move.ESCALATE:
        body = texts.escalated(language, reference, case.desk.level)
    elif move is Move.DESK_ACKNOWLEDGE:
        body = texts.desk_acknowledged(language, reference, case.desk.level)
    elif move is Move.ASK_INFO:
        body = texts.asked_for_information(language, reference, note or "")
    else:
        return
    add_sms(
        session,
        case.citizen_phone,
        language,
        body,
        "case_update",
        settings.sms_policy,
        idempotency_key=f"case:{reference}:event:{event.id}:citizen",
    )


def _alert_level(
    session: Session, case: Case, desk: Area, event: CaseEvent, settings: ServiceSettings, texts: CaseTexts
) -> None:
    """Alert the officers of the level a case was escalated to, each in their language."""
    role = LEVEL_OFFICERS.get(desk.level)
    if role is None:
        return
    category = case.category or case.kind
    alert_staff(
        session,
        active_staff(session, (role,), desk.id),
        lambda lang: texts.escalation_alert(
            lang, case.reference, category, village_path(session, case.village_id, lang)
        ),
        "staff_alert",
        f"case:{case.reference}:event:{event.id}:alert",
        settings.sms_policy,
        settings.default_language,
    )


__all__ = [
    "ACTOR_MOVES",
    "OWNED_MOVES",
    "RULES",
    "SWEEP",
    "Rule",
    "actor_kind",
    "allowed_moves",
    "apply_move",
    "apply_move_in",
    "available_moves",
]
