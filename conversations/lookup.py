"""My ID and status: an ID with its holder's year of birth, a request by reference, a forgotten ID.

Tries are counted per phone and per ID in Redis: after LOOKUP_MAX_FAILURES failures in a day,
further tries are refused until the day is over (the local day, in TIMEZONE), so IDs cannot be
tried at random.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import redis

from conversations.case_texts import category_name, ids_sms, status_name
from conversations.country import country_words
from conversations.i18n import N_
from conversations.screens import Choice, Context, Do, Go, Invalid, Screen, Target, View
from registry.cases import case_status_for
from registry.clock import end_of_local_day, local_date, local_today
from registry.db import utcnow
from registry.idlookup import find_holder, record_lookup, send_ids_to_phone
from registry.references import is_valid

KEYS = ("janela:lookup:phone:{}:{}", "janela:lookup:id:{}:{}")


class LookupGuard:
    """Count failed lookups per phone and per ID for a local day, and lock after too many."""

    def __init__(self, client: redis.Redis, max_failures: int, zone: ZoneInfo) -> None:
        self.client = client
        self.max_failures = max_failures
        self.zone = zone

    def _keys(self, phone: str, sp_id: str, now: datetime | None) -> list[str]:
        day = local_today(self.zone, now).isoformat()
        return [KEYS[0].format(phone, day), KEYS[1].format(sp_id, day)]

    def locked(self, phone: str, sp_id: str, now: datetime | None = None) -> bool:
        """Return True when the phone or the ID has used up its tries for the day."""
        counts = self.client.mget(self._keys(phone, sp_id, now))
        return any(int(c or 0) >= self.max_failures for c in counts)

    def take(self, phone: str, sp_id: str, now: datetime | None = None) -> int | None:
        """Take one try against both counts before checking; None when the tries are used up.

        The count goes up first and is compared after (INCR, then compare), so guesses sent in
        parallel cannot all pass a check made before any of them was counted. A try that finds
        the holder is given back; a refused one is never counted.
        """
        now = now or utcnow()
        # The count is of this local day: it is gone when the day is over where people live.
        day_over = end_of_local_day(now, self.zone)
        keys = self._keys(phone, sp_id, now)
        pipe = self.client.pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.expireat(key, day_over)
        results = pipe.execute()
        taken = max(int(results[0]), int(results[2]))
        if taken > self.max_failures:
            self.give_back(phone, sp_id, now)
            return None
        return taken

    def give_back(self, phone: str, sp_id: str, now: datetime | None = None) -> None:
        """Return a try that was taken: the holder was found, or the try was refused."""
        pipe = self.client.pipeline()
        for key in self._keys(phone, sp_id, now):
            pipe.decr(key)
        pipe.execute()


def guard(ctx: Context) -> LookupGuard:
    """Return the lookup guard of this deployment."""
    return LookupGuard(ctx.drafts.client, ctx.settings.lookup_max_failures, ctx.settings.zone)


def read_id(ctx: Context, text: str) -> Target:
    """Take an ID whose check digit is right; the year comes next."""
    sp_id = text.replace(" ", "")
    if not is_valid(sp_id):
        return Invalid(N_("That ID is not valid. Check the digits on your card."))
    if guard(ctx).locked(ctx.phone, sp_id):
        record_lookup(ctx.db, ctx.phone, sp_id, "locked")
        return Go("id_locked")
    return Go("id_year", {"sp_id": sp_id})


def read_year(ctx: Context, text: str) -> Target:
    """Check the year of birth against the ID's holder; count and record every try."""
    sp_id = ctx.params["sp_id"]
    checks = guard(ctx)
    tries = checks.take(ctx.phone, sp_id)
    if tries is None:
        record_lookup(ctx.db, ctx.phone, sp_id, "locked")
        return Go("id_locked")
    year = int(text) if len(text) == 4 and text.isdigit() else 0
    holder = find_holder(ctx.db, sp_id, year, ctx.language, ctx.settings.default_language) if year else None
    if holder is None:
        record_lookup(ctx.db, ctx.phone, sp_id, "mismatch")
        if tries >= checks.max_failures:
            record_lookup(ctx.db, ctx.phone, sp_id, "locked")
            return Go("id_locked")
        return Invalid(N_("The ID and the year do not match. Try again."))
    checks.give_back(ctx.phone, sp_id)
    record_lookup(ctx.db, ctx.phone, sp_id, "found")
    # Back from the result skips both questions: a year typed again would cost a try.
    return Go("id_holder", {"sp_id": sp_id, "year": str(year)}, close=2)


