"""A wrong village code, the accents of a full screen, and a country's own words."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from conversations.case_texts import CaseTexts, status_name
from conversations.i18n import Translator
from conversations.sms_commands import SmsRouter
from phonetext.encoding import Budget, fold_to_gsm7, is_gsm7
from registry.case_states import apply_move
from registry.cases import staff_by_phone
from registry.models import Case, OutboxMessage
from registry.services import set_language
from tests.jobs import run_jobs
from tests.phones import Phone

KH = "+85512340055"
MZ = "+258841230055"
LEADER = "+258840000101"  # the líder comunitário of locality 10010101
DESK_MZ = "+258840000201"  # the serviço distrital's officer there
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
    # auto folds the list: accented, it would need a second page.
    assert listing.split("\n")[:2] == ["Programas", "1 Subsidio Social Basico"], listing
    assert ": " not in listing


def test_mozambique_speaks_of_its_own_levels_and_desk_on_screens_and_in_sms(make_app: Any) -> None:
    app = make_app(catalogue="MZ", COUNTRY="MZ")
    janela = app.extensions["janela"]
    set_language(janela.db, MZ, "pt")
    client = app.test_client()
    phone = Phone(client, MZ)
    phone.dial()
    consent = phone.send("2")
    while "\n98 " in phone.screen:
        consent += phone.send("98")
    assert "servico distrital" in fold_to_gsm7(consent) and "comuna" not in consent
    for key in ("1", "Maria Cossa", "1", "15061985"):
        phone.send(key)
    assert fold_to_gsm7(phone.screen).startswith("Localidade\n1 Escrever o codigo da localidade\n")
    assert fold_to_gsm7(phone.send("1")).startswith("Escreva o codigo da localidade:")
    again = fold_to_gsm7(phone.send("99999999"))
    assert again.startswith("Este codigo nao existe.\nEscreva o codigo da localidade"), again
    phone.send("0")
    assert fold_to_gsm7(phone.send("2")).startswith("Provincia\n")
    assert phone.send("1").startswith("Distrito\n")
    assert phone.send("1").startswith("Posto administrativo\n")
    assert phone.send("1").startswith("Localidade\n")
    phone.send("1")
    for key in ("4", "1", "5"):  # household, a programme, done
        phone.send(key)
    summary = phone.screen
    while "\n98 " in phone.screen:
        summary += phone.send("98")
    assert "Localidade: " in summary and "Aldeia" not in summary
    phone.send("1")  # confirm
    assert phone.ended, phone.screen
    with janela.db() as session:
        reference = session.scalars(select(Case.reference)).one()
    # The community leader acknowledges by SMS, then the district service picks the case up.
    client.post("/sms/inbound", data={"from": LEADER, "to": "1234", "text": f"OK {reference}", "id": "in-1"})
    run_jobs(app)
    officer = staff_by_phone(janela.db, DESK_MZ)
    assert officer is not None
    assert apply_move(janela.db, reference, officer, "pickup", janela.settings.services, CaseTexts("MZ")).ok
    with janela.db() as session:
        bodies = [m.body for m in session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == MZ))]
    assert any("O serviço distrital vai entrar em contacto consigo." in b for b in bodies), bodies
    assert any("o seu líder comunitário, que está a tratar dele." in b for b in bodies), bodies
    assert any(f"o serviço distrital está a tratar do seu pedido {reference}." in b for b in bodies), bodies
    cambodian = ("comuna", "aldeia", "chefe")
    assert not any(word in b for b in bodies for word in cambodian), bodies
    status = SmsRouter(janela.db, janela.settings).route(MZ, "ESTADO " + reference).reply
    assert "comuna" not in status and "aldeia" not in status, status
    assert "líder comunitário" in status_name(Translator("pt"), "acknowledged", "MZ")
    no_id = SmsRouter(janela.db, janela.settings).route("+258849999999", "MEUID").reply
    assert "O serviço distrital pode ajudar." in no_id and "comuna" not in no_id, no_id
    # The leader's own replies use the country's words too: refused for a stranger, DONE for the leader.
    client.post("/sms/inbound", data={"from": MZ, "to": "1234", "text": f"FEITO {reference}", "id": "in-2"})
    client.post(
        "/sms/inbound", data={"from": LEADER, "to": "1234", "text": f"FEITO {reference} pago", "id": "in-3"}
    )
    run_jobs(app)
    with janela.db() as session:
        to_leader = session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == LEADER)).all()
        to_citizen = session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == MZ)).all()
    assert any("só o líder comunitário responsável pode" in b for b in to_citizen), to_citizen
    assert any("resolvido localmente; o serviço distrital vai fechá-lo" in b for b in to_leader), to_leader


def test_a_mozambican_complaint_asks_for_the_locality_code(make_app: Any) -> None:
    app = make_app(catalogue="MZ", COUNTRY="MZ", USSD_FOLD_ACCENTS="off")
    set_language(app.extensions["janela"].db, "+258849990001", "pt")
    phone = Phone(app.test_client(), "+258849990001")
    phone.dial()
    for key in ("4", "1", "1", "Nao recebi o dinheiro", "2", "2"):
        phone.send(key)
    assert phone.screen.startswith("Escreva o código da localidade:\n1 Escolher de uma lista\n"), phone.screen
    summary = phone.send("10010101")
    while "\n98 " in phone.screen:
        summary += "\n" + phone.send("98")
    assert "Localidade: " in summary and "Aldeia" not in summary, summary


def test_the_help_sms_gives_a_village_code_of_the_country(make_app: Any) -> None:
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
