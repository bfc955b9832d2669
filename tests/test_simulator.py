from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from registry.outbox import SmsPolicy, queue_sms


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


def test_simulator_lists_the_sms_a_number_received(app: Flask, client: FlaskClient) -> None:
    db = app.extensions["janela"].db
    queue_sms(db, "+85512345678", "km", "សួស្តី", "programme_info", SmsPolicy())
    queue_sms(db, "+85599999999", "en", "not yours", "programme_info", SmsPolicy())
    data = client.get("/simulator/sms?phone=012345678").get_json()
    assert data["phone"] == "+85512345678"
    assert [m["body"] for m in data["messages"]] == ["សួស្តី"]
    assert data["messages"][0]["segments"] == 1
    assert client.get("/simulator/sms?phone=nonsense").status_code == 400


def test_simulator_is_off_when_real_sms_are_sent(make_app: Any) -> None:
    app = make_app(AT_API_KEY="key", AT_USERNAME="janela")
    assert app.test_client().get("/simulator").status_code == 404
    assert app.test_client().get("/simulator/sms?phone=+85512345678").status_code == 404


def test_cli_runs_a_scripted_session(make_app: Any) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["ussd", "run", "--phone", "+85512345678", "3", "1", "1", "5"])
    assert result.exit_code == 0, result.output
    screens = result.output.split("-" * 24)
    assert screens[0].startswith("CON ភាសា / Idioma / Language")
    assert "> 3" in screens[1] and "CON Social protection" in screens[1]
    assert "IDPoor (Equity Card) will reach you by SMS shortly." in screens[4]
