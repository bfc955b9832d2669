"""ID cards: printing is recorded, a reprint says so, and the PDF shows Khmer names shaped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from conversations.i18n import Translator
from registry.cards import CardLabels, cards_pdf, issue_cards
from registry.errors import NotFound
from registry.models import CardIssue, Person
from registry.references import is_valid

KHMER_NAME = "សុខ ចាន់ធី"  # a demo household of Trapeang Thom (17010101), ID 1701000034

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) is not installed",
)


def _person(app: Flask, sp_id: str) -> Person:
    with app.extensions["janela"].db() as session:
        return session.scalars(select(Person).where(Person.sp_id == sp_id)).one()


def _issues(app: Flask) -> list[tuple[str, int]]:
    with app.extensions["janela"].db() as session:
        rows = session.execute(select(CardIssue.sp_id, CardIssue.number).order_by(CardIssue.id)).all()
    return [(sp_id, number) for sp_id, number in rows]


def test_a_first_printing_is_the_issue_and_the_next_a_reprint(app: Flask) -> None:
    db = app.extensions["janela"].db
    person = _person(app, "1701000034")
    first = issue_cards(db, None, "km", person_id=person.id)
    again = issue_cards(db, None, "km", person_id=person.id)
    assert [(c.sp_id, c.reprint, c.number) for c in first] == [("1701000034", False, 1)]
    assert [(c.reprint, c.number) for c in again] == [(True, 2)]
    assert first[0].full_name == KHMER_NAME and is_valid(first[0].sp_id)
    assert first[0].born == "1958" and first[0].village == "ត្រពាំងធំ"
    assert _issues(app) == [("1701000034", 1), ("1701000034", 2)]


def test_a_village_prints_only_its_new_cards(app: Flask) -> None:
    db = app.extensions["janela"].db
    issue_cards(db, None, "en", sp_id="1701000010")
    cards = issue_cards(db, None, "en", village_code="17010101")
    assert sorted(c.sp_id for c in cards) == ["1701000023", "1701000034"]
    assert issue_cards(db, None, "en", village_code="17010101") == []
    with pytest.raises(NotFound):
        issue_cards(db, None, "en", village_code="99999999")


def test_a_household_prints_every_member_and_marks_reprints(app: Flask) -> None:
    db = app.extensions["janela"].db
    household = _person(app, "1701000010").household_id
    issue_cards(db, None, "en", sp_id="1701000023")
    cards = issue_cards(db, None, "en", household_id=household)
    assert [(c.sp_id, c.reprint) for c in cards] == [("1701000010", False), ("1701000023", True)]


@needs_poppler
def test_the_pdf_renders_and_holds_the_khmer_name(app: Flask, tmp_path: Path) -> None:
    db = app.extensions["janela"].db
    cards = issue_cards(db, None, "km", village_code="17010101")
    cards += issue_cards(db, None, "km", sp_id="1701000034")  # a reprint on the same sheet
    labels = CardLabels().translated(Translator("km"))
    pdf = tmp_path / "cards.pdf"
    pdf.write_bytes(cards_pdf(cards, labels))
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    # Shaped text comes back in glyph clusters with breaks between them: compare without spaces.
    flat = "".join(text.split())
    assert "".join(KHMER_NAME.split()) in flat
    assert "ត្រពាំងធំ" in flat and "SokSreyPov" in flat and "1701000034" in flat
    assert "".join(labels.title.split()) in flat


def test_the_command_writes_the_pdf(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "h.pdf"
    runner = app.test_cli_runner()
    result: Result = runner.invoke(args=["cards", "pdf", "--village", "17010101", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 cards (0 reprints)" in result.output and out.read_bytes()[:5] == b"%PDF-"
    result = runner.invoke(args=["cards", "pdf", "--person", "999999", "-o", str(out)])
    assert result.exit_code != 0 and "nothing to print" in result.output
