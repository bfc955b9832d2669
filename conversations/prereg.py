"""Pre-registration over USSD: consent, the person's details, the village, a summary, submit.

Answers live in a draft keyed by the caller's phone, so a dropped call resumes where it stopped.
Each step asks for the first answer still missing; once every answer is in, a change made from the
summary goes straight back to the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from conversations.answers import AreaList, read_name, read_village_code
from conversations.country import country_words
from conversations.drafting import DraftFlow, PromptScreen
from conversations.i18n import N_, Translator
from conversations.resume import offer_resume
from conversations.screens import Choice, Context, Do, Go, Invalid, Screen, Stay, Target, View
from registry.areas import describe_village, find_area
from registry.clock import local_today
from registry.db import utcnow
from registry.errors import InvalidData
from registry.idempotency import request_key
from registry.phones import normalise_phone
from registry.preregistration import Declaration, submit_preregistration
from registry.services import list_programmes
from registry.staff import active_chief

FLOW = "prereg"
SUMMARY = "prereg_summary"
MAX_HOUSEHOLD = 30

# The answers, in the order they are asked, and the screen that asks each.
STEPS: tuple[tuple[str, str], ...] = (
    ("consent_at", "prereg_consent"),
    ("phone", "prereg_phone"),
    ("name", "prereg_name"),
    ("sex", "prereg_sex"),
    ("birth_year", "prereg_dob"),
    ("village", "prereg_village"),
    ("size", "prereg_size"),
    ("programmes", "prereg_programmes"),
)

SEXES: Mapping[str, str] = {"F": N_("Female"), "M": N_("Male")}
# The villager's phone is asked only when a chief registers a villager.
PREREG = DraftFlow(
    FLOW, STEPS, SUMMARY, skip=lambda current, field: field == "phone" and current.get("for") != "villager"
)
offer_resume(FLOW, "prereg_resume")


def open_preregistration(ctx: Context) -> Target:
    """Start pre-registering, or offer to continue an unfinished one."""
    if PREREG.load(ctx):
        return Go("prereg_resume")
    chief = active_chief(ctx.db, ctx.phone)
    return Go("prereg_for") if chief else Go("prereg_consent")


def resume(ctx: Context) -> Target:
    """Continue at the first question still unanswered."""
    return PREREG.advance(PREREG.load(ctx))


def start_over(ctx: Context) -> Target:
    """Forget the unfinished draft and begin again."""
    ctx.drafts.delete(FLOW, ctx.phone)
    chief = active_chief(ctx.db, ctx.phone)
    return Go("prereg_for") if chief else Go("prereg_consent")


def register_for(whom: str) -> Do:
    """Return the action of a chief choosing whom to register."""

    def act(ctx: Context) -> Target:
        chief = active_chief(ctx.db, ctx.phone)
        values: dict[str, Any] = {"for": whom}
        if whom == "villager" and chief is not None:
            values["assisted_by"] = chief.id
        PREREG.save(ctx, values)
        return Go("prereg_consent")

    return Do(act)


def agree(ctx: Context) -> Target:
    """Record consent and its time."""
    return PREREG.answer(ctx, consent_at=utcnow().isoformat())


class Resume:
    """Offer to continue an unfinished pre-registration."""

    def view(self, ctx: Context) -> View:
        """Say there is a draft; continue or start over."""
        return View(
            ctx.t("You have an unfinished pre-registration."),
            [Choice(ctx.t("Continue"), Do(resume)), Choice(ctx.t("Start over"), Do(start_over))],
        )


class ForWhom:
    """Ask a village chief whom they pre-register."""

    def view(self, ctx: Context) -> View:
        """Myself or a villager."""
        return View(
            ctx.t("Pre-register whom?"),
            [
                Choice(ctx.t("Myself"), register_for("self")),
                Choice(ctx.t("A villager"), register_for("villager")),
            ],
        )


class Consent:
    """Who will see the data and why; nothing is kept without a yes."""

    def view(self, ctx: Context) -> View:
        """Explain, then ask."""
        words = country_words(ctx.settings.country)
        return View(
            ctx.t(
                "Your answers go to {desk} and social-protection staff, only to check "
                "which programmes you can get. Do you agree?",
                desk=words.word(words.desk, ctx.language),
            ),
            [Choice(ctx.t("I agree"), Do(agree)), Choice(ctx.t("I do not agree"), Go("prereg_declined"))],
        )


class Declined:
    """End politely when consent is refused."""

    def view(self, ctx: Context) -> View:
        """Nothing was kept."""
        ctx.drafts.delete(FLOW, ctx.phone)
        return View(ctx.t("Nothing was saved. You can pre-register at any time."), final=True)


def read_phone(ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept the villager's phone number."""
    try:
        return {"phone": normalise_phone(text, ctx.settings.country)}
    except InvalidData:
        return Invalid(N_("That is not a phone number. Try again."))


