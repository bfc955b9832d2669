"""Cases end to end: complaints, chiefs by SMS, desks, deadlines, ID lookup, status by SMS."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from conversations.case_texts import CaseTexts
from registry.case_states import apply_move
from registry.cases import staff_by_phone
from registry.db import utcnow
from registry.escalation import escalate_overdue
from registry.models import Case, CaseEvent, IdLookup, OutboxMessage
from registry.services import set_language
from registry.staff import add_staff
from tests.jobs import run_jobs
from tests.phones import Phone, assert_fits

CITIZEN = "+85512345999"
CHIEF = "+85512600001"  # Chan Sophal, chief of Trapeang Thom (17010101)
OTHER_CHIEF = "+85512600002"  # chief of a village of another commune
DESK = "+85512700001"  # desk officer of Char Chhuk (170101)
DISTRICT = "+85512800001"  # district officer of Angkor Chum (1701)


def complain(app: Flask, language: str, category_key: str = "1", phone: str = CITIZEN) -> str:
    """File a complaint through the USSD webhook and return its reference."""
    set_language(app.extensions["janela"].db, phone, language)
    caller = Phone(app.test_client(), phone)
    caller.dial()
    for key in ("4", category_key, "1", "ខ្ញុំមិនទាន់ទទួលប្រាក់ខែនេះ", "1", "Srey Pov Chan", "1", "17010101"):
        caller.send(key)
        assert_fits(caller.screen)
    summary = caller.screen
    while "\n98 " in caller.screen:
        summary += " " + caller.send("98")
    assert "Srey Pov" in summary and "Chan" in summary
    done = caller.send("1")
    assert caller.ended
    return done.split("\n")[0].rsplit(" ", 1)[1]


def case(app: Flask, reference: str) -> Case:
    with app.extensions["janela"].db() as session:
        return session.scalars(select(Case).where(Case.reference == reference)).one()


def events(app: Flask, reference: str) -> list[str]:
    with app.extensions["janela"].db() as session:
        found = session.scalars(select(Case).where(Case.reference == reference)).one()
        return [e.action for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == found.id))]


def text_in(client: Any, sender: str, text: str, n: list[int] = [0]) -> None:  # noqa: B006
    n[0] += 1
    token = client.application.config["WEBHOOK_TOKEN"]
    client.post(
        f"/sms/inbound?token={token}",
        data={"from": sender, "to": "1234", "text": text, "id": f"in-{n[0]}-{sender}"},
    )


def test_a_complaint_filed_in_khmer_reaches_the_chief_through_at(at_app: Flask, fake_at: Any) -> None:
    reference = complain(at_app, "km")
    filed = case(at_app, reference)
    assert (filed.kind, filed.category, filed.status, filed.language) == (
        "complaint",
        "payment_missing",
        "queued",
        "km",
    )
    assert filed.description == "ខ្ញុំមិនទាន់ទទួលប្រាក់ខែនេះ" and filed.complainant_name == "Srey Pov Chan"
    assert filed.ack_due_at is not None and filed.resolve_due_at is not None
    run_jobs(at_app)
    (alert,) = fake_at.sent_to(CHIEF)
    assert alert.startswith(f"janela៖ ករណីថ្មី {reference}")
    assert "ឆ្លើយ ទទួល" in alert
    (received,) = fake_at.sent_to(CITIZEN)
    assert reference in received and received.startswith("janela៖ យើងបានទទួលសំណើ")


def test_a_complaint_in_portuguese_and_the_chief_acknowledges_by_sms(at_app: Flask, fake_at: Any) -> None:
    reference = complain(at_app, "pt")
    client = at_app.test_client()
    text_in(client, CHIEF, f"ok {reference}")
    run_jobs(at_app)
    assert case(at_app, reference).status == "acknowledged"
    citizen = fake_at.sent_to(CITIZEN)
    assert citizen[-1] == (
        f"janela: o seu pedido {reference} foi recebido por Chan Sophal, o seu chefe da aldeia, "
        "que está a tratar dele."
    )
    assert fake_at.sent_to(CHIEF)[-1].startswith(f"ករណី {reference}៖ បានបញ្ជាក់ថាបានទទួល")
    text_in(client, CHIEF, f"OK {reference}")  # again: nothing new for the citizen
    run_jobs(at_app)
    assert len(fake_at.sent_to(CITIZEN)) == 2


def test_misconduct_never_reaches_the_village_chief(at_app: Flask, fake_at: Any) -> None:
    reference = complain(at_app, "en", category_key="5")
    filed = case(at_app, reference)
    with at_app.extensions["janela"].db() as session:
        assert session.get_one(Case, filed.id).desk.code == "1701"
    run_jobs(at_app)
    assert fake_at.sent_to(CHIEF) == []
    (alert,) = fake_at.sent_to(DISTRICT)
    assert "មន្ត្រីប្រព្រឹត្តខុស ឬទារប្រាក់" in alert
    text_in(at_app.test_client(), CHIEF, f"INFO {reference}")
    run_jobs(at_app)
    assert fake_at.sent_to(CHIEF)[-1].startswith("សូមអភ័យទោស អ្នកមិនអាចធ្វើសកម្មភាពលើករណី")


def test_a_chief_of_another_village_is_refused_and_the_attempt_recorded(app: Flask) -> None:
    reference = complain(app, "en")
    text_in(app.test_client(), OTHER_CHIEF, f"OK {reference}")
    run_jobs(app)
    assert case(app, reference).status == "queued"
    assert "refused_ok" in events(app, reference)
    with app.extensions["janela"].db() as session:
        reply = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == OTHER_CHIEF).order_by(OutboxMessage.id)
        ).all()
    assert reply[-1].body.startswith("សូមអភ័យទោស អ្នកមិនអាចធ្វើសកម្មភាពលើករណី")


def test_done_and_info_from_the_chief(app: Flask) -> None:
    reference = complain(app, "en")
    client = app.test_client()
    set_language(app.extensions["janela"].db, CHIEF, "en")
    text_in(client, CHIEF, f"INFO {reference}")
    text_in(client, CHIEF, f"DONE {reference} paid on 20 Nov by the agent")
    run_jobs(app)
    resolved = case(app, reference)
    assert (resolved.status, resolved.outcome) == ("resolved_village", "paid on 20 Nov by the agent")
    with app.extensions["janela"].db() as session:
        to_chief = [
            m.body
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == CHIEF).order_by(OutboxMessage.id)
            )
        ]
        to_citizen = [
            m.body
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == CITIZEN).order_by(OutboxMessage.id)
            )
        ]
    assert any(
        b.startswith(f"Case {reference} (Payment not received or late) in Trapeang Thom") for b in to_chief
    )
    assert any(b.startswith(f"Case {reference} marked resolved locally") for b in to_chief)
    assert to_citizen[-1].startswith(f"janela: your request {reference} was resolved:")


def test_two_officers_picking_up_at_once_one_wins(app: Flask) -> None:
    db = app.extensions["janela"].db
    add_staff(db, "commune_desk", "170101", "+85512700099", "Second Officer")
    reference = complain(app, "en")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def pick(phone: str) -> None:
        barrier.wait()
        staff = staff_by_phone(db, phone)
        assert staff is not None
        result = apply_move(
            db, reference, staff, "pickup", app.extensions["janela"].settings.services, CaseTexts("KH")
        )
        results.append("ok" if result.ok else result.reason)

    threads = [threading.Thread(target=pick, args=(p,)) for p in (DESK, "+85512700099")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already_taken", "ok"]
    assert events(app, reference).count("picked_up") == 1
    assert case(app, reference).status == "picked_up"


def test_desk_work_from_the_command_line(app: Flask) -> None:
    reference = complain(app, "en")
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["cases", "list", "--desk", "170101"]).output
    assert reference in listing and "payment_missing" in listing
    assert "picked_up" in runner.invoke(args=["cases", "pickup", reference, "--by", DESK]).output
    again = runner.invoke(args=["cases", "pickup", reference, "--by", DESK])
    assert again.exit_code == 1 and "nothing changed" in again.output
    intruder = runner.invoke(args=["cases", "pickup", reference, "--by", "+85512700002"])
    assert intruder.exit_code == 1 and "does not work this case's desk" in intruder.output
    runner.invoke(args=["cases", "note", reference, "called the payment agent", "--by", DESK])
    assert (
        "resolved"
        in runner.invoke(args=["cases", "resolve", reference, "paid on 21 Nov", "--by", DESK]).output
    )
    assert reference not in runner.invoke(args=["cases", "list", "--desk", "170101"]).output
    assert events(app, reference) == ["filed", "picked_up", "refused_pickup", "note", "resolved"]


def test_overdue_cases_escalate_once_and_everyone_is_told(app: Flask) -> None:
    db = app.extensions["janela"].db
    settings = app.extensions["janela"].settings.services
    reference = complain(app, "en")
    assert escalate_overdue(db, settings, CaseTexts("KH")) == []  # not overdue yet
    later = utcnow() + timedelta(days=3, hours=1)  # past the 2-day acknowledgement deadline
    assert escalate_overdue(db, settings, CaseTexts("KH"), now=later) == [reference]
    assert escalate_overdue(db, settings, CaseTexts("KH"), now=later + timedelta(hours=1)) == []
    escalated = case(app, reference)
    assert escalated.escalated_at is not None
    with db() as session:
        assert session.get_one(Case, escalated.id).desk.code == "1701"
        bodies = {
            m.recipient: m.body for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        }
    assert bodies[CITIZEN].startswith(f"janela: your request {reference} was sent to the district office")
    assert bodies[DISTRICT].startswith(f"janela៖ យើងបានបញ្ជូនករណី {reference}")
    assert events(app, reference).count("escalated") == 1
    assert reference in app.test_cli_runner().invoke(args=["cases", "list", "--desk", "1701"]).output


def test_status_and_details_by_sms_only_for_the_phone_that_filed(app: Flask) -> None:
    reference = complain(app, "en")
    client = app.test_client()
    text_in(client, CITIZEN, f"STATUS {reference}")
    text_in(client, "+85512000555", f"status {reference}")
    text_in(client, CITIZEN, f"{reference} the agent said next month")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        mine = [
            m.body
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == CITIZEN).order_by(OutboxMessage.id)
            )
        ]
        other = [
            m.body
            for m in session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == "+85512000555")
                .order_by(OutboxMessage.id)
            )
        ]
    assert f"Request {reference} (Payment not received or late): received, waiting at the desk." in mine
    # A phone that never chose a language is answered in the language of its keyword.
    assert other == [f"No request {reference} was filed from this phone. Check the number."]
    assert f"Thank you: your details were added to request {reference}." in mine
    assert "citizen_details" in events(app, reference)


def test_myid_by_sms_only_to_a_household_phone(app: Flask) -> None:
    client = app.test_client()
    text_in(client, "+85512345601", "MYID")
    text_in(client, "+85512000556", "MEUID")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        replies = {
            m.recipient: m.body for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        }
    assert "Sok Srey Pov: 1701000010" in replies["+85512345601"]
    assert "1701000010" not in replies["+85512000556"]
    assert replies["+85512000556"].startswith("Nenhum ID de protecção social")


def test_id_lookup_success_shows_programmes_and_requests(app: Flask) -> None:
    set_language(app.extensions["janela"].db, CITIZEN, "en")
    caller = Phone(app.test_client(), CITIZEN)
    caller.dial()
    caller.send("3")
    assert caller.send("1").startswith("Your social-protection ID")
    assert caller.send("1701000011").startswith("That ID is not valid.")
    caller.send("1701000010")
    screen = caller.send("1990")
    assert screen.startswith("Sok Srey Pov\nIDPoor (Equity Card): active")
    full = screen
    while "98 More" in caller.screen:
        full += caller.send("98")
    assert "Cash for pregnant women and children under 2 (Family Package): active" in full


def test_three_wrong_years_lock_further_tries_and_are_recorded(app: Flask) -> None:
    db = app.extensions["janela"].db
    set_language(db, CITIZEN, "en")
    caller = Phone(app.test_client(), CITIZEN)
    caller.dial()
    caller.send("3")
    caller.send("1")
    caller.send("1701000010")
    assert caller.send("1980").startswith("The ID and the year do not match.")
    assert caller.send("1981").startswith("The ID and the year do not match.")
    assert caller.send("1982").startswith("Too many tries today.")
    assert caller.ended
    # Another phone trying the same ID is locked out too, even with the right year.
    other = Phone(app.test_client(), "+85512000557")
    set_language(db, "+85512000557", "en")
    other.dial()
    other.send("3")
    other.send("1")
    assert other.send("1701000010").startswith("Too many tries today.")
    with db() as session:
        outcomes = [row.outcome for row in session.scalars(select(IdLookup).order_by(IdLookup.id))]
    assert outcomes == ["mismatch", "mismatch", "mismatch", "locked", "locked"]


def test_a_forgotten_id_goes_by_sms_to_a_household_phone_only(app: Flask) -> None:
    db = app.extensions["janela"].db
    screens = []
    for phone in ("+85512345601", "+85512000558"):
        set_language(db, phone, "en")
        caller = Phone(app.test_client(), phone)
        caller.dial()
        caller.send("3")
        screens.append(caller.send("3"))
        assert "1701000010" not in caller.screen
    assert screens[0] == screens[1]  # the same words whether or not the phone is known
    with db() as session:
        sent = [
            (m.recipient, m.body) for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    assert len(sent) == 1 and sent[0][0] == "+85512345601" and "1701000010" in sent[0][1]


def test_check_a_request_in_ussd(app: Flask) -> None:
    reference = complain(app, "pt")
    caller = Phone(app.test_client(), CITIZEN)
    caller.dial()
    caller.send("3")
    caller.send("2")
    assert caller.send("1234567").startswith("Essa referência não é válida.")  # its check digit is wrong
    screen = caller.send(reference)
    while "\n98 " in caller.screen:
        screen += "\n" + caller.send("98")
    assert screen.startswith(f"Pedido {reference}: Pagamento nao recebido ou atrasado\n")
    assert "Estado: recebido, à espera no balcao" in screen
    stranger = Phone(app.test_client(), "+85512000559")
    set_language(app.extensions["janela"].db, "+85512000559", "pt")
    stranger.dial()
    stranger.send("3")
    stranger.send("2")
    assert stranger.send(reference).startswith("Nenhum pedido com esta referência")


def test_a_complaint_filed_by_sms_with_a_village_code(app: Flask) -> None:
    client = app.test_client()
    text_in(client, "+85512000600", "Queixa 17010101 não recebi o pagamento de Outubro")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        filed = session.scalars(select(Case)).one()
        reply = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "+85512000600").order_by(OutboxMessage.id)
        ).all()
    assert (filed.kind, filed.category, filed.citizen_phone) == ("complaint", "other", "+85512000600")
    assert filed.description == "não recebi o pagamento de Outubro"  # as written, accents kept
    assert any(m.body.startswith(f"A sua queixa foi recebida. Referência: {filed.reference}.") for m in reply)
    assert any(m.purpose == "staff_alert" for m in session_sms(app, CHIEF))


def session_sms(app: Flask, phone: str) -> list[OutboxMessage]:
    with app.extensions["janela"].db() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)
            )
        )


def test_a_complaint_by_sms_uses_the_village_of_a_known_phone(app: Flask) -> None:
    text_in(app.test_client(), "+85512345601", "បណ្តឹងខ្ញុំមិនទាន់ទទួលប្រាក់")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        filed = session.scalars(select(Case)).one()
        assert session.get_one(Case, filed.id).village.code == "17010101"
    assert filed.description == "ខ្ញុំមិនទាន់ទទួលប្រាក់"


def test_a_complaint_by_sms_without_a_village_says_how(app: Flask) -> None:
    text_in(app.test_client(), "+85512000601", "COMPLAINT nobody paid me")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        assert session.scalars(select(Case)).all() == []
    (reply,) = session_sms(app, "+85512000601")
    assert reply.body.startswith("Send COMPLAINT, your village code and the problem")


def test_a_complaint_may_choose_its_village_from_lists(app: Flask) -> None:
    set_language(app.extensions["janela"].db, "+85512000602", "en")
    caller = Phone(app.test_client(), "+85512000602")
    caller.dial()
    for key in ("4", "2", "9", "wrong amount paid", "2", "2"):
        caller.send(key)
    assert caller.screen.startswith("Type the village code (on the notice board):\n1 Choose from a list")
    assert caller.send("1").startswith("Province\n1 Siem Reap")
    caller.send("1")
    caller.send("2")
    caller.send("1")
    summary = caller.send("3")
    while "\n98 " in caller.screen:
        summary += " " + caller.send("98")
    assert "Village: Khtum, Chrouy Neang Nguon" in summary and "Anonymous" in summary
    caller.send("1")
    assert caller.ended and caller.screen.startswith("Thank you. Reference:")


def test_the_complaint_summary_names_the_chosen_programme(app: Flask) -> None:
    set_language(app.extensions["janela"].db, "+85512000603", "en")
    caller = Phone(app.test_client(), "+85512000603")
    caller.dial()
    for key in ("4", "1", "1", "no payment since May", "2", "2"):
        caller.send(key)
    summary = caller.send("17010102")
    while "\n98 " in caller.screen:
        summary += "\n" + caller.send("98")
    assert "Programme: IDPoor (Equity Card)" in summary, summary


def test_back_from_an_id_result_lands_on_the_my_id_menu_not_the_year(app: Flask) -> None:
    set_language(app.extensions["janela"].db, CITIZEN, "en")
    caller = Phone(app.test_client(), CITIZEN)
    caller.dial()
    my_id = caller.send("3")
    caller.send("1")
    caller.send("1701000010")
    assert caller.send("1990").startswith("Sok Srey Pov")
    pages = 1
    while "\n98 " in caller.screen:
        caller.send("98")
        pages += 1
    for _ in range(pages - 1):
        caller.send("0")  # back through the result's pages
    assert caller.screen.startswith("Sok Srey Pov")
    assert caller.send("0") == my_id  # not the year prompt, where a digit would spend a try
    with app.extensions["janela"].db() as session:
        assert len(session.scalars(select(IdLookup)).all()) == 1


def test_a_wrong_id_in_portuguese_asks_the_whole_question_again(app: Flask) -> None:
    set_language(app.extensions["janela"].db, "+85512000604", "pt")
    caller = Phone(app.test_client(), "+85512000604")
    caller.dial()
    question = caller.send("3") and caller.send("1")
    again = caller.send("2")
    assert again.startswith("Esse ID não é válido.\n") and question.split("\n")[0] in again, again
    assert_fits(again)
