"""Two submissions that draw the same free reference: the second draws again and is filed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.case_texts import CaseTexts
from conversations.prereg import Texts
from registry import case_types
from registry.case_filing import file_complaint
from registry.case_types import Complaint
from registry.models import Case, CaseEvent, PreRegistration
from registry.preregistration import Declaration, submit_preregistration

CONSENT = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
def racing_draws(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make the next draws return the given references first, unchecked, as a racing twin's would."""
    queued: list[str] = []
    draw = case_types.new_case_reference

    def next_reference(session: Session, length: int) -> str:
        return queued.pop(0) if queued else draw(session, length)

    monkeypatch.setattr(case_types, "new_case_reference", next_reference)
    yield queued


def _submit(app: Flask, n: int) -> str:
    janela = app.extensions["janela"]
    declared = Declaration(f"Racer {n}", "f", 1970 + n, None, "17010101", 2, phone=f"+8551200090{n}")
    return submit_preregistration(
        janela.db, declared, "en", CONSENT, f"race-{n}", Texts(), janela.settings.services
    ).reference


def test_a_preregistration_whose_reference_was_just_taken_draws_another(
    app: Flask, racing_draws: list[str]
) -> None:
    first = _submit(app, 1)
    # Both found `first` free before either inserted: the second meets the unique constraint.
    racing_draws.extend([first, first])
    second = _submit(app, 2)
    assert second != first and not racing_draws
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(func.count()).select_from(PreRegistration)) == 2
        case = session.scalars(select(Case).where(Case.reference == second)).one()
        # The rest of the transaction stood: the case has its pre-registration and its event.
        assert case.preregistration_id is not None
        assert session.scalar(select(func.count()).where(CaseEvent.case_id == case.id)) == 1


def test_a_complaint_whose_reference_was_just_taken_draws_another(
    app: Flask, racing_draws: list[str]
) -> None:
    janela = app.extensions["janela"]
    texts = CaseTexts(janela.settings.country)

    def complain(n: int) -> str:
        complaint = Complaint("other", "17010101", f"the road to the school, number {n}")
        return file_complaint(
            janela.db, complaint, "+85512000910", "en", f"c-{n}", texts, janela.settings.services
        )

    first = complain(1)
    racing_draws.append(first)
    second = complain(2)
    assert second != first and not racing_draws
    with janela.db() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.reference == second)) == 1


def test_a_reference_never_free_gives_up_after_a_few_draws(app: Flask, racing_draws: list[str]) -> None:
    first = _submit(app, 1)
    racing_draws.extend([first] * case_types.REFERENCE_ATTEMPTS)
    with pytest.raises(Exception, match="reference"):
        _submit(app, 2)
    with app.extensions["janela"].db() as session:
        assert session.scalar(select(func.count()).select_from(PreRegistration)) == 1
