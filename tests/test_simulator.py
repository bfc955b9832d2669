from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.models import InboundMessage
from registry.outbox import SmsPolicy, queue_sms
from tests.jobs import run_jobs
from tests.test_sms_webhooks import replies


@pytest.fixture
def sim_app(make_app: Any) -> Flask:
    """The demo's app: SMS stay in the outbox and the simulator is asked for."""
    return make_app(SIMULATOR="1")


@pytest.fixture
def client(sim_app: Flask) -> FlaskClient:
    """A browser on the simulator."""
    return sim_app.test_client()


def csrf_of(client: FlaskClient) -> str:
    """Read the CSRF token the simulator page gives its script."""
    html = client.get("/simulator").get_data(as_text=True)
    found = re.search(r'const CSRF = "([^"]+)";', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_simulator_page_is_self_contained(client: FlaskClient) -> None:
    response = client.get("/simulator")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "+85512345678" in html and "*384*123#" in html
    # No external assets: a slow laptop or a closed network still gets the whole page.
    assert not re.search(r'(src|href)="https?://', html)
    # The only link is the favicon, drawn inline.
    assert re.findall(r"<link[^>]*>", html) == [
        m for m in re.findall(r"<link[^>]*>", html) if 'href="data:' in m
    ]
    assert 'rel="icon"' in html


def test_simulator_lists_the_sms_a_number_received(sim_app: Flask, client: FlaskClient) -> None:
    db = sim_app.extensions["janela"].db
    queue_sms(db, "+85512345678", "km", "សួស្តី", "programme_info", SmsPolicy())
    queue_sms(db, "+85599999999", "en", "not yours", "programme_info", SmsPolicy())
    data = client.get("/simulator/sms?phone=012345678").get_json()
    assert data["phone"] == "+85512345678"
    assert [m["body"] for m in data["messages"]] == ["សួស្តី"]
    assert data["messages"][0]["segments"] == 1
    assert client.get("/simulator/sms?phone=nonsense").status_code == 400


def test_simulator_is_off_unless_asked_for(make_app: Any) -> None:
    for app in (make_app(), make_app(AT_API_KEY="key", AT_USERNAME="janela", WEBHOOK_TOKEN="s3cret")):
        assert app.test_client().get("/simulator").status_code == 404
        assert app.test_client().get("/simulator/sms?phone=+85512345678").status_code == 404


def test_simulator_texts_the_service_through_the_same_path(sim_app: Flask, client: FlaskClient) -> None:
    headers = {"X-CSRFToken": csrf_of(client)}
    response = client.post("/simulator/sms", data={"phone": "012345678", "text": "ជំនួយ"}, headers=headers)
    assert response.status_code == 202
    run_jobs(sim_app)
    assert "".join(replies(sim_app)).startswith("ពាក្យបញ្ជា janela៖")
    assert (
        client.post("/simulator/sms", data={"phone": "nope", "text": "x"}, headers=headers).status_code == 400
    )


def test_another_site_cannot_text_through_the_simulator(sim_app: Flask, client: FlaskClient) -> None:
    # A page elsewhere can make this browser post, but cannot read the page's token.
    response = client.post("/simulator/sms", data={"phone": "+85512700001", "text": "OK 1234567"})
    assert response.status_code == 400
    with sim_app.extensions["janela"].db() as session:
        assert session.query(InboundMessage).count() == 0


def test_the_simulator_page_never_holds_the_webhook_token(client: FlaskClient) -> None:
    html = client.get("/simulator").get_data(as_text=True)
    assert "?token=" not in html and "const TOKEN" not in html


def test_cli_runs_a_scripted_session(make_app: Any) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["ussd", "run", "--phone", "+85512345678", "3", "1", "1", "5"])
    assert result.exit_code == 0, result.output
    screens = result.output.split("-" * 24)
    assert screens[0].startswith("CON ភាសា / Idioma / Language")
    assert "> 3" in screens[1] and "CON Social protection" in screens[1]
    assert "IDPoor (Equity Card) will reach you by SMS shortly." in screens[4]
