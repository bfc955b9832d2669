"""Phone numbers in one form: E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from registry.errors import InvalidData


@lru_cache(maxsize=65536)  # every hop parses its caller's number; the parse is costly, the answer fixed
def normalise_phone(raw: str, country: str) -> str:
    """Return raw as E.164, reading national numbers as of country; raise InvalidData if not a phone."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidData(["not a phone number"])
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidData(["not a phone number"]) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidData(["not a phone number"])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    """Hide all but the country prefix and the last three digits, for logs."""
    if len(phone) <= 6:
        return "***"
    return phone[:4] + "*" * (len(phone) - 7) + phone[-3:]
