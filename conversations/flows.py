"""The USSD flows of the walking skeleton: language, main menu and programme information."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conversations.complaints import SCREENS as COMPLAINT_SCREENS
from conversations.complaints import open_complaint
from conversations.i18n import N_, NATIVE_NAMES, Translator
from conversations.lookup import SCREENS as LOOKUP_SCREENS
from conversations.prereg import SCREENS as PREREGISTRATION_SCREENS
from conversations.prereg import open_preregistration
from conversations.screens import Choice, Context, Do, Go, Home, Screen, Target, View
from registry import services
from registry.clock import start_of_local_day
from registry.idempotency import request_key
from registry.outbox import DailyCap, queue_sms
from registry.services import ProgrammeInfo

MAIN = "main"
LANGUAGE = "language"

# The sections of a programme's page, in the order the menu lists them.
SECTIONS: Mapping[str, str] = {
    "summary": N_("About"),
    "eligibility": N_("Who can get it"),
    "benefits": N_("Benefits"),
    "how_to_apply": N_("How to apply"),
}


@dataclass(frozen=True)
class Menu:
    """A fixed menu: a title and numbered items, each leading somewhere."""

    title: str
    items: Sequence[tuple[str, Target]]
    nav: bool = True

    def view(self, ctx: Context) -> View:
        """Render the menu in the caller's language."""
        choices = [Choice(ctx.t(label), target) for label, target in self.items]
        return View(ctx.t(self.title), choices, nav=self.nav)


def choose_language(language: str) -> Do:
    """Return the action that sets the caller's language and goes home."""

    def act(ctx: Context) -> Target:
        services.set_language(ctx.db, ctx.phone, language)
        ctx.state.language = language
        return Home()

    return Do(act)


class LanguageMenu:
    """Each language offered in its own words; shown first to a new number."""

    def view(self, ctx: Context) -> View:
        """List the configured languages, each written in itself."""
        languages = ctx.settings.languages
        title = " / ".join(dict.fromkeys(Translator(lang)("Language") for lang in languages))
        choices = [Choice(NATIVE_NAMES.get(lang, lang), choose_language(lang)) for lang in languages]
        return View(title, choices, nav=ctx.state.language is not None)


class ProgrammeList:
    """The country's programmes, one per line."""

    def view(self, ctx: Context) -> View:
        """List the programmes by name in the caller's language."""
        programmes = services.list_programmes(
            ctx.db, ctx.settings.country, ctx.language, ctx.settings.default_language
        )
        if not programmes:
            return View(ctx.t("No programmes are listed yet."))
        choices = [Choice(p.label, Go("programme", {"code": p.code})) for p in programmes]
        return View(ctx.t("Programmes"), choices)


def _programme(ctx: Context) -> ProgrammeInfo:
    return services.get_programme(
        ctx.db,
        ctx.settings.country,
        ctx.params["code"],
        ctx.language,
        ctx.settings.default_language,
    )


def programme_sms(t: Translator, info: ProgrammeInfo) -> str:
    """Compose the SMS that carries a programme's description."""
    return "\n".join(
        [
            info.name,
            info.summary,
            t("Who can get it: {text}", text=info.eligibility),
            t("Benefits: {text}", text=info.benefits),
            t("How to apply: {text}", text=info.how_to_apply),
        ]
    )


def send_programme_sms(ctx: Context) -> Target:
    """Write the programme's description to the outbox for the caller, once per phone and session."""
    info = _programme(ctx)
    written = queue_sms(
        ctx.db,
        recipient=ctx.phone,
        language=ctx.language,
        body=programme_sms(ctx.t, info),
        purpose="programme_info",
        policy=ctx.settings.sms_policy,
        # The phone as well as the session: operators reuse session ids, and another caller's
        # request must not be taken for this one's repeat.
        idempotency_key=request_key("programme_info", ctx.phone, f"{ctx.session_id}:{info.code}"),
        cap=DailyCap(ctx.settings.programme_sms_per_day, start_of_local_day(ctx.settings.zone)),
    )
    if not written:
        return Go("programme_sms_capped", {"code": info.code})
    return Go("programme_sms_sent", {"code": info.code})


class ProgrammeMenu:
    """One programme: its name and the sections a person can read, or ask for by SMS."""

    def view(self, ctx: Context) -> View:
        """Show the programme's name and its sections."""
        info = _programme(ctx)
        code = info.code
        choices = [
            Choice(ctx.t(label), Go("programme_section", {"code": code, "section": section}))
            for section, label in SECTIONS.items()
        ]
        choices.append(Choice(ctx.t("Send me this by SMS"), Do(send_programme_sms)))
        return View(info.name, choices, short=info.label)


class ProgrammeSection:
    """One section of a programme's description, paged as long as it needs."""

    def view(self, ctx: Context) -> View:
        """Show the section's heading and text."""
        info = _programme(ctx)
        section = ctx.params["section"]
        return View(f"{ctx.t(SECTIONS[section])}\n{getattr(info, section)}")


class ProgrammeSmsSent:
    """Confirm that the programme's description is on its way by SMS."""

    def view(self, ctx: Context) -> View:
        """Say which programme will arrive by SMS."""
        info = _programme(ctx)
        return View(ctx.t("{programme} will reach you by SMS shortly.", programme=info.name))


class ProgrammeSmsCapped:
    """Say that today's programme SMS are used up, and that the screens still tell it all."""

    def view(self, ctx: Context) -> View:
        """Give the day's limit and point back to the screens."""
        return View(
            ctx.t(
                "You have had {count} programmes by SMS today, the most for one day. "
                "You can read this one here, or ask again tomorrow.",
                count=ctx.settings.programme_sms_per_day,
            )
        )


SERVICE_NAMES: Mapping[str, str] = {
    "preregistration": N_("Pre-registration"),
    "status": N_("My ID and status"),
    "complaints": N_("Complaints"),
}

SCREENS: Mapping[str, Screen] = {
    MAIN: Menu(
        N_("Social protection"),
        [
            (N_("Programmes"), Go("programmes")),
            (SERVICE_NAMES["preregistration"], Do(open_preregistration)),
            (SERVICE_NAMES["status"], Go("status_menu")),
            (SERVICE_NAMES["complaints"], Do(open_complaint)),
            (N_("Language"), Go(LANGUAGE)),
        ],
        nav=False,
    ),
    LANGUAGE: LanguageMenu(),
    "programmes": ProgrammeList(),
    "programme": ProgrammeMenu(),
    "programme_section": ProgrammeSection(),
    "programme_sms_sent": ProgrammeSmsSent(),
    "programme_sms_capped": ProgrammeSmsCapped(),
    **PREREGISTRATION_SCREENS,
    **LOOKUP_SCREENS,
    **COMPLAINT_SCREENS,
}
