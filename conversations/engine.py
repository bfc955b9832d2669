"""The USSD engine: turns one hop into one screen, remembering the session in Redis."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import redis
from sqlalchemy.orm import Session, sessionmaker

from conversations.drafts import DraftStore
from conversations.flows import LANGUAGE, MAIN, SCREENS
from conversations.i18n import N_, Translator
from conversations.paging import Footer, paginate
from conversations.prereg import FLOW as PREREGISTRATION
from conversations.screens import (
    BACK,
    HOME,
    MORE,
    Context,
    Do,
    Go,
    Home,
    Invalid,
    Screen,
    Stay,
    Target,
    Up,
    View,
)
from conversations.session import Frame, Reply, SessionState, SessionStore
from conversations.settings import Settings
from registry import services
from registry.errors import NotFound

log = logging.getLogger(__name__)

RESUME = "prereg_resume"
INVALID_CHOICE = N_("Invalid choice. Try again.")
GONE = N_("That item is no longer available.")
MAX_INPUT = 160  # longer than any answer a screen asks for
_LOCAL_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


@dataclass(frozen=True)
class Hop:
    """One request of a USSD session, as any gateway adapter reports it."""

    session_id: str
    phone: str
    inputs: tuple[str, ...]  # every input of the session so far, oldest first


def normalise_input(raw: str) -> str | None:
    """Tidy what a person typed: trim, drop a trailing '#', read Khmer digits; None if absurd."""
    text = raw.strip().rstrip("#").strip().translate(_LOCAL_DIGITS)
    if len(text) > MAX_INPUT:
        return None
    return text


def digest(inputs: Sequence[str]) -> str:
    """Fingerprint a hop's inputs without keeping what was typed."""
    return hashlib.sha256("\x1f".join(inputs).encode("utf-8", "replace")).hexdigest()[:32]


