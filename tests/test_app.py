"""The HTTP edges: callbacks as Africa's Talking sends them, bad input, faults and health."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.models import Contact, UssdSessionEnd
from registry.services import set_language
from tests.phones import Phone, assert_fits

KH = "+85512345678"
FORM = {
    "sessionId": "ATUid_1",
    "serviceCode": "*384*123#",
    "phoneNumber": KH,
    "networkCode": "45606",
    "text": "",
}


def post(client: FlaskClient, **changes: Any) -> tuple[int, str]:
    form = {k: v for k, v in {**FORM, **changes}.items() if v is not None}
    response = client.post("/ussd", data=form)
    return response.status_code, response.get_data(as_text=True)


def count(app: Flask, model: Any) -> int:
    with app.extensions["janela"].db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_first_hop_answers_con_in_plain_text(client: FlaskClient) -> None:
    response = client.post("/ussd", data=FORM)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.get_data(as_text=True).startswith("CON ភាសា")


@pytest.mark.parametrize("missing", ["sessionId", "phoneNumber"])
def test_a_callback_without_its_ids_is_a_400(app: Flask, client: FlaskClient, missing: str) -> None:
    status, body = post(client, **{missing: None})
    assert status == 400
    assert missing in body
    assert count(app, Contact) == 0


@pytest.mark.parametrize("phone", ["", "abc", "+1", "1" * 40, "+855 12 345 678 999 999"])
def test_a_malformed_phone_number_is_a_400(client: FlaskClient, phone: str) -> None:
    assert post(client, phoneNumber=phone)[0] == 400


@pytest.mark.parametrize("session_id", ["", "x" * 300, "a b", "a\nb", "ségio"])
def test_a_malformed_session_id_is_a_400(client: FlaskClient, session_id: str) -> None:
    assert post(client, sessionId=session_id)[0] == 400


def test_national_phone_numbers_are_normalised_to_e164(app: Flask, client: FlaskClient) -> None:
    post(client, phoneNumber="012 345 678")
    post(client, text="3")
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(Contact.phone)) == KH


def test_missing_text_is_a_first_hop(client: FlaskClient) -> None:
    status, body = post(client, text=None)
    assert status == 200 and body.startswith("CON ")


def test_an_unknown_service_code_gets_an_apology(make_app: Any) -> None:
    app = make_app(USSD_SERVICE_CODES="*384*123#, *855#")
    client = app.test_client()
    assert post(client)[1].startswith("CON ")
    assert post(client, sessionId="other", serviceCode="*855#")[1].startswith("CON ")
    status, body = post(client, sessionId="third", serviceCode="*999#")
    assert status == 200
    assert body == "END សូមអភ័យទោស លេខនេះមិនផ្តល់សេវានេះទេ។"


def test_ten_kilobytes_of_text_is_a_reprompt_and_nothing_is_stored(
    app: Flask, client: FlaskClient, redis_client: Any
) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    post(client)
    status, body = post(client, text="7" * 10_000)
    assert status == 200
    assert body.startswith("CON Invalid choice.\nSocial protection")
    for key in redis_client.keys("*"):
        if redis_client.type(key) == b"string":
            assert b"7777777" not in redis_client.get(key)


def test_a_callback_larger_than_any_gateway_sends_is_refused(client: FlaskClient) -> None:
    status, _ = post(client, text="1" * 100_000)
    assert status == 413


def test_invalid_utf8_gets_an_answer_not_an_error(app: Flask, client: FlaskClient) -> None:
    set_language(app.extensions["janela"].db, KH, "en")
    post(client)
    body = b"sessionId=ATUid_1&serviceCode=%2A384%2A123%23&phoneNumber=%2B85512345678&text=%FF%FE"
    response = client.post("/ussd", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("CON Invalid choice")


@pytest.mark.parametrize("text", ["*", "**", "#", "*#", "1*", "*1", "1**1", "##1", "1#*#"])
def test_stars_and_hashes_in_odd_places_never_break_it(client: FlaskClient, text: str) -> None:
    status, body = post(client, text=text)
    assert status == 200 and body.startswith(("CON ", "END "))
    status, body = post(client, text=text + "*1")
    assert status == 200 and body.startswith(("CON ", "END "))


def test_webhook_token_is_required_when_set(make_app: Any) -> None:
    app = make_app(WEBHOOK_TOKEN="s3cret")
    client = app.test_client()
    assert client.post("/ussd", data=FORM).status_code == 403
    assert client.post("/ussd?token=wrong", data=FORM).status_code == 403
    assert client.post("/ussd/events?token=nope", data=FORM).status_code == 403
    assert client.post("/ussd?token=s3cret", data=FORM).status_code == 200
    assert client.get("/healthz").status_code == 200  # health is not a webhook


def test_when_redis_is_down_the_caller_gets_an_apology_in_their_language(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    make_app()  # cleans the shared servers first
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    set_language(app.extensions["janela"].db, KH, "pt")
    status, body = post(app.test_client())
    assert status == 200
    assert body == "END Desculpe, o serviço não está disponível agora. Tente mais tarde."
    assert "USSD hop failed" in caplog.text
    assert KH not in caplog.text  # phone numbers are masked in logs


def test_when_the_database_is_down_the_apology_is_in_the_default_language(make_app: Any) -> None:
    make_app()  # cleans the shared servers first
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", DEFAULT_LANGUAGE="pt")
    status, body = post(app.test_client())
    assert status == 200
    assert body.startswith("END Desculpe, o serviço não está disponível")


def test_healthz_reports_database_redis_and_queue_depth(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert data["database"] == "ok" and data["redis"] == "ok" and data["status"] == "ok"
    assert data["queue_depth"] == 0


def test_healthz_is_503_when_redis_is_down(make_app: Any) -> None:
    make_app()
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("error")
    assert response.get_json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(make_app: Any) -> None:
    make_app()
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"].startswith("error")


def test_end_of_session_notifications_are_recorded_once(app: Flask, client: FlaskClient) -> None:
    event = {
        "sessionId": "ATUid_9",
        "serviceCode": "*384*123#",
        "phoneNumber": KH,
        "networkCode": "45606",
        "status": "Success",
        "cost": "KES 0.0500",
        "durationInMillis": "15230",
        "hopsCount": "4",
        "input": "1*2*3",
        "lastAppResponse": "END bye",
        "errorMessage": "",
        "date": "2026-11-22 10:00:00",
    }
    for _ in range(3):
        response = client.post("/ussd/events", data=event)
        assert response.status_code == 200
    with app.extensions["janela"].db() as session:
        (row,) = session.scalars(select(UssdSessionEnd)).all()
    assert (row.session_id, row.status, row.duration_ms, row.hops, row.cost) == (
        "ATUid_9",
        "Success",
        15230,
        4,
        "KES 0.0500",
    )


def test_end_of_session_without_a_session_id_is_a_400(client: FlaskClient) -> None:
    assert client.post("/ussd/events", data={"status": "Failed"}).status_code == 400


def test_end_of_session_with_junk_numbers_is_still_recorded(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/ussd/events", data={"sessionId": "s", "durationInMillis": "abc", "hopsCount": "x" * 5000}
    )
    assert response.status_code == 200
    assert count(app, UssdSessionEnd) == 1


def test_get_on_the_webhook_is_not_allowed(client: FlaskClient) -> None:
    assert client.get("/ussd").status_code == 405


def test_a_long_session_keeps_every_screen_whole_and_in_budget(client: FlaskClient) -> None:
    phone = Phone(client, KH)
    phone.dial()
    for key in ("2", "1", "3", "1", "98", "x", "98", "0", "0", "3", "00", "1", "98", "x"):
        screen = phone.send(key)
        assert_fits(screen)
        # Portuguese text is never cut inside a word.
        for line in screen.split("\n"):
            assert not line.endswith("dinheir"), screen
    assert phone.screen.startswith(("Opção inválida.\n", "Opcao invalida.\n"))


def test_the_webhook_token_never_reaches_an_access_log(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    from app import TokenRedactor

    line = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        "",
        0,
        '%s - "%s" %s',
        ("1.2.3.4", "POST /ussd?token=s3cret&x=1 HTTP/1.1", 200),
        None,
    )
    assert TokenRedactor().filter(line)
    assert line.getMessage() == '1.2.3.4 - "POST /ussd?token=***&x=1 HTTP/1.1" 200'
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info("%s", "POST /sms/inbound?token=s3cret HTTP/1.1")
    assert "s3cret" not in caplog.text and "token=***" in caplog.text


def test_webhooks_can_be_held_to_the_gateways_addresses(make_app: Any) -> None:
    app = make_app(WEBHOOK_SOURCES="52.48.80.0/24, 2001:db8::/32")
    client = app.test_client()
    assert client.post("/ussd", data=FORM, environ_base={"REMOTE_ADDR": "52.48.80.7"}).status_code == 200
    assert client.post("/ussd", data=FORM, environ_base={"REMOTE_ADDR": "2001:db8::5"}).status_code == 200
    assert client.post("/ussd", data=FORM, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert (
        client.post("/sms/inbound", data={}, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    )
    # A forged X-Forwarded-For counts only behind a proxy the deployment declared.
    forged = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "52.48.80.7"}
    assert client.post("/ussd", data=FORM, environ_base=forged).status_code == 403
    behind = make_app(WEBHOOK_SOURCES="52.48.80.0/24", PROXY_HOPS=1).test_client()
    proxied = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "52.48.80.7"}
    assert behind.post("/ussd", data=FORM, environ_base=proxied).status_code == 200
    assert client.get("/healthz").status_code == 200  # health is not a webhook


def test_webhook_sources_that_are_not_addresses_are_refused(make_app: Any) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="WEBHOOK_SOURCES must be addresses"):
        make_app(WEBHOOK_SOURCES="africastalking.com")
