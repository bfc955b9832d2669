"""Resume offers: a flow that keeps a draft says which screen offers to continue it.

The engine knows no flow by name: when a call starts, it checks the drafts of every flow
registered here and, if one waits, opens that flow's offer before the main menu.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResumeOffer:
    """A flow whose unfinished draft is offered at the start of the next call, and the screen."""

    flow: str
    screen: str


_OFFERS: list[ResumeOffer] = []


def offer_resume(flow: str, screen: str) -> None:
    """Register the screen that offers to continue flow's draft; registering twice is harmless."""
    offer = ResumeOffer(flow, screen)
    if offer not in _OFFERS:
        _OFFERS.append(offer)


def resume_offers() -> tuple[ResumeOffer, ...]:
    """Return the registered offers, in the order they were registered (the first waiting wins)."""
    return tuple(_OFFERS)
