"""The SMS that cases send, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversations.country import CountryWords, country_words
from conversations.i18n import N_, Translator
from registry.case_types import CaseStatus

CATEGORY_NAMES: Mapping[str, str] = {
    "payment_missing": N_("Payment not received or late"),
    "wrong_amount": N_("Wrong amount"),
    "excluded": N_("Wrongly excluded or refused"),
    "data_correction": N_("Correct my data"),
    "misconduct": N_("Staff misconduct or request for money"),
    "appeal": N_("Appeal a decision"),
    "other": N_("Other"),
    "preregistration": N_("Pre-registration"),
    "complaint": N_("Complaint"),
}
STATUS_NAMES: Mapping[str, str] = {
    CaseStatus.RECEIVED: N_("received, waiting at the desk"),
    CaseStatus.ACKNOWLEDGED: N_("acknowledged by the {leader}"),
    CaseStatus.PICKED_UP: N_("being handled by the desk"),
    CaseStatus.RESOLVED_IN_VILLAGE: N_("resolved by the {leader}, waiting for {desk} to close it"),
    CaseStatus.ESCALATED: N_("sent to the office above, waiting to be picked up"),
    CaseStatus.RESOLVED: N_("resolved"),
    CaseStatus.REJECTED: N_("closed without action"),
}


def category_name(t: Translator, category: str) -> str:
    """Name a case's category in t's language."""
    label = CATEGORY_NAMES.get(category, category)
    return t(label)


# What a citizen reads of the statuses that name a country's leader or desk (the desk's own
# lists keep STATUS_NAMES).
CITIZEN_STATUS_NAMES: Mapping[str, str] = {
    CaseStatus.ACKNOWLEDGED: N_("acknowledged by your {leader}"),
    CaseStatus.RESOLVED_IN_VILLAGE: N_("resolved by your {leader}, waiting for {desk} to close it"),
}


def status_name(t: Translator, status: str, country: str) -> str:
    """Name a case's status in t's language, with the country's words."""
    if status in CITIZEN_STATUS_NAMES:
        words = country_words(country)
        return t(CITIZEN_STATUS_NAMES[status], **words.placeholders(t.language))
    label = STATUS_NAMES.get(status, status)
    return t(label)


@dataclass(frozen=True)
class CaseTexts:
    """Every SMS a case sends, composed in the reader's language and the country's words."""

    country: str  # the deployment's COUNTRY: its words for leaders, desks and areas

    @property
    def words(self) -> CountryWords:
        """The words of the country these texts speak for."""
        return country_words(self.country)

    def received(self, language: str, reference: str) -> str:
        """To the citizen, on filing."""
        t = Translator(language)
        return t(
            "janela: your request {reference} was received. You will get an SMS at each step.",
            reference=reference,
        )

    def staff_alert(self, language: str, reference: str, category: str, summary: str, place: str) -> str:
        """To the chief or officer the case is routed to."""
        t = Translator(language)
        text = t(
            "janela: new case {reference} ({category}) in {place}.",
            reference=reference,
            category=category_name(t, category),
            place=place,
        )
        if summary:
            text += f' "{summary}"'
        return text + " " + t("Reply OK {reference} to acknowledge.", reference=reference)

    def acknowledged(self, language: str, reference: str, by: str) -> str:
        """To the citizen, when the local leader (a village chief in Cambodia) acknowledges."""
        t = Translator(language)
        return t(
            "janela: your request {reference} was received by {name}, your {leader}, who is handling it.",
            reference=reference,
            name=by,
            leader=self.words.word(self.words.leader, language),
        )

    def picked_up(self, language: str, reference: str) -> str:
        """To the citizen, when a desk officer picks the case up."""
        t = Translator(language)
        return t(
            "janela: {desk} is now handling your request {reference}.",
            reference=reference,
            desk=self.words.word(self.words.desk, language),
        )

    def resolved(self, language: str, reference: str, outcome: str) -> str:
        """To the citizen, when the case is resolved."""
        t = Translator(language)
        return t(
            "janela: your request {reference} was resolved: {outcome}", reference=reference, outcome=outcome
        )

    def rejected(self, language: str, reference: str, reason: str) -> str:
        """To the citizen, when the case is closed without action."""
        t = Translator(language)
        return t(
            "janela: your request {reference} was closed: {reason}. You may appeal from the menu.",
            reference=reference,
            reason=reason,
        )

    def escalated(self, language: str, reference: str, level: str = "district") -> str:
        """To the citizen, when the case goes to the district or the province."""
        t = Translator(language)
        if level == "province":
            return t(
                "janela: your request {reference} was sent to the province office, which will handle it.",
                reference=reference,
            )
        return t(
            "janela: your request {reference} was sent to the district office, which will handle it.",
            reference=reference,
        )

    def escalation_alert(self, language: str, reference: str, category: str, place: str) -> str:
        """To the district officer, when a case escalates."""
        t = Translator(language)
        return t(
            "janela: case {reference} ({category}) in {place} was escalated to you.",
            reference=reference,
            category=category_name(t, category),
            place=place,
        )

    def desk_acknowledged(self, language: str, reference: str, level: str = "commune") -> str:
        """To the citizen, when a desk says it has the request (before anyone takes it up)."""
        t = Translator(language)
        if level == "province":
            return t(
                "janela: the province office has your request {reference} and will handle it.",
                reference=reference,
            )
        if level == "district":
            return t(
                "janela: the district office has your request {reference} and will handle it.",
                reference=reference,
            )
        return t(
            "janela: the commune desk has your request {reference} and will handle it.", reference=reference
        )

    def asked_for_information(self, language: str, reference: str, question: str) -> str:
        """To the citizen, when the desk needs more from them; the answer starts with the reference."""
        t = Translator(language)
        return t(
            "janela: about your request {reference}, the desk asks: {question} "
            "Reply by SMS: {reference} and your answer.",
            reference=reference,
            question=question,
        )


def ids_sms(language: str, ids: list[tuple[str, str]]) -> str:
    """The SMS that reminds a household of its social-protection IDs."""
    t = Translator(language)
    lines = [t("janela: social-protection IDs of your household:")]
    lines += [f"{name}: {sp_id}" for name, sp_id in ids]
    return "\n".join(lines)
