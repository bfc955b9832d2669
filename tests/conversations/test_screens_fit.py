"""Walk every screen a person can reach, in every language, and measure it by its encoding."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import pytest

from app import SERVICE_DOWN, WRONG_CODE
from conversations.i18n import Translator
from phonetext.encoding import Budget, units
from phonetext.splitting import can_break_before
from registry.services import set_language
from tests.phones import Phone

CHOICE = re.compile(r"^(\d+) ")


def keys_on(screen: str) -> list[str]:
    """Every key that may open a new screen: its choices, the next page and one wrong key."""
    keys = [m.group(1) for line in screen.split("\n") if (m := CHOICE.match(line))]
    # 0 and 00 only lead back to screens already seen; the flow tests cover them.
    return [k for k in keys if k != "98"] + ["98", "7x"]


def walk(app: Any, number: str) -> dict[str, tuple[str, ...]]:
    """Breadth-first over every reachable screen; return each distinct screen with a path to it.

    Each branch continues a copy of its parent's session, so a screen costs one hop.
    """
    client, redis = app.test_client(), app.extensions["janela"].redis
    first = Phone(client, number)
    seen: dict[str, tuple[str, ...]] = {first.dial(): ()}
    queue: deque[Phone] = deque([first])
    while queue:
        parent = queue.popleft()
        for key in keys_on(parent.screen):
            child = parent.fork(redis)
            screen = child.send(key)
            if screen not in seen:
                seen[screen] = tuple(child.inputs)
                if not child.ended:
                    queue.append(child)
    return seen


def assert_pages_cut_cleanly(screen: str) -> None:
    for line in screen.split("\n"):
        if line:
            assert can_break_before(line, 0)
            assert not line.startswith(("\u17d2",)), f"line starts inside a syllable: {line!r}"


@pytest.mark.parametrize(
    ("country", "language"),
    [("KH", "km"), ("KH", "pt"), ("KH", "en"), ("MZ", "pt"), ("MZ", "km"), ("MZ", "en")],
)
def test_every_reachable_screen_fits(make_app: Any, country: str, language: str) -> None:
    app = make_app(catalogue=country, COUNTRY=country)
    number = "+85512345678" if country == "KH" else "+258841234567"
    set_language(app.extensions["janela"].db, number, language)
    screens = walk(app, number)
    budget = Budget()
    assert len(screens) > 60  # every programme, section and page was reached
    for screen, path in screens.items():
        assert budget.fits(screen), f"{path}: {units(screen)} units\n{screen}"
        assert_pages_cut_cleanly(screen)


def test_language_screen_and_its_reprompt_fit(client: Any) -> None:
    phone = Phone(client, "+85512000002")
    assert Budget().fits(phone.dial())
    assert Budget().fits(phone.send("9"))


@pytest.mark.parametrize("language", ["km", "pt", "en"])
def test_apologies_fit_one_end_screen(language: str) -> None:
    t = Translator(language)
    for message in (SERVICE_DOWN, WRONG_CODE):
        assert Budget().fits(t(message)), t(message)


def test_tighter_budgets_from_settings_are_honoured(make_app: Any) -> None:
    app = make_app(USSD_MAX_GSM7=120, USSD_MAX_UCS2=60)
    number = "+85512345678"
    set_language(app.extensions["janela"].db, number, "km")
    screens = walk(app, number)
    for screen in screens:
        assert Budget(120, 60).fits(screen), screen
