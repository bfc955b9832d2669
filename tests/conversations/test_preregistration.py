"""Pre-registration over USSD, end to end, on real Redis and a real database."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.models import Case, CaseEvent, OutboxMessage, PreRegistration
from registry.references import is_valid
from registry.services import set_language
from tests.phones import Phone, assert_fits

MOTHER = "+85512345999"
CHIEF = "+85512600001"  # chief of Trapeang Thom (17010101), Char Chhuk commune
DESK_COMMUNE = "170101"


def cases(app: Flask) -> list[Case]:
    with app.extensions["janela"].db() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def sms(app: Flask) -> list[OutboxMessage]:
    with app.extensions["janela"].db() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def start(client: FlaskClient, app: Flask, language: str, phone: str = MOTHER) -> Phone:
    set_language(app.extensions["janela"].db, phone, language)
    caller = Phone(client, phone)
    caller.dial()
    return caller


def walk(caller: Phone, *keys: str) -> list[str]:
    screens = []
    for key in keys:
        screens.append(caller.send(key))
        assert_fits(caller.screen)
    return screens


FULL = ("2", "1", "Srey Pov Chan", "1", "15031992", "1", "17010102", "4", "2", "9")


def test_full_flow_in_khmer(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "km")
    screens = walk(caller, *FULL)
    assert screens[0].startswith("យើងផ្ញើចម្លើយរបស់អ្នកទៅការិយាល័យឃុំ")
    summary = caller.screen
    while "98 ទៀត" in caller.screen:
        summary += "\n" + caller.send("98")
    assert "ឈ្មោះ៖ Srey Pov Chan" in summary and "ភេទ៖ ស្រី" in summary
    assert "ថ្ងៃកំណើត៖ 15 មីនា 1992" in summary
    assert "ភូមិ៖ គោកចំបក់, ចារឈូក" in summary
    done = caller.send("1")
    assert caller.ended
    assert done.startswith("សូមអរគុណ។ លេខយោង៖ ")
    (case,) = cases(app)
    assert done.split("៖ ")[1].split("\n")[0] == case.reference
    assert is_valid(case.reference) and len(case.reference) == 7
    assert (case.kind, case.status, case.citizen_phone, case.language) == (
        "preregistration",
        "queued",
        MOTHER,
        "km",
    )
    with app.extensions["janela"].db() as session:
        desk = session.get_one(Case, case.id).desk
        assert desk.code == DESK_COMMUNE
        registration = session.get_one(PreRegistration, case.preregistration_id)
        assert [p.code for p in registration.programmes] == ["family-package"]
        assert (registration.household_size, registration.sex, str(registration.birth_date)) == (
            4,
            "F",
            "1992-03-15",
        )
        (event,) = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        assert (event.action, event.actor) == ("submitted", "citizen")
    confirmation, *alerts = sms(app)
    assert (confirmation.recipient, confirmation.purpose) == (MOTHER, "confirmation")
    assert case.reference in confirmation.body and confirmation.body.startswith("janela៖")
    # Trapeang Thom's chief is not this village's: 17010102 has no chief in the demo.
    assert alerts == []


def test_full_flow_in_portuguese_alerts_the_village_chief(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "pt")
    flow = list(FULL)
    flow[6] = "17010101"  # Trapeang Thom, whose chief is in the demo data
    screens = walk(caller, *flow)
    assert screens[1] == "Nome completo:\n0 Voltar 00 Menu"
    done = caller.send("1")
    assert done.startswith("Obrigado. Referência: ")
    (case,) = cases(app)
    confirmation, alert = sms(app)
    assert confirmation.body.startswith(f"janela: recebemos o seu pré-registo. Referência: {case.reference}.")
    assert (alert.recipient, alert.purpose, alert.language) == (CHIEF, "chief_alert", "km")
    assert f"ការចុះឈ្មោះបឋមថ្មី {case.reference} នៅ ត្រពាំងធំ, ចារឈូក៖ Srey Pov Chan" in alert.body


def test_full_flow_in_english_choosing_the_village_from_lists(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, "2", "1", "Dara Sok", "2", "1", "1960")
    assert caller.send("2").startswith("Province\n1 Siem Reap")
    assert caller.send("1").startswith("District\n1 Angkor Chum\n2 Srei Snam")
    assert caller.send("2").startswith("Commune\n1 Chrouy Neang Nguon")
    assert caller.send("1").startswith("Village\n")
    assert caller.send("2").startswith("How many people live in your household?")
    walk(caller, "7", "9")
    assert "Born: 1960" in caller.screen and "Programmes: Not sure" in caller.screen
    assert "Village: Krasang, Chrouy Neang Nguon" in caller.screen
    assert caller.send("1").startswith("Thank you. Reference:")
    (case,) = cases(app)
    assert case.desk_id != case.village_id


def test_every_prompt_checks_its_answer_and_says_why(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, "2", "1")
    assert caller.send("12345").startswith("Please type the full name in letters.\nFull name:")
    assert caller.send("x").startswith("Please type the full name in letters.")
    caller.send("Sokha Chan")
    assert caller.send("3").startswith("Invalid choice.\nSex:")
    caller.send("1")
    assert caller.send("31022001").startswith("That date does not exist. Try again.")
    assert caller.send("1503").startswith("Type the date as 8 digits: day, month, year.")
    assert caller.send("01012999").startswith("That date cannot be a date of birth.")
    caller.send("1")
    assert caller.send("87").startswith("Type a year of 4 digits, e.g. 1987.")
    caller.send("1987")
    caller.send("1")
    assert caller.send("99999999").startswith("There is no such code.")
    assert caller.send("170101").startswith("There is no such code.")  # a commune, not a village
    caller.send("17010101")
    assert caller.send("0").startswith("Type the village code")  # 0 is back, not a household size
    caller.send("17010101")
    assert caller.send("31").startswith("Type a number from 1 to 30.")
    assert caller.send("abc").startswith("Type a number from 1 to 30.")
    assert caller.send("6").startswith("Programmes you want")
    assert cases(app) == []


def test_a_dropped_session_resumes_where_it_stopped(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, "2", "1", "Sokha Chan", "1")
    # The call drops; she dials again.
    again = Phone(client, MOTHER)
    assert again.dial().startswith("You have an unfinished pre-registration.\n1 Continue\n2 Start over")
    assert again.send("1").startswith("Date of birth as DDMMYYYY")
    walk(again, "15031992", "1", "17010101", "3", "9")
    assert "Name: Sokha Chan" in again.screen
    again.send("1")
    assert len(cases(app)) == 1
    # Completing removed the draft: the next call starts at the main menu.
    assert Phone(client, MOTHER).dial().startswith("Social protection")


def test_starting_over_forgets_the_draft(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, "2", "1", "Sokha Chan")
    again = Phone(client, MOTHER)
    again.dial()
    assert again.send("2").startswith("Your answers go to your commune desk")
    again.send("1")
    assert again.screen.startswith("Full name:")


def test_a_correction_from_the_summary_returns_to_the_summary(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, *FULL)
    assert caller.send("2").startswith("Change what?")
    assert caller.send("3").startswith("Date of birth as DDMMYYYY")
    caller.send("1")  # I only know the year
    summary = caller.send("1991")
    assert summary.startswith("Name: Srey Pov Chan") and "Born: 1991" in summary
    caller.send("2")
    caller.send("1")
    assert caller.send("Srey Pov Chann").startswith("Name: Srey Pov Chann")
    caller.send("1")
    with app.extensions["janela"].db() as session:
        registration = session.scalars(select(PreRegistration)).one()
    assert (registration.full_name, registration.birth_year, registration.birth_date) == (
        "Srey Pov Chann",
        1991,
        None,
    )


def test_a_repeated_final_hop_creates_nothing_twice(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, *FULL)
    done = caller.send("1")
    for _ in range(3):
        assert caller.repeat()[4:] == done
    assert len(cases(app)) == 1
    assert len(sms(app)) == 1


def test_no_consent_ends_politely_and_keeps_nothing(
    app: Flask, client: FlaskClient, redis_client: Any
) -> None:
    caller = start(client, app, "pt")
    caller.send("2")
    assert caller.send("2") == "Nada foi guardado. Pode fazer o pré-registo quando quiser."
    assert caller.ended
    assert redis_client.keys("janela:draft:*") == []
    assert cases(app) == []


def test_a_duplicate_is_accepted_flagged_and_the_person_told(app: Flask, client: FlaskClient) -> None:
    # Sok Srey Pov, born 12 April 1990, lives in Trapeang Thom (demo household).
    caller = start(client, app, "en")
    walk(caller, "2", "1", "SOK  srey pov", "1", "12041990", "1", "17010101", "5", "9")
    done = caller.send("1")
    assert "You may already be registered: the desk will check." in done
    (case,) = cases(app)
    assert case.possible_duplicate and case.duplicate_of_person_id is not None
    confirmation = sms(app)[0]
    assert "you need not register again" in confirmation.body
    with app.extensions["janela"].db() as session:
        actions = [e.action for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert actions == ["submitted", "flagged_duplicate"]


def test_the_same_phone_and_name_twice_is_a_duplicate_of_the_earlier_request(
    app: Flask, client: FlaskClient
) -> None:
    for born in ("15031992", "16031993"):
        caller = start(client, app, "en")
        walk(caller, "2", "1", "Srey Pov Chan", "1", born, "1", "17120101", "4", "9", "1")
    first, second = cases(app)
    assert not first.possible_duplicate
    assert second.possible_duplicate and second.duplicate_of_preregistration_id == first.preregistration_id


def test_a_village_chief_registers_a_villager(app: Flask, client: FlaskClient) -> None:
    chief = start(client, app, "en", phone=CHIEF)
    assert chief.send("2").startswith("Pre-register whom?\n1 Myself\n2 A villager")
    chief.send("2")
    chief.send("1")  # consent, given by the villager in person
    assert chief.screen.startswith("Villager's phone number:\n1 No phone")
    assert chief.send("123").startswith("That is not a phone number.")
    chief.send("1")  # no phone
    walk(chief, "Mean Sophea", "1", "1", "1955")
    assert "3 Trapeang Thom, Char Chhuk" in chief.screen
    walk(chief, "3", "2", "5", "9")
    assert "Phone: none" in chief.screen
    done = chief.send("1")
    assert "Write it down." in done
    (case,) = cases(app)
    assert case.citizen_phone is None
    with app.extensions["janela"].db() as session:
        registration = session.get_one(PreRegistration, case.preregistration_id)
        (event,) = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        assert registration.assisted_by_id is not None and event.staff_id == registration.assisted_by_id
        assert event.actor == "staff"
    assert sms(app) == []  # no phone to confirm to; the chief who registered needs no alert


def test_a_chief_registering_a_villager_with_a_phone_confirms_to_that_phone(
    app: Flask, client: FlaskClient
) -> None:
    chief = start(client, app, "km", phone=CHIEF)
    walk(chief, "2", "2", "1", "012 777 666", "Mean Sophea", "1", "1", "1955", "3", "2", "9", "1")
    (confirmation,) = sms(app)
    assert confirmation.recipient == "+85512777666"


def test_a_chief_may_register_themself(app: Flask, client: FlaskClient) -> None:
    chief = start(client, app, "en", phone=CHIEF)
    walk(chief, "2", "1", "1")
    assert chief.screen.startswith("Full name:")


@pytest.mark.parametrize("language", ["km", "pt", "en"])
def test_every_screen_of_the_flow_fits(app: Flask, client: FlaskClient, language: str) -> None:
    caller = start(client, app, language, phone=CHIEF)
    keys = ["2", "2", "1", "1", "Mean Sophea", "1", "1", "1955", "2", "1", "1", "1", "1", "9", "1", "9", "2"]
    for key in keys:
        caller.send(key)
        assert_fits(caller.screen)
        while "98 " in caller.screen.split("\n")[-2:][0]:
            caller.send("98")
            assert_fits(caller.screen)


def test_a_200_character_name_is_told_why_and_asked_again(app: Flask, client: FlaskClient) -> None:
    caller = start(client, app, "en")
    walk(caller, "2", "1")
    screen = caller.send("Sokha " * 34)  # 204 characters: more than any answer a screen asks for
    assert screen.startswith("That answer is too long. Try again, shorter.\nFull name:"), screen
    assert "Invalid choice" not in screen
    assert caller.send("Sokha Chan").startswith("Sex:")
