"""The SMS the desk's own services send, in the reader's language."""

from __future__ import annotations

from conversations.case_texts import CaseTexts, ids_sms
from conversations.i18n import Translator


class DeskTexts(CaseTexts):
    """A case's SMS, and set-up codes for staff, registrations and enrolment decisions."""

    def setup_code(self, language: str, code: str, minutes: int) -> str:
        """To a staff member: the one-time code that sets their desk password."""
        t = Translator(language)
        return t(
            "janela desk: your set-up code is {code}. It works once, for {minutes} minutes. Do not share it.",
            code=code,
            minutes=minutes,
        )

    def registered(self, language: str, reference: str, ids: list[tuple[str, str]]) -> str:
        """To the household: its request was verified, with each member's ID."""
        t = Translator(language)
        first = t("janela: your request {reference} was verified and registered.", reference=reference)
        return first + "\n" + ids_sms(language, ids)

    def enrolment_approved(self, language: str, programme: str, name: str) -> str:
        """To the household: the district approved an enrolment."""
        t = Translator(language)
        return t("janela: {name} is now enrolled in {programme}.", name=name, programme=programme)

    def enrolment_declined(self, language: str, programme: str, name: str, reason: str) -> str:
        """To the household: the district declined an enrolment, why, and how to appeal."""
        t = Translator(language)
        return t(
            "janela: the request of {name} for {programme} was declined: {reason}. "
            "To appeal, dial the service and choose Complaint, then Appeal a decision.",
            name=name,
            programme=programme,
            reason=reason,
        )
