"""Desk passwords: argon2 hashes, lock-out after repeated failures, one-time set-up codes by SMS.

Every sign-in, failure, lock and refused sign-in is written to the audit log in the same
transaction as the change it describes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.audit import record
from registry.db import utcnow
from registry.errors import InvalidData, NotFound
from registry.models import Staff, StaffCredential
from registry.notify import language_of
from registry.outbox import SmsPolicy, add_sms
from registry.phones import mask_phone
from registry.scoping import DESK_ROLES, Actor, actor_of
from registry.services import Db

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Checked when the phone is unknown, so a wrong phone costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class LockPolicy:
    """How many failed tries lock an account, and for how long."""

    max_failures: int = 5
    lock_minutes: int = 15
    setup_code_minutes: int = 60


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the actor, or why not (bad, locked)."""

    actor: Actor | None
    reason: str = ""  # bad, locked
    locked_until: datetime | None = None


class SetupTexts(Protocol):
    """The set-up code SMS, in the reader's language."""

    def setup_code(self, language: str, code: str, minutes: int) -> str: ...


def check_password_rules(password: str) -> None:
    """Refuse a password too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData([f"a password needs at least {MIN_PASSWORD_LENGTH} characters"])


def _desk_staff_by_phone(session: Session, phone: str) -> Staff | None:
    return session.scalar(
        select(Staff)
        .where(Staff.phone == phone, Staff.role.in_(DESK_ROLES), Staff.active.is_(True))
        .order_by(Staff.id)
    )


def _credential(session: Session, staff_id: int) -> StaffCredential:
    credential = session.get(StaffCredential, staff_id, with_for_update=True)
    if credential is None:
        credential = StaffCredential(staff_id=staff_id, failed_attempts=0)
        session.add(credential)
        session.flush()
    return credential


def set_password(db: Db, staff_id: int, password: str) -> None:
    """Set a desk staff member's password and unlock the account."""
    check_password_rules(password)
    with db.begin() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or staff.role not in DESK_ROLES:
            raise NotFound(f"desk staff {staff_id}")
        credential = _credential(session, staff_id)
        credential.password_hash = _hasher.hash(password)
        credential.failed_attempts = 0
        credential.locked_until = None
        credential.setup_code_hash = None
        credential.setup_code_expires_at = None
        record(session, "password_set", staff.id, f"staff:{staff.id}", staff.area_id)


def sign_in(db: Db, phone: str, password: str, policy: LockPolicy, now: datetime | None = None) -> SignIn:
    """Check a phone and password; count failures and lock the account after too many."""
    now = now or utcnow()
    with db.begin() as session:
        staff = _desk_staff_by_phone(session, phone)
        if staff is None:
            _hasher.verify(_DUMMY_HASH, "not a password of anyone")
            record(session, "sign_in_failed", None, mask_phone(phone), detail="unknown phone")
            return SignIn(None, "bad")
        # The row lock makes concurrent tries count one after the other.
        credential = _credential(session, staff.id)
        if credential.locked_until is not None and credential.locked_until > now:
            record(session, "sign_in_refused", staff.id, f"staff:{staff.id}", staff.area_id, "locked")
            return SignIn(None, "locked", credential.locked_until)
        if credential.password_hash and _matches(credential.password_hash, password):
            credential.failed_attempts = 0
            credential.locked_until = None
            if _hasher.check_needs_rehash(credential.password_hash):
                credential.password_hash = _hasher.hash(password)
            record(session, "sign_in", staff.id, f"staff:{staff.id}", staff.area_id)
            return SignIn(actor_of(staff))
        credential.failed_attempts += 1
        record(session, "sign_in_failed", staff.id, f"staff:{staff.id}", staff.area_id)
        if credential.failed_attempts >= policy.max_failures:
            credential.failed_attempts = 0
            credential.locked_until = now + timedelta(minutes=policy.lock_minutes)
            record(
                session,
                "account_locked",
                staff.id,
                f"staff:{staff.id}",
                staff.area_id,
                f"{policy.max_failures} failed tries; locked until {credential.locked_until.isoformat()}",
            )
            return SignIn(None, "locked", credential.locked_until)
        return SignIn(None, "bad")


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def send_setup_code(
    db: Db, staff_id: int, texts: SetupTexts, sms: SmsPolicy, policy: LockPolicy, default_language: str
) -> str:
    """Issue a one-time set-up code, send it to the staff member's phone, and return it."""
    code = f"{secrets.randbelow(10**8):08d}"
    with db.begin() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active or staff.role not in DESK_ROLES:
            raise NotFound(f"desk staff {staff_id}")
        credential = _credential(session, staff.id)
        credential.setup_code_hash = _hasher.hash(code)
        credential.setup_code_expires_at = utcnow() + timedelta(minutes=policy.setup_code_minutes)
        language = language_of(session, staff.phone, default_language)
        add_sms(
            session,
            staff.phone,
            language,
            texts.setup_code(language, code, policy.setup_code_minutes),
            "staff_setup",
            sms,
            # One SMS per code issued; a new code is a new event.
            idempotency_key=f"staff:{staff.id}:setup:{credential.setup_code_expires_at.isoformat()}",
        )
        record(session, "setup_code_sent", staff.id, f"staff:{staff.id}", staff.area_id)
    return code


