"""Sending through the real Africa's Talking SDK to a fake AT server, with real RQ and Redis."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from registry.models import Contact, OutboxMessage
from registry.outbox import SmsPolicy, queue_sms
from tests.fake_at import Answer
from tests.jobs import run_jobs
from workers.jobs import send_sms
from workers.sweep import sweep

KH = "+85512345678"


def message(app: Flask, message_id: int) -> OutboxMessage:
    with app.extensions["janela"].db() as session:
        return session.get_one(OutboxMessage, message_id)


def queue(app: Flask, body: str = "Hello from janela", **kwargs: Any) -> int:
    (message_id,) = queue_sms(app.extensions["janela"].db, KH, "en", body, "test", SmsPolicy(), **kwargs)
    return message_id


def test_a_queued_sms_is_sent_once_with_the_sender_id(at_app: Flask, fake_at: Any) -> None:
    message_id = queue(at_app)
    assert at_app.extensions["janela"].queues["sms"].count == 1  # enqueued after commit
    run_jobs(at_app)
    sent = message(at_app, message_id)
    assert (sent.status, sent.attempts, sent.cost) == ("sent", 1, "KES 0.8000")
    assert sent.provider_message_id == "ATXid_1" and sent.sent_at is not None
    (request,) = fake_at.received
    assert (request["to"], request["from"], request["username"]) == (KH, "JANELA", "janela")
    assert request["message"] == "Hello from janela"


def test_at_500_then_success_delivers_once(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(http_status=500), Answer(status_code=500))
    message_id = queue(at_app)
    run_jobs(at_app)
    sent = message(at_app, message_id)
    assert (sent.status, sent.attempts) == ("sent", 3)
    assert len(fake_at.received) == 3
    assert fake_at.sent_to(KH) == ["Hello from janela"]


def later(app: Flask, seconds: float) -> None:
    """Let the unknown-outcome window pass for every waiting message, as time would."""
    with app.extensions["janela"].db.begin() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "unknown")):
            assert row.next_attempt_at is not None
            row.next_attempt_at = row.next_attempt_at - timedelta(seconds=seconds)


def test_a_timeout_after_sending_is_not_sent_again_blindly(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(delay=1.5))  # answers after SMS_TIMEOUT (1 s): the send's fate is unknown
    message_id = queue(at_app)
    run_jobs(at_app)
    waiting = message(at_app, message_id)
    assert (waiting.status, waiting.attempts) == ("unknown", 1)
    assert "waiting for a delivery report" in (waiting.last_error or "")
    sweep(at_app)  # inside the window: nothing is sent
    run_jobs(at_app)
    assert len(fake_at.received) == 1


def test_a_delivery_report_settles_an_unknown_outcome(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(delay=1.5))
    message_id = queue(at_app)
    run_jobs(at_app)
    report = {"id": "ATXid_late", "status": "Success", "phoneNumber": KH}
    assert at_app.test_client().post("/sms/delivery?token=at-token", data=report).status_code == 200
    settled = message(at_app, message_id)
    assert (settled.status, settled.provider_message_id) == ("delivered", "ATXid_late")
    later(at_app, 3600)
    sweep(at_app)
    run_jobs(at_app)
    assert len(fake_at.received) == 1  # the report said it arrived: never sent again


def test_an_unknown_outcome_is_sent_again_once_then_left_to_an_operator(at_app: Flask, fake_at: Any) -> None:
    ids = [queue(at_app, f"message {n}") for n in range(3)]
    fake_at.script(*[Answer(delay=1.5)] * 6)  # every send times out, the first and the resend
    run_jobs(at_app)
    later(at_app, 3600)
    sweep(at_app)
    run_jobs(at_app)
    later(at_app, 3600)
    sweep(at_app)
    run_jobs(at_app)
    for message_id in ids:
        given_up = message(at_app, message_id)
        assert (given_up.status, given_up.unknown_resends) == ("failed", 1)
        assert "not sent again" in (given_up.last_error or "")
    # Each reached AT at most twice, never five times.
    assert sorted(r["message"] for r in fake_at.received) == sorted([f"message {n}" for n in range(3)] * 2)
    # "Retry all failed" leaves alone what may have been delivered; naming one sends it.
    runner = at_app.test_cli_runner()
    assert "0 message(s)" in runner.invoke(args=["sms", "retry", "--all-failed"]).output
    run_jobs(at_app)
    assert len(fake_at.received) == 6
    runner.invoke(args=["sms", "retry", str(ids[0])])
    run_jobs(at_app)
    assert len(fake_at.received) == 7


def test_a_permanent_failure_is_not_retried_and_keeps_its_reason(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(status_code=403))
    message_id = queue(at_app)
    run_jobs(at_app)
    failed = message(at_app, message_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "403 InvalidPhoneNumber"
    assert len(fake_at.received) == 1


def test_a_2xx_without_recipients_is_a_permanent_failure(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(recipients=False))
    message_id = queue(at_app)
    run_jobs(at_app)
    assert message(at_app, message_id).last_error == "InvalidSenderId"


def test_after_the_last_attempt_the_message_fails_and_the_job_is_kept(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(*[Answer(status_code=502)] * 3)
    message_id = queue(at_app)
    run_jobs(at_app)
    failed = message(at_app, message_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "gave up after 3 attempts: 502 RejectedByGateway"
    registry = at_app.extensions["janela"].queues["sms"].failed_job_registry
    assert registry.count == 1
    health = at_app.test_client().get("/healthz").get_json()
    assert health["failed_jobs"] == 1


def test_two_workers_never_send_the_same_row_twice(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(Answer(delay=0.5))  # the first send is slow: the second job arrives meanwhile
    message_id = queue(at_app)
    results: list[str] = []

    def job() -> None:
        with at_app.app_context():
            try:
                results.append(send_sms(message_id))
            except Exception as exc:  # the slow one times out and is marked for retry
                results.append(type(exc).__name__)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "sent" in results
    assert sum(r.startswith("skipped") for r in results) == 1
    assert len(fake_at.received) == 1


def test_many_jobs_for_one_row_send_it_once(at_app: Flask, fake_at: Any) -> None:
    message_id = queue(at_app)
    for _ in range(4):  # the sweep and retries may enqueue the same row again
        at_app.extensions["janela"].queues["sms"].enqueue("workers.jobs.send_sms", message_id)
    run_jobs(at_app)
    assert len(fake_at.received) == 1
    assert message(at_app, message_id).status == "sent"


def test_opted_out_recipients_get_essential_messages_only(at_app: Flask, fake_at: Any) -> None:
    db = at_app.extensions["janela"].db
    with db.begin() as session:
        session.add(Contact(phone=KH, language="en", opted_out=True))
    info = queue(at_app, "A new programme opens", essential=False)
    answer = queue(at_app, "Your complaint 1234567 was received")
    run_jobs(at_app)
    assert message(at_app, info).status == "suppressed"
    assert message(at_app, answer).status == "sent"
    assert fake_at.sent_to(KH) == ["Your complaint 1234567 was received"]


def test_outbox_backend_holds_messages_for_the_simulator(app: Flask) -> None:
    message_id = queue(app)
    run_jobs(app)
    assert message(app, message_id).status == "held"


def test_long_messages_are_split_between_words_within_the_cap(at_app: Flask, fake_at: Any) -> None:
    db = at_app.extensions["janela"].db
    body = "ប្រាក់ឧបត្ថម្ភប្រចាំខែសម្រាប់ជនមានពិការភាព ក្នុងគ្រួសារក្រីក្រ។ " * 8
    ids = queue_sms(db, KH, "km", body, "test", SmsPolicy(max_segments=2))
    assert len(ids) >= 3
    run_jobs(at_app)
    with db() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.part)).all()
    assert all(r.segments <= 2 and r.status == "sent" and r.parts == len(ids) for r in rows)
    assert "".join(fake_at.sent_to(KH)).replace(" ", "") == body.replace(" ", "")


def test_accents_are_folded_only_when_the_deployment_asks(make_app: Any) -> None:
    plain = make_app()
    db = plain.extensions["janela"].db
    (kept,) = queue_sms(db, KH, "pt", "Reclamação", "test", SmsPolicy())
    (folded,) = queue_sms(db, KH, "pt", "Reclamação", "test", SmsPolicy(fold_accents=True))
    (khmer,) = queue_sms(db, KH, "km", "ភាសា", "test", SmsPolicy(fold_accents=True))
    assert (message(plain, kept).body, message(plain, kept).encoding) == ("Reclamação", "UCS-2")
    assert (message(plain, folded).body, message(plain, folded).encoding) == ("Reclamacao", "GSM-7")
    assert message(plain, khmer).body == "ភាសា"


def test_operators_list_failures_and_retry_them(at_app: Flask, fake_at: Any) -> None:
    fake_at.script(*[Answer(status_code=500)] * 3)
    message_id = queue(at_app)
    run_jobs(at_app)
    runner = at_app.test_cli_runner()
    listing = runner.invoke(args=["sms", "list", "--status", "failed"])
    assert f"{message_id}\t" in listing.output and "gave up after 3 attempts" in listing.output
    assert "+855*****678" in listing.output and KH not in listing.output
    failed_jobs = runner.invoke(args=["jobs", "failed"])
    assert "SmsGaveUp" in failed_jobs.output
    assert "1 message(s) queued again." in runner.invoke(args=["sms", "retry", str(message_id)]).output
    run_jobs(at_app)
    assert message(at_app, message_id).status == "sent"
    assert "1 job(s) requeued." in runner.invoke(args=["jobs", "retry"]).output
    run_jobs(at_app)  # the requeued job finds the row already sent and sends nothing
    assert fake_at.sent_to(KH) == ["Hello from janela"]
    totals = runner.invoke(args=["sms", "list"]).output
    assert "totals: sent 1 (1 segments)" in totals
