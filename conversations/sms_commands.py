"""SMS commands: read what a person texted, in km, pt or en, and decide the answer.

The router only decides; registry.inbound.finish_inbound applies the decision (reply, language,
opt-out) in one transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from conversations.case_texts import CaseTexts, category_name, ids_sms, status_name
from conversations.flows import programme_sms
from conversations.i18n import N_, Translator
from conversations.settings import Settings
from registry import services
from registry.areas import find_area
from registry.cases import Complaint, add_citizen_note, case_status_for, chief_action, file_complaint
from registry.errors import NotFound
from registry.idlookup import ids_for_phone
from registry.preregistration import village_of_phone

# Every command's keywords per language, as people type them after case and accents are folded.
KEYWORDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "help": {"en": ("HELP",), "pt": ("AJUDA",), "km": ("ជំនួយ",), "*": ("MENU", "?")},
    "programmes": {
        "en": ("PROGRAMMES", "PROGRAMME", "PROGRAMS", "PROGRAM"),
        "pt": ("PROGRAMAS", "PROGRAMA"),
        "km": ("កម្មវិធី",),
    },
    "language": {"en": ("LANGUAGE", "LANG"), "pt": ("IDIOMA", "LINGUA"), "km": ("ភាសា",)},
    "stop": {"en": ("STOP",), "pt": ("PARAR", "SAIR"), "km": ("ឈប់",)},
    "start": {"en": ("START",), "pt": ("INICIAR", "COMECAR"), "km": ("ចាប់ផ្តើម",)},
    "status": {"en": ("STATUS",), "pt": ("ESTADO",), "km": ("ស្ថានភាព",)},
    "myid": {"en": ("MYID", "MY ID"), "pt": ("MEUID", "MEU ID"), "km": ("លេខសម្គាល់",)},
    # Village chiefs act on cases by SMS.
    # "*": the same word in every language, so it says nothing about the sender's language.
    "ok": {"*": ("OK",), "pt": ("RECEBIDO",), "km": ("ទទួល",)},
    "done": {"en": ("DONE",), "pt": ("FEITO", "RESOLVIDO"), "km": ("រួចរាល់",)},
    "info": {"*": ("INFO",), "pt": ("DETALHES",), "km": ("ព័ត៌មាន",)},
    # Khmer writes the subscript of បណ្តឹង both as ្ត and as ្ដ.
    "complaint": {"en": ("COMPLAINT",), "pt": ("QUEIXA", "RECLAMACAO"), "km": ("បណ្តឹង", "បណ្ដឹង")},
}
# What a person may write to name a language.
LANGUAGE_WORDS = {
    "km": ("KM", "KHMER", "ខ្មែរ", "1"),
    "pt": ("PT", "PORTUGUES", "PORTUGUESE", "2"),
    "en": ("EN", "ENGLISH", "INGLES", "3"),
}

HELP = N_(
    "janela commands:\n"
    "PROGRAMMES - list of programmes\n"
    "PROGRAMME 2 - details of programme 2\n"
    "STATUS 1234567 - your request\n"
    "MYID - your social-protection ID\n"
    "COMPLAINT 17010101 text - file a complaint\n"
    "LANGUAGE KM/PT/EN - change language\n"
    "STOP / START - other messages"
)
NO_SUCH_REQUEST = N_("No request {reference} was filed from this phone. Check the number.")
REQUEST_STATUS = N_("Request {reference} ({kind}): {status}.")
NO_ID = N_("No social-protection ID is registered for this phone. Ask your commune desk.")
NOTE_ADDED = N_("Thank you: your details were added to request {reference}.")
CHIEF_REFUSED = N_("Sorry, you cannot act on case {reference}: only the chief of its village can.")
CHIEF_UNKNOWN = N_("There is no case {reference}. Check the number.")
CHIEF_CLOSED = N_("Case {reference} is already closed.")
CHIEF_OK = N_("Case {reference} acknowledged. The citizen was told.")
CHIEF_DONE = N_("Case {reference} marked resolved in the village; the commune desk will close it.")
CHIEF_INFO = N_("Case {reference} ({kind}) in {village}: {status}.")
COMPLAINT_FILED = N_(
    "Your complaint was received. Reference: {reference}. Send {reference} and more words to add details."
)
COMPLAINT_HOW = N_(
    "Send COMPLAINT, your village code and the problem, e.g. COMPLAINT 17010101 no payment since May."
)
WHICH_REFERENCE = N_("Send the keyword and the reference, e.g. STATUS 1234567.")
NOT_UNDERSTOOD = N_("Sorry, we did not understand your message.")
PROGRAMME_LIST_END = N_("Send PROGRAMME and a number for details.")
NO_SUCH_PROGRAMME = N_("There is no programme {wanted}. Send PROGRAMMES for the list.")
NO_PROGRAMMES = N_("No programmes are listed yet.")
LANGUAGE_SET = N_("You will now receive messages in English.")
WHICH_LANGUAGE = N_("Send LANGUAGE KM, LANGUAGE PT or LANGUAGE EN.")
STOPPED = N_(
    "You will no longer receive information messages. Answers to your requests still come. "
    "Send START to receive them again."
)
STARTED = N_("You will receive information messages again. Send STOP to end them.")


@dataclass(frozen=True)
class SmsDecision:
    """What to do with one inbound SMS."""

    command: str
    language: str
    reply: str
    set_language: str | None = None
    opt_out: bool | None = None


def fold(text: str) -> str:
    """Upper-case, drop Latin accents, remove zero-width spaces and squeeze spaces."""
    text = text.replace("\u200b", " ").replace("\ufeff", " ")
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue  # an accent on a Latin letter; Khmer signs are kept
        out.append(ch)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", "".join(out))).strip().upper()


def parse(text: str) -> tuple[str | None, str | None, str]:
    """Return (command, language of its keyword, the rest) for an SMS text."""
    folded = fold(text)
    for command, by_language in KEYWORDS.items():
        for language, words in by_language.items():
            for word in words:
                if folded == word or folded.startswith(word + " "):
                    return command, None if language == "*" else language, folded[len(word) :].strip()
                # Khmer is often written without a space after the keyword.
                if language == "km" and folded.startswith(word):
                    return command, language, folded[len(word) :].strip()
    return None, None, folded


def after_keyword(text: str, command: str) -> str:
    """Return what follows a command's keyword, as the person wrote it (case and accents kept)."""
    body = " ".join(text.replace("\u200b", " ").split())
    first, _, rest = body.partition(" ")
    folded = fold(first)
    for language, words in KEYWORDS[command].items():
        for word in words:
            if folded == word:
                return rest
            if language == "km" and folded.startswith(word):  # Khmer folds to itself, glued or not
                return f"{first[len(word) :]} {rest}".strip()
    return rest


