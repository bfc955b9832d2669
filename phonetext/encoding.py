"""Measure text the way a phone network does: GSM-7 septets or UCS-2 code units."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

# 3GPP TS 23.038 default alphabet; the escape character itself is not a user character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, so two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]

SMS_SINGLE = {"GSM-7": 160, "UCS-2": 70}
SMS_PART = {"GSM-7": 153, "UCS-2": 67}


_GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    """Return True when every character of text has a GSM-7 encoding."""
    return _GSM7_ALL.issuperset(text)


def char_units(ch: str, encoding: Encoding) -> int:
    """Return how many septets (GSM-7) or code units (UCS-2) one character costs."""
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def encoding_of(text: str) -> Encoding:
    """Return the encoding a network would choose for text."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def units(text: str, encoding: Encoding | None = None) -> int:
    """Return the length of text in its encoding's units."""
    enc = encoding or encoding_of(text)
    # Counted with str methods rather than per character: every screen is measured many times.
    if enc == "GSM-7":
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Budget:
    """The largest screen a USSD gateway can show, per encoding."""

    max_gsm7: int = 182
    max_ucs2: int = 80

    def limit(self, encoding: Encoding) -> int:
        """Return the unit limit for an encoding."""
        return self.max_gsm7 if encoding == "GSM-7" else self.max_ucs2

    def fits(self, text: str) -> bool:
        """Return True when text fits one screen."""
        enc = encoding_of(text)
        return units(text, enc) <= self.limit(enc)


@dataclass(frozen=True)
class SmsMeasure:
    """What an SMS costs: its encoding, its length in units and its segments."""

    encoding: Encoding
    units: int
    segments: int


def measure_sms(text: str) -> SmsMeasure:
    """Count the segments a network bills for text, never splitting an escape or a pair."""
    enc = encoding_of(text)
    total = units(text, enc)
    if total <= SMS_SINGLE[enc]:
        return SmsMeasure(enc, total, 1 if total else 0)
    part, segments, used = SMS_PART[enc], 1, 0
    for ch in text:
        cost = char_units(ch, enc)
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsMeasure(enc, total, segments)


def fold_to_gsm7(text: str) -> str:
    """Replace accented Latin letters that GSM-7 lacks (ã, ç, õ...) by their plain letter.

    Only characters whose decomposition is a GSM-7 letter plus accents are changed, so Khmer
    and other scripts are left as they are: a deployment may prefer cost over accents.
    """
    out = []
    for ch in text:
        if ch in _GSM7_ALL:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base if base in _GSM7_ALL and base.isalpha() else ch)
    return "".join(out)
