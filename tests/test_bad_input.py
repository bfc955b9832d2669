"""Bad input at the four webhooks: a 4xx or a clean stored value, never a 500 and never garbage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from phonetext.cleaning import INT32_MAX, clamp_int, clean_line, clean_text
from registry.models import InboundMessage, OutboxMessage, UssdSessionEnd
from registry.outbox import SmsPolicy, queue_sms
from tests.jobs import run_jobs

KH = "+85512345678"
NUL = "\x00"


def stored(app: Flask, model: Any) -> list[Any]:
    with app.extensions["janela"].db() as session:
        return list(session.scalars(select(model)).all())


def test_cleaning_drops_controls_and_keeps_khmer_joiners() -> None:
    assert clean_text("a\x00b\x1bc\x7fd\x85e", 100) == "abcde"
    assert clean_text("line one\r\nline two\rthree\tfour", 100) == "line one\nline two\nthree four"
    khmer = "ស្វាគមន៍\u200bជំនួយ\u200c"
    assert clean_text(khmer, 100) == khmer
    assert clean_text("x" * 50, 10) == "x" * 10
    assert clean_line(" ATXid\x00_1 \n", 40) == "ATXid_1"


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("15230", 15230),
        ("15230.7", 15230),
        ("inf", INT32_MAX),
        ("-inf", 0),
        ("1e400", INT32_MAX),
        ("2147483648", INT32_MAX),
        ("-5", 0),
        ("nan", None),
        ("abc", None),
        ("", None),
        (None, None),
        ("1\x002", 12),  # the NUL is dropped, as everywhere at the edge
    ],
)
def test_gateway_numbers_are_clamped_to_their_column(raw: str | None, number: int | None) -> None:
    assert clamp_int(raw) == number


def test_infinite_and_huge_numbers_in_an_end_of_session_are_stored_clamped(
    app: Flask, client: FlaskClient
) -> None:
    for n, (duration, hops) in enumerate([("inf", "2147483648"), ("1e400", "-3"), ("nan", "9" * 30)]):
        response = client.post(
            "/ussd/events", data={"sessionId": f"ATUid_{n}", "durationInMillis": duration, "hopsCount": hops}
        )
        assert response.status_code == 200
    rows = sorted(stored(app, UssdSessionEnd), key=lambda row: row.session_id)
    assert [(row.duration_ms, row.hops) for row in rows] == [
        (INT32_MAX, INT32_MAX),
        (INT32_MAX, 0),
        (None, INT32_MAX),
    ]


def test_a_nul_in_any_field_of_an_end_of_session_is_dropped(app: Flask, client: FlaskClient) -> None:
    fields = ("sessionId", "phoneNumber", "serviceCode", "networkCode", "status", "errorMessage", "cost")
    form = {name: f"v{NUL}alue" for name in fields} | {"sessionId": f"ATUid{NUL}_7"}
    assert client.post("/ussd/events", data=form).status_code == 200
    (row,) = stored(app, UssdSessionEnd)
    assert row.session_id == "ATUid_7" and row.status == "value" and row.error_message == "value"


def test_a_nul_in_an_inbound_sms_is_dropped_and_the_text_answered(app: Flask, client: FlaskClient) -> None:
    form = {"from": KH, "to": f"12{NUL}345", "text": f"HE{NUL}LP", "id": f"ATXid{NUL}_1", "linkId": NUL}
    assert client.post("/sms/inbound", data=form).status_code == 200
    (row,) = stored(app, InboundMessage)
    assert (row.text, row.to, row.provider_id, row.link_id) == ("HELP", "12345", "ATXid_1", None)
    run_jobs(app)
    replies = [m.body for m in stored(app, OutboxMessage)]
    assert replies and replies[0].startswith("janela commands:")  # read as HELP once the NUL is gone


def test_a_nul_in_a_delivery_report_is_dropped(app: Flask, client: FlaskClient) -> None:
    queue_sms(app.extensions["janela"].db, KH, "km", "សួស្តី", "programme_info", SmsPolicy())
    form = {"id": f"ATXid{NUL}", "status": f"Fail{NUL}ed", "failureReason": f"Reason{NUL}"}
    assert client.post("/sms/delivery", data=form).status_code == 200


def test_a_nul_typed_on_ussd_never_reaches_the_database(app: Flask, client: FlaskClient) -> None:
    form = {"sessionId": "ATUid_n", "serviceCode": "*384*123#", "phoneNumber": KH, "networkCode": "1"}
    assert client.post("/ussd", data={**form, "text": ""}).status_code == 200
    response = client.post("/ussd", data={**form, "text": f"1{NUL}"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("CON ")
    redis = app.extensions["janela"].redis
    for key in redis.keys("*"):
        if redis.type(key) == b"string":
            assert b"\x00" not in redis.get(key) and b"\\u0000" not in redis.get(key)


# Text as a fuzzer, a broken phone or a hostile sender would send it: any code point, controls,
# Khmer, surrogate-free high planes, the USSD separator, and very long runs.
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from("0123456789*#\x00\n ១២៣ក្ខ"), max_size=60),
    st.sampled_from(["inf", "-inf", "nan", "1e400", "2147483648", "-1", "99999999999999999999"]),
)
FIELD = st.one_of(st.none(), TEXT)


@pytest.fixture(scope="module")
def fuzz_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    """One app for every generated case: the fuzz checks answers, not a clean slate each time."""
    from app import create_app
    from registry.demo import load_demo
    from tests.conftest import _clean, app_config

    app = create_app(app_config(database_url, redis_url))
    app.config["TESTING"] = True
    _clean(app)
    load_demo(app.extensions["janela"].db, "KH")
    yield app
    app.extensions["janela"].engine.dispose()


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(session=FIELD, phone=st.one_of(st.just(KH), FIELD), code=FIELD, text=FIELD, network=FIELD)
def test_fuzzed_ussd_hops_answer_con_or_end_within_the_budget(
    fuzz_app: Flask,
    session: str | None,
    phone: str | None,
    code: str | None,
    text: str | None,
    network: str | None,
) -> None:
    form = {
        "sessionId": session,
        "phoneNumber": phone,
        "serviceCode": code,
        "text": text,
        "networkCode": network,
    }
    response = fuzz_app.test_client().post("/ussd", data={k: v for k, v in form.items() if v is not None})
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        body = response.get_data(as_text=True)
        assert body.startswith(("CON ", "END "))
        screen = body[4:]
        assert fuzz_app.extensions["janela"].settings.budget.fits(screen), screen


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "sessionId",
                "phoneNumber",
                "serviceCode",
                "networkCode",
                "status",
                "errorMessage",
                "durationInMillis",
                "hopsCount",
                "cost",
                "input",
                "date",
            ]
        ),
        TEXT,
    )
)
def test_fuzzed_session_ends_never_fail(fuzz_app: Flask, form: dict[str, str]) -> None:
    assert fuzz_app.test_client().post("/ussd/events", data=form).status_code in (200, 400)


@FUZZ
@given(
    form=st.dictionaries(st.sampled_from(["from", "to", "text", "date", "id", "linkId", "networkCode"]), TEXT)
)
def test_fuzzed_inbound_sms_never_fail(fuzz_app: Flask, form: dict[str, str]) -> None:
    assert fuzz_app.test_client().post("/sms/inbound", data=form).status_code in (200, 400)


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["id", "status", "phoneNumber", "networkCode", "failureReason"]), TEXT
    )
)
def test_fuzzed_delivery_reports_never_fail(fuzz_app: Flask, form: dict[str, str]) -> None:
    assert fuzz_app.test_client().post("/sms/delivery", data=form).status_code in (200, 400)