class Holder:
    """The holder's programmes and open requests."""

    def view(self, ctx: Context) -> View:
        """List enrolments with their status, then open requests."""
        t = ctx.t
        holder = find_holder(
            ctx.db, ctx.params["sp_id"], int(ctx.params["year"]), ctx.language, ctx.settings.default_language
        )
        if holder is None:
            return View(t("The ID and the year do not match. Try again."))
        lines = [holder.name]
        lines += [
            t("{programme}: {status}", programme=name, status=t(ENROLMENT_STATUS.get(status, status)))
            for name, status in holder.enrolments
        ] or [t("No programme yet.")]
        country = ctx.settings.country
        lines += [
            t("Request {reference}: {status}", reference=ref, status=status_name(t, status, country))
            for ref, status in holder.open_cases
        ]
        return View("\n".join(lines))


ENROLMENT_STATUS: Mapping[str, str] = {
    "active": N_("active"),
    "pending": N_("pending"),
    "suspended": N_("suspended"),
    "ended": N_("ended"),
}


def read_reference(ctx: Context, text: str) -> Target:
    """Show a request's status to a phone allowed to see it."""
    reference = text.replace(" ", "")
    if not is_valid(reference):
        return Invalid(N_("That reference is not valid. Check the digits."))
    if case_status_for(ctx.db, reference, ctx.phone, ctx.language) is None:
        return Invalid(N_("No request with this reference was filed from this phone."))
    return Go("case_status", {"reference": reference})


class CaseStatus:
    """One request's status."""

    def view(self, ctx: Context) -> View:
        """Say what kind of request, its status, and whether the district has it."""
        t = ctx.t
        case = case_status_for(ctx.db, ctx.params["reference"], ctx.phone, ctx.language)
        if case is None:
            return View(t("No request with this reference was filed from this phone."))
        lines = [
            t(
                "Request {reference}: {kind}",
                reference=case.reference,
                kind=category_name(t, case.category or case.kind),
            ),
            t("Status: {status}", status=status_name(t, case.status, ctx.settings.country)),
            t("Filed on {date}", date=t.date(local_date(case.created_at, ctx.settings.zone))),
        ]
        if case.escalated and case.desk_level == "province":
            lines.append(t("The province office is handling it."))
        elif case.escalated:
            lines.append(t("The district office is handling it."))
        return View("\n".join(lines))


def forgot(ctx: Context) -> Target:
    """SMS the IDs to this phone if it is registered on a household; say the same either way.

    At most one such SMS a local day per phone: a second ask the same day reads the same screen
    and sends nothing, so the answer never tells whether the phone is known.
    """
    send_ids_to_phone(ctx.db, ctx.phone, ctx.language, ids_sms, ctx.settings.services)
    return Go("id_forgot_sent")


class Message:
    """A fixed message, ending the session or not."""

    def __init__(self, text: str, final: bool = False) -> None:
        self.text = text
        self.final = final

    def view(self, ctx: Context) -> View:
        """Show the message, in the country's words."""
        words = country_words(ctx.settings.country)
        return View(ctx.t(self.text, desk=words.word(words.desk, ctx.language)), final=self.final)


class Prompt:
    """A question whose answer goes to a function."""

    def __init__(self, question: str, take) -> None:  # type: ignore[no-untyped-def]
        self.question = question
        self.take = take

    def view(self, ctx: Context) -> View:
        """Ask."""
        return View(ctx.t(self.question), prompt=self.take)


class StatusMenu:
    """My ID and status."""

    def view(self, ctx: Context) -> View:
        """The three things a person can check."""
        t = ctx.t
        return View(
            t("My ID and status"),
            [
                Choice(t("My ID and programmes"), Go("id_enter")),
                Choice(t("Check a request"), Go("case_enter")),
                Choice(t("I forgot my ID"), Do(forgot)),
            ],
        )


SCREENS: Mapping[str, Screen] = {
    "status_menu": StatusMenu(),
    "id_enter": Prompt(N_("Your social-protection ID (on your card):"), read_id),
    "id_year": Prompt(N_("Year of birth of the ID holder:"), read_year),
    "id_holder": Holder(),
    "id_locked": Message(N_("Too many tries today. Try again tomorrow, or ask {desk}."), final=True),
    "id_forgot_sent": Message(
        N_("If this phone is registered on your household, your ID will arrive by SMS."), final=True
    ),
    "case_enter": Prompt(N_("Reference of your request:"), read_reference),
    "case_status": CaseStatus(),
}