def redeem_setup_code(db: Db, phone: str, code: str, password: str, policy: LockPolicy) -> Actor | None:
    """Set a password with a valid one-time code; the code works once. None when it does not work."""
    check_password_rules(password)
    now = utcnow()
    with db.begin() as session:
        staff = _desk_staff_by_phone(session, phone)
        if staff is None:
            record(session, "setup_code_failed", None, mask_phone(phone), detail="unknown phone")
            return None
        credential = _credential(session, staff.id)
        locked = credential.locked_until is not None and credential.locked_until > now
        valid = (
            not locked
            and credential.setup_code_hash is not None
            and credential.setup_code_expires_at is not None
            and credential.setup_code_expires_at > now
            and _matches(credential.setup_code_hash, code.strip())
        )
        if not valid:
            # A wrong code counts as a failed try, so codes cannot be guessed either.
            credential.failed_attempts += 1
            record(session, "setup_code_failed", staff.id, f"staff:{staff.id}", staff.area_id)
            if credential.failed_attempts >= policy.max_failures:
                credential.failed_attempts = 0
                credential.locked_until = now + timedelta(minutes=policy.lock_minutes)
                record(session, "account_locked", staff.id, f"staff:{staff.id}", staff.area_id)
            return None
        credential.password_hash = _hasher.hash(password)
        credential.setup_code_hash = None
        credential.setup_code_expires_at = None
        credential.failed_attempts = 0
        record(session, "password_set", staff.id, f"staff:{staff.id}", staff.area_id, "with a set-up code")
        return actor_of(staff)


def find_desk_staff(db: Db, phone: str) -> Actor | None:
    """Return the active desk staff member using this phone, if any."""
    with db() as session:
        staff = _desk_staff_by_phone(session, phone)
        return actor_of(staff) if staff else None


def unlock(db: Db, staff_id: int) -> None:
    """Lift a lock early (an administrator's decision)."""
    with db.begin() as session:
        session.execute(
            update(StaffCredential)
            .where(StaffCredential.staff_id == staff_id)
            .values(locked_until=None, failed_attempts=0)
        )


def set_demo_passwords(db: Db, password: str) -> int:
    """Give every desk staff member without a password the demo's one; return how many got it.

    One hash for all of them: this is the demo's shared, published password, never production's.
    """
    shared_hash = _hasher.hash(password)
    with db.begin() as session:
        staff_ids = session.scalars(
            select(Staff.id)
            .outerjoin(StaffCredential, StaffCredential.staff_id == Staff.id)
            .where(Staff.role.in_(DESK_ROLES), StaffCredential.staff_id.is_(None))
        ).all()
        for staff_id in staff_ids:
            session.add(StaffCredential(staff_id=staff_id, password_hash=shared_hash, failed_attempts=0))
        return len(staff_ids)
