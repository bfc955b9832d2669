"""Answers several flows ask for: a person's name, and a village by its code or from lists."""

from __future__ import annotations

from typing import Any

from conversations.country import country_words
from conversations.drafting import DraftFlow
from conversations.i18n import N_
from conversations.screens import Choice, Context, Do, Go, Invalid, View
from registry.areas import find_area, list_areas
from registry.names import clean_name


def read_name(_ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a full name: letters, spaces, dots, apostrophes and hyphens."""
    name = clean_name(text)
    return {"name": name} if name else Invalid(N_("Please type the full name in letters."))


def read_village_code(ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept the code of a village, as written on the village notice board."""
    village = find_area(ctx.db, text, ctx.language, level="village")
    if village is None:
        return Invalid(N_("There is no such code. Check the notice board."))
    return {"village": village.code}


class AreaList:
    """Provinces, then districts, communes and villages, one list at a time; a village answers."""

    def __init__(self, flow: DraftFlow, screen: str) -> None:
        self.flow = flow
        self.screen = screen

    def view(self, ctx: Context) -> View:
        """List the areas under the chosen one."""
        areas = list_areas(ctx.db, ctx.language, ctx.params.get("parent"))
        choices = [
            Choice(
                a.name, self._pick(a.code) if a.level == "village" else Go(self.screen, {"parent": a.code})
            )
            for a in areas
        ]
        level = areas[0].level if areas else "province"
        return View(country_words(ctx.settings.country).level(level, ctx.language), choices)

    def _pick(self, code: str) -> Do:
        return Do(lambda ctx: self.flow.answer(ctx, village=code))
