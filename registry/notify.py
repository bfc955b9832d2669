"""SMS to people of the registry, each in their own language: written once, used by every service."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Contact, Staff
from registry.outbox import SmsPolicy, add_sms


def language_of(session: Session, phone: str, default_language: str) -> str:
    """Return the language a phone chose, else the deployment's DEFAULT_LANGUAGE."""
    return session.scalar(select(Contact.language).where(Contact.phone == phone)) or default_language


def active_staff(session: Session, roles: Iterable[str], area_id: int) -> list[Staff]:
    """Return the active staff of those roles at exactly that area."""
    return list(
        session.scalars(
            select(Staff)
            .where(Staff.role.in_(tuple(roles)), Staff.area_id == area_id, Staff.active.is_(True))
            .order_by(Staff.id)
        )
    )


def alert_staff(
    session: Session,
    staff: Iterable[Staff],
    compose: Callable[[str], str],
    purpose: str,
    key: str,
    policy: SmsPolicy,
    default_language: str,
) -> int:
    """Write one SMS to each staff member, composed in their language; return how many.

    key names the event; each member's message is keyed `key:staff_id`, so it is written once.
    """
    count = 0
    for member in staff:
        language = language_of(session, member.phone, default_language)
        add_sms(
            session,
            member.phone,
            language,
            compose(language),
            purpose,
            policy,
            idempotency_key=f"{key}:{member.id}",
        )
        count += 1
    return count
