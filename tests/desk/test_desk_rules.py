"""The desk's rules through the test client: scoping, audit, pick-up, SMS, verification, decisions."""

from __future__ import annotations

import re
import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from conversations.i18n import Translator
from desk.texts import DeskTexts
from registry.models import AuditEntry, Case, Enrolment, EnrolmentRequest, Household, Person
from registry.references import is_valid
from registry.scoping import Actor
from registry.verification import register_household
from tests.desk.conftest import (
    CITIZEN,
    COMMUNE_DESK,
    DISTRICT,
    OTHER_DESK,
    OTHER_DISTRICT,
    OTHER_VILLAGE,
    PROVINCE,
    SECOND_DESK,
    complaint,
    db,
    preregistration,
    settings,
    signed_in,
    sms_to,
    staff_id,
)

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def post(client: FlaskClient, page: str, path: str, data: dict[str, str]) -> Any:
    """Post a form of page with its CSRF token, as a browser would."""
    found = _TOKEN.search(client.get(page).get_data(as_text=True))
    assert found
    return client.post(path, data={**data, "csrf_token": found.group(1)})


def audit(app: Flask, action: str) -> list[tuple[int | None, str | None]]:
    with db(app)() as session:
        rows = session.execute(
            select(AuditEntry.staff_id, AuditEntry.target).where(AuditEntry.action == action)
        ).all()
    return [(r[0], r[1]) for r in rows]


def the_case(app: Flask, reference: str) -> Case:
    with db(app)() as session:
        return session.scalars(select(Case).where(Case.reference == reference)).one()


def count(app: Flask, model: Any) -> int:
    with db(app)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_queue_shows_my_communes_cases_only(desk_app: Flask) -> None:
    mine = complaint(desk_app)
    theirs = complaint(desk_app, village=OTHER_VILLAGE)
    page = signed_in(desk_app, COMMUNE_DESK).get("/desk/").get_data(as_text=True)
    assert mine in page and theirs not in page
    district = signed_in(desk_app, DISTRICT).get("/desk/").get_data(as_text=True)
    assert mine in district and theirs not in district
    province = signed_in(desk_app, PROVINCE).get("/desk/").get_data(as_text=True)
    assert mine in province and theirs in province


def test_a_guessed_case_of_another_area_is_404_and_recorded(desk_app: Flask) -> None:
    theirs = complaint(desk_app, village=OTHER_VILLAGE)
    client = signed_in(desk_app, COMMUNE_DESK)
    assert client.get(f"/desk/cases/{theirs}").status_code == 404
    assert (staff_id(desk_app, COMMUNE_DESK), f"case:{theirs}") in audit(desk_app, "refused_read")
    assert audit(desk_app, "view_case") == []
    # The officer of that commune reads it, and that read is recorded.
    assert signed_in(desk_app, OTHER_DESK).get(f"/desk/cases/{theirs}").status_code == 200
    assert audit(desk_app, "view_case") == [(staff_id(desk_app, OTHER_DESK), f"case:{theirs}")]


def test_an_action_on_another_areas_case_is_404_and_changes_nothing(desk_app: Flask) -> None:
    theirs = complaint(desk_app, village=OTHER_VILLAGE)
    client = signed_in(desk_app, COMMUNE_DESK)
    response = post(client, "/desk/", f"/desk/cases/{theirs}/act", {"action": "pickup"})
    assert response.status_code == 404
    assert the_case(desk_app, theirs).picked_by_id is None


def test_a_household_of_another_area_is_404_and_recorded(desk_app: Flask) -> None:
    with db(desk_app)() as session:
        elsewhere = session.scalar(
            select(Household.id).where(Household.village_id != the_village_id(desk_app)).limit(1)
        )
    client = signed_in(desk_app, COMMUNE_DESK)
    assert client.get(f"/desk/households/{elsewhere}").status_code == 404
    assert client.get("/desk/households/999999").status_code == 404
    refused = [target for _, target in audit(desk_app, "refused_read")]
    assert f"household:{elsewhere}" in refused and "household:999999" in refused


def the_village_id(app: Flask) -> int:
    from registry.models import Area

    with db(app)() as session:
        return session.scalars(select(Area.id).where(Area.code == "17010101")).one()


def test_misconduct_is_the_districts_not_the_communes(desk_app: Flask) -> None:
    reference = complaint(desk_app, category="misconduct")
    assert signed_in(desk_app, COMMUNE_DESK).get(f"/desk/cases/{reference}").status_code == 404
    assert signed_in(desk_app, DISTRICT).get(f"/desk/cases/{reference}").status_code == 200


