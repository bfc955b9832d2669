"""The SMS keyword router: km, pt and en, tolerant of case, accents and spacing."""

from __future__ import annotations

import pytest
from flask import Flask

from conversations.sms_commands import SmsRouter, fold, parse
from phonetext.encoding import measure_sms
from registry.services import set_language

KH = "+85512345678"


def router(app: Flask) -> SmsRouter:
    janela = app.extensions["janela"]
    return SmsRouter(janela.db, janela.settings)


@pytest.mark.parametrize(
    ("text", "command", "language", "rest"),
    [
        ("AJUDA", "help", "pt", ""),
        ("  ajuda  ", "help", "pt", ""),
        ("Help", "help", "en", ""),
        ("ជំនួយ", "help", "km", ""),
        ("programas", "programmes", "pt", ""),
        ("Programa   2", "programmes", "pt", "2"),
        ("PROGRAMME pssb", "programmes", "en", "PSSB"),
        ("កម្មវិធី3", "programmes", "km", "3"),
        ("Língua en", "language", "pt", "EN"),
        ("LINGUA  EN", "language", "pt", "EN"),
        ("ភាសា ខ្មែរ", "language", "km", "ខ្មែរ"),
        ("comeÇar", "start", "pt", ""),
        ("Stop", "stop", "en", ""),
        ("ឈប់", "stop", "km", ""),
        ("hello there", None, None, "HELLO THERE"),
        ("STOPPER", None, None, "STOPPER"),
    ],
)
def test_keywords_are_read_whatever_the_case_accents_or_spaces(
    text: str, command: str | None, language: str | None, rest: str
) -> None:
    assert parse(text) == (command, language, rest)


def test_fold_keeps_khmer_signs_and_drops_latin_accents() -> None:
    assert fold("ភាសា  ខ្មែរ") == "ភាសា ខ្មែរ"
    assert fold("Informação\u200bútil") == "INFORMACAO UTIL"


def test_help_comes_in_the_language_of_the_keyword_for_a_new_number(app: Flask) -> None:
    assert router(app).route(KH, "AJUDA").reply.startswith("Comandos janela:")
    assert router(app).route(KH, "HELP").reply.startswith("janela commands:")
    assert router(app).route(KH, "ជំនួយ").reply.startswith("ពាក្យបញ្ជា janela៖")


def test_a_known_number_is_answered_in_its_own_language(app: Flask) -> None:
    set_language(app.extensions["janela"].db, KH, "km")
    assert router(app).route(KH, "HELP").language == "km"


def test_programme_list_and_details(app: Flask) -> None:
    listing = router(app).route(KH, "PROGRAMAS").reply
    assert listing.startswith("1 IDPoor (Cartão de Equidade)\n2 Apoio a grávidas")
    assert listing.endswith("Envie PROGRAMA e um número para ver os detalhes.")
    details = router(app).route(KH, "programa 3").reply
    assert details.startswith("Bolsas de estudo\n")
    assert "Como se inscrever: Fale com o director da escola" in details
    by_code = router(app).route(KH, "PROGRAMME nssf").reply
    assert by_code.startswith("NSSF (social security)")
    missing = router(app).route(KH, "PROGRAMME 99").reply
    assert missing == "There is no programme 99. Send PROGRAMMES for the list."


def test_language_change(app: Flask) -> None:
    decision = router(app).route(KH, "IDIOMA KM")
    assert (decision.set_language, decision.language) == ("km", "km")
    assert decision.reply == "ចាប់ពីពេលនេះ អ្នកនឹងទទួលសារជាភាសាខ្មែរ។"
    unclear = router(app).route(KH, "LANGUAGE klingon")
    assert unclear.set_language is None
    assert unclear.reply == "Send LANGUAGE KM, LANGUAGE PT or LANGUAGE EN."


def test_language_not_offered_by_the_deployment_is_refused(make_app: object) -> None:
    app = make_app(LANGUAGES="pt,en", DEFAULT_LANGUAGE="pt")  # type: ignore[operator]
    assert router(app).route(KH, "LANGUAGE KM").set_language is None


def test_stop_and_start(app: Flask) -> None:
    assert router(app).route(KH, "STOP").opt_out is True
    assert router(app).route(KH, "START").opt_out is False


@pytest.mark.parametrize(
    ("language", "reply"),
    [
        ("km", "សូមអភ័យទោស យើងមិនយល់ទេ។ ផ្ញើ ជំនួយ ដើម្បីមើលពាក្យបញ្ជា។"),
        ("pt", "Desculpe, não percebemos. Envie AJUDA para ver os comandos."),
        ("en", "Sorry, we did not understand. Send HELP for the commands."),
    ],
)
def test_unknown_text_gets_one_short_sms_pointing_to_help(app: Flask, language: str, reply: str) -> None:
    set_language(app.extensions["janela"].db, KH, language)
    decision = router(app).route(KH, "when is my payment")
    assert (decision.command, decision.reply) == ("unknown", reply)
    assert measure_sms(reply).segments == 1  # one SMS, not the whole help at the service's cost
