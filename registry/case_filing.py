"""Filing a complaint or an appeal: one transaction writes the case, its first event and its SMS."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.areas import village_path
from registry.case_types import (
    CATEGORIES,
    DEFAULT_ROUTE,
    ROUTES,
    CaseStatus,
    CaseTexts,
    Complaint,
    add_case,
    area_at,
    record_event,
)
from registry.clock import start_of_local_day
from registry.db import utcnow
from registry.errors import InvalidData
from registry.idempotency import insert_once
from registry.models import Area, Case, HouseholdPhone, Programme, Staff
from registry.notify import active_staff, alert_staff
from registry.outbox import add_sms
from registry.services import Db
from registry.settings import ServiceSettings
from registry.timeline import COMPLAINT_BY_SMS, COMPLAINT_BY_USSD

log = logging.getLogger(__name__)


def file_complaint(
    db: Db,
    complaint: Complaint,
    phone: str | None,
    language: str,
    idempotency_key: str,
    texts: CaseTexts,
    settings: ServiceSettings,
    channel: str = "USSD",
    confirm: bool = True,
) -> str:
    """File a complaint as a case routed by ROUTES; return its reference (the same on a retry).

    idempotency_key names the request with who made it (registry.idempotency.request_key).
    """
    if complaint.category not in CATEGORIES:
        raise InvalidData([f"unknown category {complaint.category!r}"])
    reference, _ = insert_once(
        db,
        lambda session: reference_for_key(session, idempotency_key),
        lambda session: file_complaint_in(
            session, complaint, phone, language, idempotency_key, texts, settings, channel, confirm
        ),
    )
    return reference


def reference_for_key(session: Session, idempotency_key: str) -> str | None:
    """Return the reference of the case an earlier request filed, if any."""
    return session.scalar(select(Case.reference).where(Case.idempotency_key == idempotency_key))


def _alerts_allowed(session: Session, phone: str, settings: ServiceSettings, now: datetime) -> bool:
    """Tell whether a complaint from this phone may still alert staff today.

    A phone the registry knows (a household's, a staff member's) always may. Any other phone may
    alert the village's chief for a few complaints a day, so nobody can page a chief in a loop.
    """
    known = session.scalar(
        select(HouseholdPhone.id).where(HouseholdPhone.phone == phone).limit(1)
    ) or session.scalar(select(Staff.id).where(Staff.phone == phone).limit(1))
    if known:
        return True
    filed_today = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.citizen_phone == phone, Case.created_at >= start_of_local_day(settings.zone, now))
    )
    # This case is already in the count.
    return int(filed_today or 0) <= settings.alerts_per_unknown_phone


def file_complaint_in(
    session: Session,
    complaint: Complaint,
    phone: str | None,
    language: str,
    idempotency_key: str,
    texts: CaseTexts,
    settings: ServiceSettings,
    channel: str = "USSD",
    confirm: bool = True,
) -> str:
    """File a complaint inside the caller's transaction; confirm=False when the caller replies itself."""
    if complaint.category not in CATEGORIES:
        raise InvalidData([f"unknown category {complaint.category!r}"])
    village = session.scalar(select(Area).where(Area.code == complaint.village_code, Area.level == "village"))
    if village is None:
        raise InvalidData([f"unknown village {complaint.village_code!r}"])
    route = ROUTES.get(complaint.category, DEFAULT_ROUTE)
    desk = area_at(village, route.queue_level)
    programme = (
        session.scalar(select(Programme.id).where(Programme.code == complaint.programme_code))
        if complaint.programme_code
        else None
    )
    now = utcnow()
    kind = "appeal" if complaint.category == "appeal" else "complaint"
    ack_due, resolve_due = settings.deadlines.due(complaint.category, now, settings.zone, kind)
    case = Case(
        reference="",  # drawn by add_case
        kind=kind,
        status=str(CaseStatus.RECEIVED),
        category=complaint.category,
        village_id=village.id,
        desk_id=desk.id,
        programme_id=programme,
        description=complaint.description,
        anonymous=complaint.anonymous,
        complainant_name=None if complaint.anonymous else complaint.name,
        callback=complaint.callback and phone is not None,
        citizen_phone=phone,
        language=language,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    add_case(session, case, settings.reference_length)
    note = COMPLAINT_BY_SMS if channel == "SMS" else COMPLAINT_BY_USSD
    event = record_event(session, case, "filed", "citizen", phone=phone, note=note)
    if confirm and phone:
        add_sms(
            session,
            phone,
            language,
            texts.received(language, case.reference),
            "case_update",
            settings.sms_policy,
            idempotency_key=f"case:{case.reference}:event:{event.id}:citizen",
        )
    if phone is not None and not _alerts_allowed(session, phone, settings, now):
        # The case is queued at its desk all the same; only the chief's phone is spared.
        log.warning(
            "complaint %s filed without a chief alert: unknown phone over its daily alerts", case.reference
        )
        return case.reference
    summary = (case.description or "")[:60]
    place = village if route.queue_level == "commune" else desk
    category = case.category or case.kind
    alert_staff(
        session,
        active_staff(session, route.alert_roles, place.id),
        lambda lang: texts.staff_alert(
            lang, case.reference, category, summary, village_path(session, village.id, lang)
        ),
        "staff_alert",
        f"case:{case.reference}:event:{event.id}:alert",
        settings.sms_policy,
        settings.default_language,
    )
    return case.reference
