"""Desk exports as background work: asked for once, built by one worker, kept in chunks, then pruned.

An export's life: queued (asked; a job enqueued after the commit) -> running (claimed by one job,
whose heartbeat keeps claimed_at fresh) -> done (the file's chunks and the status committed in one
transaction, so no half file is ever offered) or back to queued (a failed attempt, tried again) or
failed (every attempt failed, or the worker went silent too often) -> expired (the daily prune
deleted the file; the row stays so the officer is told). Every move is a conditional UPDATE from
the states it may come from, so a repeated, late or concurrent event changes nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import IO, Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from registry.audit import record_now
from registry.consolidation import Translate
from registry.db import changed_rows, utcnow
from registry.errors import NotFound, RegistryError
from registry.exports import allowed_area, check_options, export_area
from registry.models import ExportChunk, ExportRequest
from registry.scoping import Actor, load_actor
from registry.services import Db

QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
CHUNK = 1024 * 1024  # a chunk a row: small enough to stream, big enough to keep the rows few


class ExportExpired(RegistryError):
    """The export's file was kept its time and is gone; the officer asks for it again."""


class ExportNotReady(RegistryError):
    """The export is still queued or running, or it failed: there is no file to download."""


@dataclass(frozen=True)
class ExportPolicy:
    """How long files are kept, when a silent worker's claim is taken over, and how often to try."""

    keep: timedelta = timedelta(hours=24)
    stale_after: timedelta = timedelta(minutes=5)  # with a heartbeat every minute
    max_attempts: int = 3
    chunk_size: int = CHUNK


@dataclass(frozen=True)
class ExportAsked:
    """The export row that answers a request, and whether this request made it."""

    id: int
    new: bool


@dataclass(frozen=True)
class ExportTask:
    """What a claimed export is to write, and for whom."""

    id: int
    actor: Actor
    area_code: str
    fmt: str
    sheet: str
    since: date | None
    until: date | None
    language: str


@dataclass(frozen=True)
class ExportView:
    """One line of an officer's "My exports"."""

    id: int
    area_code: str
    fmt: str
    sheet: str
    since: date | None
    until: date | None
    status: str
    rows: str | None
    total_rows: int | None
    size: int | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None

    @property
    def downloadable(self) -> bool:
        """Whether the file is there to download now."""
        return self.status == DONE and self.expires_at is not None and self.expires_at > utcnow()


@dataclass(frozen=True)
class ExportFile:
    """A finished export the officer may download: its name and size, to stream its chunks."""

    id: int
    file_name: str
    fmt: str
    size: int


def _pending_key(actor: Actor, code: str, fmt: str, sheet: str, since: Any, until: Any, language: str) -> str:
    table = sheet if fmt == "csv" else ""
    return hashlib.sha256(f"{actor.id}:{code}:{fmt}:{table}:{since}:{until}:{language}".encode()).hexdigest()