def no_phone(ctx: Context) -> Target:
    """The villager has no phone."""
    return PREREG.answer(ctx, phone="")


def read_date(ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a date of birth written DDMMYYYY, in the past and within 120 years."""
    digits = text.replace("/", "").replace(".", "").replace("-", "").replace(" ", "")
    if len(digits) != 8 or not digits.isdigit():
        return Invalid(N_("Type the date as 8 digits: day, month, year."))
    try:
        born = date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return Invalid(N_("That date does not exist. Try again."))
    today = local_today(ctx.settings.zone)  # a baby born this morning in Phnom Penh is born today
    if born > today or born.year < today.year - 120:
        return Invalid(N_("That date cannot be a date of birth. Try again."))
    return {"birth_date": born.isoformat(), "birth_year": born.year}


def read_year(ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a year of birth within the last 120 years."""
    this_year = local_today(ctx.settings.zone).year
    if not (len(text) == 4 and text.isdigit() and this_year - 120 <= int(text) <= this_year):
        return Invalid(N_("Type a year of 4 digits, e.g. 1987."))
    return {"birth_year": int(text), "birth_date": None}


def read_size(_ctx: Context, text: str) -> dict[str, Any] | Invalid:
    """Accept a household size from 1 to 30."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_HOUSEHOLD:
        return Invalid(N_("Type a number from 1 to 30."))
    return {"size": int(text)}


def choose(**values: Any) -> Do:
    """Return the action that keeps fixed answers and moves on."""
    return Do(lambda ctx: PREREG.answer(ctx, **values))


class SexMenu:
    """Female or male."""

    def view(self, ctx: Context) -> View:
        """Ask the sex."""
        return View(ctx.t("Sex:"), [Choice(ctx.t(label), choose(sex=code)) for code, label in SEXES.items()])


class Village:
    """How to give the village: its code, or choosing from lists."""

    def view(self, ctx: Context) -> View:
        """Offer both ways, and the chief's own village to a chief registering a villager."""
        words = country_words(ctx.settings.country)
        choices = [
            Choice(
                ctx.t("Type the {village_code}", village_code=words.word(words.village_code, ctx.language)),
                Go("prereg_village_code"),
            ),
            Choice(ctx.t("Choose from a list"), Go("prereg_area")),
        ]
        chief = active_chief(ctx.db, ctx.phone)
        if chief is not None and chief.area_code:
            name = describe_village(ctx.db, chief.area_id or 0, ctx.language)
            choices.append(Choice(name, choose(village=chief.area_code)))
        return View(words.level("village", ctx.language), choices)


def toggle(code: str) -> Do:
    """Return the action that selects or unselects a programme."""

    def act(ctx: Context) -> Target:
        chosen = PREREG.load(ctx).get("chosen", [])
        chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        PREREG.save(ctx, {"chosen": chosen})
        return Stay()

    return Do(act)


def programmes_done(ctx: Context) -> Target:
    """Keep the selected programmes (none means: not sure) and move on."""
    return PREREG.answer(ctx, programmes=PREREG.load(ctx).get("chosen", []))


class ProgrammeChoice:
    """Choose several programmes: each number selects or unselects, the last one finishes."""

    def view(self, ctx: Context) -> View:
        """List programmes with a mark on the chosen ones."""
        chosen = set(PREREG.load(ctx).get("chosen", []))
        programmes = list_programmes(
            ctx.db, ctx.settings.country, ctx.language, ctx.settings.default_language
        )
        choices = [Choice(("*" if p.code in chosen else "") + p.label, toggle(p.code)) for p in programmes]
        choices.append(Choice(ctx.t("Done"), Do(programmes_done)))
        return View(ctx.t("Programmes you want (choose, then Done):"), choices)


def birth_text(t: Translator, current: dict[str, Any]) -> str:
    """Write the birth date, or the year alone, the way the language writes dates."""
    if current.get("birth_date"):
        return t.date(date.fromisoformat(current["birth_date"]))
    return str(current.get("birth_year", ""))


class Summary:
    """Every answer on one screen (paged), to confirm or correct."""

    def view(self, ctx: Context) -> View:
        """Show the answers."""
        current = PREREG.load(ctx)
        if PREREG.missing(current):
            return View(ctx.t("Some answers are missing."), [Choice(ctx.t("Continue"), Do(resume))])
        t = ctx.t
        names = {
            p.code: p.label
            for p in list_programmes(
                ctx.db, ctx.settings.country, ctx.language, ctx.settings.default_language
            )
        }
        wanted = ", ".join(names.get(c, c) for c in current["programmes"]) or t("Not sure")
        village = find_area(ctx.db, current["village"], ctx.language)
        if village is None:  # removed from the registry since it was chosen
            level = country_words(ctx.settings.country).level("village", ctx.language)
            return View(t("Choose the place again."), [Choice(level, Go("prereg_village"))])
        label = SEXES[current["sex"]]
        sex = t(label)
        lines = [
            t("Name: {name}", name=current["name"]),
            t("Sex: {sex}", sex=sex),
            t("Born: {born}", born=birth_text(t, current)),
            t(
                "{label}: {value}",
                label=country_words(ctx.settings.country).level("village", ctx.language),
                value=describe_village(ctx.db, village.id, ctx.language),
            ),
            t("Household: {size}", size=t.number(current["size"])),
            t("Programmes: {names}", names=wanted),
        ]
        if current.get("for") == "villager":
            lines.insert(0, t("Phone: {phone}", phone=current["phone"] or t("none")))
        return View(
            "\n".join(lines),
            [Choice(t("Confirm"), Do(submit)), Choice(t("Change"), Go("prereg_change"))],
            whole_lines=True,
        )


class Change:
    """Pick the answer to correct."""

    def view(self, ctx: Context) -> View:
        """List the answers that can be changed."""
        t = ctx.t
        items = [
            (t("Name"), "prereg_name"),
            (t("Sex"), "prereg_sex"),
            (t("Date of birth"), "prereg_dob"),
            (country_words(ctx.settings.country).level("village", ctx.language), "prereg_village"),
            (t("Household size"), "prereg_size"),
            (t("Programmes"), "prereg_programmes"),
        ]
        if PREREG.load(ctx).get("for") == "villager":
            items.insert(0, (t("Phone"), "prereg_phone"))
        return View(t("Change what?"), [Choice(label, Go(screen)) for label, screen in items])


class Texts:
    """The SMS a pre-registration sends, in the reader's language and the country's words."""

    def __init__(self, country: str = "KH") -> None:
        self.words = country_words(country)

    def confirmation(self, language: str, reference: str, possible_duplicate: bool) -> str:
        """The citizen's confirmation."""
        t = Translator(language)
        text = t(
            "janela: your pre-registration was received. Reference: {reference}. "
            "{desk_subject} will contact you.",
            reference=reference,
            desk_subject=self.words.word(self.words.desk_subject, language),
        )
        if possible_duplicate:
            text += " " + t(
                "You may already be registered: the desk will check, you need not register again."
            )
        return text

    def chief_alert(self, language: str, reference: str, name: str, village: str, size: int) -> str:
        """The village chief's alert."""
        t = Translator(language)
        return t(
            "janela: new pre-registration {reference} in {village}: {name}, household of {size}. "
            "{desk_subject} has it in its queue.",
            desk_subject=self.words.word(self.words.desk_subject, language),
            reference=reference,
            village=village,
            name=name,
            size=size,
        )


def submit(ctx: Context) -> Target:
    """Submit the draft in one transaction; a retried submission finds the first one."""
    current = PREREG.load(ctx)
    if PREREG.missing(current):
        return PREREG.advance(current)
    for_villager = current.get("for") == "villager"
    declared = Declaration(
        full_name=current["name"],
        sex=current["sex"],
        birth_year=current["birth_year"],
        birth_date=date.fromisoformat(current["birth_date"]) if current.get("birth_date") else None,
        village_code=current["village"],
        household_size=current["size"],
        programme_codes=tuple(current["programmes"]),
        phone=(current["phone"] or None) if for_villager else ctx.phone,
    )
    result = submit_preregistration(
        ctx.db,
        declared,
        language=ctx.language,
        consent_at=datetime.fromisoformat(current["consent_at"]),
        idempotency_key=request_key("prereg", ctx.phone, ctx.session_id),
        texts=Texts(ctx.settings.country),
        settings=ctx.settings.services,
        assisted_by_id=current.get("assisted_by") if for_villager else None,
    )
    ctx.drafts.delete(FLOW, ctx.phone)
    sms = "1" if declared.phone else "0"
    return Go(
        "prereg_done",
        {"reference": result.reference, "duplicate": str(int(result.possible_duplicate)), "sms": sms},
    )


class Done:
    """The reference, on screen; the session ends."""

    def view(self, ctx: Context) -> View:
        """Thank, give the reference, say what happens next."""
        t = ctx.t
        lines = [t("Thank you. Reference: {reference}", reference=ctx.params["reference"])]
        lines.append(t("It was sent by SMS.") if ctx.params.get("sms") == "1" else t("Write it down."))
        if ctx.params.get("duplicate") == "1":
            lines.append(t("You may already be registered: the desk will check."))
        return View("\n".join(lines), final=True)


SCREENS: Mapping[str, Screen] = {
    "prereg_resume": Resume(),
    "prereg_for": ForWhom(),
    "prereg_consent": Consent(),
    "prereg_declined": Declined(),
    "prereg_phone": PromptScreen(
        PREREG,
        N_("Villager's phone number:"),
        read_phone,
        lambda ctx: [Choice(ctx.t("No phone"), Do(no_phone))],
    ),
    "prereg_name": PromptScreen(PREREG, N_("Full name:"), read_name),
    "prereg_sex": SexMenu(),
    "prereg_dob": PromptScreen(
        PREREG,
        N_("Date of birth as DDMMYYYY, e.g. 05031987:"),
        read_date,
        lambda ctx: [Choice(ctx.t("I only know the year"), Go("prereg_year"))],
    ),
    "prereg_year": PromptScreen(PREREG, N_("Year of birth, e.g. 1987:"), read_year),
    "prereg_village": Village(),
    "prereg_village_code": PromptScreen(
        PREREG, N_("Type the {village_code} (on the notice board):"), read_village_code
    ),
    "prereg_area": AreaList(PREREG, "prereg_area"),
    "prereg_size": PromptScreen(PREREG, N_("How many people live in your household?"), read_size),
    "prereg_programmes": ProgrammeChoice(),
    SUMMARY: Summary(),
    "prereg_change": Change(),
    "prereg_done": Done(),
}
