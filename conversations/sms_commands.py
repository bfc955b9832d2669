"""SMS commands: read what a person texted, in km, pt or en, and decide the answer.

The router only decides; registry.inbound.finish_inbound applies the decision in one
transaction: its effect (a chief's move, a complaint, a citizen's details), the sender's
preferences, the reply, and the message marked processed. A retry therefore repeats nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from conversations.case_texts import CaseTexts, category_name, ids_sms, status_name
from conversations.country import country_words
from conversations.flows import programme_sms
from conversations.i18n import N_, Translator
from conversations.settings import Settings
from phonetext.splitting import word_breaks
from registry import services
from registry.announcements import ChiefReply, forward_chief_reply_in
from registry.areas import find_area, village_of_phone
from registry.case_filing import file_complaint_in, reference_for_key
from registry.case_states import apply_move_in
from registry.case_types import CLOSED, CaseView, ChiefPhone, Complaint, Move, Refusal
from registry.cases import add_citizen_note_in, case_for_chief, case_status_for
from registry.errors import NotFound
from registry.idlookup import ids_for_phone
from registry.inbound import InboundDecision

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
    # ព័ត៍មាន is how many people spell ព័ត៌មាន.
    "info": {"*": ("INFO",), "pt": ("DETALHES",), "km": ("ព័ត៌មាន", "ព័ត៍មាន")},
    # Khmer writes the subscript of បណ្តឹង both as ្ត and as ្ដ: fold() reads both as one.
    "complaint": {"en": ("COMPLAINT",), "pt": ("QUEIXA", "RECLAMACAO"), "km": ("បណ្តឹង",)},
}
# What may follow each command's keyword; anything else means the keyword was just a word of a
# sentence ("ឈប់ទទួលប្រាក់..." is "stopped receiving money", not STOP).
NOTHING, ONE_WORD, REFERENCE, ANYTHING = "nothing", "one_word", "reference", "anything"
ARGUMENTS = {
    "help": NOTHING,
    "stop": NOTHING,
    "start": NOTHING,
    "myid": NOTHING,
    "programmes": ONE_WORD,
    "language": ONE_WORD,
    "status": REFERENCE,
    "ok": REFERENCE,
    "done": REFERENCE,
    "info": REFERENCE,
    "complaint": ANYTHING,
}
CHIEF_MOVES = {"ok": Move.ACKNOWLEDGE, "done": Move.RESOLVE_IN_VILLAGE}
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
# Khmer writes the subscript t both as coeng DA (្ដ) and as coeng TA (្ត); both read as TA.
_COENG_DA, _COENG_TA = "\u17d2\u178a", "\u17d2\u178f"
_TRAILING = ".,!?;:។៕"
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
    "COMPLAINT {code} text - file a complaint\n"
    "LANGUAGE KM/PT/EN - change language\n"
    "STOP / START - other messages"
)
NO_SUCH_REQUEST = N_("No request {reference} was filed from this phone. Check the number.")
REQUEST_STATUS = N_("Request {reference} ({kind}): {status}.")
NO_ID = N_("No social-protection ID is registered for this phone. {desk_subject} can help.")
NOTE_ADDED = N_("Thank you: your details were added to request {reference}.")
CHIEF_REFUSED = N_("Sorry, you cannot act on case {reference}: only its {leader} can.")
CHIEF_CLOSED = N_("Case {reference} is already closed.")
CHIEF_ALREADY_OK = N_("Case {reference} was already acknowledged. Nothing changed.")
CHIEF_ALREADY_DONE = N_("Case {reference} was already marked resolved. Nothing changed.")
CHIEF_NOT_NOW = N_("Case {reference} is now with the desk ({status}). Nothing changed.")
CHIEF_OK = N_("Case {reference} acknowledged. The citizen was told.")
CHIEF_DONE = N_("Case {reference} marked resolved locally; {desk} will close it.")
CHIEF_INFO = N_("Case {reference} ({kind}) in {village}: {status}.")
COMPLAINT_FILED = N_(
    "Your complaint was received. Reference: {reference}. Send {reference} and more words to add details."
)
COMPLAINT_HOW = N_(
    "Send COMPLAINT, your {village_code} and the problem, e.g. COMPLAINT {code} no payment since May."
)
WHICH_REFERENCE = N_("Send the keyword and the reference, e.g. STATUS 1234567.")
NOT_UNDERSTOOD = N_("Sorry, we did not understand. Send HELP for the commands.")
CHIEF_REPLY = N_("Reply to your announcement from {chief}, chief of {village}: {text}")
CHIEF_REPLY_SENT = N_("Thank you: we sent your reply to {officer}.")
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


# What to do with one inbound SMS; registry.inbound applies it in one transaction.
SmsDecision = InboundDecision


def fold(text: str) -> str:
    """Fold for matching: upper-case, no Latin accents, Khmer digits and coeng t read as one."""
    text = text.replace("\u200b", " ").replace("\ufeff", " ")
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue  # an accent on a Latin letter; Khmer signs are kept
        out.append(ch)
    folded = unicodedata.normalize("NFC", "".join(out)).translate(_KHMER_DIGITS).replace(_COENG_DA, _COENG_TA)
    return re.sub(r"\s+", " ", folded).strip().upper()


def _ends_word(folded: str, end: int) -> bool:
    """True when a keyword ending at end is a whole word: a space, a digit, the end, or a Khmer word break."""
    if end >= len(folded) or folded[end] == " " or folded[end].isdigit() or folded[end] in _TRAILING:
        return True
    return not folded[end - 1].isascii() and end in word_breaks(folded)


def _fits(shape: str, rest: str) -> bool:
    """True when what follows a keyword has the shape its command takes."""
    rest = rest.strip().strip(_TRAILING).strip()
    if shape == NOTHING:
        return rest == ""
    if shape == ONE_WORD:
        return " " not in rest
    if shape == REFERENCE:
        return rest == "" or _leading_digits(rest) != ""
    return True


def _leading_digits(text: str) -> str:
    match = re.match(r"\d+", text)
    return match.group(0) if match else ""


def parse(text: str) -> tuple[str | None, str | None, str]:
    """Return (command, language of its keyword, the rest, folded) for an SMS text.

    A keyword counts only as a whole word followed by what its command takes, so ordinary
    sentences that begin with one are not read as commands.
    """
    folded = fold(text)
    for command, by_language in KEYWORDS.items():
        for language, words in by_language.items():
            for word in words:
                word = fold(word)
                if not folded.startswith(word) or not _ends_word(folded, len(word)):
                    continue
                rest = folded[len(word) :].strip()
                if _fits(ARGUMENTS[command], rest):
                    return command, None if language == "*" else language, rest.strip(_TRAILING).strip()
    return None, None, folded


def after_keyword(text: str, command: str) -> str:
    """Return what follows a command's keyword, as the person wrote it (case and accents kept)."""
    body = " ".join(text.replace("\u200b", " ").split())
    folded = fold(body)
    for words in KEYWORDS[command].values():
        for word in words:
            word = fold(word)
            if folded.startswith(word):
                # The shortest beginning of the text that folds to the keyword is the keyword.
                end = next((i for i in range(1, len(body) + 1) if fold(body[:i]) == word), 0)
                return body[end:].strip()
    return body


