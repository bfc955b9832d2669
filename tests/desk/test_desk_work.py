"""The desk's work beyond the basics: asking the citizen, one owner, deadlines, filters, audit, words."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from conversations.case_texts import CaseTexts
from conversations.i18n import Translator
from registry.db import utcnow
from registry.escalation import escalate_overdue
from registry.models import AuditEntry, Case, CaseEvent, EnrolmentRequest, Person, PreRegistration
from registry.services import set_language
from tests.desk.conftest import (
    CITIZEN,
    COMMUNE_DESK,
    DISTRICT,
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
from tests.desk.test_desk_rules import post, the_case
from tests.jobs import run_jobs

KM = Translator("km")
HELD = "{name} holds this case: only they can act on it, or an officer of a level above who takes it over."
OTHER_VILLAGE_OF_THE_COMMUNE = "17010102"


def act(client: FlaskClient, reference: str, action: str, **fields: str) -> Any:
    """Post one case action with the page's CSRF token."""
    page = f"/desk/cases/{reference}"
    return post(client, page, f"{page}/act", {"action": action, **fields})


def events(app: Flask, reference: str) -> list[tuple[str, str | None]]:
    with db(app)() as session:
        rows = session.execute(
            select(CaseEvent.action, CaseEvent.note)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.reference == reference)
            .order_by(CaseEvent.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def audit_details(app: Flask, action: str) -> list[tuple[str | None, str | None]]:
    with db(app)() as session:
        rows = session.execute(
            select(AuditEntry.target, AuditEntry.detail).where(AuditEntry.action == action)
        ).all()
    return [(r[0], r[1]) for r in rows]


def flashed(client: FlaskClient, path: str) -> str:
    return " ".join(
        re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', client.get(path).get_data(as_text=True))
    )


# 1. Ask the citizen for information


def test_ask_the_citizen_sends_the_question_and_the_answer_joins_the_case(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get(f"/desk/cases/{reference}").get_data(as_text=True)
    assert 'name="question"' in page and 'value="ask"' in page
    act(client, reference, "ask", question="តើអ្នករស់នៅភូមិណា?")
    asked = [b for b in sms_to(desk_app, CITIZEN) if "តើអ្នករស់នៅភូមិណា?" in b]
    assert len(asked) == 1 and reference in asked[0]
    assert asked[0] == CaseTexts("KH").asked_for_information("km", reference, "តើអ្នករស់នៅភូមិណា?")
    assert ("asked_citizen", "តើអ្នករស់នៅភូមិណា?") in events(desk_app, reference)
    assert the_case(desk_app, reference).status == "queued"  # asking changes no state
    # The citizen answers with the reference first: the answer lands on the case's timeline.
    desk_app.test_client().post(
        "/sms/inbound",
        data={"from": CITIZEN, "to": "1234", "text": f"{reference} ភូមិត្រពាំងធំ", "id": "in-ask-1"},
    )
    run_jobs(desk_app)
    assert ("citizen_details", "ភូមិត្រពាំងធំ") in events(desk_app, reference)
    assert "ភូមិត្រពាំងធំ" in client.get(f"/desk/cases/{reference}").get_data(as_text=True)


def test_ask_needs_a_question_and_goes_out_in_the_citizens_language(desk_app: Flask) -> None:
    set_language(db(desk_app), CITIZEN, "pt")
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    before = len(sms_to(desk_app, CITIZEN))
    act(client, reference, "ask", question="  ", note="not the question")
    assert len(sms_to(desk_app, CITIZEN)) == before
    act(client, reference, "ask", question="Qual é a sua aldeia?")
    assert sms_to(desk_app, CITIZEN)[-1].startswith(f"janela: sobre o seu pedido {reference}")


# 2. One owner after pick-up


def test_only_the_holder_acts_and_a_colleague_is_told_who_holds_it(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    holder, colleague = signed_in(desk_app, COMMUNE_DESK), signed_in(desk_app, SECOND_DESK)
    act(holder, reference, "pickup")
    sent = len(sms_to(desk_app, CITIZEN))
    for action, fields in (
        ("resolve", {"note": "paid"}),
        ("reject", {"note": "no"}),
        ("escalate", {}),
        ("ask", {"question": "?"}),
    ):
        act(colleague, reference, action, **fields)
        assert the_case(desk_app, reference).status == "picked_up", action
    assert len(sms_to(desk_app, CITIZEN)) == sent
    page = colleague.get(f"/desk/cases/{reference}").get_data(as_text=True)
    assert 'value="resolve"' not in page  # the page offers the colleague a note only
    act(colleague, reference, "resolve", note="paid")
    told = flashed(colleague, f"/desk/cases/{reference}")
    assert KM(HELD, name="Keo Sarun") in told
    # A colleague's note is still welcome: it changes nothing.
    act(colleague, reference, "note", note="ទូរស័ព្ទទៅហើយ")
    assert ("note", "ទូរស័ព្ទទៅហើយ") in events(desk_app, reference)
    act(holder, reference, "resolve", note="paid")
    assert the_case(desk_app, reference).status == "resolved"


def test_a_level_above_takes_over_explicitly_before_acting(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    holder, district = signed_in(desk_app, COMMUNE_DESK), signed_in(desk_app, DISTRICT)
    act(holder, reference, "pickup")
    act(district, reference, "resolve", note="paid")
    assert the_case(desk_app, reference).status == "picked_up"
    assert 'value="take_over"' in district.get(f"/desk/cases/{reference}").get_data(as_text=True)
    # A colleague of the same desk cannot take it over.
    act(signed_in(desk_app, SECOND_DESK), reference, "take_over")
    assert the_case(desk_app, reference).picked_by_id == staff_id(desk_app, COMMUNE_DESK)
    act(district, reference, "take_over")
    assert the_case(desk_app, reference).picked_by_id == staff_id(desk_app, DISTRICT)
    assert ("taken_over", "from Keo Sarun") in events(desk_app, reference)
    act(holder, reference, "resolve", note="mine")  # the former holder is now refused
    assert the_case(desk_app, reference).status == "picked_up"
    act(district, reference, "resolve", note="paid by the district")
    assert the_case(desk_app, reference).outcome == "paid by the district"


def test_verification_is_the_holders_too(desk_app: Flask) -> None:
    reference = preregistration(desk_app)
    holder, colleague = signed_in(desk_app, COMMUNE_DESK), signed_in(desk_app, SECOND_DESK)
    act(holder, reference, "pickup")
    page = f"/desk/cases/{reference}"
    for how in ({"how": "new"}, {"how": "decline", "reason": "no"}):
        response = post(colleague, page, f"{page}/verify", how)
        assert "/desk/households/" not in response.headers["Location"]
    assert the_case(desk_app, reference).status == "picked_up"
    post(colleague, page, f"{page}/verify", {"how": "new"})
    assert KM(HELD, name="Keo Sarun") in flashed(colleague, page)
    assert (
        post(holder, page, f"{page}/verify", {"how": "new"})
        .headers["Location"]
        .startswith("/desk/households/")
    )


# 3. Pre-registrations have deadlines


def test_preregistrations_have_deadlines_sort_by_them_and_can_be_overdue(desk_app: Flask) -> None:
    later_complaint = complaint(desk_app, category="other")
    reference = preregistration(desk_app)
    case = the_case(desk_app, reference)
    assert case.ack_due_at is not None and case.resolve_due_at is not None
    assert case.resolve_due_at - case.ack_due_at == timedelta(days=17)  # preregistration=3/20
    with db(desk_app).begin() as session:
        session.execute(
            update(Case)
            .where(Case.reference == later_complaint)
            .values(ack_due_at=utcnow() + timedelta(days=9))
        )
    client = signed_in(desk_app, COMMUNE_DESK)
    queue = client.get("/desk/").get_data(as_text=True)
    assert queue.index(reference) < queue.index(later_complaint)  # not last for want of a date
    assert reference not in client.get("/desk/?overdue=1").get_data(as_text=True)
    with db(desk_app).begin() as session:
        session.execute(
            update(Case)
            .where(Case.reference == reference)
            .values(ack_due_at=utcnow() - timedelta(days=2, hours=-1))
        )
    overdue = client.get("/desk/?overdue=1").get_data(as_text=True)
    assert reference in overdue and later_complaint not in overdue
    assert client.get("/desk/counts").get_json()["overdue"] == 1
    case_page = client.get(f"/desk/cases/{reference}").get_data(as_text=True)
    assert KM("{days} days late", days=2) in case_page


def test_an_overdue_preregistration_escalates_to_the_district_which_verifies_it(desk_app: Flask) -> None:
    reference = preregistration(desk_app)
    escalated = escalate_overdue(
        db(desk_app), settings(desk_app), CaseTexts("KH"), now=utcnow() + timedelta(days=4)
    )
    assert escalated == [reference]
    case = the_case(desk_app, reference)
    assert case.status == "escalated" and case.ack_due_at is not None
    assert case.resolve_due_at is not None and case.resolve_due_at > utcnow() + timedelta(days=19)
    district = signed_in(desk_app, DISTRICT)
    assert reference in district.get("/desk/").get_data(as_text=True)
    # The commune may no longer verify it, and is told the real reason (not "closed").
    commune = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(commune, page, f"{page}/verify", {"how": "new"})
    said = flashed(commune, page)
    assert KM("This case is not at your desk now, so you cannot act on it.") in said
    assert KM("This case is closed already.") not in said
    assert (
        post(district, page, f"{page}/verify", {"how": "new"})
        .headers["Location"]
        .startswith("/desk/households/")
    )


# 4. Audit


def test_enrolment_requests_household_views_and_search_results_are_audited(desk_app: Flask) -> None:
    reference = preregistration(desk_app, programmes=("idpoor",))
    commune = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    household = post(commune, page, f"{page}/verify", {"how": "new"}).headers["Location"].rsplit("/", 1)[1]
    assert commune.get(f"/desk/households/{household}").status_code == 200
    assert (f"household:{household}", None) in audit_details(desk_app, "view_household")
    signed_in(desk_app, DISTRICT).get("/desk/enrolments")
    with db(desk_app)() as session:
        request_id = session.scalars(select(EnrolmentRequest.id)).one()
        person = session.scalars(select(Person).where(Person.sp_id == "1701000010")).one()
    assert audit_details(desk_app, "view_enrolment_requests") == [
        ("status:requested", f"1 shown: requests {request_id}")
    ]
    commune.get("/desk/search?q=1701000010")
    (target, detail), *_ = audit_details(desk_app, "search")
    assert target == "1701000010"
    assert detail == f"1 found; persons {person.id}; households {person.household_id}"


# 5. Acknowledge without taking the case


def test_the_desk_acknowledges_without_taking_the_case(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    act(client, reference, "desk_ack")
    case = the_case(desk_app, reference)
    assert case.acknowledged_at is not None and case.picked_by_id is None and case.status == "queued"
    assert sms_to(desk_app, CITIZEN)[-1] == CaseTexts("KH").desk_acknowledged("km", reference)
    sent = len(sms_to(desk_app, CITIZEN))
    act(client, reference, "desk_ack")  # twice is once
    assert len(sms_to(desk_app, CITIZEN)) == sent
    page = client.get(f"/desk/cases/{reference}").get_data(as_text=True)
    assert 'value="desk_ack"' not in page and 'value="pickup"' in page
    # Anyone of the desk may still pick it up; the acknowledgement deadline no longer counts.
    act(signed_in(desk_app, SECOND_DESK), reference, "pickup")
    assert the_case(desk_app, reference).picked_by_id == staff_id(desk_app, SECOND_DESK)
    assert ("acknowledged_by_desk", None) in events(desk_app, reference)


# 7. Filters, CSRF, attach, enrolment SMS, search by village


def test_every_queue_filter(desk_app: Flask) -> None:
    paid = complaint(desk_app, category="payment_missing")
    wrong = complaint(desk_app, category="wrong_amount", village=OTHER_VILLAGE_OF_THE_COMMUNE)
    duplicate = preregistration(desk_app, name="Sok Srey Pov", phone="+85512345601")
    client = signed_in(desk_app, COMMUNE_DESK)
    act(client, wrong, "pickup")

    def shown(query: str) -> set[str]:
        page = client.get(f"/desk/?{query}").get_data(as_text=True)
        return set(re.findall(r'href="/desk/cases/(\d+)"', page))

    assert shown("") == {paid, wrong, duplicate}
    assert shown("category=wrong_amount") == {wrong}
    assert shown(f"village={OTHER_VILLAGE_OF_THE_COMMUNE}") == {wrong}
    assert shown("status=picked_up") == {wrong}
    assert shown("status=queued") == {paid, duplicate}
    assert shown("duplicate=1") == {duplicate}
    assert shown("mine=1") == {wrong}
    assert (
        signed_in(desk_app, SECOND_DESK)
        .get("/desk/?mine=1")
        .get_data(as_text=True)
        .count('href="/desk/cases/')
        == 0
    )
    with db(desk_app).begin() as session:
        session.execute(
            update(Case).where(Case.reference == paid).values(ack_due_at=utcnow() - timedelta(hours=1))
        )
    assert shown("overdue=1") == {paid}
    assert shown("overdue=1&category=wrong_amount") == set()
    assert shown("category=bogus") == {paid, wrong, duplicate}  # an unknown value does not filter


def test_a_case_action_without_its_csrf_token_is_refused(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    response = client.post(f"/desk/cases/{reference}/act", data={"action": "pickup"})
    assert response.status_code == 400
    forged = client.post(f"/desk/cases/{reference}/act", data={"action": "pickup", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert the_case(desk_app, reference).picked_by_id is None


def test_attach_sends_the_id_and_requests_the_programmes(desk_app: Flask) -> None:
    reference = preregistration(desk_app, name="Sok Srey Pov", programmes=("idpoor", "scholarship"))
    with db(desk_app)() as session:
        household = session.scalars(select(Person.household_id).where(Person.sp_id == "1701000010")).one()
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(client, page, f"{page}/verify", {"how": "attach", "household": str(household)})
    with db(desk_app)() as session:
        added = session.scalars(
            select(Person).where(Person.household_id == household, Person.phone == CITIZEN)
        ).one()
        requests = session.scalars(
            select(EnrolmentRequest).where(EnrolmentRequest.person_id == added.id)
        ).all()
    assert added.sp_id
    registered = [b for b in sms_to(desk_app, CITIZEN) if added.sp_id in b]
    assert len(registered) == 1 and reference in registered[0]
    assert sorted(r.status for r in requests) == ["requested", "requested"]
    assert {r.household_id for r in requests} == {household}


def test_a_declined_enrolment_says_how_to_appeal(desk_app: Flask) -> None:
    reference = preregistration(desk_app, programmes=("idpoor",))
    commune = signed_in(desk_app, COMMUNE_DESK)
    post(commune, f"/desk/cases/{reference}", f"/desk/cases/{reference}/verify", {"how": "new"})
    with db(desk_app)() as session:
        request_id = session.scalars(select(EnrolmentRequest.id)).one()
    district = signed_in(desk_app, DISTRICT)
    post(
        district,
        "/desk/enrolments",
        f"/desk/enrolments/{request_id}",
        {"decision": "decline", "reason": "អាយុលើស"},
    )
    appeal = KM(
        "janela: the request of {name} for {programme} was declined: {reason}. "
        "To appeal, dial the service and choose Complaint, then Appeal a decision.",
        name="Sok Dara",
        programme="-",
        reason="អាយុលើស",
    )
    last = sms_to(desk_app, CITIZEN)[-1]
    assert "អាយុលើស" in last and "ប្តឹងតវ៉ា" in last
    assert last.split("អាយុលើស")[1] == appeal.split("អាយុលើស")[1]  # the appeal instructions, whole


def test_search_by_village_name_and_code(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    by_code = client.get("/desk/search?q=17010101").get_data(as_text=True)
    by_name = client.get("/desk/search?q=Trapeang Thom").get_data(as_text=True)
    assert "Sok Srey Pov" in by_code and "Sok Srey Pov" in by_name
    # A village of another district is out of this desk's reach by name too.
    assert "Keo Sreymom" not in client.get("/desk/search?q=17120101").get_data(as_text=True)


# 8. Words


def test_registry_problems_are_flashed_in_the_officers_language(desk_app: Flask) -> None:
    reference = preregistration(desk_app)
    client = signed_in(desk_app, COMMUNE_DESK)
    page = f"/desk/cases/{reference}"
    post(
        client,
        page,
        f"{page}/verify",
        {"how": "new", "member_name_0": "Sok Srey", "member_sex_0": "F", "member_year_0": "1700"},
    )
    said = flashed(client, page)
    assert KM("Member {number}: the year of birth is not possible.", number=1) in said
    assert "not possible" not in said
    post(client, page, f"{page}/verify", {"how": "attach", "household": "999999"})
    assert KM("There is no household {number} in your area.", number=999999) in flashed(client, page)


# 9. Small fixes


def test_a_walk_in_is_recorded_as_taken_at_the_desk(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    page = client.get("/desk/walk-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
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
        "consent": "yes",
    }
    reference = client.post("/desk/walk-in", data=data).headers["Location"].rsplit("/", 1)[1]
    with db(desk_app)() as session:
        channel = session.scalars(
            select(PreRegistration.channel)
            .join(Case, Case.preregistration_id == PreRegistration.id)
            .where(Case.reference == reference)
        ).one()
    assert channel == "desk"
    assert events(desk_app, reference)[0] == ("submitted", "pre-registration at the desk (walk-in)")
    assert KM("At the desk (walk-in)") in client.get(f"/desk/cases/{reference}").get_data(as_text=True)
    # A USSD pre-registration stays "ussd".
    other = preregistration(desk_app, name="Sok Dara")
    assert events(desk_app, other)[0] == ("submitted", "pre-registration by USSD")


def test_pick_up_from_the_queue_row_in_one_click(desk_app: Flask) -> None:
    reference = complaint(desk_app)
    first, second = signed_in(desk_app, COMMUNE_DESK), signed_in(desk_app, SECOND_DESK)
    queue_page = second.get("/desk/?kind=complaint").get_data(as_text=True)  # seen before the first acts
    row_form = re.search(rf'action="/desk/cases/{reference}/act".*?</form>', queue_page, re.S)
    assert row_form and 'value="pickup"' in row_form.group(0)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', row_form.group(0))
    form_token = re.search(r'name="form_token" value="([^"]+)"', row_form.group(0))
    assert csrf and form_token
    taken = post(
        first, "/desk/", f"/desk/cases/{reference}/act", {"action": "pickup", "next": "/desk/?kind=complaint"}
    )
    assert taken.headers["Location"] == "/desk/?kind=complaint"
    late = second.post(
        f"/desk/cases/{reference}/act",
        data={
            "action": "pickup",
            "csrf_token": csrf.group(1),
            "form_token": form_token.group(1),
            "next": "/desk/",
        },
    )
    assert late.headers["Location"] == "/desk/"
    assert KM("Another officer took this case first.") in flashed(second, "/desk/")
    assert the_case(desk_app, reference).picked_by_id == staff_id(desk_app, COMMUNE_DESK)
    # The row now names who took it, with no button; an outside address is never followed.
    assert f'action="/desk/cases/{reference}/act"' not in second.get("/desk/").get_data(as_text=True)
    outside = post(
        first,
        "/desk/",
        f"/desk/cases/{reference}/act",
        {"action": "note", "note": "x", "next": "https://evil.example/"},
    )
    assert outside.headers["Location"] == f"/desk/cases/{reference}"


def test_the_audit_log_names_actions_in_portuguese(desk_app: Flask) -> None:
    set_language(db(desk_app), PROVINCE, "pt")
    signed_in(desk_app, COMMUNE_DESK).get(f"/desk/cases/{complaint(desk_app)}")
    page = signed_in(desk_app, PROVINCE).get("/desk/audit").get_data(as_text=True)
    assert "Viu um caso" in page and "Entrou" in page


def test_preregistrations_filed_without_deadlines_get_them_from_now(desk_app: Flask) -> None:
    from registry.escalation import set_missing_deadlines

    reference = preregistration(desk_app)
    with db(desk_app).begin() as session:
        session.execute(
            update(Case).where(Case.reference == reference).values(ack_due_at=None, resolve_due_at=None)
        )
    later = utcnow() + timedelta(days=40)
    assert set_missing_deadlines(db(desk_app), settings(desk_app), now=later) == 1
    assert set_missing_deadlines(db(desk_app), settings(desk_app), now=later) == 0
    case = the_case(desk_app, reference)
    assert case.ack_due_at is not None and case.ack_due_at > later
    result = desk_app.test_cli_runner().invoke(args=["cases", "set-deadlines"])
    assert "0 case(s)" in result.output