def ask_export(
    db: Db,
    actor: Actor,
    area_code: str,
    *,
    country: str,
    language: str,
    fmt: str = "xlsx",
    sheet: str = "persons",
    since: date | None = None,
    until: date | None = None,
) -> ExportAsked:
    """Queue an export of an area the actor may export; the same one asked while pending is that one.

    A refused area is a NotFound recorded as refused_read, before anything is queued. The job is
    enqueued once this commits (the dispatch hook); the sweep hands it on if that is lost.
    """
    check_options(actor, fmt, sheet, since, until)
    code, area_id = allowed_area(db, actor, area_code, country)
    key = _pending_key(actor, code, fmt, sheet, since, until, language)
    with db() as session:
        found = session.scalar(select(ExportRequest.id).where(ExportRequest.pending_key == key))
    if found is not None:
        return ExportAsked(found, False)
    try:
        with db.begin() as session:
            row = ExportRequest(
                staff_id=actor.id,
                area_code=code,
                area_id=area_id,
                fmt=fmt,
                sheet=sheet if fmt == "csv" else "",
                since=since,
                until=until,
                language=language,
                status=QUEUED,
                pending_key=key,
                attempts=0,
                handoffs=0,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            new_id = row.id
        return ExportAsked(new_id, True)
    except IntegrityError:
        # Two clicks at once: the other request made the row first, and it is this one's too.
        with db() as session:
            return ExportAsked(
                session.scalars(select(ExportRequest.id).where(ExportRequest.pending_key == key)).one(), False
            )


def _held_by(export_id: int, token: str) -> ColumnElement[bool]:
    """Match the export while it runs under this job's claim, and only then."""
    running = (ExportRequest.id == export_id) & (ExportRequest.status == RUNNING)
    return running & (ExportRequest.claimed_by == token)


def job_token(export_id: int, handoff: int) -> str:
    """Name the RQ job of an export's handoff-th hand-off: the claim it holds is this name."""
    return f"export-{export_id}-{handoff}"


def claim_export(db: Db, export_id: int, token: str, stale: timedelta) -> ExportTask | None:
    """Take a queued export for this job; a claim whose heartbeat stopped, or this job's own, too.

    None when it is done, failed, expired, or running under another live job: the job skips it.
    """
    now = utcnow()
    with db.begin() as session:
        claimed = session.scalar(
            update(ExportRequest)
            .where(
                ExportRequest.id == export_id,
                or_(
                    ExportRequest.status == QUEUED,
                    (ExportRequest.status == RUNNING)
                    & or_(ExportRequest.claimed_by == token, ExportRequest.claimed_at < now - stale),
                ),
            )
            .values(status=RUNNING, claimed_by=token, claimed_at=now, attempts=ExportRequest.attempts + 1)
            .returning(ExportRequest.id)
        )
        if claimed is None:
            return None
        row = session.get_one(ExportRequest, export_id)
        actor = load_actor(session, row.staff_id)
        task = (
            ExportTask(
                row.id,
                actor,
                row.area_code,
                row.fmt,
                row.sheet or "persons",
                row.since,
                row.until,
                row.language,
            )
            if actor is not None
            else None
        )
        if task is None:
            # The officer left the desk since: nobody may have the file.
            row.status, row.pending_key, row.error, row.finished_at = (
                FAILED,
                None,
                "staff no longer active",
                now,
            )
        return task


def touch_export(db: Db, export_id: int, token: str) -> bool:
    """Renew this job's claim (its heartbeat); False when the claim is no longer its own."""
    with db.begin() as session:
        result = session.execute(
            update(ExportRequest).where(_held_by(export_id, token)).values(claimed_at=utcnow())
        )
        return changed_rows(result) == 1


def write_export(
    db: Db, task: ExportTask, token: str, label: Translate, country: str, zone: tzinfo, policy: ExportPolicy
) -> bool:
    """Build a claimed export into a temporary file, then store it; False when its claim was lost."""
    # On the worker's disk while it is built: the database gets the file whole, or not at all.
    with tempfile.TemporaryFile() as out:
        export = export_area(
            db,
            task.actor,
            task.area_code,
            label,
            task.language,
            out,
            country=country,
            fmt=task.fmt,
            since=task.since,
            until=task.until,
            sheet=task.sheet,
            zone=zone,
        )
        out.seek(0)
        rows = ", ".join(f"{k} {'+'.join(map(str, v))}" for k, v in export.sheets.items())
        return store_file(
            db, task.id, token, out, export.file_name, rows, sum(export.counts.values()), policy
        )


def store_file(
    db: Db,
    export_id: int,
    token: str,
    source: IO[bytes],
    file_name: str,
    rows: str,
    total_rows: int,
    policy: ExportPolicy,
) -> bool:
    """Store a built file in chunks and mark the export done, in one transaction, if still claimed.

    The status moves first, from running under this job's claim only: the row is then locked, so
    a sweep taking over a claim it thinks stale waits, and finds it done. A claim lost before this
    stores nothing: another job builds it, and only one file is ever kept.
    """
    now = utcnow()
    with db.begin() as session:
        moved = session.execute(
            update(ExportRequest)
            .where(_held_by(export_id, token))
            .values(
                status=DONE,
                pending_key=None,
                error=None,
                file_name=file_name,
                rows=rows,
                total_rows=total_rows,
                finished_at=now,
                expires_at=now + policy.keep,
            )
        )
        if changed_rows(moved) != 1:
            session.rollback()
            return False
        size, seq = 0, 0
        while data := source.read(policy.chunk_size):
            session.execute(insert(ExportChunk).values(export_id=export_id, seq=seq, data=data))
            size += len(data)
            seq += 1
        session.execute(update(ExportRequest).where(ExportRequest.id == export_id).values(size=size))
    return True


def release_export(db: Db, export_id: int, token: str, error: str, max_attempts: int) -> str | None:
    """Record a failed attempt of this job: queued again while attempts remain, else failed.

    Returns the new status, or None when the claim was not this job's any more (nothing changed).
    """
    with db.begin() as session:
        row = session.get(ExportRequest, export_id, with_for_update=True)
        if row is None or row.status != RUNNING or row.claimed_by != token:
            return None
        row.error = error[:500]
        if row.attempts >= max_attempts:
            row.status, row.pending_key, row.finished_at = FAILED, None, utcnow()
        else:
            # Still this job's: RQ's retry of the same job claims it again, by its name.
            row.status = QUEUED
        return row.status


def reclaim_stale_exports(db: Db, stale: timedelta, max_attempts: int) -> list[tuple[int, int]]:
    """Take back exports whose worker went silent: queued again for a new job, or failed at the last.

    Returns (export id, hand-off number) for each export to enqueue again.
    """
    cutoff = utcnow() - stale
    again: list[tuple[int, int]] = []
    with db.begin() as session:
        rows = session.scalars(
            select(ExportRequest)
            .where(ExportRequest.status == RUNNING, ExportRequest.claimed_at < cutoff)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.error = "the worker stopped while building it"
            row.claimed_by = None
            if row.attempts >= max_attempts:
                row.status, row.pending_key, row.finished_at = FAILED, None, utcnow()
            else:
                row.status, row.handoffs = QUEUED, row.handoffs + 1
                again.append((row.id, row.handoffs))
    return again


def queued_exports(db: Db, older_than: timedelta, limit: int = 200) -> list[tuple[int, int, str | None]]:
    """Return (id, hand-off number, claimed_by) of exports queued longer than older_than."""
    cutoff = utcnow() - older_than
    with db() as session:
        rows = session.execute(
            select(ExportRequest.id, ExportRequest.handoffs, ExportRequest.claimed_by)
            .where(ExportRequest.status == QUEUED, ExportRequest.created_at < cutoff)
            .order_by(ExportRequest.id)
            .limit(limit)
        )
        return [(i, h, c) for i, h, c in rows]


def hand_on_again(db: Db, export_id: int, handoff: int) -> int | None:
    """Count a new hand-off of a queued export whose job was lost; None if another sweep did it first."""
    with db.begin() as session:
        result = session.execute(
            update(ExportRequest)
            .where(
                ExportRequest.id == export_id,
                ExportRequest.status == QUEUED,
                ExportRequest.handoffs == handoff,
            )
            .values(handoffs=handoff + 1, claimed_by=None)
        )
        return handoff + 1 if changed_rows(result) == 1 else None


def list_exports(db: Db, actor: Actor, limit: int = 20) -> list[ExportView]:
    """Return the actor's own latest exports, newest first."""
    with db() as session:
        rows = session.scalars(
            select(ExportRequest)
            .where(ExportRequest.staff_id == actor.id)
            .order_by(ExportRequest.id.desc())
            .limit(limit)
        )
        return [
            ExportView(
                r.id,
                r.area_code,
                r.fmt,
                r.sheet,
                r.since,
                r.until,
                r.status,
                r.rows,
                r.total_rows,
                r.size,
                r.created_at,
                r.finished_at,
                r.expires_at,
            )
            for r in rows
        ]


def any_pending(exports: list[ExportView]) -> bool:
    """Whether any of these exports is still waiting for its file."""
    return any(e.status in (QUEUED, RUNNING) for e in exports)


def open_export(db: Db, actor: Actor, export_id: int) -> ExportFile:
    """Return a finished export of the actor's own to download; audited, and refused as NotFound.

    Only the officer who asked may download it: anyone else's request is a refused_read.
    """
    with db() as session:
        row = session.get(ExportRequest, export_id)
        mine = row is not None and row.staff_id == actor.id
        found = (
            (
                row.status,
                row.expires_at,
                row.file_name or "",
                row.fmt,
                row.size or 0,
                row.area_id,
                row.area_code,
            )
            if row is not None and mine
            else None
        )
    if found is None:
        record_now(db, "refused_read", actor.id or None, f"export_file:{export_id}", actor.area_id)
        raise NotFound(f"export {export_id}")
    status, expires_at, file_name, fmt, size, area_id, code = found
    if status == EXPIRED or (status == DONE and expires_at is not None and expires_at <= utcnow()):
        raise ExportExpired(str(export_id))
    if status != DONE:
        raise ExportNotReady(status)
    record_now(db, "export_download", actor.id, f"export:{code}", area_id, f"{file_name} ({size} bytes)")
    return ExportFile(export_id, file_name, fmt, size)


def read_chunks(db: Db, export_id: int) -> Iterator[bytes]:
    """Yield an export's file a chunk at a time, each read in a short transaction of its own.

    A slow download holds no transaction and no connection between chunks.
    """
    seq = 0
    while True:
        with db() as session:
            data = session.scalar(
                select(ExportChunk.data).where(ExportChunk.export_id == export_id, ExportChunk.seq == seq)
            )
        if data is None:
            return
        yield bytes(data)
        seq += 1


def expire_exports(db: Db, now: datetime, keep_rows: timedelta) -> int:
    """Delete the files of exports past their time (marked expired), and rows older than keep_rows."""
    with db.begin() as session:
        ids = list(
            session.scalars(
                select(ExportRequest.id).where(ExportRequest.status == DONE, ExportRequest.expires_at <= now)
            )
        )
        if ids:
            session.execute(delete(ExportChunk).where(ExportChunk.export_id.in_(ids)))
            session.execute(
                update(ExportRequest)
                .where(ExportRequest.id.in_(ids), ExportRequest.status == DONE)
                .values(status=EXPIRED)
            )
        old = list(
            session.scalars(
                select(ExportRequest.id).where(
                    ExportRequest.created_at < now - keep_rows, ExportRequest.status.in_((EXPIRED, FAILED))
                )
            )
        )
        if old:
            session.execute(delete(ExportChunk).where(ExportChunk.export_id.in_(old)))
            session.execute(delete(ExportRequest).where(ExportRequest.id.in_(old)))
    return len(ids) + len(old)
