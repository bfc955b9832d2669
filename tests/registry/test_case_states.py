"""The case state machine: repeated, late and racing moves, escalation by level, languages."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from conversations.case_texts import CaseTexts
from registry.case_filing import file_complaint
from registry.case_states import ACTOR_MOVES, apply_move, apply_move_in, available_moves
from registry.case_types import SWEEP, CaseStatus, ChiefPhone, Complaint, Move, Refusal, find_case
from registry.cases import staff_by_phone
from registry.db import utcnow
from registry.escalation import escalate_overdue, overdue_references
from registry.idempotency import request_key
from registry.models import Case, CaseEvent, OutboxMessage, Staff
from registry.services import set_language
from tests.phones import Phone

CITIZEN = "+85512345999"
CHIEF = "+85512600001"  # chief of Trapeang Thom (17010101), Char Chhuk commune (170101)
DESK = "+85512700001"  # Char Chhuk commune desk
DISTRICT = "+85512800001"  # Angkor Chum district (1701)
PROVINCE = "+85512900001"  # Siem Reap province (17)


def file(
    app: Flask, category: str = "payment_missing", village: str = "17010101", phone: str = CITIZEN
) -> str:
    janela = app.extensions["janela"]
    return file_complaint(
        janela.db,
        Complaint(category, village, "ខ្ញុំមិនទាន់ទទួលប្រាក់"),
        phone,
        "en",
        request_key("complaint", phone, f"s-{utcnow().timestamp()}"),
        CaseTexts("KH"),
        janela.settings.services,
    )


def move(app: Flask, reference: str, actor: Any, what: Move | str, note: str | None = None, **kw: Any) -> Any:
    janela = app.extensions["janela"]
    return apply_move(
        janela.db, reference, actor, what, janela.settings.services, CaseTexts("KH"), note=note, **kw
    )


def staff(app: Flask, phone: str) -> Staff:
    found = staff_by_phone(app.extensions["janela"].db, phone)
    assert found is not None
    return found


def the_case(app: Flask, reference: str) -> Case:
    with app.extensions["janela"].db() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        case.desk.code  # noqa: B018 - load it while the session is open
        return case


def timeline(app: Flask, reference: str) -> list[str]:
    with app.extensions["janela"].db() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        return list(
            session.scalars(
                select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        )


def sms_to(app: Flask, phone: str, purpose: str | None = None) -> list[OutboxMessage]:
    with app.extensions["janela"].db() as session:
        query = select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)
        if purpose:
            query = query.where(OutboxMessage.purpose == purpose)
        return list(session.scalars(query))


def test_done_twice_is_answered_and_changes_nothing(app: Flask) -> None:
    reference = file(app)
    first = move(app, reference, ChiefPhone(CHIEF), Move.RESOLVE_IN_VILLAGE, "paid by the agent")
    second = move(app, reference, ChiefPhone(CHIEF), Move.RESOLVE_IN_VILLAGE, "paid again?")
    assert first.applied and not second.applied and second.refusal is Refusal.ALREADY_DONE
    assert the_case(app, reference).outcome == "paid by the agent"
    assert timeline(app, reference) == ["filed", "resolved_at_village"]
    updates = [m.body for m in sms_to(app, CITIZEN, "case_update")]
    assert len(updates) == 2  # received, resolved: the second DONE wrote nothing
    assert updates[1] == f"janela: your request {reference} was resolved: paid by the agent"


def test_ok_after_done_and_resolve_after_reject_change_nothing(app: Flask) -> None:
    reference = file(app)
    assert move(app, reference, ChiefPhone(CHIEF), Move.RESOLVE_IN_VILLAGE, "done").applied
    late_ok = move(app, reference, ChiefPhone(CHIEF), Move.ACKNOWLEDGE)
    assert late_ok.refusal is Refusal.ALREADY_DONE  # DONE acknowledged it too
    desk = staff(app, DESK)
    assert move(app, reference, desk, Move.REJECT, "already paid in October").applied
    late_resolve = move(app, reference, desk, Move.RESOLVE, "paid")
    assert late_resolve.refusal is Refusal.CLOSED
    assert move(app, reference, desk, Move.REJECT, "again").refusal is Refusal.ALREADY_DONE
    case = the_case(app, reference)
    assert (case.status, case.outcome) == ("rejected", "already paid in October")
    assert timeline(app, reference) == ["filed", "resolved_at_village", "rejected"]


def test_the_same_request_twice_is_one_move(app: Flask) -> None:
    reference = file(app)
    desk = staff(app, DESK)
    key = f"desk-form:{desk.id}:abc"
    assert move(app, reference, desk, Move.NOTE, "called the agent", request_key=key).applied
    again = move(app, reference, desk, Move.NOTE, "called the agent", request_key=key)
    assert again.refusal is Refusal.ALREADY_DONE
    assert timeline(app, reference).count("note") == 1


@pytest.mark.parametrize("attempt", range(3))
def test_chief_ok_and_done_racing_a_desk_resolve_end_consistent(app: Flask, attempt: int) -> None:
    reference = file(app)
    desk = staff(app, DESK)
    barrier = threading.Barrier(3)
    results: dict[str, Any] = {}

    def act(name: str, actor: Any, what: Move, note: str | None) -> None:
        barrier.wait()
        results[name] = move(app, reference, actor, what, note)

    threads = [
        threading.Thread(target=act, args=("ok", ChiefPhone(CHIEF), Move.ACKNOWLEDGE, None)),
        threading.Thread(target=act, args=("done", ChiefPhone(CHIEF), Move.RESOLVE_IN_VILLAGE, "paid")),
        threading.Thread(target=act, args=("resolve", desk, Move.RESOLVE, "paid on 21 Nov")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The desk's resolve starts from every open state, so it always lands, and closes the case for good.
    assert results["resolve"].applied
    case = the_case(app, reference)
    assert (case.status, case.outcome) == ("resolved", "paid on 21 Nov") and case.closed_at is not None
    applied = [name for name, result in results.items() if result.applied]
    events = timeline(app, reference)
    expected = {"ok": "acknowledged", "done": "resolved_at_village", "resolve": "resolved"}
    assert sorted(events[1:]) == sorted(expected[name] for name in applied)
    assert events[-1] == "resolved"  # nothing after the close
    # One SMS to the citizen per applied move (plus the filing's), none for refused ones.
    assert len(sms_to(app, CITIZEN, "case_update")) == 1 + len(applied)
    for name, result in results.items():
        if not result.applied:
            assert result.refusal in (Refusal.CLOSED, Refusal.ALREADY_DONE, Refusal.NOT_NOW), name


def test_a_picked_up_case_does_not_escalate_when_the_acknowledgement_is_late(app: Flask) -> None:
    janela = app.extensions["janela"]
    reference = file(app)
    assert move(app, reference, staff(app, DESK), Move.PICK_UP).applied
    past_ack = utcnow() + timedelta(days=4)  # past the 2-day acknowledgement, within 15 to resolve
    assert escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=past_ack) == []
    assert the_case(app, reference).desk.code == "170101"
    # An unpicked case of the same age does escalate.
    other = file(app, phone="+85512345998")
    assert escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=past_ack) == [other]


def test_misconduct_escalates_to_the_province_once(app: Flask) -> None:
    janela = app.extensions["janela"]
    reference = file(app, category="misconduct")
    assert the_case(app, reference).desk.code == "1701"  # filed at the district
    later = utcnow() + timedelta(days=3)  # past misconduct's 1-day acknowledgement
    assert escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=later) == [reference]
    case = the_case(app, reference)
    assert (case.desk.code, case.status) == ("17", "escalated")
    (alert,) = sms_to(app, PROVINCE, "staff_alert")
    assert reference in alert.body
    told = sms_to(app, CITIZEN, "case_update")[-1].body
    assert told == f"janela: your request {reference} was sent to the province office, which will handle it."
    # The province is the top: no deadline ever moves it on, nor back to the district.
    much_later = later + timedelta(days=60)
    assert escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=much_later) == []
    assert move(app, reference, SWEEP, Move.ESCALATE).refusal is Refusal.TOP_LEVEL
    assert timeline(app, reference).count("escalated") == 1
    assert len(sms_to(app, DISTRICT, "staff_alert")) == 1  # its filing alert, no "escalated to you"


def test_the_district_picks_up_an_escalated_case(app: Flask) -> None:
    reference = file(app)
    desk = staff(app, DESK)
    assert move(app, reference, desk, Move.PICK_UP).applied
    assert move(app, reference, desk, Move.ESCALATE, "needs the district's payment records").applied
    case = the_case(app, reference)
    assert (case.desk.code, case.status, case.picked_by_id) == ("1701", "escalated", None)
    picked = move(app, reference, staff(app, DISTRICT), Move.PICK_UP)
    assert picked.applied and the_case(app, reference).status == "picked_up"
    assert move(app, reference, staff(app, DISTRICT), Move.ESCALATE).applied
    assert the_case(app, reference).desk.code == "17"
    assert move(app, reference, staff(app, PROVINCE), Move.ESCALATE).refusal is Refusal.TOP_LEVEL
    assert timeline(app, reference).count("escalated") == 2


def test_a_desk_officer_of_another_commune_is_refused_and_recorded(app: Flask) -> None:
    reference = file(app)
    result = move(app, reference, staff(app, "+85512700002"), Move.PICK_UP)
    assert result.refusal is Refusal.NOT_ALLOWED
    assert timeline(app, reference) == ["filed", "refused_pickup"]


def test_each_actor_has_its_moves() -> None:
    assert ACTOR_MOVES["village_chief"] == {Move.ACKNOWLEDGE, Move.RESOLVE_IN_VILLAGE}
    assert ACTOR_MOVES["sweep"] == {Move.ESCALATE}
    assert Move.PICK_UP in ACTOR_MOVES["district_officer"] and Move.PICK_UP in ACTOR_MOVES["national_admin"]
    assert [s.value for s in CaseStatus][:3] == ["queued", "acknowledged", "picked_up"]


def test_an_escalation_in_mozambique_alerts_the_district_in_portuguese(make_app: Any) -> None:
    app = make_app("MZ", COUNTRY="MZ", DEFAULT_LANGUAGE="")
    janela = app.extensions["janela"]
    assert janela.settings.default_language == "pt"
    set_language(janela.db, "+258841234999", "pt")
    reference = file_complaint(
        janela.db,
        Complaint("payment_missing", "10010101", "Não recebi o subsídio"),
        "+258841234999",
        "pt",
        "k-mz-1",
        CaseTexts("KH"),
        janela.settings.services,
    )
    desk = staff_by_phone(janela.db, "+258840000201")
    assert move(app, reference, desk, Move.ESCALATE, "precisa do distrito").applied
    (alert,) = sms_to(app, "+258840000301", "staff_alert")
    assert alert.language == "pt"
    assert alert.body.startswith(f"janela: o caso {reference}")
    (told,) = [m for m in sms_to(app, "+258841234999", "case_update") if "serviço distrital" in m.body]
    assert told.language == "pt"


def test_two_sweeps_at_once_escalate_each_case_once(app: Flask) -> None:
    janela = app.extensions["janela"]
    references = {file(app, phone=f"+8551234570{n}") for n in range(4)}
    later = utcnow() + timedelta(days=4)
    barrier = threading.Barrier(2)
    escalated: list[str] = []

    def sweep() -> None:
        barrier.wait()
        escalated.extend(escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=later))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(escalated) == sorted(references)  # each once, by one sweep or the other
    for reference in references:
        assert the_case(app, reference).desk.code == "1701"
        assert timeline(app, reference).count("escalated") == 1
    assert len(sms_to(app, DISTRICT, "staff_alert")) == 4


def test_the_moves_on_offer_follow_the_state_and_the_actor(app: Flask) -> None:
    db = app.extensions["janela"].db
    reference = file(app)
    desk, district = staff(app, DESK), staff(app, DISTRICT)
    everything = [
        Move.PICK_UP,
        Move.NOTE,
        Move.RESOLVE,
        Move.REJECT,
        Move.ESCALATE,
        Move.DESK_ACKNOWLEDGE,
        Move.ASK_INFO,
    ]
    assert available_moves(db, reference, desk) == everything
    assert available_moves(db, reference, ChiefPhone(CHIEF)) == [Move.ACKNOWLEDGE, Move.RESOLVE_IN_VILLAGE]
    assert available_moves(db, reference, staff(app, "+85512700002")) == []  # another commune
    assert move(app, reference, desk, Move.PICK_UP).applied
    # One owner: the district may note, or take the case over; only then resolve it.
    assert available_moves(db, reference, district) == [Move.NOTE, Move.TAKE_OVER]
    holder = [Move.NOTE, Move.RESOLVE, Move.REJECT, Move.ESCALATE, Move.ASK_INFO]
    assert available_moves(db, reference, desk) == holder
    assert available_moves(db, reference, ChiefPhone(CHIEF)) == [Move.RESOLVE_IN_VILLAGE]
    assert move(app, reference, desk, Move.RESOLVE, "paid").applied
    assert available_moves(db, reference, desk) == [Move.NOTE]


def test_a_pick_up_between_the_sweeps_look_and_its_move_wins(app: Flask) -> None:
    janela = app.extensions["janela"]
    reference = file(app)
    later = utcnow() + timedelta(days=4)
    assert overdue_references(janela.db, later) == [reference]  # the sweep has looked...
    assert move(app, reference, staff(app, DESK), Move.PICK_UP).applied  # ...the desk picks it up...
    late = move(app, reference, SWEEP, Move.ESCALATE, now=later)  # ...then the sweep moves
    assert late.refusal is Refusal.NOT_OVERDUE
    case = the_case(app, reference)
    assert (case.desk.code, case.status) == ("170101", "picked_up")
    assert sms_to(app, DISTRICT, "staff_alert") == []


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"),
    reason="needs two connections writing while one holds a read transaction",
)
def test_a_move_writes_from_the_row_not_from_what_it_read_earlier(app: Flask) -> None:
    janela = app.extensions["janela"]
    reference = file(app)
    ok_at = utcnow() + timedelta(hours=1)
    with janela.db.begin() as session:
        # This transaction has read the case (not acknowledged) and holds it in its identity map.
        seen = find_case(session, reference)
        assert seen is not None and seen.acknowledged_at is None
        assert move(app, reference, ChiefPhone(CHIEF), Move.ACKNOWLEDGE, now=ok_at).applied  # elsewhere
        done = apply_move_in(
            session,
            reference,
            ChiefPhone(CHIEF),
            Move.RESOLVE_IN_VILLAGE,
            janela.settings.services,
            CaseTexts("KH"),
            note="paid",
            now=ok_at + timedelta(hours=1),
        )
        assert done.applied
    assert the_case(app, reference).acknowledged_at == ok_at  # the OK's time, not the DONE's


def test_the_citizen_sees_which_office_has_an_escalated_case(app: Flask) -> None:
    janela = app.extensions["janela"]
    set_language(janela.db, CITIZEN, "en")
    reference = file(app, category="misconduct")
    escalate_overdue(janela.db, janela.settings.services, CaseTexts("KH"), now=utcnow() + timedelta(days=3))
    caller = Phone(app.test_client(), CITIZEN)
    caller.dial()
    caller.send("3")
    caller.send("2")
    pages = [caller.send(reference)]
    while "\n98 " in caller.screen:
        pages.append(caller.send("98"))
    words = " ".join(line for page in pages for line in page.split("\n")[: -2 if "\n98 " in page else -1])
    assert "The province office is handling it." in words
    assert "district office" not in words
