"""The signed-in staff member, as Flask-Login keeps them."""

from __future__ import annotations

from flask import current_app
from flask_login import UserMixin

from registry.scoping import Actor, load_actor


class DeskUser(UserMixin):
    """A desk staff member signed in to this browser."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def get_id(self) -> str:
        """Return the id the session cookie keeps."""
        return str(self.actor.id)


def load_user(user_id: str) -> DeskUser | None:
    """Reload the staff member of a session; a deactivated one is signed out."""
    if not user_id.isdigit():
        return None
    with current_app.extensions["janela"].db() as session:
        actor = load_actor(session, int(user_id))
    return DeskUser(actor) if actor else None
