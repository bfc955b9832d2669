"""The USSD flows end to end through the webhook, on real Redis and a real database."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.models import Contact, OutboxMessage
from registry.services import set_language
from tests.phones import Phone, assert_fits

KH = "+85512345678"


def outbox(app: Flask) -> list[OutboxMessage]:
    with app.extensions["janela"].db() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_first_dial_asks_for_the_language_each_in_its_own_words(client: FlaskClient) -> None:
    screen = Phone(client, KH).dial()
    assert screen.splitlines() == ["ភាសា / Idioma / Language", "1 ខ្មែរ", "2 Português", "3 English"]


def test_language_choice_is_remembered_for_the_number(app: Flask, client: FlaskClient) -> None:
    phone = Phone(client, KH)
    phone.dial()
    # The accents would cost the main menu a second page: it is written in GSM-7 letters.
    assert phone.send("2").startswith("Proteccao social\n1 Programas")
    again = Phone(client, KH).dial()
    assert again.startswith("Proteccao social\n1 Programas")
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(Contact.language).where(Contact.phone == KH)) == "pt"


def test_language_can_be_changed_from_the_main_menu(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "km")
    phone = Phone(client, KH)
    assert phone.dial().startswith("គាំពារសង្គម")
    assert phone.send("5").startswith("ភាសា / Idioma / Language")
    assert phone.screen.endswith("\n0 ថយ")  # from the menu the person may go back (home is back)
    assert phone.send("3").startswith("Social protection\n1 Programmes")
    assert Phone(client, KH).dial().startswith("Social protection")


def test_main_menu_offers_the_four_services_and_language(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    assert Phone(client, KH).dial().splitlines() == [
        "Social protection",
        "1 Programmes",
        "2 Pre-registration",
        "3 My ID and status",
        "4 Complaints",
        "5 Language",
    ]


def test_every_service_of_the_main_menu_opens_and_goes_back(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    phone = Phone(client, KH)
    phone.dial()
    for key, start in (
        ("2", "Your answers go to"),
        ("3", "My ID and status"),
        ("4", "What is your complaint"),
    ):
        assert phone.send(key).startswith(start)
        assert not phone.ended
        assert phone.send("00").startswith("Social protection")


def test_browse_programmes_read_a_section_page_by_page(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "km")
    phone = Phone(client, KH)
    phone.dial()
    assert phone.send("1").startswith("កម្មវិធី\n1 ប័ណ្ណសមធម៌\n2 ")
    phone.send("1")
    assert phone.screen.startswith("ប័ណ្ណសមធម៌ (IDPoor)\n1 សង្ខេប")
    text = phone.send("2")
    assert text.startswith("អ្នកមានសិទ្ធិ\n")
    pages = [text]
    while "98 ទៀត" in phone.screen:
        pages.append(phone.send("98"))
    assert len(pages) >= 2
    for page in pages:
        assert_fits(page)
    body = "".join(page.split("\n98")[0].split("\n0 ថយ")[0] for page in pages)
    assert "តាមរយៈអត្តសញ្ញាណកម្មតាមតម្រូវការ។" in body
    # 0 steps back one page, then out of the section.
    assert phone.send("0") == pages[-2]


def test_back_and_home_work_everywhere(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    phone = Phone(client, KH)
    home = phone.dial()
    programmes = phone.send("1")
    programme = phone.send("2")
    assert programme.startswith("Cash for pregnant women")
    assert phone.send("3").startswith("Benefits\n")
    assert phone.send("0") == programme
    assert phone.send("0") == programmes
    phone.send("2")
    phone.send("1")
    assert phone.send("00") == home


def test_0_where_there_is_nowhere_to_go_back_shows_the_menu_again(app: Flask, client: FlaskClient) -> None:
    phone = Phone(client, "+85512349876")
    languages = phone.dial()
    assert phone.send("0") == languages  # no language yet: the language screen is the start
    menu = phone.send("1")
    assert phone.send("0") == menu and phone.send("00") == menu
    phone.send("5")
    assert phone.send("0") == menu  # the language screen opened from the menu goes back to it


def test_invalid_choice_reshows_the_screen_with_a_reason(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "pt")
    phone = Phone(client, KH)
    menu = phone.dial()
    for nonsense in ("9", "abc", "", "*", "#", "1 2", "-1", "٣", "98" * 100):
        screen = phone.send(nonsense)
        assert screen.startswith("Opcao invalida.\n"), (nonsense, screen)
        assert screen.endswith(menu.split("\n", 1)[1]), "every option stays on the re-prompt"
        assert_fits(screen)
        assert not phone.ended
    assert phone.send("1").startswith("Programas")
    assert phone.send("00") == menu


def test_khmer_digits_and_a_trailing_hash_are_understood(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "km")
    phone = Phone(client, KH)
    phone.dial()
    assert phone.send("១").startswith("កម្មវិធី")
    assert phone.send(" 2# ").startswith("ម្តាយ និងកុមារ\n1 ")  # the label: the long name would be cut


def test_dial_string_with_extra_digits_jumps_to_the_item(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    phone = Phone(client, KH, code="*384*123*1#")
    assert phone.dial("1").startswith("Programmes\n1 IDPoor")
    assert phone.send("1").startswith("IDPoor (Equity Card)")
    deep = Phone(client, KH).dial("1", "3", "2")
    assert deep.startswith("Who can get it\nPrimary and lower-secondary students from IDPoor households")


def test_dial_shortcut_from_a_new_number_asks_language_then_jumps(client: FlaskClient) -> None:
    phone = Phone(client, "+85512000001")
    assert phone.dial("1").startswith("ភាសា / Idioma / Language")
    assert phone.send("3").startswith("Programmes\n1 IDPoor")


def test_dial_shortcut_that_leads_nowhere_stops_quietly(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    assert Phone(client, KH).dial("9", "1").startswith("Social protection\n1 Programmes")


def test_repeated_hop_gets_the_same_reply_and_sends_one_sms(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    phone = Phone(client, KH)
    phone.dial()
    phone.send("1")
    phone.send("1")
    first = phone.send("5")
    assert first == "IDPoor (Equity Card) will reach you by SMS shortly.\n0 Back 00 Home"
    assert phone.repeat()[4:] == first
    assert phone.repeat()[4:] == first
    messages = outbox(app)
    # One SMS, cut into parts of at most SMS_MAX_SEGMENTS (3) segments each.
    assert [(m.part, m.parts) for m in messages] == [(1, 2), (2, 2)]
    for sms in messages:
        assert (sms.recipient, sms.language, sms.purpose, sms.status) == (
            KH,
            "en",
            "programme_info",
            "queued",
        )
        assert 1 <= sms.segments <= 3 and sms.encoding == "GSM-7"
    body = " ".join(m.body for m in messages)
    assert body.startswith("IDPoor (Equity Card)\nIDPoor identifies poor households")
    assert "How to apply: Ask your village chief" in body
    # Going back and asking again in the same session does not send it twice either.
    phone.send("0")
    phone.send("5")
    assert len(outbox(app)) == 2


def test_two_phones_given_the_same_session_id_each_get_the_programme_sms(
    app: Flask, client: FlaskClient
) -> None:
    # Operators reuse session ids: the key names the phone too, so a second caller is not told
    # "it will reach you" while the SMS was the first caller's.
    first, second = Phone(client, KH), Phone(client, "+85512345677")
    for phone in (first, second):
        set_language(app.extensions["janela"].db, phone.number, "en")
        phone.dial()
        phone.session_id = "ATUid_reused"
        phone.inputs = []
        phone.post("")
        for key in ("1", "1", "5"):
            phone.send(key)
        app.extensions["janela"].redis.flushdb()  # the session is over; its id comes round again
    recipients = {m.recipient for m in outbox(app)}
    assert recipients == {KH, "+85512345677"}


def test_programme_sms_is_in_the_callers_language(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "km")
    phone = Phone(client, KH)
    phone.dial("1", "6", "5")
    assert phone.screen.startswith("យើងនឹងផ្ញើ មូលនិធិសមធម៌សុខាភិបាល ជូនអ្នកតាមសារ SMS")
    messages = outbox(app)
    assert all(m.language == "km" and m.encoding == "UCS-2" and m.segments <= 3 for m in messages)
    assert "របៀបដាក់ពាក្យ៖ បង្ហាញប័ណ្ណសមធម៌" in "".join(m.body for m in messages)


def test_an_expired_session_starts_cleanly(app: Flask, client: FlaskClient, redis_client: Any) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    phone = Phone(client, KH)
    phone.dial()
    phone.send("1")
    redis_client.delete(*redis_client.keys("janela:ussd:session:*"))
    # The gateway still sends the whole history; it is replayed from the top.
    assert phone.send("2").startswith("Cash for pregnant women")


def test_two_people_do_not_share_sessions(app: Flask, client: FlaskClient) -> None:
    db = app.extensions["janela"].db
    set_language(db, KH, "en")
    set_language(db, "+85512999999", "pt")
    a, b = Phone(client, KH), Phone(client, "+85512999999")
    a.dial()
    b.dial()
    assert a.send("1").startswith("Programmes")
    assert b.send("1").startswith("Programas")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 2


def test_a_removed_programme_sends_the_person_home_politely(app: Flask, client: FlaskClient) -> None:
    from registry.models import Programme
    from registry.versions import CATALOGUE, bump

    db = app.extensions["janela"].db
    set_language(db, KH, "en")
    phone = Phone(client, KH)
    phone.dial()
    phone.send("1")
    phone.send("1")
    with db.begin() as session:
        session.scalar(select(Programme).where(Programme.code == "idpoor")).active = False
        bump(session, CATALOGUE)  # whatever changes the catalogue says so, as the import does
    screen = phone.send("1")
    assert screen.startswith("That item is no longer available.\nSocial protection")


def test_a_closing_text_too_long_for_one_screen_pages_and_ends_on_its_last_page(app: Flask) -> None:
    from conversations.engine import Engine
    from conversations.flows import SCREENS
    from conversations.gateways import AtHop
    from conversations.screens import Choice, Go, View

    class Long:
        def view(self, ctx: object) -> View:
            return View("Thank you. " + "This closing text goes on and on. " * 12, final=True)

    class Start:
        def view(self, ctx: object) -> View:
            return View("Start", [Choice("Finish", Go("long"))], nav=False)

    janela = app.extensions["janela"]
    set_language(janela.db, KH, "en")
    engine = Engine(janela.redis, janela.db, janela.settings, {**SCREENS, "main": Start(), "long": Long()})
    inputs: list[str] = []
    replies = []
    for key in ("1", "98", "98", "98", "98"):
        inputs.append(key)
        reply = engine.handle(AtHop("long-1", KH, "*".join(inputs)))
        replies.append(reply)
        if reply.final:
            break
    assert not replies[0].final and replies[0].text.endswith("98 More")
    assert replies[-1].final and "98 More" not in replies[-1].text
    text = " ".join(r.text.replace("\n98 More", "") for r in replies)
    assert text.count("on and on") == 12


def test_programme_sms_are_capped_per_phone_per_day(app: Flask, client: FlaskClient) -> None:
    # One caller asking for every programme would cost the service 8 SMS of 2-3 segments each.
    set_language(app.extensions["janela"].db, KH, "en")
    screens = []
    for n, programme in enumerate(("1", "2", "3", "4", "5")):
        phone = Phone(client, KH)
        phone.session_id = f"ATUid_cap_{n}"
        screens.append(phone.dial("1", programme, "5"))
    limit = app.config["PROGRAMME_SMS_PER_DAY"]
    assert all("will reach you by SMS shortly." in s for s in screens[:limit])
    assert all(s.startswith(f"You have had {limit} programmes by SMS today") for s in screens[limit:])
    assert len({m.idempotency_key.split("#")[0] for m in outbox(app) if m.idempotency_key}) == limit
    # Another phone has its own allowance.
    other = Phone(client, "+85512345677")
    set_language(app.extensions["janela"].db, other.number, "en")
    assert "will reach you by SMS shortly." in other.dial("1", "1", "5")


def test_programme_sms_asked_for_at_once_from_many_sessions_stay_within_the_cap(app: Flask) -> None:
    from concurrent.futures import ThreadPoolExecutor

    set_language(app.extensions["janela"].db, KH, "en")
    callers = []
    for n in range(8):
        phone = Phone(app.test_client(), KH)
        phone.session_id = f"ATUid_par_{n}"
        phone.dial("1", str(n + 1))
        callers.append(phone)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda caller: caller.send("5"), callers))
    keys = {m.idempotency_key.split("#")[0] for m in outbox(app) if m.idempotency_key}
    assert len(keys) == app.config["PROGRAMME_SMS_PER_DAY"]
