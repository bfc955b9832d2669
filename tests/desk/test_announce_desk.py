"""The desk's announcements: count and cost before sending, one send per preview, counts after."""

from __future__ import annotations

import re
import time

from flask import Flask
from sqlalchemy import func, select

from registry.models import Announcement, Area, AuditEntry, Household, HouseholdPhone, OutboxMessage
from registry.staff import add_staff
from registry.staff_auth import set_demo_passwords
from tests.desk.conftest import COMMUNE_DESK, DISTRICT, PASSWORD, PROVINCE, signed_in, token

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
    assert client.post("/desk/announce/send", data={**form, "form_token": "x"}).status_code == 404
    assert _count(desk_app, Announcement) == 0
    assert _refused(desk_app) == ["area:1712", "area:1712"]


def _households(app: Flask, village: str, phones: list[str]) -> None:
    with app.extensions["janela"].db.begin() as session:
        village_id = session.scalars(select(Area.id).where(Area.code == village)).one()
        for phone in phones:
            session.add(Household(village_id=village_id, size=4, phones=[HouseholdPhone(phone=phone)]))


def _refused(app: Flask) -> list[str | None]:
    with app.extensions["janela"].db() as session:
        return list(session.scalars(select(AuditEntry.target).where(AuditEntry.action == "refused_read")))


