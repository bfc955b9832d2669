"""The import benchmark at a small size: its generated file is valid and imports exactly once."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from bench.registry_import import PROVINCE, generate, measure
from registry.models import Area, EnrolmentRequest, Household, Person
from registry.staff_auth import find_desk_staff


def test_the_generated_form_imports_every_row_once(app: Flask) -> None:
    janela = app.extensions["janela"]
    with janela.db() as session:
        villages = list(session.scalars(select(Area.code).where(Area.level == "village")))
        before = session.scalar(select(func.count(Person.id))) or 0
    actor = find_desk_staff(janela.db, PROVINCE)
    assert actor is not None
    content = generate(200, villages, seed=1)
    first = measure(janela.db, actor, content, "KH", 200, 0.0)
    assert first.outcome.created and first.outcome.imported is not None
    assert (first.outcome.imported.persons, first.outcome.imported.households) == (200, 50)
    # 50 households ask for IDPoor, 8 of them (numbers 0, 7, ... 49) the family package, 40 people a
    # scholarship: each an enrolment request, none an enrolment.
    assert first.outcome.imported.requests == 50 + 8 + 40
    again = measure(janela.db, actor, content, "KH", 200, 0.0)
    assert not again.outcome.created
    with janela.db() as session:
        assert session.scalar(select(func.count(Person.id))) == before + 200
        ids = session.scalars(select(Person.sp_id).where(Person.sp_id.is_not(None))).all()
        assert len(ids) == len(set(ids))
        sizes = session.scalars(select(Household.size).order_by(Household.id.desc()).limit(50)).all()
        assert set(sizes) == {4}
        requests = select(func.count(EnrolmentRequest.id)).where(
            EnrolmentRequest.import_id == first.outcome.imported.id, EnrolmentRequest.status == "requested"
        )
        assert session.scalar(requests) == 98
