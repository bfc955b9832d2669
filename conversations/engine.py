"""The USSD engine: turns one hop into one screen, remembering the session in Redis."""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from conversations import rendering
from conversations.drafts import DraftStore
from conversations.flows import LANGUAGE, MAIN, SCREENS
from conversations.i18n import N_, Translator
from conversations.resume import ResumeOffer, resume_offers
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

INVALID_CHOICE = rendering.INVALID_CHOICE
TOO_LONG = N_("That answer is too long. Try again, shorter.")
GONE = N_("That item is no longer available.")
MAX_INPUT = 160  # longer than any answer a screen asks for
_LOCAL_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


class Hop(ABC):
    """One request of a USSD session, as a gateway adapter reports it (never its wire format)."""

    session_id: str
    phone: str

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identify this request's inputs, so that a repeated request is recognised."""

    @abstractmethod
    def dialled(self) -> tuple[tuple[str, ...], int]:
        """Return the inputs that came with a new session's dial string, and the mark to keep."""

    @abstractmethod
    def inputs_after(self, seen: int) -> tuple[tuple[str, ...], int]:
        """Return the person's inputs not yet acted on (after mark `seen`), and the new mark."""


def normalise_input(raw: str) -> str | None:
    """Tidy what a person typed: trim, drop a trailing '#', read Khmer digits; None if absurd."""
    text = raw.strip().rstrip("#").strip().translate(_LOCAL_DIGITS)
    if len(text) > MAX_INPUT:
        return None
    return text


def digest(inputs: Sequence[str]) -> str:
    """Fingerprint a hop's inputs without keeping what was typed."""
    return hashlib.sha256("\x1f".join(inputs).encode("utf-8", "replace")).hexdigest()[:32]


@cache
def translator(language: str) -> Translator:
    """Return the one translator of a language: built once per process, not once per hop."""
    return Translator(language)


class Engine:
    """Answer USSD hops: load the session, act on the latest input, render the next screen."""

    def __init__(
        self,
        client: redis.Redis,
        db: sessionmaker[Session],
        settings: Settings,
        screens: Mapping[str, Screen] = SCREENS,
        offers: Sequence[ResumeOffer] | None = None,
    ) -> None:
        self.store = SessionStore(client, settings.session_ttl)
        self.drafts = DraftStore(client, settings.draft_ttl)
        self.db = db
        self.settings = settings
        self.screens = screens
        self.offers = tuple(resume_offers() if offers is None else offers)

    def handle(self, hop: Hop) -> Reply:
        """Answer one hop; a repeated hop gets the same reply and repeats nothing.

        Two Redis round trips: one takes the session's lock and reads its state (and, for a new
        session, whether a draft waits), one writes the new state and lets go of the lock.
        """
        probes = [DraftStore.key(offer.flow, hop.phone) for offer in self.offers]
        opened = self.store.open(hop.session_id, probes)
        state = opened.state
        shown: tuple[View, Context] | None = None  # the view acted on, if it is still on screen
        try:
            if state and state.reply and state.digest == hop.fingerprint:
                self.store.close(hop.session_id, opened, None)
                return state.reply
            if state is None or state.ended:
                # A session id used again after its end has no probes answered: ask now.
                found = opened.found if state is None else [self.drafts.exists(p) for p in probes]
                state = self._start(hop, found)
            else:
                fresh, state.seen = hop.inputs_after(state.seen)
                for raw in fresh:
                    shown = self._act(hop.session_id, state, raw)
            self._replay_pending(hop.session_id, state)
            reply = self._render(hop.session_id, state, shown)
            state.digest, state.reply, state.ended = hop.fingerprint, reply, reply.final
        except BaseException:
            self.store.close(hop.session_id, opened, None)
            raise
        self.store.close(hop.session_id, opened, state)
        return reply

    def session_language(self, session_id: str) -> str | None:
        """Return the language a live session speaks, from Redis alone (the database may be the fault)."""
        try:
            state = self.store.load(session_id)
        except Exception:
            log.warning("could not read the session's language", exc_info=True)
            return None
        return state.language if state else None

    def language_for(self, phone: str) -> str:
        """Return the language to apologise in: the caller's if it can be read, else the default."""
        try:
            return services.get_language(self.db, phone) or self.settings.default_language
        except Exception:
            log.warning("could not read the caller's language", exc_info=True)
            return self.settings.default_language

    def _start(self, hop: Hop, drafts_found: Sequence[bool]) -> SessionState:
        language = services.get_language(self.db, hop.phone)
        if language not in self.settings.languages:
            language = None
        if language is None and len(self.settings.languages) == 1:
            language = self.settings.languages[0]
        state = SessionState(hop.phone, language, [Frame(MAIN)])
        # Extra digits in the dial string (*384*123*1#) arrive as inputs of the first hop.
        dialled, state.seen = hop.dialled()
        state.pending = list(dialled)
        if language is None:
            state.stack = [Frame(LANGUAGE)]
        elif not state.pending:
            # A call that dropped mid-way: offer to continue before anything else.
            waiting = [offer for offer, found in zip(self.offers, drafts_found, strict=False) if found]
            if waiting:
                state.stack.append(Frame(waiting[0].screen))
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
            session_id, state, frame.params, translator(language), self.db, self.settings, self.drafts
        )

    def _view(self, session_id: str, state: SessionState) -> tuple[View, Context]:
        ctx = self._context(session_id, state)
        return self.screens[state.stack[-1].screen].view(ctx), ctx

    def _act(self, session_id: str, state: SessionState, raw: str) -> tuple[View, Context] | None:
        """Act on one input; return the view still on screen when nothing changed but its page."""
        text = normalise_input(raw)
        frame = state.stack[-1]
        try:
            view, ctx = self._view(session_id, state)
        except NotFound:
            self._go_home(state, GONE)
            return None
        if text == HOME:
            self._go_home(state)
            return None
        if text == BACK and not view.nav:
            # Nowhere to go back to (the main menu, the first language screen): show it again.
            self._go_home(state)
            return None
        if text == BACK:
            if frame.page > 0:
                frame.page -= 1
                return view, ctx
            if len(state.stack) > 1:
                state.stack.pop()
                return None
            return view, ctx
        if text == MORE and frame.page < len(rendering.pages(view, ctx)) - 1:
            frame.page += 1
            return view, ctx
        choice = view.choice_for(text) if text is not None else None
        if choice is not None:
            target: Target = choice.target
        elif view.prompt is not None and text:
            target = Do(lambda c: view.prompt(c, text))  # type: ignore[misc]
        else:
            state.notice = TOO_LONG if text is None and view.prompt is not None else INVALID_CHOICE
            return view, ctx
        try:
            self._follow(state, ctx, target)
        except NotFound:
            self._go_home(state, GONE)
        return None

    def _follow(self, state: SessionState, ctx: Context, target: Target) -> None:
        while isinstance(target, Do):
            target = target.action(ctx)
        if isinstance(target, Home):
            self._go_home(state)
        elif isinstance(target, Go):
            if target.close:
                del state.stack[max(1, len(state.stack) - target.close) :]
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

    def _render(
        self, session_id: str, state: SessionState, shown: tuple[View, Context] | None = None
    ) -> Reply:
        """Render the screen on top of the stack, once: reuse the view acted on if it is still there."""
        try:
            view, ctx = shown or self._view(session_id, state)
        except NotFound:
            self._go_home(state, GONE)
            view, ctx = self._view(session_id, state)
        frame = state.stack[-1]
        text, frame.page, final = rendering.screen(view, ctx, frame.page, state.notice)
        state.notice = None
        return Reply(text, final)
