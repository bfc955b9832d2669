"""Complaints and appeals over USSD: category, programme, a few words, name or not, call back, village.

The description is short on a phone: the person is told they can send more by SMS, quoting the
reference they receive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conversations.answers import AreaList, read_name, read_village_code
from conversations.case_texts import CaseTexts, category_name
from conversations.country import country_words
from conversations.drafting import DraftFlow, PromptScreen
from conversations.i18n import N_
from conversations.screens import Choice, Context, Do, Go, Invalid, Screen, Target, View
from registry.areas import describe_village, find_area, village_of_phone
from registry.case_filing import file_complaint
from registry.case_types import CATEGORIES, Complaint
from registry.idempotency import request_key
from registry.services import list_programmes

STEPS = (
    ("category", "complaint_category"),
    ("programme", "complaint_programme"),
    ("description", "complaint_description"),
    ("anonymous", "complaint_identity"),
    ("name", "complaint_name"),
    ("callback", "complaint_callback"),
    ("village", "complaint_village"),
)
SUMMARY = "complaint_summary"
COMPLAINT = DraftFlow(
    "complaint",
    STEPS,
    SUMMARY,
    skip=lambda current, field: field == "name" and current.get("anonymous", True),
)
MAX_DESCRIPTION = 140


def open_complaint(ctx: Context) -> Target:
    """Start a complaint afresh (an unfinished one is forgotten: it is short to redo)."""
    COMPLAINT.forget(ctx)
    return Go("complaint_category")


def keep(**values: Any) -> Do:
    """Return the action that keeps fixed answers and moves on."""
    return Do(lambda ctx: COMPLAINT.answer(ctx, **values))


# Short names that fit one menu line; the full names go in SMS and on the desk.
CATEGORY_LABELS: Mapping[str, str] = {
    "payment_missing": N_("Payment missing"),
    "wrong_amount": N_("Wrong amount"),
    "excluded": N_("Excluded unfairly"),
    "data_correction": N_("Correct my data"),
    "misconduct": N_("Bribe or misconduct"),
    "appeal": N_("Appeal"),
    "other": N_("Other"),
}


class Categories:
    """What the complaint is about."""

    def view(self, ctx: Context) -> View:
        """List the categories by their short names."""
        return View(
            ctx.t("What is your complaint about?"),
            [Choice(ctx.t(CATEGORY_LABELS.get(c, c)), keep(category=c)) for c in CATEGORIES],
        )


class Programmes:
    """The programme concerned, if any."""

    def view(self, ctx: Context) -> View:
        """List the programmes, and 'not about one programme'."""
        programmes = list_programmes(
            ctx.db, ctx.settings.country, ctx.language, ctx.settings.default_language
        )
        choices = [Choice(p.label, keep(programme=p.code)) for p in programmes]
        choices.append(Choice(ctx.t("Not about one programme"), keep(programme="")))
        return View(ctx.t("Which programme?"), choices)


def read_description(_ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a few words, 3 to 140 characters."""
    words = " ".join(text.split())
    if len(words) < 3:
        return Invalid(N_("Please write a few words about the problem."))
    return {"description": words[:MAX_DESCRIPTION]}


class Identity:
    """Named or anonymous."""

    def view(self, ctx: Context) -> View:
        """Ask whether the desk may know who complains."""
        t = ctx.t
        return View(
            t("May the desk know your name?"),
            [
                Choice(t("Yes, give my name"), keep(anonymous=False)),
                Choice(t("No, stay anonymous"), keep(anonymous=True)),
            ],
        )


class Callback:
    """Consent to be called back."""

    def view(self, ctx: Context) -> View:
        """Ask for consent to a call."""
        t = ctx.t
        return View(
            t("May the desk call you back on this phone?"),
            [Choice(t("Yes"), keep(callback=True)), Choice(t("No"), keep(callback=False))],
        )