def test_one_owner_a_second_officer_sees_who_took_it(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    first, second = signed_in(desk_app, COMMUNE_DESK), signed_in(desk_app, SECOND_DESK)
    page = f"/desk/cases/{reference}"
    assert post(first, page, f"{page}/act", {"action": "pickup"}).status_code == 302
    taken = post(second, page, f"{page}/act", {"action": "pickup"})
    assert taken.status_code == 302
    shown = second.get(page).get_data(as_text=True)
    assert Translator("km")("Another officer took this case first.") in shown
    assert "Keo Sarun" in shown
    assert the_case(desk_app, reference).picked_by_id == staff_id(desk_app, COMMUNE_DESK)
    picked_sms = [b for b in sms_to(desk_app, CITIZEN) if reference in b]
    assert len(picked_sms) == 2  # received, picked up: once, not twice


def test_pick_ups_at_the_same_time_leave_one_owner(desk_app: Flask) -> None:
    from desk.actions import move_case

    reference = complaint(desk_app)
    officers = [
        Actor(staff_id(desk_app, phone), "commune_desk", "", phone, None)
        for phone in (COMMUNE_DESK, SECOND_DESK)
    ]
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def pick(actor: Actor) -> None:
        barrier.wait()
        results.append(move_case(db(desk_app), actor, reference, "pickup", "", settings(desk_app)).ok)

    threads = [threading.Thread(target=pick, args=(a,)) for a in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]


def test_resolve_from_the_desk_sends_the_citizen_the_outcome(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(client, page, f"{page}/act", {"action": "pickup"})
    post(client, page, f"{page}/act", {"action": "resolve", "note": "បានបើកប្រាក់ហើយ"})
    assert the_case(desk_app, reference).status == "resolved"
    assert any("បានបើកប្រាក់ហើយ" in body and reference in body for body in sms_to(desk_app, CITIZEN))
    # Resolving again changes nothing and sends nothing.
    before = len(sms_to(desk_app, CITIZEN))
    post(client, page, f"{page}/act", {"action": "resolve", "note": "again"})
    assert len(sms_to(desk_app, CITIZEN)) == before
    assert the_case(desk_app, reference).outcome == "បានបើកប្រាក់ហើយ"


def test_reject_and_escalate_send_their_sms(desk_app: Flask) -> None:
    rejected, escalated = complaint(desk_app), complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    post(client, "/desk/", f"/desk/cases/{rejected}/act", {"action": "reject", "note": "មិនមែនករណី"})
    post(client, "/desk/", f"/desk/cases/{escalated}/act", {"action": "escalate"})
    bodies = sms_to(desk_app, CITIZEN)
    assert any(rejected in b and "មិនមែនករណី" in b for b in bodies)
    assert the_case(desk_app, escalated).escalated_at is not None
    assert any(escalated in b for b in sms_to(desk_app, DISTRICT))
    # It left the commune's queue for the district's, where it waits to be picked up.
    assert escalated not in client.get("/desk/").get_data(as_text=True)
    assert escalated in signed_in(desk_app, DISTRICT).get("/desk/").get_data(as_text=True)


def test_an_action_that_needs_text_without_it_changes_nothing(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    post(client, "/desk/", f"/desk/cases/{reference}/act", {"action": "resolve", "note": "  "})
    assert the_case(desk_app, reference).status == "queued"


def test_verification_registers_a_household_with_ids_once(desk_app: Flask) -> None:
    reference = preregistration(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    form = {"how": "new", "member_name_0": "Sok Srey", "member_sex_0": "F", "member_year_0": "2010"}
    households, persons = count(desk_app, Household), count(desk_app, Person)
    first = post(client, page, f"{page}/verify", form)
    assert first.status_code == 302 and "/desk/households/" in first.headers["Location"]
    again = post(client, page, f"{page}/verify", form)
    assert "/desk/households/" not in again.headers["Location"]
    assert count(desk_app, Household) == households + 1
    assert count(desk_app, Person) == persons + 2
    with db(desk_app)() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        members = session.scalars(
            select(Person).where(Person.household_id == session.get_one(Person, case.person_id).household_id)
        ).all()
        requests = session.scalars(select(EnrolmentRequest).where(EnrolmentRequest.case_id == case.id)).all()
    assert case.status == "resolved"
    ids = [m.sp_id for m in members]
    assert all(sp_id and is_valid(sp_id) and sp_id.startswith("1701") for sp_id in ids)
    assert len(set(ids)) == 2
    messages = [b for b in sms_to(desk_app, CITIZEN) if all(sp_id in b for sp_id in ids)]  # type: ignore[operator]
    assert len(messages) == 1
    assert [r.status for r in requests] == ["requested"]


def test_concurrent_verifications_create_one_household(desk_app: Flask) -> None:
    references = [preregistration(desk_app, name=f"Person {n}") for n in ("A", "B")]
    actor = Actor(staff_id(desk_app, COMMUNE_DESK), "commune_desk", "", COMMUNE_DESK, None)
    with db(desk_app)() as session:
        from registry.models import Staff

        actor = Actor(actor.id, "commune_desk", "", COMMUNE_DESK, session.get_one(Staff, actor.id).area_id)
    households = count(desk_app, Household)
    outcomes: list[bool] = []
    barrier = threading.Barrier(4)

    def verify(reference: str) -> None:
        barrier.wait()
        outcomes.append(
            register_household(db(desk_app), actor, reference, [], DeskTexts("KH"), settings(desk_app)).ok
        )

    # Each case twice at once, and two cases of one district drawing their IDs at once.
    threads = [threading.Thread(target=verify, args=(r,)) for r in references for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, False, True, True]
    assert count(desk_app, Household) == households + 2
    with db(desk_app)() as session:
        new_ids = session.scalars(
            select(Person.sp_id).where(Person.full_name.in_(["Person A", "Person B"]))
        ).all()
    assert len(new_ids) == 2 and len(set(new_ids)) == 2


def test_decline_a_preregistration_sends_the_reason(desk_app: Flask) -> None:
    reference = preregistration(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(client, page, f"{page}/verify", {"how": "decline", "reason": "មិនរស់នៅក្នុងភូមិ"})
    assert the_case(desk_app, reference).status == "rejected"
    assert any("មិនរស់នៅក្នុងភូមិ" in b for b in sms_to(desk_app, CITIZEN))


def test_attach_to_an_existing_household(desk_app: Flask) -> None:
    reference = preregistration(desk_app, name="Sok Srey Pov")  # a demo household's member
    with db(desk_app)() as session:
        household = session.scalars(select(Person.household_id).where(Person.sp_id == "1701000010")).one()
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    response = post(client, page, f"{page}/verify", {"how": "attach", "household": str(household)})
    assert response.headers["Location"].endswith(f"/desk/households/{household}")
    with db(desk_app)() as session:
        added = session.scalars(
            select(Person).where(Person.household_id == household, Person.phone == CITIZEN)
        ).one()
    assert added.sp_id and is_valid(added.sp_id)


def test_the_district_decides_enrolments_with_sms(desk_app: Flask) -> None:
    reference = preregistration(desk_app, programmes=("idpoor", "scholarship"))
    post(
        signed_in(desk_app, COMMUNE_DESK),
        f"/desk/cases/{reference}",
        f"/desk/cases/{reference}/verify",
        {"how": "new"},
    )
    with db(desk_app)() as session:
        approve, decline = session.scalars(select(EnrolmentRequest.id).order_by(EnrolmentRequest.id)).all()
    commune = signed_in(desk_app, COMMUNE_DESK)
    assert (
        post(commune, "/desk/enrolments", f"/desk/enrolments/{approve}", {"decision": "approve"}).status_code
        == 404
    )
    assert (
        post(
            signed_in(desk_app, OTHER_DISTRICT),
            "/desk/",
            f"/desk/enrolments/{approve}",
            {"decision": "approve"},
        ).status_code
        == 404
    )
    district = signed_in(desk_app, DISTRICT)
    post(district, "/desk/enrolments", f"/desk/enrolments/{approve}", {"decision": "approve"})
    post(district, "/desk/enrolments", f"/desk/enrolments/{approve}", {"decision": "approve"})
    post(
        district,
        "/desk/enrolments",
        f"/desk/enrolments/{decline}",
        {"decision": "decline", "reason": "អាយុលើស"},
    )
    with db(desk_app)() as session:
        statuses = session.scalars(select(EnrolmentRequest.status).order_by(EnrolmentRequest.id)).all()
        enrolments = session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.started_on.is_not(None))
        )
    assert statuses == ["approved", "declined"]
    assert enrolments == 1
    bodies = sms_to(desk_app, CITIZEN)
    assert sum("Sok Dara" in b and "អាយុលើស" not in b for b in bodies[-2:]) == 1
    assert "អាយុលើស" in bodies[-1]


def test_search_finds_by_id_phone_and_folded_name_in_my_area_and_is_audited(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    assert "Sok Srey Pov" in client.get("/desk/search?q=1701000010").get_data(as_text=True)
    assert "Sok Srey Pov" in client.get("/desk/search?q=sok  SREY pov").get_data(as_text=True)
    assert "Sok Srey Pov" in client.get("/desk/search?q=012345601").get_data(as_text=True)
    # Keo Sreymom lives in another district: not found from this desk.
    assert "<td>Keo Sreymom</td>" not in client.get("/desk/search?q=Keo Sreymom").get_data(as_text=True)
    assert "<td>Keo Sreymom</td>" in signed_in(desk_app, PROVINCE).get("/desk/search?q=keo sreymom").get_data(
        as_text=True
    )
    assert len(audit(desk_app, "search")) == 5


def test_a_walk_in_files_a_preregistration_once(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get("/desk/walk-in").get_data(as_text=True)
    csrf = _TOKEN.search(page)
    form_token = re.search(r'name="token" value="([^"]+)"', page)
    assert csrf and form_token
    data = {
        "csrf_token": csrf.group(1),
        "token": form_token.group(1),
        "full_name": "Chea Sokha",
        "sex": "F",
        "birth_year": "1975",
        "village": "17010101",
        "household_size": "3",
        "phone": "012 555 777",
        "programmes": "idpoor",
        "consent": "yes",
    }
    first = client.post("/desk/walk-in", data=data)
    second = client.post("/desk/walk-in", data=data)
    assert first.status_code == 302 and first.headers["Location"] == second.headers["Location"]
    with db(desk_app)() as session:
        cases = session.scalars(select(Case).where(Case.citizen_phone == "+85512555777")).all()
    assert len(cases) == 1 and cases[0].kind == "preregistration"
    assert len(sms_to(desk_app, "+85512555777")) == 1


def test_the_audit_log_is_for_province_and_national_staff(desk_app: Flask) -> None:
    signed_in(desk_app, COMMUNE_DESK).get(f"/desk/cases/{complaint(desk_app)}")
    assert signed_in(desk_app, COMMUNE_DESK).get("/desk/audit").status_code == 404
    assert signed_in(desk_app, DISTRICT).get("/desk/audit").status_code == 404
    page = signed_in(desk_app, PROVINCE).get("/desk/audit").get_data(as_text=True)
    # Actions are named in the reader's language, not as stored.
    assert Translator("km")("Viewed a case") in page and "Keo Sarun" in page
    assert "<td>view_case</td>" not in page
    assert signed_in(desk_app, "+85512999999").get("/desk/audit").status_code == 200


def test_queue_counts_and_filters(desk_app: Flask) -> None:
    complaint(desk_app)
    reference = preregistration(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    counts = client.get("/desk/counts").get_json()
    assert counts["open"] == 2 and counts["preregistration"] == 1 and counts["complaint"] == 1
    page = client.get("/desk/?kind=preregistration").get_data(as_text=True)
    assert reference in page
    assert page.count('href="/desk/cases/') == 1
    assert len(client.get("/desk/").get_data(as_text=True).encode()) < 100_000


def test_the_same_form_sent_twice_is_one_move(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get(f"/desk/cases/{reference}").get_data(as_text=True)
    csrf = _TOKEN.search(page)
    tokens = re.findall(r'name="form_token" value="([^"]+)"', page)
    note_token = next(token for token in tokens if ":" not in token)
    assert csrf
    form = {"csrf_token": csrf.group(1), "form_token": note_token, "action": "note", "note": "ទូរស័ព្ទរួច"}
    client.post(f"/desk/cases/{reference}/act", data=form)
    client.post(f"/desk/cases/{reference}/act", data=form)  # a double click, a resent POST
    with db(desk_app)() as session:
        from registry.models import CaseEvent

        notes = session.scalars(
            select(CaseEvent.note)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.reference == reference, CaseEvent.action == "note")
        ).all()
    assert notes == ["ទូរស័ព្ទរួច"]


def test_the_services_own_timeline_notes_read_in_the_officers_language(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(client, page, f"{page}/act", {"action": "note", "note": "called the agent"})
    html = client.get(page).get_data(as_text=True)
    assert 'lang="km"' in html
    assert "បណ្តឹងតាម USSD" in html and "complaint by USSD" not in html
    assert "called the agent" in html  # a person's note stays as written
