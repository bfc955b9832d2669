"""Compare names the way people write them: case, Latin accents, punctuation and spacing aside."""

from __future__ import annotations

import re
import unicodedata

_NAME = re.compile(r"^[\w\u1780-\u17ff\u200b .'\-]+$")


def name_key(name: str) -> str:
    """Return the form of a name used to spot duplicates."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", name):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out)).casefold()
    text = re.sub(r"[.'\-\u200b]", " ", text)
    return " ".join(text.split())


def clean_name(raw: str) -> str | None:
    """Return a tidy full name, or None when raw cannot be a person's name."""
    name = " ".join(raw.split())
    if not 2 <= len(name) <= 80 or not _NAME.match(name):
        return None
    if not any(ch.isalpha() or "\u1780" <= ch <= "\u17ff" for ch in name) or any(ch.isdigit() for ch in name):
        return None
    return name