class SmsRouter:
    """Decide the answer to an inbound SMS."""

    def __init__(self, db: sessionmaker[Session], settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def route(self, sender: str, text: str, request_key: str = "") -> SmsDecision:
        """Decide the reply, in the sender's language, and any change to their preferences.

        request_key names the inbound message, so that a complaint it files is filed once.
        """
        command, keyword_language, rest = parse(text)
        known = services.get_language(self.db, sender)
        language = known or self._supported(keyword_language) or self.settings.default_language
        t = Translator(language)
        if command is None:
            details = self.add_details(sender, text, language)
            if details is not None:
                return details
            return SmsDecision("unknown", language, f"{t(NOT_UNDERSTOOD)}\n{t(HELP)}")
        if command == "help":
            return SmsDecision(command, language, t(HELP))
        if command == "programmes":
            return SmsDecision(command, language, self._programmes(t, rest))
        if command == "language":
            wanted = next((lang for lang, words in LANGUAGE_WORDS.items() if rest in words), None)
            if wanted is None or wanted not in self.settings.languages:
                return SmsDecision(command, language, t(WHICH_LANGUAGE))
            return SmsDecision(command, wanted, Translator(wanted)(LANGUAGE_SET), set_language=wanted)
        if command == "stop":
            return SmsDecision(command, language, t(STOPPED), opt_out=True)
        if command == "start":
            return SmsDecision(command, language, t(STARTED), opt_out=False)
        if command == "complaint":
            return self._complaint(language, sender, text, request_key)
        if command == "myid":
            ids = ids_for_phone(self.db, sender)
            return SmsDecision(command, language, ids_sms(language, ids) if ids else t(NO_ID))
        reference, _, note = rest.partition(" ")
        if not reference:
            return SmsDecision(command, language, t(WHICH_REFERENCE))
        if command == "status":
            case = case_status_for(self.db, reference, sender, language)
            if case is None:
                return SmsDecision(command, language, t(NO_SUCH_REQUEST, reference=reference[:12]))
            kind = category_name(t, case.category or case.kind)
            return SmsDecision(
                command,
                language,
                t(REQUEST_STATUS, reference=case.reference, kind=kind, status=status_name(t, case.status)),
            )
        return self._chief(command, language, sender, reference, note)

    def _complaint(self, language: str, sender: str, text: str, request_key: str) -> SmsDecision:
        """File a complaint sent by SMS: in the village named by its code, else the sender's village."""
        t = Translator(language)
        words = after_keyword(text, "complaint").split()
        village = words[0] if words and words[0].isdigit() else None
        description = " ".join(words[1:] if village else words).strip()
        if village is None:
            village = village_of_phone(self.db, sender)
        known = village and find_area(self.db, village, language, level="village")
        if not known or len(description) < 3:
            return SmsDecision("complaint", language, t(COMPLAINT_HOW))
        reference = file_complaint(
            self.db,
            Complaint("other", village or "", description[:500]),
            phone=sender,
            language=language,
            idempotency_key=request_key or f"sms:{sender}:{description[:50]}",
            texts=CaseTexts(),
            policy=self.settings.sms_policy,
            deadlines=self.settings.deadlines,
            reference_length=self.settings.reference_length,
            default_language=self.settings.default_language,
        )
        return SmsDecision("complaint", language, t(COMPLAINT_FILED, reference=reference))

    def _chief(self, command: str, language: str, sender: str, reference: str, note: str) -> SmsDecision:
        """Let a village chief acknowledge, resolve or read a case of their village."""
        t = Translator(language)
        result = chief_action(
            self.db,
            reference,
            sender,
            command,
            CaseTexts(),
            self.settings.sms_policy,
            note=note or None,
            language=language,
        )
        if not result.ok:
            message = {"not_found": CHIEF_UNKNOWN, "closed": CHIEF_CLOSED}.get(result.reason, CHIEF_REFUSED)
            return SmsDecision(command, language, t(message, reference=reference[:12]))
        case = result.case
        assert case is not None
        if command == "info":
            text = t(
                CHIEF_INFO,
                reference=case.reference,
                kind=category_name(t, case.category or case.kind),
                village=case.village,
                status=status_name(t, case.status),
            )
            if case.description:
                text += f' "{case.description}"'
            return SmsDecision(command, language, text)
        done = CHIEF_OK if command == "ok" else CHIEF_DONE
        return SmsDecision(command, language, t(done, reference=case.reference))

    def add_details(self, sender: str, text: str, language: str) -> SmsDecision | None:
        """Treat "<reference> more words" from the phone that filed the request as details for it."""
        reference, _, details = fold(text).partition(" ")
        if not (reference.isdigit() and details):
            return None
        if not add_citizen_note(self.db, reference, sender, " ".join(text.split()[1:])[:500]):
            return None
        return SmsDecision("details", language, Translator(language)(NOTE_ADDED, reference=reference))

    def _supported(self, language: str | None) -> str | None:
        return language if language in self.settings.languages else None

    def _programmes(self, t: Translator, wanted: str) -> str:
        programmes = services.list_programmes(
            self.db, self.settings.country, t.language, self.settings.default_language
        )
        if not programmes:
            return t(NO_PROGRAMMES)
        if not wanted:
            lines = [f"{n} {p.name}" for n, p in enumerate(programmes, start=1)]
            return "\n".join([*lines, t(PROGRAMME_LIST_END)])
        code = wanted.lower()
        if wanted.isdigit() and 1 <= int(wanted) <= len(programmes):
            code = programmes[int(wanted) - 1].code
        try:
            info = services.get_programme(
                self.db, self.settings.country, code, t.language, self.settings.default_language
            )
        except NotFound:
            return t(NO_SUCH_PROGRAMME, wanted=wanted[:20])
        return programme_sms(t, info)
