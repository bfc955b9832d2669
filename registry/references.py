"""Reference numbers: short, numeric, with a Verhoeff check digit that catches typing slips.

Verhoeff catches every single wrong digit and every swap of two neighbouring digits, the two
mistakes people make most when they copy a number from an SMS into a phone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

# The longest reference the cases table holds (String(12)).
MAX_LENGTH = 12
# Tries at one length before taking a digit more: three misses in a row mean that length is
# well past half full, so a longer one is due (and a submission never waits on a full space).
TRIES_PER_LENGTH = 3

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def check_digit(digits: str) -> str:
    """Return the Verhoeff check digit to append to digits."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def is_valid(reference: str) -> bool:
    """Return True when reference is all digits and its last digit checks the others."""
    if len(reference) < 2 or not reference.isascii() or not reference.isdigit():
        return False
    c = 0
    for i, ch in enumerate(reversed(reference)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def new_reference(length: int = 7) -> str:
    """Return a random reference of length digits, the last a check digit; never starts with 0."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(length - 2))
    return body + check_digit(body)


def unused_reference(is_taken: Callable[[str], bool], length: int = 7) -> str:
    """Return a reference nobody holds, growing past length when that length is running out.

    Every length is checked by the same check digit, so the references already given out stay
    valid when new ones grow longer.
    """
    for size in range(length, MAX_LENGTH + 1):
        for _ in range(TRIES_PER_LENGTH):
            reference = new_reference(size)
            if not is_taken(reference):
                return reference
    raise RuntimeError(f"no free reference up to {MAX_LENGTH} digits")
