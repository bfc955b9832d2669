"""Social-protection ID cards: record each printing, and lay the cards out on A4 sheets as a PDF.

A card carries the name in the person's own script (Khmer shaped by HarfBuzz through fpdf2),
the ID with its check digit, the date or year of birth, the village and a QR code of the ID.
The first printing of a person's card is its issue; every later one is a reprint and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.audit import record, record_now
from registry.db import utcnow
from registry.errors import NotFound
from registry.models import Area, CardIssue, Household, Person
from registry.scoping import Actor, in_scope
from registry.services import Db

FONT = Path(__file__).parent / "data" / "fonts" / "KhmerOS.ttf"
# ISO/IEC 7810 ID-1, the size of a bank card, in millimetres; ten fit on an A4 sheet.
CARD_W, CARD_H = 85.6, 54.0
COLUMNS, ROWS = 2, 5
GAP_X, GAP_Y = 6.0, 3.0
# Centred on the sheet: five rows of cards leave 7.5 mm above and below.
MARGIN_X = (210.0 - COLUMNS * CARD_W - (COLUMNS - 1) * GAP_X) / 2
MARGIN_Y = (297.0 - ROWS * CARD_H - (ROWS - 1) * GAP_Y) / 2


@dataclass(frozen=True)
class Card:
    """One printed card, as the PDF shows it."""

    person_id: int
    sp_id: str
    full_name: str
    born: str  # DD/MM/YYYY, or the year alone when only the year is known
    village: str
    village_code: str
    number: int  # 1 for the first card, 2 and up for reprints
    issued_at: datetime

    @property
    def reprint(self) -> bool:
        """Whether an earlier card of this person was printed before."""
        return self.number > 1


def N_(message: str) -> str:
    """Mark a message for the catalogs; the caller translates it (the registry has no gettext)."""
    return message


@dataclass(frozen=True)
class CardLabels:
    """The words printed on a card, in English here; `translated` gives them in a language."""

    title: str = N_("Social protection ID card")
    id: str = N_("ID")
    born: str = N_("Born")
    village: str = N_("Village")
    reprint: str = N_("Reprint {number}")
    issued: str = N_("Issued {date}")

    def translated(self, translate: Callable[[str], str]) -> CardLabels:
        """Return the labels passed through translate (a gettext taking no placeholders)."""
        return CardLabels(*(translate(getattr(self, f.name)) for f in fields(self)))


def issue_cards(
    db: Db,
    actor: Actor | None,
    language: str,
    *,
    person_id: int | None = None,
    sp_id: str | None = None,
    household_id: int | None = None,
    village_code: str | None = None,
) -> list[Card]:
    """Record a printing of the cards asked for and return them; NotFound (recorded) outside scope.

    A person (by id or by social-protection ID) or a household prints every card (reprints
    marked); a village prints only the cards never printed yet. An actor of None is the command
    line, which reads everywhere.
    """
    what = (
        f"person:{person_id}"
        if person_id is not None
        else f"sp_id:{sp_id}"
        if sp_id is not None
        else f"household:{household_id}"
        if household_id is not None
        else f"village:{village_code}"
    )
    with db.begin() as session:
        query = (
            select(Person, Household.village_id)
            .join(Household, Household.id == Person.household_id)
            .where(Person.sp_id.is_not(None))
            .order_by(Person.household_id, Person.id)
        )
        if actor is not None:
            query = query.where(in_scope(actor, Household.village_id))
        if person_id is not None:
            query = query.where(Person.id == person_id)
        elif sp_id is not None:
            query = query.where(Person.sp_id == sp_id)
        elif household_id is not None:
            query = query.where(Person.household_id == household_id)
        else:
            village = session.scalar(
                select(Area).where(
                    Area.code == village_code,
                    Area.level == "village",
                    *([in_scope(actor, Area.id)] if actor is not None else []),
                )
            )
            if village is None:
                session.rollback()
                raise _refuse(db, actor, what)
            printed = select(CardIssue.person_id)
            query = query.where(Household.village_id == village.id, Person.id.not_in(printed))
        rows = session.execute(query).all()
        if not rows and village_code is None:
            session.rollback()
            raise _refuse(db, actor, what)
        now = utcnow()
        cards = [_print(session, person, village_id, actor, now, language) for person, village_id in rows]
        if actor is not None:
            area_id = rows[0][1] if rows else None
            ids = ",".join(c.sp_id for c in cards)
            record(session, "print_cards", actor.id, what, area_id, f"{len(cards)} cards; {ids}"[:2000])
        return cards


def _refuse(db: Db, actor: Actor | None, what: str) -> NotFound:
    # Its own transaction: the refusal is kept although the request fails.
    if actor is not None:
        record_now(db, "refused_read", actor.id, what, actor.area_id)
    return NotFound(what)


def _print(
    session: Session, person: Person, village_id: int, actor: Actor | None, now: datetime, language: str
) -> Card:
    """Record one printing of a person's card; the unique (person, number) keeps two printings apart."""
    done = session.scalar(select(func.max(CardIssue.number)).where(CardIssue.person_id == person.id))
    number = int(done or 0) + 1
    sp_id = person.sp_id or ""
    session.add(
        CardIssue(
            person_id=person.id,
            sp_id=sp_id,
            number=number,
            issued_by_id=actor.id if actor else None,
            issued_at=now,
        )
    )
    session.flush()
    village = session.get_one(Area, village_id)
    born = person.birth_date.strftime("%d/%m/%Y") if person.birth_date else str(person.birth_year)
    return Card(person.id, sp_id, person.full_name, born, village.name(language), village.code, number, now)


