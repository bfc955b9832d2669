from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from registry.errors import InvalidData, NotFound
from registry.phones import mask_phone, normalise_phone
from registry.services import get_language, get_programme, set_language


def test_language_is_remembered_and_changed(app: Flask) -> None:
    db = app.extensions["janela"].db
    assert get_language(db, "+85512345678") is None
    set_language(db, "+85512345678", "km")
    set_language(db, "+85512345678", "pt")
    assert get_language(db, "+85512345678") == "pt"


def test_unknown_programme_is_not_found(app: Flask) -> None:
    with pytest.raises(NotFound):
        get_programme(app.extensions["janela"].db, "KH", "nope", "en", "km")


def test_programme_texts_fall_back_to_the_default_language(app: Flask) -> None:
    info = get_programme(app.extensions["janela"].db, "KH", "nssf", "xx", fallback="pt")
    assert info.name == "NSSF (Segurança Social)"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+85512345678", "KH", "+85512345678"),
        ("012 345 678", "KH", "+85512345678"),
        ("84 123 4567", "MZ", "+258841234567"),
        ("+258 84 123 4567", "KH", "+258841234567"),
    ],
)
def test_phone_numbers_become_e164(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == expected


@pytest.mark.parametrize("raw", ["", "hello", "+1", "12", "+" + "9" * 40])
def test_non_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidData):
        normalise_phone(raw, "KH")


def test_phones_are_masked_for_logs() -> None:
    assert mask_phone("+85512345678") == "+855*****678"
    assert "12345" not in mask_phone("+85512345678")


def test_naive_timestamps_are_refused(app: Flask) -> None:
    from datetime import datetime

    from registry.models import Contact

    db = app.extensions["janela"].db
    with pytest.raises(Exception, match="naive"), db.begin() as session:
        session.add(Contact(phone="+85500000000", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_migrations_go_down_and_up_again(make_app: Any) -> None:
    from sqlalchemy import inspect

    from registry.migrate import downgrade, upgrade

    app: Flask = make_app(catalogue=None)
    engine = app.extensions["janela"].engine
    downgrade(engine, "base")
    assert "contacts" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert {"contacts", "programmes", "outbox_messages"} <= set(inspect(engine).get_table_names())
