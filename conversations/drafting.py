"""A flow that collects answers into a draft, asks for the first one missing, then sums up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from conversations.country import country_words
from conversations.screens import Choice, Context, Go, Invalid, Target, Up, View


@dataclass(frozen=True)
class DraftFlow:
    """A named draft, its steps (answer, screen that asks it) in order, and its summary screen."""

    name: str
    steps: Sequence[tuple[str, str]]
    summary: str
    skip: Callable[[dict[str, Any], str], bool] = lambda draft, field: False

    def load(self, ctx: Context) -> dict[str, Any]:
        """Return the caller's draft."""
        return ctx.drafts.load(self.name, ctx.phone)

    def save(self, ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
        """Add answers to the caller's draft and return it."""
        current = self.load(ctx)
        current.update(values)
        ctx.drafts.save(self.name, ctx.phone, current)
        return current

    def forget(self, ctx: Context) -> None:
        """Delete the caller's draft."""
        ctx.drafts.delete(self.name, ctx.phone)

    def missing(self, current: dict[str, Any]) -> str | None:
        """Return the screen of the first answer still missing, or None when all are in."""
        for field, screen in self.steps:
            if field not in current and not self.skip(current, field):
                return screen
        return None

    def advance(self, current: dict[str, Any]) -> Target:
        """Go to the next question, or back to the summary once every answer is in."""
        screen = self.missing(current)
        return Go(screen) if screen else Up(self.summary)

    def answer(self, ctx: Context, **values: Any) -> Target:
        """Keep answers and move on."""
        return self.advance(self.save(ctx, values))


class PromptScreen:
    """A question answered by typing: the answer is read, checked, then kept in a flow's draft."""

    def __init__(
        self,
        flow: DraftFlow,
        question: str,
        read: Callable[[Context, str], dict[str, Any] | Invalid],
        choices: Callable[[Context], list[Choice]] | None = None,
    ) -> None:
        self.flow = flow
        self.question = question
        self.read = read
        self.choices = choices

    def view(self, ctx: Context) -> View:
        """Ask the question."""

        def take(c: Context, text: str) -> Target:
            result = self.read(c, text)
            return result if isinstance(result, Invalid) else self.flow.answer(c, **result)

        # A question may name the country's words ({village_code}, {desk}...), never Cambodia's.
        words = country_words(ctx.settings.country).placeholders(ctx.language)
        return View(ctx.t(self.question, **words), self.choices(ctx) if self.choices else [], prompt=take)