def note_after_reference(text: str, reference: str) -> str:
    """Return what follows the reference in a chief's SMS, exactly as written."""
    body = " ".join(text.replace("\u200b", " ").split())
    at = body.translate(_KHMER_DIGITS).find(reference)
    return body[at + len(reference) :].strip() if at >= 0 else ""


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
            return self._details_or_unknown(sender, text, language, request_key)
        if command == "help":
            return SmsDecision(command, language, t(HELP, code=self._example_code()))
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
            reply = ids_sms(language, ids) if ids else t(NO_ID, **self._words(language))
            return SmsDecision(command, language, reply)
        reference = _leading_digits(rest)
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
                t(
                    REQUEST_STATUS,
                    reference=case.reference,
                    kind=kind,
                    status=status_name(t, case.status, self.settings.country),
                ),
            )
        note = note_after_reference(text, reference) if command == "done" else ""
        return self._chief(command, language, sender, reference, note, request_key)

    def _complaint(self, language: str, sender: str, text: str, request_key: str) -> SmsDecision:
        """File a complaint sent by SMS: in the village named by its code, else the sender's village.

        The reply is the one confirmation the person gets: the filing sends no other.
        """
        t = Translator(language)
        words = after_keyword(text, "complaint").split()
        code = words[0].translate(_KHMER_DIGITS) if words else ""
        village = code if code.isdigit() else None
        description = " ".join(words[1:] if village else words).strip()
        if village is None:
            village = village_of_phone(self.db, sender)
        known = village and find_area(self.db, village, language, level="village")
        if not village or not known or len(description) < 3:
            how = t(COMPLAINT_HOW, code=self._example_code(), **self._words(language))
            return SmsDecision("complaint", language, how)
        key = request_key or f"sms:{sender}:{description[:50]}"
        complaint = Complaint("other", village, description[:500])
        services_settings = self.settings.services

        def file(session: Session) -> tuple[str, str]:
            reference = reference_for_key(session, key) or file_complaint_in(
                session,
                complaint,
                sender,
                language,
                key,
                CaseTexts(self.settings.country),
                services_settings,
                "SMS",
                confirm=False,
            )
            return "complaint", t(COMPLAINT_FILED, reference=reference)

        return SmsDecision("complaint", language, "", effect=file)

    def _chief(
        self, command: str, language: str, sender: str, reference: str, note: str, request_key: str
    ) -> SmsDecision:
        """Let a village chief acknowledge, resolve or read a case of their village."""
        t = Translator(language)
        services_settings = self.settings.services

        def act(session: Session) -> tuple[str, str]:
            if command == "info":
                return command, self._info(session, t, sender, reference)
            result = apply_move_in(
                session,
                reference,
                ChiefPhone(sender),
                CHIEF_MOVES[command],
                services_settings,
                CaseTexts(self.settings.country),
                note=note or None,
                request_key=f"{request_key}:chief:{sender}" if request_key else None,
                language=language,
            )
            return command, self._chief_reply(t, command, reference, result.refusal, result.case)

        return SmsDecision(command, language, "", effect=act)

    def _info(self, session: Session, t: Translator, sender: str, reference: str) -> str:
        case = case_for_chief(session, reference, sender, t.language)
        if case is None:
            return t(CHIEF_REFUSED, reference=reference[:12], **self._words(t.language))
        text = t(
            CHIEF_INFO,
            reference=case.reference,
            kind=category_name(t, case.category or case.kind),
            village=case.village,
            status=status_name(t, case.status, self.settings.country),
        )
        return text + (f' "{case.description}"' if case.description else "")

    def _chief_reply(
        self, t: Translator, command: str, reference: str, refusal: Refusal | None, case: CaseView | None
    ) -> str:
        """Answer the chief: done, or politely why nothing changed."""
        acknowledging = command == Move.ACKNOWLEDGE.value
        if refusal is None:
            if acknowledging:
                return t(CHIEF_OK, reference=reference)
            return t(CHIEF_DONE, reference=reference, **self._words(t.language))
        if refusal in (Refusal.NOT_FOUND, Refusal.NOT_ALLOWED):
            # The same words whether the case exists or not: a guess learns nothing.
            return t(CHIEF_REFUSED, reference=reference[:12], **self._words(t.language))
        if refusal is Refusal.CLOSED or (case is not None and case.status in CLOSED):
            return t(CHIEF_CLOSED, reference=reference)
        if refusal is Refusal.ALREADY_DONE:
            return t(CHIEF_ALREADY_OK if acknowledging else CHIEF_ALREADY_DONE, reference=reference)
        status = status_name(t, case.status, self.settings.country) if case is not None else ""
        return t(CHIEF_NOT_NOW, reference=reference, status=status)

    def _details_or_unknown(self, sender: str, text: str, language: str, request_key: str) -> SmsDecision:
        """Treat "<reference> more words" from the phone that filed the request as details for it.

        Anything else gets one short SMS pointing to HELP.
        """
        t = Translator(language)
        unknown = SmsDecision("unknown", language, t(NOT_UNDERSTOOD))
        reference, _, details = fold(text).partition(" ")
        if not (reference.isdigit() and details):
            return self._announcement_reply(sender, text, language, request_key, unknown)
        note = note_after_reference(text, reference)[:500]

        def add(session: Session) -> tuple[str, str]:
            if add_citizen_note_in(session, reference, sender, note, request_key or None):
                return "details", t(NOTE_ADDED, reference=reference)
            return "unknown", unknown.reply

        return SmsDecision("details", language, "", effect=add)

    def _announcement_reply(
        self, sender: str, text: str, language: str, request_key: str, unknown: SmsDecision
    ) -> SmsDecision:
        """Forward a village chief's answer to the officer of the announcement they last got."""
        if not request_key or not text.strip():
            return unknown

        def compose(reply: ChiefReply) -> str:
            return Translator(reply.officer_language)(
                CHIEF_REPLY, chief=reply.chief, village=reply.village, text=reply.text
            )

        def forward(session: Session) -> tuple[str, str]:
            reply = forward_chief_reply_in(
                session,
                sender,
                text.strip(),
                request_key,
                compose,
                self.settings.sms_policy,
                self.settings.default_language,
            )
            if reply is None:
                return "unknown", unknown.reply
            return "announcement_reply", Translator(language)(CHIEF_REPLY_SENT, officer=reply.officer)

        return SmsDecision("announcement_reply", language, "", effect=forward)

    def _supported(self, language: str | None) -> str | None:
        return language if language in self.settings.languages else None

    def _words(self, language: str) -> dict[str, str]:
        """The country's own words for the texts that name them."""
        return country_words(self.settings.country).placeholders(language)

    def _example_code(self) -> str:
        """A village code of this country, for the examples in help texts."""
        return country_words(self.settings.country).example_village_code

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
