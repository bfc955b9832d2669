"""Readers of typed answers that several flows ask for: a person's name, a village code."""

from __future__ import annotations

from typing import Any

from conversations.i18n import N_
from conversations.screens import Context, Invalid
from registry.areas import find_area
from registry.names import clean_name


def read_name(_ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a full name: letters, spaces, dots, apostrophes and hyphens."""
    name = clean_name(text)
    return {"name": name} if name else Invalid(N_("Please type the full name in letters."))


def read_village_code(ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept the code of a village, as written on the village notice board."""
    village = find_area(ctx.db, text, ctx.language, level="village")
    if village is None:
        return Invalid(
            N_("No village has this code. Check the notice board, or go back and choose from the list.")
        )
    return {"village": village.code}
