"""Press every key a person might press on every screen, and fail on any loop or hidden option."""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

import pytest

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


# Where a sentence or a question may end: a page of text ending elsewhere was cut mid-phrase.
SENTENCE_END = (".", "?", "!", ":", ")", '"', "\u17d4", "\u17d5", "\u17d6")


def where(redis: Any, phone: Phone) -> list[tuple[str, str, int]]:
    """The screens open in a phone's session, with their parameters and the page shown."""
    raw = redis.get(f"janela:ussd:session:{phone.session_id}")
    if raw is None:
        return []
    stack = json.loads(raw)["stack"]
    return [(f["screen"], json.dumps(f["params"], sort_keys=True), f["page"]) for f in stack]


def refused(
    before: list[tuple[str, str, int]], after: list[tuple[str, str, int]], screen: str, reply: str
) -> bool:
    """An offered key was refused: it left the person where they were, with the same options."""
    return before == after and options(reply) == options(screen)


def text_lines(screen: str) -> list[str]:
    """The lines of a screen before its first option or navigation line."""
    lines = screen.split("\n")
    cut = next((i for i, line in enumerate(lines) if OPTION.match(line)), len(lines))
    return lines[:cut]


def walk(app: Any, number: str) -> list[str]:
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
        before = where(redis, parent)
        for key in dict.fromkeys([*keys, "0", "00", "98", "99", "7x", "x" * 200]):
            child = parent.fork(redis)
            reply = child.send(key)
            stayed = where(redis, child) == before
            if key in keys and not child.ended and refused(before, where(redis, child), screen, reply):
                problems.append(f"{child.inputs}: offers {key} then refuses it\n{screen}\n--\n{reply}")
            if key == "7x" and stayed and not set(shown) <= set(options(reply)):
                problems.append(f"{child.inputs}: the re-prompt hides options\n{screen}\n--\n{reply}")
            if key == "7x" and stayed and reply == screen:
                problems.append(f"{child.inputs}: a wrong key refused without a reason\n{screen}")
            if key == "7x" and stayed and text_lines(screen) and not text_lines(reply):
                problems.append(f"{child.inputs}: the re-prompt blanks the text\n{screen}\n--\n{reply}")
            body = text_lines(screen)
            if (
                key == "98"
                and "98" in keys
                and not shown
                and body
                and not body[-1].rstrip().endswith(SENTENCE_END)
                and options(reply)
                and text_lines(reply)
            ):
                problems.append(f"{child.inputs}: a question cut mid-phrase\n{screen}\n--\n{reply}")
            if key == "98" and "98" in keys and not child.ended and not reply.split("\n")[0].strip():
                problems.append(f"{child.inputs}: empty page")
            if key == "98" and "98" in keys and not shown and reply.startswith("1 "):
                problems.append(f"{child.inputs}: a question alone on its page\n{screen}")
            if key in keys and reply not in seen and not child.ended:
                seen.add(reply)
                queue.append(child)
    return problems


@pytest.mark.parametrize(
    ("country", "language", "fold"),
    [
        ("KH", "km", "auto"),
        ("KH", "pt", "auto"),
        ("KH", "pt", "off"),
        ("KH", "en", "auto"),
        ("MZ", "pt", "auto"),
        ("MZ", "pt", "off"),
        ("MZ", "en", "auto"),
    ],
)
def test_no_screen_offers_a_key_it_then_refuses(
    make_app: Any, country: str, language: str, fold: str
) -> None:
    app = make_app(catalogue=country, COUNTRY=country, USSD_FOLD_ACCENTS=fold)
    number = "+85512345678" if country == "KH" else "+258841234567"
    set_language(app.extensions["janela"].db, number, language)
    problems = walk(app, number)
    assert not problems, f"{len(problems)} problems:\n\n" + "\n\n".join(problems[:8])