def village_choices(ctx: Context) -> list[Choice]:
    """Offer the village this phone is known in as a one-key answer, and lists to choose from."""
    choices = []
    code = village_of_phone(ctx.db, ctx.phone)
    village = find_area(ctx.db, code, ctx.language, level="village") if code else None
    if village is not None:
        choices.append(Choice(describe_village(ctx.db, village.id, ctx.language), keep(village=village.code)))
    choices.append(Choice(ctx.t("Choose from a list"), Go("complaint_area")))
    return choices


class Summary:
    """The complaint on one screen, to send or correct."""

    def view(self, ctx: Context) -> View:
        """Show the answers."""
        t = ctx.t
        current = COMPLAINT.load(ctx)
        if COMPLAINT.missing(current):
            return View(t("Some answers are missing."), [Choice(t("Continue"), Do(resume))])
        village = find_area(ctx.db, current["village"], ctx.language)
        labels = {
            p.code: p.label
            for p in list_programmes(
                ctx.db, ctx.settings.country, ctx.language, ctx.settings.default_language
            )
        }
        programme = current["programme"]
        lines = [
            category_name(t, current["category"]),
            t("Programme: {name}", name=labels.get(programme, programme))
            if programme
            else t("Not about one programme"),
            f'"{current["description"]}"',
            t(
                "{label}: {value}",
                label=country_words(ctx.settings.country).level("village", ctx.language),
                value=describe_village(ctx.db, village.id, ctx.language) if village else "-",
            ),
            t("Name: {name}", name=current["name"]) if not current["anonymous"] else t("Anonymous"),
        ]
        return View(
            "\n".join(lines),
            [Choice(t("Send"), Do(send)), Choice(t("Start over"), Do(open_complaint))],
            whole_lines=True,
        )


def resume(ctx: Context) -> Target:
    """Continue at the first question still unanswered."""
    return COMPLAINT.advance(COMPLAINT.load(ctx))


def send(ctx: Context) -> Target:
    """File the complaint; a retried hop finds the first filing."""
    current = COMPLAINT.load(ctx)
    if COMPLAINT.missing(current):
        return COMPLAINT.advance(current)
    reference = file_complaint(
        ctx.db,
        Complaint(
            category=current["category"],
            village_code=current["village"],
            description=current["description"],
            programme_code=current["programme"] or None,
            anonymous=current["anonymous"],
            name=current.get("name"),
            callback=current["callback"],
        ),
        phone=ctx.phone,
        language=ctx.language,
        idempotency_key=request_key("complaint", ctx.phone, ctx.session_id),
        texts=CaseTexts(ctx.settings.country),
        settings=ctx.settings.services,
    )
    COMPLAINT.forget(ctx)
    return Go("complaint_done", {"reference": reference})


class Done:
    """The reference on screen; more can follow by SMS."""

    def view(self, ctx: Context) -> View:
        """Give the reference and say how to add more."""
        t = ctx.t
        reference = ctx.params["reference"]
        return View(
            "\n".join(
                [
                    t("Thank you. Reference: {reference}", reference=reference),
                    t("To add details, send an SMS starting with {reference}.", reference=reference),
                ]
            ),
            final=True,
        )


SCREENS: Mapping[str, Screen] = {
    "complaint_category": Categories(),
    "complaint_programme": Programmes(),
    "complaint_description": PromptScreen(
        COMPLAINT, N_("In a few words, what happened? (You can send more by SMS later.)"), read_description
    ),
    "complaint_identity": Identity(),
    "complaint_name": PromptScreen(COMPLAINT, N_("Full name:"), read_name),
    "complaint_callback": Callback(),
    "complaint_village": PromptScreen(
        COMPLAINT, N_("Type the {village_code} (on the notice board):"), read_village_code, village_choices
    ),
    "complaint_area": AreaList(COMPLAINT, "complaint_area"),
    SUMMARY: Summary(),
    "complaint_done": Done(),
}
