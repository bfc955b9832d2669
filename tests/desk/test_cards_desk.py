"""The desk's ID card page: scoped to the officer's area, recorded in the audit log."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from registry.models import AuditEntry, CardIssue
from tests.desk.conftest import COMMUNE_DESK, signed_in, token


def _audit(app: Flask) -> list[tuple[str, str | None]]:
    with app.extensions["janela"].db() as session:
        return [(a.action, a.target) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_an_officer_downloads_a_household_s_cards_and_the_printing_is_audited(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get("/desk/cards").get_data(as_text=True)
    assert 'href="/desk/cards"' in page
    response = client.post(
        "/desk/cards.pdf", data={"sp_id": "1701 0000 34", "csrf_token": token(client, "/desk/cards")}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data[:5] == b"%PDF-"
    assert ("print_cards", "sp_id:1701000034") in _audit(desk_app)
    with desk_app.extensions["janela"].db() as session:
        assert session.scalars(select(CardIssue.sp_id)).all() == ["1701000034"]


def test_a_card_outside_the_area_is_refused_and_recorded(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    response = client.post(
        "/desk/cards.pdf",
        data={"sp_id": "1712000015", "csrf_token": token(client, "/desk/cards")},
        follow_redirects=True,
    )
    assert response.mimetype == "text/html"
    assert ("refused_read", "sp_id:1712000015") in _audit(desk_app)
    with desk_app.extensions["janela"].db() as session:
        assert session.scalars(select(CardIssue)).all() == []


def test_a_card_form_without_its_csrf_token_prints_nothing(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    assert client.post("/desk/cards.pdf", data={"sp_id": "1701000034"}).status_code == 400
