"""Turn a view into the pages a phone shows: paging, navigation footer and re-prompts."""

from __future__ import annotations

import re
from dataclasses import replace

from conversations.i18n import N_
from conversations.paging import Fits, Footer, Page, lay_out
from conversations.screens import BACK, HOME, MORE, Context, View
from phonetext.encoding import fold_to_gsm7

INVALID_CHOICE = N_("Invalid choice. Try again.")
_SENTENCE = re.compile(r".+?[.?!\u17d4](?=\s|$)")
NEVER_FOLDED = frozenset({"km"})  # folding Latin accents means nothing to Khmer script


def pages(view: View, ctx: Context) -> list[Page]:
    """Page a view so that every page, and its re-prompt, fits the budget with its navigation."""
    return _choose(view, ctx)[0]


def _pages(view: View, ctx: Context, fold: bool) -> list[Page]:
    fits = ctx.settings.budget.fits
    write = fold_to_gsm7 if fold else str
    foot = footer(view, ctx)
    foot = Footer(write(foot.last), write(foot.more))
    lines = write(view.body).split("\n")
    choices = [write(f"{i} {choice.label}") for i, choice in enumerate(view.choices, start=1)]
    if view.prompt is not None:
        # A typed answer is never paged: 98 would be read as the answer.
        whole = Page(tuple(line for line in lines if line), tuple(choices), foot.last)
        if fits(whole.text):
            return [whole]
    reason = write(ctx.t(INVALID_CHOICE))
    laid = lay_out(lines, choices, fits, foot, keep_lines=view.whole_lines, reason=reason)
    if view.short and len(laid) > 1:
        # A long title would be cut to stand beside its options: the short one may not need to be.
        short = lay_out(write(view.short).split("\n"), choices, fits, foot, view.whole_lines, reason)
        if len(short) < len(laid):
            return short
    return laid


def _choose(view: View, ctx: Context) -> tuple[list[Page], bool]:
    """Return the pages and whether they are written in GSM-7 letters (USSD_FOLD_ACCENTS)."""
    mode = ctx.settings.ussd_fold_accents
    if mode == "off" or ctx.language in NEVER_FOLDED:
        return _pages(view, ctx, False), False
    if mode == "on":
        return _pages(view, ctx, True), True
    # auto: keep the accents unless they cost a page.
    plain = _pages(view, ctx, False)
    if len(plain) == 1:
        return plain, False
    folded = _pages(view, ctx, True)
    return (folded, True) if len(folded) < len(plain) else (plain, False)


def footer(view: View, ctx: Context) -> Footer:
    """Return the navigation a view's pages end with: only the keys that lead somewhere new."""
    more = ctx.t("{more} More", more=MORE)
    if view.final:
        # A closing text too long for one screen pages like any other; its last page ends.
        return Footer("", more)
    depth = len(ctx.state.stack)
    nav = ""
    if view.nav and depth > 2:
        nav = ctx.t("{back} Back {home} Home", back=BACK, home=HOME)
    elif view.nav and depth == 2:
        # One step from the main menu, back is home: 00 still works, it need not be shown.
        nav = ctx.t("{back} Back", back=BACK)
    return Footer(nav, "\n".join(filter(None, [more, nav])))


def reask(page: Page, reason: str, fits: Fits) -> Page:
    """Ask a typed question again in full, with the reason its answer was refused above it."""
    first = _SENTENCE.match(reason)
    reasons = [reason, first.group(0).strip()] if first and first.group(0).strip() != reason else [reason]
    for said in reasons:  # the whole reason, else its first sentence: the question stays whole
        for candidate in (
            replace(page, body=(said, *page.body)),
            replace(page, body=(said, *page.body), foot=""),  # 0 and 00 still work unseen
        ):
            if fits(candidate.text):
                return candidate
    # Too long to go beside the question: the reason alone, since the person just read the
    # question and types the answer again.
    alone = replace(page, body=(reason,))
    return alone if fits(alone.text) else page.with_reason(reason, fits)


def screen(view: View, ctx: Context, page: int, notice: str | None) -> tuple[str, int, bool]:
    """Render the page the person is on (clamped), with the reason on top if there is one.

    Returns the text, the page index shown, and whether this screen ends the session.
    """
    fits = ctx.settings.budget.fits
    paged, fold = _choose(view, ctx)
    index = min(page, len(paged) - 1)
    shown = paged[index]
    if notice:
        reason = fold_to_gsm7(ctx.t(notice)) if fold else ctx.t(notice)
        shown = reask(shown, reason, fits) if view.prompt is not None else shown.with_reason(reason, fits)
    return shown.text, index, view.final and index == len(paged) - 1
