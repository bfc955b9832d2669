"""Clean text that arrives from outside before anything stores or reads it."""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL, but not newline: an SMS may hold several lines.
# Khmer's zero-width space and joiners (category Cf) are real text and stay.
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")

# The largest value a 32-bit integer column holds.
INT32_MAX = 2**31 - 1


def clean_text(value: str | None, limit: int) -> str:
    """Drop control characters and lone surrogates, normalise newlines and keep at most limit characters."""
    if not value:
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _SURROGATES.sub("", _CONTROLS.sub("", text))
    return text[:limit]


def clean_line(value: str | None, limit: int) -> str:
    """Clean a one-line value (an id, a code, a status): no newlines, no surrounding spaces."""
    return clean_text(value, limit * 2).replace("\n", " ").strip()[:limit]


def clamp_int(value: str | None, low: int = 0, high: int = INT32_MAX) -> int | None:
    """Read a whole number that a gateway reported, within a column's range; None when it is not one."""
    if value is None:
        return None
    text = clean_line(value, 40)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number:  # NaN
        return None
    return int(max(low, min(high, number)))
