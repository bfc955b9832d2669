"""Limits on what costs money or reveals data, tested at their edges over the inbound SMS path."""

from __future__ import annotations

from flask import Flask

from registry.case_states import REFUSALS_KEPT_PER_DAY
from registry.services import set_language
from tests.jobs import run_jobs
from tests.workers.test_inbound import CHIEF, actions, bodies, file, text_in

OTHER_CHIEF = "+85512600002"  # chief of a village of another commune
STRANGER = "+85512999111"  # a phone the registry does not know


def test_a_missing_and_a_foreign_case_get_the_same_answer(app: Flask) -> None:
    reference = file(app)
    set_language(app.extensions["janela"].db, OTHER_CHIEF, "en")
    missing = "1234567" if reference != "1234567" else "7654321"
    text_in(app, OTHER_CHIEF, f"OK {reference}")
    text_in(app, OTHER_CHIEF, f"OK {missing}")
    run_jobs(app)
    foreign, unknown = bodies(app, OTHER_CHIEF)
    assert foreign.replace(reference, "REF") == unknown.replace(missing, "REF")
    assert foreign.startswith("Sorry, you cannot act on case")


def test_refused_attempts_stop_growing_the_timeline(app: Flask) -> None:
    reference = file(app)
    set_language(app.extensions["janela"].db, OTHER_CHIEF, "en")
    for _ in range(REFUSALS_KEPT_PER_DAY + 5):
        text_in(app, OTHER_CHIEF, f"OK {reference}")
    run_jobs(app)
    refused = [a for a in actions(app, reference) if a.startswith("refused_")]
    assert len(refused) == REFUSALS_KEPT_PER_DAY  # the rest are counted in the log only
    assert len(bodies(app, OTHER_CHIEF)) == REFUSALS_KEPT_PER_DAY + 5  # each still answered


def test_texts_nobody_understands_get_one_reply_a_day(app: Flask) -> None:
    for text in ("hello?", "are you there", "hello?", "Auto-reply: I am away"):
        text_in(app, STRANGER, text)
    run_jobs(app)
    assert len(bodies(app, STRANGER)) == 1  # two auto-responders cannot keep each other going
    text_in(app, STRANGER, "HELP")  # a command is still answered
    run_jobs(app)
    assert len(bodies(app, STRANGER)) == 2


def test_an_unknown_phone_alerts_the_chief_a_few_times_a_day_only(app: Flask) -> None:
    limit = app.config["ALERTS_PER_UNKNOWN_PHONE"]
    before = len(bodies(app, CHIEF, "staff_alert"))
    for n in range(limit + 2):
        text_in(app, STRANGER, f"COMPLAINT 17010101 no payment since May, try {n}")
    run_jobs(app)
    replies = bodies(app, STRANGER)
    assert len(replies) == limit + 2 and all("Reference" in r for r in replies)  # every one filed
    assert len(bodies(app, CHIEF, "staff_alert")) - before == limit
