"""Press every key a person might press on every screen, and fail on any loop or hidden option."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import pytest

from conversations.i18n import Translator
from conversations.rendering import INVALID_CHOICE
from phonetext.encoding import fold_to_gsm7
from registry.services import set_language
from tests.phones import Phone

OPTION = re.compile(r"^(\d+) ")
NAV = ("0", "00", "98")


def options(screen: str) -> list[str]:
    """The option lines of a screen (not its navigation)."""
    return [line for line in screen.split("\n") if (m := OPTION.match(line)) and m.group(1) not in NAV]


def offered(screen: str) -> list[str]:
    """Every key a screen shows, navigation included."""
    return [m.group(1) for line in screen.split("\n") if (m := OPTION.match(line))]


def refused(screen: str, language: str) -> bool:
    reason = Translator(language)(INVALID_CHOICE)
    return screen.startswith((reason + "\n", fold_to_gsm7(reason) + "\n"))


def walk(app: Any, number: str, language: str) -> list[str]:
    """Visit every reachable screen, pressing every key; return the problems found."""
    client, redis = app.test_client(), app.extensions["janela"].redis
    first = Phone(client, number)
    first.dial()
    seen = {first.screen}
    queue: deque[Phone] = deque([first])
    problems: list[str] = []
    while queue:
        parent = queue.popleft()
        screen, shown = parent.screen, options(parent.screen)
        keys = offered(screen)
        if len(shown) == 1 and ("98" in keys or not shown[0].startswith("1 ")):
            problems.append(f"{parent.inputs}: a menu page with one option of several\n{screen}")
        for key in [*keys, "0", "00", "98", "99", "7x", "x" * 200]:
            child = parent.fork(redis)
            reply = child.send(key)
            if key in keys and refused(reply, language):
                problems.append(f"{child.inputs}: offers {key} then refuses it\n{screen}\n--\n{reply}")
            if key == "7x" and refused(reply, language) and not set(shown) <= set(options(reply)):
                problems.append(f"{child.inputs}: the re-prompt hides options\n{screen}\n--\n{reply}")
            if key == "98" and "98" in keys and not child.ended and not reply.split("\n")[0].strip():
                problems.append(f"{child.inputs}: empty page")
            if key == "98" and "98" in keys and not shown and reply.startswith("1 "):
                problems.append(f"{child.inputs}: a question alone on its page\n{screen}")
            if key in keys and reply not in seen and not child.ended:
                seen.add(reply)
                queue.append(child)
    return problems


@pytest.mark.parametrize(("country", "language"), [("KH", "km"), ("KH", "pt"), ("MZ", "pt")])
def test_no_screen_offers_a_key_it_then_refuses(make_app: Any, country: str, language: str) -> None:
    app = make_app(catalogue=country, COUNTRY=country)
    number = "+85512345678" if country == "KH" else "+258841234567"
    set_language(app.extensions["janela"].db, number, language)
    problems = walk(app, number, language)
    assert not problems, "\n\n".join(problems[:5])