def test_a_district_officer_ticks_villages_sees_count_and_cost_and_sends_once(desk_app: Flask) -> None:
    _households(desk_app, "17010102", ["+85517700001", "+85517700002", "+85517700009"])
    _households(desk_app, "17010201", ["+85517700003", "+85517700009"])  # one phone in both villages
    client = signed_in(desk_app, DISTRICT)
    page = client.get("/desk/announce").get_data(as_text=True)
    # Every village of the district to tick, grouped under its commune, named in Khmer.
    assert page.count('name="village"') == 21
    assert re.search(r"<legend>ចារឈូក <span class=\"code\">170101</span></legend>", page)
    assert 'value="17010102" > គោកចំបក់' in page
    form = {
        "audience": "households",
        "area": "",
        "village": ["17010201", "17010102", "17010201"],
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    shown = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    assert re.search(r'id="recipients">4<', shown) and re.search(r'id="segments">4<', shown)
    assert re.findall(r'name="village" value="(\d+)"', shown) == ["17010102", "17010201"]
    assert "គោកចំបក់" in shown and "ព្រៃគុយ" in shown
    form_token = re.search(r'name="form_token" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
    send = {**form, "form_token": form_token}
    first = client.post("/desk/announce/send", data=send)
    second = client.post("/desk/announce/send", data=send)  # a double click
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(desk_app, Announcement) == 1 and _count(desk_app, OutboxMessage) == 4
    counts = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'id="pending">4<' in counts and "គោកចំបក់" in counts and "17010201" in counts
    listed = client.get("/desk/announce").get_data(as_text=True)
    assert "2 ភូមិ" in listed  # the sent list says how many villages


def test_ticked_villages_without_the_form_s_csrf_token_are_refused(desk_app: Flask) -> None:
    _households(desk_app, "17010102", ["+85517700001"])
    client = signed_in(desk_app, DISTRICT)
    form = {"audience": "households", "village": ["17010102"], "text_km": KM, "form_token": "t"}
    assert client.post("/desk/announce/preview", data=form).status_code == 400
    assert client.post("/desk/announce/send", data=form).status_code == 400
    assert _count(desk_app, Announcement) == _count(desk_app, OutboxMessage) == 0


def test_a_ticked_village_outside_my_commune_is_refused_recorded_and_nothing_sent(desk_app: Flask) -> None:
    _households(desk_app, "17010201", ["+85517700003"])
    client = signed_in(desk_app, COMMUNE_DESK)  # Char Chhuk: 17010201 lies in the next commune
    page = client.get("/desk/announce").get_data(as_text=True)
    assert page.count('name="village"') == 3 and 'value="17010201"' not in page
    form = {
        "audience": "households",
        "village": ["17010102", "17010201"],
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    shown = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    assert 'name="form_token"' not in shown and "flash error" in shown
    assert client.post("/desk/announce/send", data={**form, "form_token": "x"}).status_code == 404
    assert _count(desk_app, Announcement) == _count(desk_app, OutboxMessage) == 0
    assert _refused(desk_app) == ["village:17010201", "village:17010201"]


def test_an_area_code_and_ticks_together_are_refused_with_the_text_kept(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    client.post("/desk/language", data={"language": "pt", "next": "/desk/", "csrf_token": token(client)})
    form = {
        "audience": "households",
        "area": "1701",
        "village": ["17010102"],
        "text_pt": "Dia de pagamento",
        "csrf_token": token(client, "/desk/announce"),
    }
    shown = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    assert "Indique uma área ou aldeias, não as duas." in shown
    assert "Dia de pagamento</textarea>" in shown and 'value="17010102" checked' in shown
    assert _count(desk_app, Announcement) == 0


def test_a_province_officer_lists_another_district_s_villages_and_keeps_the_ticked_ones(
    desk_app: Flask,
) -> None:
    client = signed_in(desk_app, PROVINCE)
    form = {
        "audience": "households",
        "village": ["17010102"],
        "villages_of": "1712",
        "show": "1",
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    shown = client.post("/desk/announce", data=form).get_data(as_text=True)
    assert 'value="17120101"' in shown and 'value="17010101"' not in shown
    assert 'value="17010102" checked' in shown  # ticked in the district's list, still ticked
    assert f">{KM}</textarea>" in shown
    outside = client.post("/desk/announce", data={**form, "villages_of": "18"}).get_data(as_text=True)
    assert "flash error" in outside and _refused(desk_app) == ["area:18"]


def test_a_district_of_a_hundred_villages_lists_them_on_one_light_page(desk_app: Flask) -> None:
    janela = desk_app.extensions["janela"]
    with janela.db.begin() as session:
        province = session.scalars(select(Area.id).where(Area.code == "17")).one()
        district = Area(
            code="1799", parent_id=province, level="district", name_km="ស្រុកថ្មី", name_pt="N", name_en="N"
        )
        session.add(district)
        session.flush()
        for c in range(10):
            commune = Area(
                code=f"1799{c:02d}",
                parent_id=district.id,
                level="commune",
                name_km="ឃុំថ្មី",
                name_pt="C",
                name_en="C",
            )
            session.add(commune)
            session.flush()
            for v in range(10):
                village = Area(
                    code=f"1799{c:02d}{v:02d}",
                    parent_id=commune.id,
                    level="village",
                    name_km=f"ភូមិត្រពាំងស្វាយទី {v}",
                    name_pt="V",
                    name_en="V",
                )
                session.add(village)
                session.flush()
                # Ten households a village; the tenth shares its phone with the next village's first.
                for h in range(10):
                    phone = f"+855179{c:02d}{v:02d}{h:02d}" if h < 9 else f"+855179{c:02d}{v + 1:02d}00"
                    session.add(
                        Household(village_id=village.id, size=4, phones=[HouseholdPhone(phone=phone)])
                    )
    add_staff(janela.db, "district_officer", "1799", "+85512800099", "New District")
    set_demo_passwords(janela.db, PASSWORD)
    client = signed_in(desk_app, "+85512800099")
    started = time.monotonic()
    page = client.get("/desk/announce").get_data(as_text=True)
    listed = time.monotonic() - started
    assert page.count('name="village"') == 100 and page.count('class="villages"') == 10
    # A slow laptop on a slow line: the whole page, a hundred villages named in Khmer, stays light.
    assert len(page.encode()) < 60_000
    villages = re.findall(r'name="village" value="(\d+)"', page)
    form = {
        "audience": "households",
        "village": villages,
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    started = time.monotonic()
    shown = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    previewed = time.monotonic() - started
    # 1,000 households: 9 phones of their own a village and 1 shared with the next (the last's is its own).
    assert re.search(r'id="recipients">910<', shown), re.search(r'id="recipients">(\d+)<', shown)
    form_token = re.search(r'name="form_token" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
    started = time.monotonic()
    client.post("/desk/announce/send", data={**form, "form_token": form_token})
    sent = time.monotonic() - started
    assert _count(desk_app, OutboxMessage) == 910
    print(
        f"100 villages: page {len(page.encode()) / 1000:.0f} kB in {listed * 1000:.0f} ms, "
        f"preview {previewed * 1000:.0f} ms, send of 910 rows {sent * 1000:.0f} ms"
    )


def test_national_staff_name_an_area_before_villages_are_listed(desk_app: Flask) -> None:
    client = signed_in(desk_app, "+85512999999")
    client.post("/desk/language", data={"language": "en", "next": "/desk/", "csrf_token": token(client)})
    page = client.get("/desk/announce").get_data(as_text=True)
    assert 'name="village"' not in page and "Give the code of a district or commune" in page
    listed = client.get("/desk/announce?villages_of=1701").get_data(as_text=True)
    assert listed.count('name="village"') == 21 and "Trapeang Thom" in listed


def test_the_preview_names_the_programme_in_the_officers_language(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    form = {
        "area": "1701",
        "audience": "households",
        "programme": "idpoor",
        "text_km": KM,
        "csrf_token": token(client, "/desk/announce"),
    }
    page = client.post("/desk/announce/preview", data=form).get_data(as_text=True)
    assert "ប័ណ្ណសមធម៌ (IDPoor)" in page  # the district officer reads Khmer
    assert "៖ " in page.split('id="segments"')[1]  # "By language" counts with the Khmer colon
