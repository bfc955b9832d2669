"""Registry services: each owns one transaction and returns plain data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from registry.db import utcnow, without_transaction
from registry.errors import NotFound
from registry.memo import Memo
from registry.models import Contact, Programme, UssdSessionEnd
from registry.versions import CATALOGUE

Db = sessionmaker[Session]
# The catalogue changes about once a month and is read on most hops: kept in memory.
_CATALOGUE = Memo(CATALOGUE)


@dataclass(frozen=True)
class ProgrammeSummary:
    """A programme as a list shows it."""

    code: str
    name: str
    label: str  # the short name for a menu line


@dataclass(frozen=True)
class ProgrammeInfo:
    """A programme's full description in one language."""

    code: str
    name: str
    summary: str
    eligibility: str
    benefits: str
    how_to_apply: str
    label: str = ""  # the short name for a menu's title; name when the catalogue has none


def get_language(db: Db, phone: str) -> str | None:
    """Return the language a phone number chose, or None if it never chose."""
    # Read on the first hop of every call: one statement, without BEGIN and ROLLBACK around it.
    with db() as session:
        query = select(Contact.language).where(Contact.phone == phone)
        return without_transaction(session).execute(query).scalar()


def set_language(db: Db, phone: str, language: str) -> None:
    """Remember the language a phone number chose."""
    with db.begin() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == phone))
        if contact is None:
            session.add(Contact(phone=phone, language=language))
        else:
            contact.language = language


def _programme_query(country: str):  # type: ignore[no-untyped-def]
    return (
        select(Programme)
        .where(Programme.country == country, Programme.active.is_(True))
        .options(selectinload(Programme.texts))
    )


def list_programmes(db: Db, country: str, language: str, fallback: str) -> list[ProgrammeSummary]:
    """Return a country's active programmes, in catalogue order, named in a language (else fallback).

    fallback is the deployment's DEFAULT_LANGUAGE, given by the caller: no language is assumed here.
    """
    key = ("list", country, language, fallback)
    return list(_CATALOGUE.get(db, key, lambda: tuple(_list_programmes(db, country, language, fallback))))


def get_programme(db: Db, country: str, code: str, language: str, fallback: str) -> ProgrammeInfo:
    """Return one programme's description in a language, else fallback; raise NotFound if none."""
    key = ("one", country, code, language, fallback)
    return _CATALOGUE.get(db, key, lambda: _get_programme(db, country, code, language, fallback))


def programme_names(db: Db, language: str, fallback: str) -> dict[int, str]:
    """Return every programme's name in a language (else fallback), by id: what enrolments show."""
    return _CATALOGUE.get(db, ("names", language, fallback), lambda: _programme_names(db, language, fallback))


def _programme_names(db: Db, language: str, fallback: str) -> dict[int, str]:
    with db() as session:
        programmes = session.scalars(select(Programme).options(selectinload(Programme.texts))).all()
        names = {}
        for programme in programmes:
            text = programme.text_for(language, fallback)
            names[programme.id] = text.name if text else programme.code
        return names


def _list_programmes(db: Db, country: str, language: str, fallback: str) -> list[ProgrammeSummary]:
    with db() as session:
        programmes = session.scalars(
            _programme_query(country).order_by(Programme.position, Programme.code)
        ).all()
        named = [(p.code, p.text_for(language, fallback)) for p in programmes if p.texts]
        return [ProgrammeSummary(code, t.name, t.label or t.name) for code, t in named]


def _get_programme(db: Db, country: str, code: str, language: str, fallback: str) -> ProgrammeInfo:
    with db() as session:
        programme = session.scalar(_programme_query(country).where(Programme.code == code))
        if programme is None or not programme.texts:
            raise NotFound(f"programme {code!r} of {country}")
        t = programme.text_for(language, fallback)
        return ProgrammeInfo(
            code, t.name, t.summary, t.eligibility, t.benefits, t.how_to_apply, t.label or t.name
        )


def record_session_end(
    db: Db,
    session_id: str,
    phone: str | None,
    service_code: str | None,
    network_code: str | None,
    status: str | None,
    error_message: str | None,
    duration_ms: int | None,
    hops: int | None,
    cost: str | None,
) -> bool:
    """Record a USSD session's end once; return False when it was already recorded."""
    try:
        with db.begin() as session:
            if session.scalar(select(UssdSessionEnd.id).where(UssdSessionEnd.session_id == session_id)):
                return False
            session.add(
                UssdSessionEnd(
                    session_id=session_id,
                    phone=phone,
                    service_code=service_code,
                    network_code=network_code,
                    status=status,
                    error_message=error_message,
                    duration_ms=duration_ms,
                    hops=hops,
                    cost=cost,
                    received_at=utcnow(),
                )
            )
            return True
    except IntegrityError:
        return False
