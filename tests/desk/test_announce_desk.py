"""The desk's announcements: count and cost before sending, one send per preview, counts after."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from registry.models import Announcement, AuditEntry, OutboxMessage
from tests.desk.conftest import COMMUNE_DESK, DISTRICT, signed_in, token

KM = "ថ្ងៃបើកប្រាក់ ថ្ងៃទី ១៥ នៅសាលាឃុំ។"


def _count(app: Flask, model: type) -> int:
    with app.extensions["janela"].db() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_district_officer_previews_then_sends_once_and_sees_the_counts(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    form = {
        "area": "1701",
        "audience": "chiefs",
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    page = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    recipients = int(re.search(r'id="recipients">(\d+)<', page).group(1))  # type: ignore[union-attr]
    assert recipients >= 1 and _count(desk_app, OutboxMessage) == 0
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    send = {**form, "form_token": form_token}
    first = client.post("/desk/announce/send", data=send)
    second = client.post("/desk/announce/send", data=send)  # a double click
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(desk_app, Announcement) == 1 and _count(desk_app, OutboxMessage) == recipients
    counts = client.get(first.headers["Location"]).get_data(as_text=True)
    assert f'id="pending">{recipients}<' in counts
    with desk_app.extensions["janela"].db() as session:
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "announce")) == "announce"


def test_an_area_outside_mine_is_refused(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    form = {
        "area": "1712",
        "audience": "chiefs",
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    page = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    assert 'name="form_token"' not in page and _count(desk_app, Announcement) == 0
    client.post("/desk/announce/send", data={**form, "form_token": "x"})
    assert _count(desk_app, Announcement) == 0
