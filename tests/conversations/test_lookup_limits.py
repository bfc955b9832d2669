"""Limits on ID lookups hold under guesses sent in parallel: exactly the limit is checked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select

from registry.models import IdLookup
from registry.services import set_language
from tests.phones import Phone

SP_ID = "1701000010"  # Sok Srey Pov, born 1990


def at_the_year_prompt(app: Flask, n: int) -> Phone:
    phone = f"+8551230{n:04d}"
    set_language(app.extensions["janela"].db, phone, "en")
    caller = Phone(app.test_client(), phone)
    caller.dial()
    caller.send("3")
    caller.send("1")
    assert caller.send(SP_ID).startswith("Year of birth") or "year" in caller.screen.lower()
    return caller


def test_eighty_parallel_guesses_against_one_id_check_exactly_the_limit(app: Flask) -> None:
    callers = [at_the_year_prompt(app, n) for n in range(80)]  # 80 phones: only the ID's count binds
    with ThreadPoolExecutor(max_workers=16) as pool:
        screens = list(pool.map(lambda pair: pair[1].send(str(1900 + pair[0])), enumerate(callers)))
    with app.extensions["janela"].db() as session:
        outcomes = session.scalars(select(IdLookup.outcome).where(IdLookup.sp_id == SP_ID)).all()
    limit = app.config["LOOKUP_MAX_FAILURES"]
    assert outcomes.count("mismatch") == limit  # checked against the registry: the limit, no more
    assert sum(s.startswith("The ID and the year do not match.") for s in screens) == limit - 1
    assert sum(s.startswith("Too many tries today.") for s in screens) == 80 - (limit - 1)


def test_a_right_year_gives_its_try_back(app: Flask) -> None:
    limit = app.config["LOOKUP_MAX_FAILURES"]
    for n in range(limit + 2):
        caller = at_the_year_prompt(app, n)
        assert caller.send("1990").startswith("Sok Srey Pov")  # finding the holder costs no try
    caller = at_the_year_prompt(app, 99)
    assert caller.send("1980").startswith("The ID and the year do not match.")
