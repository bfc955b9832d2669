"""A wrong village code, the accents of a full screen, and a country's own words."""

from __future__ import annotations

from typing import Any

from conversations.i18n import Translator
from phonetext.encoding import Budget, fold_to_gsm7, is_gsm7
from registry.services import set_language
from tests.phones import Phone

KH = "+85512340055"
MZ = "+258841230055"
UP_TO_VILLAGE = ("2", "1", "Srey Pov Chan", "1", "15031992", "1")


def test_a_wrong_village_code_asks_again_in_full_and_98_never_sticks(make_app: Any) -> None:
    app = make_app()
    set_language(app.extensions["janela"].db, KH, "km")
    phone = Phone(app.test_client(), KH)
    phone.dial()
    for key in UP_TO_VILLAGE:
        phone.send(key)
    t = Translator("km")
    question = t("Type the {village_code} (on the notice board):", village_code="លេខកូដភូមិ")
    assert phone.screen.startswith(question)
    for wrong in ("99999999", "98", "98"):
        screen = phone.send(wrong)
        assert screen.startswith(t("There is no such code. Check the notice board.") + "\n" + question)
        assert "\n98 " not in screen and Budget().fits(screen)
    assert phone.send("17010102").startswith(t("How many people live in your household?"))


def test_auto_folding_puts_the_whole_portuguese_complaint_menu_on_one_screen(make_app: Any) -> None:
    screens = {}
    for mode in ("auto", "off"):
        app = make_app(USSD_FOLD_ACCENTS=mode)
        set_language(app.extensions["janela"].db, KH, "pt")
        phone = Phone(app.test_client(), KH)
        phone.dial()
        screens[mode] = phone.send("4")
    assert "7 Outro" in screens["auto"] and "\n98 " not in screens["auto"]
    assert is_gsm7(screens["auto"]) and "Excluido injustamente" in screens["auto"]
    assert "\n98 " in screens["off"] and "7 Outro" not in screens["off"]  # the accents cost a page


def test_khmer_is_never_folded(make_app: Any) -> None:
    app = make_app(USSD_FOLD_ACCENTS="on")
    set_language(app.extensions["janela"].db, KH, "km")
    assert Phone(app.test_client(), KH).dial().startswith("គាំពារសង្គម")


def test_mozambique_offers_portuguese_first_and_names_inas_programmes(make_app: Any) -> None:
    app = make_app(catalogue="MZ", COUNTRY="MZ", LANGUAGES="", DEFAULT_LANGUAGE="")
    phone = Phone(app.test_client(), MZ)
    assert phone.dial().split("\n")[1] == "1 Português"
    phone.send("1")
    listing = phone.send("1")
    assert "1 Subsidio Social Basico" in listing or "1 Subsídio Social Básico" in listing
    assert ": " not in listing


def test_mozambique_speaks_of_its_own_levels_and_desk_on_screens_and_in_sms(make_app: Any) -> None:
    app = make_app(catalogue="MZ", COUNTRY="MZ")
    set_language(app.extensions["janela"].db, MZ, "pt")
    phone = Phone(app.test_client(), MZ)
    phone.dial()
    consent = phone.send("2")
    while "\n98 " in phone.screen:
        consent += phone.send("98")
    assert "servico distrital" in fold_to_gsm7(consent) and "comuna" not in consent
    for key in ("1", "Maria Cossa", "1", "15061985"):
        phone.send(key)
    assert phone.screen.startswith("Localidade\n")
    assert fold_to_gsm7(phone.send("2")).startswith("Provincia\n")
    assert phone.send("1").startswith("Distrito\n")
    assert phone.send("1").startswith("Posto administrativo\n")
    assert phone.send("1").startswith("Localidade\n")
    phone.send("1")
    for key in ("4", "1", "5", "1"):  # household, a programme, done, confirm
        phone.send(key)
    assert phone.ended, phone.screen
    with app.extensions["janela"].db() as session:
        from registry.models import OutboxMessage

        bodies = [m.body for m in session.query(OutboxMessage).all()]
    assert any("O serviço distrital vai entrar em contacto consigo." in b for b in bodies), bodies
    assert not any("comuna" in b for b in bodies), bodies


def test_the_help_sms_gives_a_village_code_of_the_country(make_app: Any) -> None:
    from conversations.sms_commands import SmsRouter

    for country, code, other in (("MZ", "10010101", "17010101"), ("KH", "17010101", "10010101")):
        app = make_app(catalogue=country, COUNTRY=country)
        janela = app.extensions["janela"]
        router = SmsRouter(janela.db, janela.settings)
        number = MZ if country == "MZ" else KH
        for text in ("AJUDA", "QUEIXA"):
            reply = router.route(number, text).reply
            assert code in reply and other not in reply, reply


def test_ussd_run_with_extra_digits_jumps_as_a_phone_does(make_app: Any) -> None:
    app = make_app()
    set_language(app.extensions["janela"].db, KH, "en")
    result = app.test_cli_runner().invoke(args=["ussd", "run", "--phone", KH, "--code", "*384*123*1#"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("CON Programmes\n1 IDPoor"), result.output
