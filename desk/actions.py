"""The one place the desk moves a case: every action goes through the case state machine.

The same moves, guards, timeline events and citizen SMS as the chiefs' SMS and the command line;
the form's one-time token, with who acted, makes a form submitted twice one move.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.case_texts import CaseTexts
from registry.case_states import apply_move, available_moves
from registry.case_types import Move
from registry.idempotency import request_key
from registry.scoping import Actor, staff_row
from registry.services import Db
from registry.settings import ServiceSettings

# The actions the desk offers, in the order the case page shows them.
ACTIONS = (
    Move.DESK_ACKNOWLEDGE,
    Move.PICK_UP,
    Move.TAKE_OVER,
    Move.NOTE,
    Move.ASK_INFO,
    Move.RESOLVE,
    Move.REJECT,
    Move.ESCALATE,
)
NEEDS_TEXT = (Move.NOTE, Move.ASK_INFO, Move.RESOLVE, Move.REJECT)


@dataclass(frozen=True)
class Moved:
    """What became of an action: done, or the reason it was not (already_taken, closed...)."""

    ok: bool
    reason: str = ""
    held_by: str = ""  # who holds the case, for a refusal that names them


def move_case(
    db: Db,
    actor: Actor,
    reference: str,
    action: str,
    note: str,
    settings: ServiceSettings,
    form_token: str | None = None,
    language: str | None = None,
) -> Moved:
    """Apply a desk action to a case the actor may read (the caller checked the scope)."""
    staff = staff_row(db, actor)
    if staff is None:
        return Moved(False, "not_allowed")
    key = request_key("desk", actor.phone, f"{actor.id}:{form_token}") if form_token else None
    result = apply_move(
        db,
        reference,
        staff,
        action,
        settings,
        CaseTexts(settings.country),
        note=note or None,
        request_key=key,
        language=language,
    )
    return Moved(result.applied, str(result.refusal or ""), result.case.held_by if result.case else "")


def offered_moves(db: Db, actor: Actor, reference: str) -> list[str]:
    """Return the desk actions this officer could take on the case now, as the page offers them."""
    staff = staff_row(db, actor)
    if staff is None:
        return []
    possible = set(available_moves(db, reference, staff))
    return [str(move) for move in ACTIONS if move in possible]
