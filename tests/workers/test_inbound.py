"""Inbound SMS as one unit of work: chiefs' commands, complaints, crashes, retries, reports."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

import registry.inbound
from conversations.case_texts import CaseTexts
from conversations.sms_commands import parse
from registry.case_filing import file_complaint
from registry.case_states import apply_move
from registry.case_types import Complaint, Move
from registry.cases import staff_by_phone
from registry.db import utcnow
from registry.models import Case, CaseEvent, Contact, InboundMessage, OutboxMessage
from registry.services import set_language
from tests.jobs import run_jobs
from tests.phones import Phone
from workers.jobs import process_inbound
from workers.sweep import sweep

CITIZEN = "+85512345999"
CHIEF = "+85512600001"  # chief of Trapeang Thom (17010101)
DESK = "+85512700001"  # desk officer of Char Chhuk (170101)


def file(app: Flask, language: str = "en") -> str:
    janela = app.extensions["janela"]
    set_language(janela.db, CITIZEN, language)
    return file_complaint(
        janela.db,
        Complaint("payment_missing", "17010101", "no payment since May"),
        CITIZEN,
        language,
        "test:complaint:1",
        CaseTexts("KH"),
        janela.settings.services,
    )


def text_in(app: Flask, sender: str, text: str, n: list[int] = [0]) -> None:  # noqa: B006
    n[0] += 1
    response = app.test_client().post(
        "/sms/inbound", data={"from": sender, "to": "1234", "text": text, "id": f"in-{n[0]}-{sender}"}
    )
    assert response.status_code == 200


def bodies(app: Flask, phone: str, purpose: str | None = None) -> list[str]:
    with app.extensions["janela"].db() as session:
        query = select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)
        if purpose:
            query = query.where(OutboxMessage.purpose == purpose)
        return [m.body for m in session.scalars(query)]


def actions(app: Flask, reference: str) -> list[str]:
    with app.extensions["janela"].db() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        return list(session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id)))


def test_done_twice_by_sms_gets_a_polite_answer_and_one_sms_to_the_citizen(app: Flask) -> None:
    reference = file(app)
    set_language(app.extensions["janela"].db, CHIEF, "en")
    text_in(app, CHIEF, f"DONE {reference} paid on 20 Nov")
    text_in(app, CHIEF, f"DONE {reference} paid on 20 Nov")
    text_in(app, CHIEF, f"OK {reference}")
    run_jobs(app)
    assert bodies(app, CHIEF, "reply") == [
        f"Case {reference} marked resolved locally; your commune desk will close it.",
        f"Case {reference} was already marked resolved. Nothing changed.",
        f"Case {reference} was already acknowledged. Nothing changed.",
    ]
    assert bodies(app, CITIZEN, "case_update")[1:] == [
        f"janela: your request {reference} was resolved: paid on 20 Nov"
    ]
    assert actions(app, reference) == ["filed", "resolved_at_village"]
    with app.extensions["janela"].db() as session:
        assert (
            session.scalars(select(OutboxMessage.status).where(OutboxMessage.status == "failed")).all() == []
        )
        assert set(session.scalars(select(InboundMessage.status))) == {"processed"}


def test_the_chiefs_note_reaches_the_citizen_as_written(app: Flask) -> None:
    reference = file(app, "pt")
    text_in(app, CHIEF, f"feito {reference}  Pago em Outubro, na  agência de Chókwè")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        outcome = session.scalar(select(Case.outcome).where(Case.reference == reference))
    assert outcome == "Pago em Outubro, na agência de Chókwè"
    assert bodies(app, CITIZEN, "case_update")[-1] == (
        f"janela: o seu pedido {reference} foi resolvido: Pago em Outubro, na agência de Chókwè"
    )


@pytest.mark.parametrize(
    ("text", "command", "rest"),
    [
        ("ឈប់ទទួលប្រាក់ខែនេះ", None, None),  # "stopped receiving money this month"
        ("ឈប់ ទទួល ប្រាក់", None, None),
        ("ទទួលបានប្រាក់ហើយ", None, None),  # "received the money already"
        ("ទទួលបាន 1234567", None, None),
        ("ទទួល 1234567", "ok", "1234567"),
        ("ទទួល១២៣៤៥៦៧", "ok", "1234567"),  # Khmer digits, glued
        ("ព័ត៍មាន 1234567", "info", "1234567"),  # the common spelling
        ("ព័ត៌មាន1234567", "info", "1234567"),
        ("ចាប់ផ្ដើម", "start", ""),  # coeng DA
        ("ចាប់ផ្តើម", "start", ""),  # coeng TA
        ("ឈប់", "stop", ""),
        ("ឈប់។", "stop", ""),
        ("បណ្ដឹង 17010101 មិនទាន់ទទួលប្រាក់", "complaint", "17010101 មិនទាន់ទទួលប្រាក់"),
        ("OK THANK YOU", None, None),
        ("stop please stop sending", None, None),
        ("status", "status", ""),
    ],
)
def test_a_keyword_counts_only_as_a_whole_word_with_what_its_command_takes(
    text: str, command: str | None, rest: str | None
) -> None:
    found, _, remainder = parse(text)
    assert found == command
    if command is not None:
        assert remainder == rest


def test_stopped_receiving_money_is_not_stop(app: Flask) -> None:
    text_in(app, CITIZEN, "ឈប់ទទួលប្រាក់ខែនេះ")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(Contact.opted_out).where(Contact.phone == CITIZEN)) in (None, False)
        assert session.scalar(select(InboundMessage.command)) == "unknown"
    (reply,) = bodies(app, CITIZEN)
    assert reply == "សូមអភ័យទោស យើងមិនយល់ទេ។ ផ្ញើ ជំនួយ ដើម្បីមើលពាក្យបញ្ជា។"


def test_a_complaint_by_sms_gets_one_confirmation(app: Flask) -> None:
    text_in(app, "+85512000600", "Queixa 17010101 não recebi o pagamento de Outubro")
    run_jobs(app)
    (reply,) = bodies(app, "+85512000600")
    with app.extensions["janela"].db() as session:
        filed = session.scalars(select(Case)).one()
    assert reply.startswith(f"A sua queixa foi recebida. Referência: {filed.reference}.")
    assert filed.description == "não recebi o pagamento de Outubro"


def test_a_job_killed_between_decision_and_reply_has_one_effect_when_retried(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = file(app)
    set_language(app.extensions["janela"].db, CHIEF, "en")
    real_add_sms = registry.inbound.add_sms
    calls = {"n": 0}

    def dies_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker killed")
        return real_add_sms(*args, **kwargs)

    # The reply is the last write of the unit of work; the chief's DONE was decided before it.
    monkeypatch.setattr(registry.inbound, "add_sms", dies_once)
    text_in(app, CHIEF, f"DONE {reference} paid")
    run_jobs(app)
    with app.extensions["janela"].db() as session:
        message = session.scalars(select(InboundMessage)).one()
        assert (message.status, message.attempts) == ("failed", 1)
        assert "worker killed" in (message.last_error or "")
    assert actions(app, reference) == ["filed"]  # nothing of the DONE was kept
    # The sweep hands it on when its retry is due.
    with app.extensions["janela"].db.begin() as session:
        session.execute(update(InboundMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert sweep(app).inbound == 1
    run_jobs(app)
    assert actions(app, reference) == ["filed", "resolved_at_village"]
    assert bodies(app, CITIZEN, "case_update")[1:] == [f"janela: your request {reference} was resolved: paid"]
    assert bodies(app, CHIEF, "reply") == [
        f"Case {reference} marked resolved locally; your commune desk will close it."
    ]


def test_failed_inbound_is_retried_with_backoff_then_reported(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_fails(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database said no")

    monkeypatch.setattr(registry.inbound, "add_sms", always_fails)
    text_in(app, CITIZEN, "HELP")
    run_jobs(app)
    db = app.extensions["janela"].db
    retry = registry.inbound.InboundRetry()
    for attempt in range(1, retry.max_attempts):
        with db() as session:
            message = session.scalars(select(InboundMessage)).one()
        assert (message.status, message.attempts) == ("failed", attempt)
        assert message.next_attempt_at is not None
        wait = (message.next_attempt_at - utcnow()).total_seconds()
        assert retry.delays[attempt - 1] - 5 < wait <= retry.delays[attempt - 1]
        assert sweep(app).inbound == 0  # not due yet
        with db.begin() as session:
            session.execute(update(InboundMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        assert sweep(app).inbound == 1
        run_jobs(app)
    with db() as session:
        message = session.scalars(select(InboundMessage)).one()
    assert (message.status, message.attempts) == ("gave_up", retry.max_attempts)
    assert sweep(app).inbound == 0  # never again by itself
    assert app.test_client().get("/healthz").get_json()["inbound_given_up"] == 1
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["inbound", "failed"]).output
    assert "database said no" in listing and "1 inbound message(s) given up." in listing
    monkeypatch.undo()
    assert "1 inbound message(s) queued again." in runner.invoke(args=["inbound", "retry"]).output
    run_jobs(app)
    assert bodies(app, CITIZEN, "reply")[0].startswith("janela commands:")


def test_info_from_another_chief_is_refused_and_recorded(app: Flask) -> None:
    reference = file(app)
    text_in(app, "+85512600002", f"INFO {reference}")  # the chief of another village
    run_jobs(app)
    assert actions(app, reference) == ["filed", "refused_info"]
    (reply,) = bodies(app, "+85512600002")
    assert reply.startswith("សូមអភ័យទោស អ្នកមិនអាចធ្វើសកម្មភាពលើករណី")
    assert "no payment since May" not in reply


@pytest.mark.parametrize("attempt", range(3))
def test_chief_ok_and_done_by_sms_racing_a_desk_resolve_end_consistent(app: Flask, attempt: int) -> None:
    janela = app.extensions["janela"]
    reference = file(app)
    set_language(janela.db, CHIEF, "en")
    desk = staff_by_phone(janela.db, DESK)
    assert desk is not None
    text_in(app, CHIEF, f"OK {reference}")
    text_in(app, CHIEF, f"DONE {reference} paid")
    with janela.db() as session:
        inbound_ids = list(session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)))
    barrier = threading.Barrier(3)
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def process(inbound_id: int) -> None:
        # The job function itself, in a worker's app context: the path every inbound SMS takes.
        with app.app_context():
            barrier.wait()
            try:
                results[f"inbound {inbound_id}"] = process_inbound(inbound_id)
            except BaseException as exc:  # a thread's failure must reach the assertions
                errors.append(exc)

    def resolve() -> None:
        barrier.wait()
        results["resolve"] = apply_move(
            janela.db,
            reference,
            desk,
            Move.RESOLVE,
            janela.settings.services,
            CaseTexts("KH"),
            "paid on 21 Nov",
        )

    threads = [threading.Thread(target=process, args=(i,)) for i in inbound_ids]
    threads.append(threading.Thread(target=resolve))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    run_jobs(app)  # the webhook's own jobs find their messages processed and change nothing
    assert results["resolve"].applied  # the desk resolves from every open state
    with janela.db() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert (case.status, case.outcome) == ("resolved", "paid on 21 Nov") and case.closed_at is not None
        statuses = list(session.scalars(select(InboundMessage.status)))
        replies = list(
            session.scalars(
                select(OutboxMessage.idempotency_key)
                .where(OutboxMessage.recipient == CHIEF, OutboxMessage.purpose == "reply")
                .order_by(OutboxMessage.id)
            )
        )
    events = actions(app, reference)
    assert events[0] == "filed" and events[-1] == "resolved"  # nothing after the close
    assert set(events[1:-1]) <= {"acknowledged", "resolved_at_village"} and len(set(events)) == len(events)
    # One SMS to the citizen per event (the filing's included), none for a refused move.
    assert len(bodies(app, CITIZEN, "case_update")) == len(events)
    assert statuses == ["processed", "processed"]
    assert sorted(replies) == sorted(f"inbound:{i}:reply" for i in inbound_ids)  # one reply each


def test_a_complaint_submitted_again_after_a_redis_flush_is_one_case_and_one_sms(
    app: Flask, client: Any
) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, CITIZEN, "en")
    caller = Phone(client, CITIZEN)
    caller.dial()
    for key in ("4", "1", "1", "ខ្ញុំមិនទាន់ទទួលប្រាក់ខែនេះ", "1", "Srey Pov Chan", "1", "17010101"):
        caller.send(key)
    while "\n98 " in caller.screen:
        caller.send("98")
    screen = caller.send("1")
    assert caller.ended and screen.startswith("Thank you. Reference:"), screen
    # Redis loses the session and its cached reply between the commit and the gateway's retry:
    # the retried hop replays every input from the start and reaches the submission again.
    janela.redis.flushdb()
    assert caller.repeat()[4:] == screen
    with janela.db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == 1
    assert len(bodies(app, CITIZEN)) == 1  # one confirmation
    assert len(bodies(app, CHIEF)) == 1  # one alert to the village chief
