"""Announcements to chosen villages: exactly their phones, once each, all in scope or nothing sent."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.announcement_places import villages_to_choose
from registry.announcements import (
    Draft,
    announcement_counts,
    list_announcements,
    preview_announcement,
    request_key_of,
    send_announcement,
)
from registry.errors import InvalidData, NotFound
from registry.models import (
    Announcement,
    AnnouncementVillage,
    Area,
    AuditEntry,
    Contact,
    Household,
    HouseholdPhone,
    OutboxMessage,
)
from registry.scoping import Actor
from registry.staff import add_staff
from registry.staff_auth import find_desk_staff
from tests.jobs import run_jobs

DISTRICT = "+85512800001"  # Hout Sarin, district officer of Angkor Chum (1701)
COMMUNE_DESK = "+85512700001"  # Keo Sarun, desk of Char Chhuk (170101)
PROVINCE = "+85512900001"  # Nou Vichet, province officer of Siem Reap (17)
NATIONAL = "+85512999999"
KM = "ថ្ងៃបើកប្រាក់ ថ្ងៃទី ១៥ នៅសាលាឃុំ។"
PT = "Dia de pagamento: 15, na sede da comuna."
KOUK_CHAMBAK = "17010102"  # commune 170101
PREY_KUY = "17010201"  # commune 170102, same district
THNAL_BAMBAEK = "17010103"  # commune 170101, never chosen here
OTHER_DISTRICT_VILLAGE = "17120101"  # district 1712
SHARED = "+85517700009"  # a phone of one household in each of the two chosen villages


def _households(app: Flask, village: str, phones: list[str]) -> None:
    """Add one household per phone to a village."""
    with app.extensions["janela"].db.begin() as session:
        village_id = session.scalars(select(Area.id).where(Area.code == village)).one()
        for phone in phones:
            session.add(Household(village_id=village_id, size=4, phones=[HouseholdPhone(phone=phone)]))


def _contact(app: Flask, phone: str, language: str | None = None, opted_out: bool = False) -> None:
    with app.extensions["janela"].db.begin() as session:
        session.add(Contact(phone=phone, language=language, opted_out=opted_out))


def _actor(app: Flask, phone: str = DISTRICT) -> Actor:
    actor = find_desk_staff(app.extensions["janela"].db, phone)
    assert actor is not None
    return actor


def _preview(app: Flask, draft: Draft, phone: str = DISTRICT) -> Any:
    janela = app.extensions["janela"]
    return preview_announcement(janela.db, _actor(app, phone), draft, janela.settings.sms_policy, "km", "en")


def _send(app: Flask, draft: Draft, key: str, phone: str = DISTRICT) -> Any:
    janela = app.extensions["janela"]
    policy = janela.settings.sms_policy
    return send_announcement(janela.db, _actor(app, phone), draft, key, policy, "km", 0)


def _count(app: Flask, model: type) -> int:
    with app.extensions["janela"].db() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _refused(app: Flask) -> list[str | None]:
    with app.extensions["janela"].db() as session:
        query = select(AuditEntry.target).where(AuditEntry.action == "refused_read").order_by(AuditEntry.id)
        return list(session.scalars(query))


def _villages(*codes: str) -> Draft:
    return Draft("", "households", {"km": KM, "pt": PT}, village_codes=codes)


def _two_villages(app: Flask) -> dict[str, list[str]]:
    """Households of two villages of two communes, a phone shared between them, and a third village."""
    phones = {
        KOUK_CHAMBAK: ["+85517700001", "+85517700002", "+85517700003", SHARED],
        PREY_KUY: ["+85517700004", "+85517700005", SHARED],
        THNAL_BAMBAEK: ["+85517700006"],
    }
    for village, numbers in phones.items():
        _households(app, village, numbers)
    _contact(app, "+85517700004", "pt")
    _contact(app, "+85517700003", opted_out=True)  # sent STOP before
    return phones


def test_chosen_villages_reach_exactly_their_phones_once_and_skip_stop(at_app: Flask, fake_at: Any) -> None:
    phones = _two_villages(at_app)
    # Another order and a repeat: the same two villages.
    draft = _villages(PREY_KUY, KOUK_CHAMBAK, f" {PREY_KUY} ")
    preview = _preview(at_app, draft)
    reached = {"+85517700001", "+85517700002", "+85517700004", "+85517700005", SHARED}
    assert (preview.recipients, preview.opted_out) == (len(reached), 1)
    assert preview.by_language == {"km": 4, "pt": 1}
    assert [(v.code, v.name) for v in preview.villages] == [
        (KOUK_CHAMBAK, "Kouk Chambak"),
        (PREY_KUY, "Prey Kuy"),
    ]
    assert preview.area is None
    sent = _send(at_app, draft, "form:villages")
    assert (sent.recipients, sent.created) == (len(reached), True)
    run_jobs(at_app)
    received = [(r["to"], r["message"]) for r in fake_at.received if r["accepted"]]
    assert sorted(to for to, _ in received) == sorted(reached)  # the shared phone once
    assert dict(received)["+85517700004"] == PT and dict(received)[SHARED] == KM
    assert not set(phones[THNAL_BAMBAEK]) & {to for to, _ in received}
    with at_app.extensions["janela"].db() as session:
        announcement = session.scalars(select(Announcement)).one()
        chosen = session.scalars(
            select(Area.code)
            .join(AnnouncementVillage, AnnouncementVillage.village_id == Area.id)
            .order_by(Area.code)
        ).all()
        filed_under = session.get_one(Area, announcement.area_id).code
        detail = session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "announce"))
    assert chosen == [KOUK_CHAMBAK, PREY_KUY]
    assert filed_under == "1701"  # two communes: the district holds both
    assert detail == f"households; villages {KOUK_CHAMBAK},{PREY_KUY}; 5 recipients; 1 opted out"
    counts = announcement_counts(at_app.extensions["janela"].db, _actor(at_app), sent.announcement_id, "km")
    assert counts.area is None and [v.name for v in counts.villages] == ["គោកចំបក់", "ព្រៃគុយ"]


def test_one_chosen_village_is_filed_under_itself_and_one_commune_under_it(app: Flask) -> None:
    _two_villages(app)
    _send(app, _villages(KOUK_CHAMBAK), "form:one")
    _send(app, _villages(KOUK_CHAMBAK, THNAL_BAMBAEK), "form:commune")
    with app.extensions["janela"].db() as session:
        filed = session.execute(
            select(Area.code).join(Announcement, Announcement.area_id == Area.id).order_by(Announcement.id)
        ).all()
    assert [code for (code,) in filed] == [KOUK_CHAMBAK, "170101"]
    # The commune desk reads both: every chosen village is in its commune.
    seen = list_announcements(app.extensions["janela"].db, _actor(app, COMMUNE_DESK))
    assert len(seen) == 2


def test_a_village_outside_the_scope_refuses_the_whole_list_and_is_recorded(app: Flask) -> None:
    _two_villages(app)
    _households(app, OTHER_DISTRICT_VILLAGE, ["+85517700010"])
    draft = _villages(KOUK_CHAMBAK, OTHER_DISTRICT_VILLAGE)
    with pytest.raises(NotFound):
        _preview(app, draft)
    with pytest.raises(NotFound):
        _send(app, draft, "form:outside")
    # A commune desk may not reach a village of the next commune, though the district may.
    with pytest.raises(NotFound):
        _send(app, _villages(KOUK_CHAMBAK, PREY_KUY), "form:next-commune", COMMUNE_DESK)
    assert _count(app, Announcement) == _count(app, OutboxMessage) == _count(app, AnnouncementVillage) == 0
    assert _refused(app) == [f"village:{OTHER_DISTRICT_VILLAGE}"] * 2 + [f"village:{PREY_KUY}"]


def test_an_empty_list_or_a_code_that_is_no_village_is_refused_with_a_reason(app: Flask) -> None:
    cases = {
        (): "Choose at least one village.",
        (" ",): "Choose at least one village.",
        ("1701",): "1701 is not a village code.",
        ("99999999",): "No village has the code 99999999.",
    }
    for codes, reason in cases.items():
        with pytest.raises(InvalidData) as refused:
            _preview(app, _villages(*codes))
        assert refused.value.problems == [reason]
        with pytest.raises(InvalidData):
            _send(app, _villages(*codes), f"form:{codes}")
    both = Draft("1701", "households", {"km": KM}, village_codes=(KOUK_CHAMBAK,))
    with pytest.raises(InvalidData, match="not both"):
        _preview(app, both)
    with pytest.raises(InvalidData, match="Give an area code or at least one village"):
        _preview(app, Draft(" ", "households", {"km": KM}))
    assert _count(app, Announcement) == 0 and _refused(app) == []


def test_the_command_key_covers_the_set_of_villages(app: Flask) -> None:
    _two_villages(app)
    staff = _actor(app).id
    one = request_key_of(staff, _villages(KOUK_CHAMBAK, PREY_KUY))
    assert one == request_key_of(staff, _villages(PREY_KUY, KOUK_CHAMBAK, KOUK_CHAMBAK))
    assert one != request_key_of(staff, _villages(KOUK_CHAMBAK))
    assert one != request_key_of(staff, Draft("1701", "households", {"km": KM, "pt": PT}))
    first = _send(app, _villages(KOUK_CHAMBAK, PREY_KUY), one)
    again = _send(
        app, _villages(PREY_KUY, KOUK_CHAMBAK), request_key_of(staff, _villages(PREY_KUY, KOUK_CHAMBAK))
    )
    assert (first.created, again.created, again.announcement_id) == (True, False, first.announcement_id)
    assert _count(app, OutboxMessage) == first.recipients == 5


def test_the_same_send_at_the_same_moment_is_made_once(app: Flask) -> None:
    _two_villages(app)
    draft = _villages(KOUK_CHAMBAK, PREY_KUY)
    start = threading.Barrier(2)
    results: list[Any] = []

    def click() -> None:
        start.wait()
        results.append(_send(app, draft, "form:two-tabs"))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.announcement_id for r in results}) == 1 and sorted(r.created for r in results) == [
        False,
        True,
    ]
    assert _count(app, Announcement) == 1 and _count(app, OutboxMessage) == 5


def test_villages_of_two_provinces_are_read_by_national_staff_only(app: Flask) -> None:
    janela = app.extensions["janela"]
    with janela.db.begin() as session:
        parent = None
        for code, level in (
            ("18", "province"),
            ("1801", "district"),
            ("180101", "commune"),
            ("18010101", "village"),
        ):
            area = Area(code=code, parent_id=parent, level=level, name_km="ភូមិថ្មី", name_pt=code, name_en=code)
            session.add(area)
            session.flush()
            parent = area.id
    _households(app, "18010101", ["+85517800001"])
    _two_villages(app)
    add_staff(janela.db, "national_admin", None, NATIONAL, "National Admin")
    sent = _send(app, _villages("18010101", KOUK_CHAMBAK), "form:national", NATIONAL)
    assert sent.recipients == 4
    with janela.db() as session:
        assert session.scalar(select(Announcement.area_id)) is None
    assert [c.announcement_id for c in list_announcements(janela.db, _actor(app, NATIONAL))] == [
        sent.announcement_id
    ]
    assert list_announcements(janela.db, _actor(app, PROVINCE)) == []
    with pytest.raises(NotFound):
        announcement_counts(janela.db, _actor(app, PROVINCE), sent.announcement_id)


def test_the_villages_to_tick_come_by_commune_in_the_reader_s_language(app: Flask) -> None:
    janela = app.extensions["janela"]
    choice = villages_to_choose(janela.db, _actor(app), "km")
    assert choice.area is not None and choice.area.code == "1701"
    assert [g.commune.code for g in choice.groups][:2] == ["170101", "170102"]
    first = choice.groups[0]
    assert (first.commune.name, [v.code for v in first.villages]) == (
        "ចារឈូក",
        ["17010101", "17010102", "17010103"],
    )
    assert first.villages[0].name == "ត្រពាំងធំ"
    assert choice.total == sum(len(g.villages) for g in choice.groups)
    # A commune of the district, and too many to list: the count without the list.
    assert [g.commune.code for g in villages_to_choose(janela.db, _actor(app), "en", "170102").groups] == [
        "170102"
    ]
    crowded = villages_to_choose(janela.db, _actor(app), "en", limit=5)
    assert (crowded.total, crowded.groups) == (choice.total, [])
    with pytest.raises(NotFound):
        villages_to_choose(janela.db, _actor(app, COMMUNE_DESK), "km", "1701")
    assert _refused(app) == ["area:1701"]


def test_the_command_sends_to_villages_only_with_yes_and_once(app: Flask) -> None:
    _two_villages(app)
    runner = app.test_cli_runner()
    base = ["announce", "--to", "households", "--text-km", KM, "--by", DISTRICT]
    args = [*base, "--village", PREY_KUY, "--village", KOUK_CHAMBAK, "--village", PREY_KUY]
    shown = runner.invoke(args=args)
    assert shown.exit_code == 0, shown.output
    assert f"2 villages: {KOUK_CHAMBAK} គោកចំបក់, {PREY_KUY} ព្រៃគុយ" in shown.output
    assert "5 recipients (1 opted out, left out), 5 SMS segments" in shown.output
    assert _count(app, OutboxMessage) == 0
    sent = runner.invoke(args=[*args, "--yes"])
    assert "queued to 5 phones" in sent.output, sent.output
    # The same villages in another order, without the repeat: the same send.
    again = runner.invoke(args=[*base, "--village", KOUK_CHAMBAK, "--village", PREY_KUY, "--yes"])
    assert "sent already" in again.output, again.output
    assert _count(app, Announcement) == 1 and _count(app, OutboxMessage) == 5
    outside = runner.invoke(
        args=[*base, "--village", KOUK_CHAMBAK, "--village", OTHER_DISTRICT_VILLAGE, "--yes"]
    )
    assert (
        outside.exit_code != 0 and f"village {OTHER_DISTRICT_VILLAGE} is not in the area of" in outside.output
    )
    assert _refused(app) == [f"village:{OTHER_DISTRICT_VILLAGE}"]
    both = runner.invoke(args=[*base, "--area", "1701", "--village", KOUK_CHAMBAK])
    neither = runner.invoke(args=base)
    assert both.exit_code == neither.exit_code == 2 and "not both" in both.output
    not_a_village = runner.invoke(args=[*base, "--village", "1701"])
    assert not_a_village.exit_code != 0 and "1701 is not a village code." in not_a_village.output
    assert _count(app, Announcement) == 1


def test_the_chiefs_of_chosen_villages_get_it_and_no_other_chief(app: Flask) -> None:
    draft = Draft("", "chiefs", {"km": KM}, village_codes=("17010201", "17010101"))
    preview = _preview(app, draft)
    assert preview.recipients == 2
    _send(app, draft, "form:chiefs")
    with app.extensions["janela"].db() as session:
        reached = sorted(session.scalars(select(OutboxMessage.recipient)))
    assert reached == ["+85512600001", "+85512600002"]  # the chiefs of Trapeang Thom and Prey Kuy