class Engine:
    """Answer USSD hops: load the session, act on the latest input, render the next screen."""

    def __init__(
        self,
        client: redis.Redis,
        db: sessionmaker[Session],
        settings: Settings,
        screens: Mapping[str, Screen] = SCREENS,
    ) -> None:
        self.store = SessionStore(client, settings.session_ttl)
        self.drafts = DraftStore(client, settings.draft_ttl)
        self.db = db
        self.settings = settings
        self.screens = screens

    def handle(self, hop: Hop) -> Reply:
        """Answer one hop; a repeated hop gets the same reply and repeats nothing."""
        fingerprint = digest(hop.inputs)
        with self.store.locked(hop.session_id):
            state = self.store.load(hop.session_id)
            if state and state.reply and state.digest == fingerprint:
                return state.reply
            if state is None or state.ended:
                state = self._start(hop)
            else:
                fresh = hop.inputs[state.seen :] if len(hop.inputs) > state.seen else hop.inputs[-1:]
                self._act(hop.session_id, state, "*".join(fresh))
            self._replay_pending(hop.session_id, state)
            reply = self._render(hop.session_id, state)
            state.seen, state.digest, state.reply, state.ended = (
                len(hop.inputs),
                fingerprint,
                reply,
                reply.final,
            )
            self.store.save(hop.session_id, state)
            return reply

    def language_for(self, phone: str) -> str:
        """Return the language to apologise in: the caller's if it can be read, else the default."""
        try:
            return services.get_language(self.db, phone) or self.settings.default_language
        except Exception:
            log.warning("could not read the caller's language", exc_info=True)
            return self.settings.default_language

    def _start(self, hop: Hop) -> SessionState:
        language = services.get_language(self.db, hop.phone)
        if language not in self.settings.languages:
            language = None
        if language is None and len(self.settings.languages) == 1:
            language = self.settings.languages[0]
        state = SessionState(hop.phone, language, [Frame(MAIN)])
        # Extra digits in the dial string (*384*123*1#) arrive as inputs of the first hop.
        state.pending = list(hop.inputs)
        if language is None:
            state.stack = [Frame(LANGUAGE)]
        elif not state.pending and self.drafts.load(PREREGISTRATION, hop.phone):
            # A call that dropped mid-way: offer to continue before anything else.
            state.stack.append(Frame(RESUME))
        return state

    def _replay_pending(self, session_id: str, state: SessionState) -> None:
        while state.pending and state.language is not None:
            self._act(session_id, state, state.pending.pop(0))
            if state.notice:
                # A dial string that leads nowhere stops where it went wrong, quietly.
                state.notice, state.pending = None, []

    def _context(self, session_id: str, state: SessionState) -> Context:
        frame = state.stack[-1]
        language = state.language or self.settings.default_language
        return Context(
            session_id, state, frame.params, Translator(language), self.db, self.settings, self.drafts
        )

    def _view(self, session_id: str, state: SessionState) -> tuple[View, Context]:
        ctx = self._context(session_id, state)
        return self.screens[state.stack[-1].screen].view(ctx), ctx

    def _act(self, session_id: str, state: SessionState, raw: str) -> None:
        text = normalise_input(raw)
        frame = state.stack[-1]
        try:
            view, ctx = self._view(session_id, state)
        except NotFound:
            self._go_home(state, GONE)
            return
        if text == HOME:
            self._go_home(state)
            return
        if text == BACK and view.nav:
            if frame.page > 0:
                frame.page -= 1
            elif len(state.stack) > 1:
                state.stack.pop()
            return
        if text == MORE and frame.page < len(self._pages(view, ctx, None)) - 1:
            frame.page += 1
            return
        choice = view.choice_for(text) if text is not None else None
        if choice is not None:
            target: Target = choice.target
        elif view.prompt is not None and text:
            target = Do(lambda c: view.prompt(c, text))  # type: ignore[misc]
        else:
            state.notice = INVALID_CHOICE
            return
        try:
            self._follow(state, ctx, target)
        except NotFound:
            self._go_home(state, GONE)

    def _follow(self, state: SessionState, ctx: Context, target: Target) -> None:
        while isinstance(target, Do):
            target = target.action(ctx)
        if isinstance(target, Home):
            self._go_home(state)
        elif isinstance(target, Go):
            state.stack.append(Frame(target.screen, dict(target.params)))
        elif isinstance(target, Up):
            names = [frame.screen for frame in state.stack]
            if target.screen in names:
                del state.stack[len(names) - names[::-1].index(target.screen) :]
                state.stack[-1].page = 0
            else:
                state.stack.append(Frame(target.screen))
        elif isinstance(target, Invalid):
            state.notice = target.reason
        elif isinstance(target, Stay):
            pass

    def _go_home(self, state: SessionState, notice: str | None = None) -> None:
        state.stack = [Frame(MAIN if state.language else LANGUAGE)]
        state.notice = notice

    def _pages(self, view: View, ctx: Context, notice: str | None) -> list[str]:
        """Page a view so that every page, with its notice and navigation, fits the budget."""
        footer = self._footer(view, ctx)
        lines = view.body.split("\n")
        choices = [f"{i} {choice.label}" for i, choice in enumerate(view.choices, start=1)]
        if view.whole_lines:
            lines, choices = [], lines + choices
        return paginate(lines, choices, self.settings.budget.fits, footer, notice or "")

    def _footer(self, view: View, ctx: Context) -> Footer:
        """Return the navigation a view's pages end with."""
        more = ctx.t("{more} More", more=MORE)
        if view.final:
            # A closing text too long for one screen pages like any other; its last page ends.
            return Footer("", more)
        nav = ctx.t("{back} Back {home} Home", back=BACK, home=HOME) if view.nav else ""
        return Footer(nav, "\n".join(filter(None, [more, nav])))

    def _render(self, session_id: str, state: SessionState) -> Reply:
        try:
            view, ctx = self._view(session_id, state)
        except NotFound:
            self._go_home(state, GONE)
            view, ctx = self._view(session_id, state)
        pages = self._pages(view, ctx, None)
        frame = state.stack[-1]
        frame.page = min(frame.page, len(pages) - 1)
        page = pages[frame.page]
        if state.notice:
            page = self._with_notice(view, ctx, ctx.t(state.notice), page, frame.page)
            state.notice = None
        return Reply(page, view.final and frame.page == len(pages) - 1)

    def _with_notice(self, view: View, ctx: Context, notice: str, page: str, index: int) -> str:
        """Put the reason above the page the person was on, re-paging only if it must."""
        if self.settings.budget.fits(f"{notice}\n{page}"):
            return f"{notice}\n{page}"
        noticed = self._pages(view, ctx, notice)
        if not all(self.settings.budget.fits(p) for p in noticed):
            # Too long to head every page: the reason comes first, as the start of the screen.
            reason_first = replace(view, body=f"{notice}\n{view.body}")
            return self._pages(reason_first, ctx, None)[0]
        # Show the re-paged page on which the page the person was on begins.
        start = page.split("\n", 1)[0][:12]
        return next((p for p in noticed if start in p), noticed[min(index, len(noticed) - 1)])
