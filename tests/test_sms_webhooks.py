"""Inbound SMS and delivery reports as Africa's Talking posts them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.models import Contact, InboundMessage, OutboxMessage
from registry.outbox import SmsPolicy, queue_sms
from tests.jobs import run_jobs

KH = "+85512345678"


def inbound(
    client: FlaskClient, text: str, sender: str = KH, provider_id: str = "ATXid_1", token: str = ""
) -> Any:
    return client.post(
        f"/sms/inbound?token={token}" if token else "/sms/inbound",
        data={
            "from": sender,
            "to": "12345",
            "text": text,
            "date": "2026-11-22 10:00:00",
            "id": provider_id,
            "linkId": "link-1",
            "networkCode": "45606",
        },
    )


def replies(app: Flask, phone: str = KH) -> list[str]:
    with app.extensions["janela"].db() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)
        )
        return [r.body for r in rows]


def count(app: Flask, model: Any) -> int:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_inbound_is_stored_answered_at_once_and_processed_by_a_job(app: Flask, client: FlaskClient) -> None:
    response = inbound(client, "AJUDA")
    assert response.status_code == 200
    assert count(app, InboundMessage) == 1 and replies(app) == []  # nothing done in the request
    run_jobs(app)
    reply = "".join(replies(app))
    assert reply.startswith("Comandos janela:\nPROGRAMAS - lista de programas")


def test_a_repeated_callback_is_acknowledged_not_processed_twice(app: Flask, client: FlaskClient) -> None:
    for _ in range(3):
        assert inbound(client, "HELP").status_code == 200
    run_jobs(app)
    assert count(app, InboundMessage) == 1
    with app.extensions["janela"].db() as session:
        parts = session.scalars(select(OutboxMessage.parts)).all()
    assert len(parts) == parts[0]  # one reply, in as many parts as it needs


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "\u200b", "😀😀", "<script>alert(1)</script>"])
def test_odd_texts_get_the_help_in_the_default_language(app: Flask, client: FlaskClient, text: str) -> None:
    assert inbound(client, text).status_code == 200
    run_jobs(app)
    reply = "".join(replies(app))
    assert reply == "សូមអភ័យទោស យើងមិនយល់ទេ។ ផ្ញើ ជំនួយ ដើម្បីមើលពាក្យបញ្ជា។"
    with app.extensions["janela"].db() as session:
        stored = session.scalar(select(InboundMessage.text))
    assert len(stored) <= 1000


def test_invalid_utf8_is_stored_as_replacement_characters(app: Flask, client: FlaskClient) -> None:
    body = b"from=%2B85512345678&to=12345&id=ATXid_9&text=HELP%FF%FE"
    response = client.post("/sms/inbound", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    run_jobs(app)
    assert replies(app)


@pytest.mark.parametrize("sender", ["MPESA", "", "12", "+1"])
def test_senders_that_are_not_phone_numbers_are_acknowledged_and_ignored(
    app: Flask, client: FlaskClient, sender: str
) -> None:
    response = inbound(client, "HELP", sender=sender)
    assert response.status_code == 200
    assert "ignored" in response.get_data(as_text=True)
    assert count(app, InboundMessage) == 0


def test_an_inbound_callback_without_an_id_is_a_400(client: FlaskClient) -> None:
    assert client.post("/sms/inbound", data={"from": KH, "text": "HELP"}).status_code == 400


def test_webhook_token_guards_the_sms_webhooks(make_app: Any) -> None:
    app = make_app(WEBHOOK_TOKEN="s3cret")
    client = app.test_client()
    assert inbound(client, "HELP").status_code == 403
    assert client.post("/sms/delivery", data={"id": "x", "status": "Success"}).status_code == 403
    assert (
        client.post("/sms/inbound?token=s3cret", data={"from": KH, "id": "1", "text": "HI"}).status_code
        == 200
    )


def test_delivery_reports_move_a_message_forward_only(at_app: Flask, fake_at: Any) -> None:
    db = at_app.extensions["janela"].db
    (message_id,) = queue_sms(db, KH, "en", "hello", "test", SmsPolicy())
    run_jobs(at_app)
    client = at_app.test_client()

    def report(status: str, reason: str = "") -> str:
        response = client.post(
            "/sms/delivery?token=at-token",
            data={
                "id": "ATXid_1",
                "status": status,
                "phoneNumber": KH,
                "networkCode": "45606",
                "failureReason": reason,
                "retryCount": "0",
            },
        )
        assert response.status_code == 200
        with db() as session:
            return session.get_one(OutboxMessage, message_id).status

    assert report("Buffered") == "sent"
    assert report("Success") == "delivered"
    assert report("Success") == "delivered"  # a repeated report changes nothing
    assert report("Sent") == "delivered"  # a late, older report does not move it back


def test_a_failed_delivery_keeps_the_reason(at_app: Flask, fake_at: Any) -> None:
    db = at_app.extensions["janela"].db
    (message_id,) = queue_sms(db, KH, "en", "hello", "test", SmsPolicy())
    run_jobs(at_app)
    at_app.test_client().post(
        "/sms/delivery?token=at-token",
        data={"id": "ATXid_1", "status": "Rejected", "failureReason": "DeliveryFailure"},
    )
    with db() as session:
        message = session.get_one(OutboxMessage, message_id)
    assert (message.status, message.last_error) == ("failed", "Rejected: DeliveryFailure")


def test_delivery_report_for_an_unknown_message_is_acknowledged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.post("/sms/delivery?token=at-token", data={"id": "ATXid_never", "status": "Success"})
    assert response.status_code == 200
    assert "unknown message" in caplog.text
    assert client.post("/sms/delivery?token=at-token", data={"status": "Success"}).status_code == 400


def test_stop_is_honoured_by_later_sends_and_start_undoes_it(at_app: Flask, fake_at: Any) -> None:
    client = at_app.test_client()
    inbound(client, "PARAR", provider_id="in-1", token="at-token")
    run_jobs(at_app)
    db = at_app.extensions["janela"].db
    with db() as session:
        assert session.scalar(select(Contact.opted_out).where(Contact.phone == KH)) is True
    queue_sms(db, KH, "pt", "Novidades do programa", "announcement", SmsPolicy(), essential=False)
    run_jobs(at_app)
    assert "Novidades do programa" not in fake_at.sent_to(KH)
    inbound(client, "iniciar", provider_id="in-2", token="at-token")
    run_jobs(at_app)
    queue_sms(db, KH, "pt", "Outra novidade", "announcement", SmsPolicy(), essential=False)
    run_jobs(at_app)
    sent = fake_at.sent_to(KH)
    assert sent[0].startswith("Deixará de receber mensagens informativas.")
    assert sent[1].startswith("Vai voltar a receber")
    assert sent[2] == "Outra novidade"