def cards_pdf(cards: list[Card], labels: CardLabels) -> bytes:
    """Lay cards out ten to an A4 sheet, with cutting lines, and return the PDF."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(labels.title)
    pdf.add_font("KhmerOS", fname=str(FONT))
    # HarfBuzz shapes Khmer: subscript consonants (coeng) and vowels land where the script wants.
    pdf.set_text_shaping(True)
    per_page = COLUMNS * ROWS
    for index, card in enumerate(cards):
        if index % per_page == 0:
            pdf.add_page()
        slot = index % per_page
        x = MARGIN_X + (slot % COLUMNS) * (CARD_W + GAP_X)
        y = MARGIN_Y + (slot // COLUMNS) * (CARD_H + GAP_Y)
        _draw_card(pdf, card, labels, x, y)
    if not cards:
        pdf.add_page()
    return bytes(pdf.output())


def _draw_card(pdf: FPDF, card: Card, labels: CardLabels, x: float, y: float) -> None:
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, CARD_W, CARD_H, round_corners=True, corner_radius=3)
    pdf.set_fill_color(0, 84, 147)
    pdf.rect(x, y, CARD_W, 9, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("KhmerOS", size=8)
    pdf.set_xy(x + 3, y + 1)
    pdf.cell(CARD_W - 6, 7, labels.title)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("KhmerOS", size=12)
    pdf.set_xy(x + 3, y + 11)
    pdf.cell(CARD_W - 32, 8, card.full_name)
    lines = [
        (labels.id, _spaced(card.sp_id)),
        (labels.born, card.born),
        (labels.village, f"{card.village} ({card.village_code})"),
    ]
    pdf.set_font("KhmerOS", size=8)
    # The widest label sets the column: Khmer labels are longer than English ones.
    label_w = max(pdf.get_string_width(label) for label, _ in lines) + 2
    for row, (label, value) in enumerate(lines):
        pdf.set_xy(x + 3, y + 21 + row * 7)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(label_w, 6, label)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(CARD_W - 30 - label_w, 6, value)
    pdf.set_font("KhmerOS", size=6)
    pdf.set_text_color(90, 90, 90)
    pdf.set_xy(x + 3, y + CARD_H - 7)
    issued = labels.issued.format(date=card.issued_at.strftime("%d/%m/%Y"))
    if card.reprint:
        issued = f"{issued} · {labels.reprint.format(number=card.number - 1)}"
    pdf.cell(CARD_W - 6, 5, issued)
    pdf.set_text_color(0, 0, 0)
    _draw_qr(pdf, card.sp_id, x + CARD_W - 27, y + 12, 24)


def _spaced(sp_id: str) -> str:
    """Group an ID in fours, as people read it aloud, keeping the check digit at the end."""
    return " ".join(sp_id[i : i + 4] for i in range(0, len(sp_id), 4))


def _draw_qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as filled squares: sharp at any print resolution, no image file."""
    qr = segno.make(data, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix_iter(border=2)]
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # One rectangle per run of dark modules keeps the PDF small.
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1
