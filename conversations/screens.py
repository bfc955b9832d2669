"""The building blocks of flows: views, choices, where a choice leads, and the context."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from conversations.drafts import DraftStore
from conversations.i18n import Translator
from conversations.session import SessionState
from conversations.settings import Settings

# The navigation keys, the same on every screen and shown on it.
BACK = "0"
HOME = "00"
MORE = "98"


@dataclass(frozen=True)
class Go:
    """Open a screen on top of the current one."""

    screen: str
    params: Mapping[str, str] = field(default_factory=dict)
    close: int = 0  # screens to close first, so that back skips them (a question already spent)


@dataclass(frozen=True)
class Home:
    """Return to the main menu."""


@dataclass(frozen=True)
class Up:
    """Go back down the stack to a screen already open (or open it, if it is not)."""

    screen: str


@dataclass(frozen=True)
class Stay:
    """Show the same screen again (after a change it shows)."""


@dataclass(frozen=True)
class Invalid:
    """Refuse an answer: show the same screen with the reason on top."""

    reason: str


@dataclass(frozen=True)
class Do:
    """Run an action (a side effect) and go where it says."""

    action: Callable[[Context], Target]


Target = Go | Home | Up | Stay | Invalid | Do
Prompt = Callable[["Context", str], Target]


@dataclass(frozen=True)
class Choice:
    """One numbered line of a menu."""

    label: str
    target: Target


@dataclass(frozen=True)
class View:
    """A screen as rendered for one person: text, choices, and how it may be left."""

    body: str
    choices: Sequence[Choice] = ()
    nav: bool = True  # offers and accepts back and home
    final: bool = False  # ends the session
    prompt: Prompt | None = None  # takes a typed answer that is not one of the choices
    whole_lines: bool = False  # a summary: a line moves to the next page rather than being cut
    short: str = ""  # a shorter body (a programme's label) for when the body would cost a page

    def choice_for(self, key: str) -> Choice | None:
        """Return the choice a typed key selects, if any."""
        if key.isascii() and key.isdigit() and not key.startswith("0"):
            index = int(key) - 1
            if 0 <= index < len(self.choices):
                return self.choices[index]
        return None


@dataclass
class Context:
    """What a screen may use while it renders or acts."""

    session_id: str
    state: SessionState
    params: Mapping[str, str]
    t: Translator
    db: sessionmaker[Session]
    settings: Settings
    drafts: DraftStore

    @property
    def phone(self) -> str:
        """The caller's phone number, E.164."""
        return self.state.phone

    @property
    def language(self) -> str:
        """The language the caller reads."""
        return self.t.language


class Screen(Protocol):
    """Anything that can render itself as a view."""

    def view(self, ctx: Context) -> View:
        """Render for the caller in ctx."""
        ...
