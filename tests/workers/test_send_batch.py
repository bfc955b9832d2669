"""Batches: rows of one text go to the fake AT in one request, and each row is settled by its own answer."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from registry.models import Contact, OutboxMessage
from registry.outbox import add_sms, queue_sms, record_delivery
from tests.fake_at import Answer
from tests.jobs import run_jobs
from tests.workers.test_send_sms import later
from workers.jobs import send_sms_batch
from workers.queues import sms_batches
from workers.sweep import sweep

KM = "ថ្ងៃបើកប្រាក់ ថ្ងៃទី ១៥"
PT = "Dia de pagamento: 15"


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+8551770{n:04d}" for n in range(start, start + count)]


def write(app: Flask, recipients: list[str], body: str, essential: bool = False) -> list[int]:
    """Write one row per recipient in one transaction, as an announcement does."""
    janela = app.extensions["janela"]
    with janela.db.begin() as session:
        rows = [
            add_sms(
                session, phone, "km", body, "announcement", janela.settings.sms_policy, essential=essential
            )[0]
            for phone in recipients
        ]
        session.flush()
        return [row.id for row in rows]


def rows(app: Flask, ids: list[int]) -> dict[int, OutboxMessage]:
    with app.extensions["janela"].db() as session:
        found = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    return {row.id: row for row in found}


def accepted(fake_at: Any) -> Counter[str]:
    return Counter(r["to"] for r in fake_at.received if r["accepted"])


def test_rows_of_one_text_go_in_one_request_per_batch_each_phone_once(at_app: Flask, fake_at: Any) -> None:
    khmer, portuguese = phones(150), phones(100, start=500)
    ids = write(at_app, khmer, KM) + write(at_app, portuguese, PT)
    # One job a batch: 100 and 50 Khmer rows, 100 Portuguese rows (SMS_BATCH_SIZE is 100).
    assert at_app.extensions["janela"].queues["sms"].count == 3
    run_jobs(at_app)
    assert fake_at.requests == 3
    assert accepted(fake_at) == Counter(khmer + portuguese)
    sent = rows(at_app, ids)
    assert {row.status for row in sent.values()} == {"sent"}
    # Each row keeps its own recipient's messageId, as AT answered it.
    by_phone = {r["to"]: r["message_id"] for r in fake_at.received}
    assert all(row.provider_message_id == by_phone[row.recipient] for row in sent.values())
    assert {r["message"] for r in fake_at.received if r["to"] in khmer} == {KM}


def test_each_recipient_is_settled_by_its_own_status(at_app: Flask, fake_at: Any) -> None:
    ok, blacklisted, busy, missing, queued = phones(5)
    fake_at.script(Answer(codes={blacklisted: 406, busy: 500, queued: 102}, missing=(missing,)))
    ids = write(at_app, [ok, blacklisted, busy, missing, queued], KM)
    run_jobs(at_app)
    found = {row.recipient: row for row in rows(at_app, ids).values()}
    assert (found[ok].status, found[ok].attempts) == ("sent", 1)
    assert (found[queued].status, found[queued].attempts) == ("sent", 1)
    assert (found[blacklisted].status, found[blacklisted].last_error) == ("failed", "406 UserInBlacklist")
    assert found[missing].status == "failed" and "not in AT's answer" in (found[missing].last_error or "")
    # Only the row AT could not take now is tried again, alone; the others are never sent twice.
    assert (found[busy].status, found[busy].attempts) == ("sent", 2)
    assert fake_at.requests == 2
    assert [r["to"] for r in fake_at.received[5:]] == [busy]
    assert accepted(fake_at) == Counter([ok, queued, busy])


def test_a_timeout_makes_the_whole_batch_unknown_and_each_row_is_sent_again_once_at_most(
    at_app: Flask, fake_at: Any
) -> None:
    reported, silent, quiet = phones(3)
    ids = write(at_app, [reported, silent, quiet], KM)
    fake_at.script(Answer(delay=1.5), Answer(delay=1.5))  # after SMS_TIMEOUT (1 s): outcome unknown
    run_jobs(at_app)
    assert {(row.status, row.attempts) for row in rows(at_app, ids).values()} == {("unknown", 1)}
    sweep(at_app)  # inside the window: nothing is sent
    run_jobs(at_app)
    assert fake_at.requests == 1
    # AT reports one of them under an id we never heard of: that row is settled, never resent.
    assert record_delivery(at_app.extensions["janela"].db, "ATXid_late", "Success", None, reported)
    later(at_app, 3600)
    sweep(at_app)
    run_jobs(at_app)  # the other two go again, once, in one request: and time out again
    later(at_app, 3600)
    sweep(at_app)
    run_jobs(at_app)
    found = {row.recipient: row for row in rows(at_app, ids).values()}
    assert found[reported].status == "delivered" and found[reported].unknown_resends == 0
    for phone in (silent, quiet):
        assert (found[phone].status, found[phone].unknown_resends) == ("failed", 1)
        assert "not sent again" in (found[phone].last_error or "")
    assert fake_at.requests == 2
    assert Counter(r["to"] for r in fake_at.received) == Counter([reported, silent, silent, quiet, quiet])


def test_overlapping_batches_never_send_a_row_twice(at_app: Flask, fake_at: Any) -> None:
    recipients = phones(8)
    ids = write(at_app, recipients, KM)
    fake_at.script(Answer(delay=0.4), Answer(delay=0.4))  # slow answers: the other jobs arrive meanwhile
    start = threading.Barrier(3)
    results: list[str] = []

    def job(message_ids: list[int]) -> None:
        start.wait()
        with at_app.app_context():
            results.append(send_sms_batch(message_ids))

    threads = [
        threading.Thread(target=job, args=(part,)) for part in (ids[:5], ids[3:], ids[2:6])
    ]  # the sweep or an operator may hand on rows whose job still runs
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each phone in exactly one request (the slow answers still come within SMS_TIMEOUT).
    assert Counter(r["to"] for r in fake_at.received) == Counter(recipients)
    assert {row.status for row in rows(at_app, ids).values()} == {"sent"}


def test_a_stop_while_queued_suppresses_that_row_alone(at_app: Flask, fake_at: Any) -> None:
    recipients = phones(4)
    ids = write(at_app, recipients, KM)
    with at_app.extensions["janela"].db.begin() as session:
        session.add(Contact(phone=recipients[1], opted_out=True))
    run_jobs(at_app)
    found = {row.recipient: row.status for row in rows(at_app, ids).values()}
    assert found == {
        recipients[0]: "sent",
        recipients[1]: "suppressed",
        recipients[2]: "sent",
        recipients[3]: "sent",
    }
    assert fake_at.requests == 1
    assert sorted(accepted(fake_at)) == sorted(recipients[:1] + recipients[2:])


def test_a_single_sms_goes_at_once_as_a_job_of_its_own(at_app: Flask, fake_at: Any) -> None:
    db = at_app.extensions["janela"].db
    (first,) = queue_sms(
        db,
        "+85512345678",
        "en",
        "Your complaint was received",
        "test",
        at_app.extensions["janela"].settings.sms_policy,
    )
    (second,) = queue_sms(
        db,
        "+85512345679",
        "en",
        "Your complaint was received",
        "test",
        at_app.extensions["janela"].settings.sms_policy,
    )
    queue = at_app.extensions["janela"].queues["sms"]
    jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids]
    assert [(job.func_name, job.args) for job in jobs if job] == [
        ("workers.jobs.send_sms", (first,)),
        ("workers.jobs.send_sms", (second,)),
    ]
    run_jobs(at_app)
    assert fake_at.requests == 2


def test_a_malformed_number_fails_alone_and_the_rest_of_the_batch_goes(at_app: Flask, fake_at: Any) -> None:
    good = phones(2)
    ids = write(at_app, [good[0], "+85", good[1]], KM)
    run_jobs(at_app)
    found = {row.recipient: row for row in rows(at_app, ids).values()}
    assert found["+85"].status == "failed" and "Invalid phone number" in (found["+85"].last_error or "")
    assert (found[good[0]].status, found[good[1]].status) == ("sent", "sent")
    assert fake_at.requests == 1 and accepted(fake_at) == Counter(good)


def test_paced_rows_share_a_job_only_within_one_second() -> None:
    start = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    ids = list(range(1, 31))
    tenth = {i: start + timedelta(seconds=(i - 1) / 10) for i in ids}  # 600 a minute
    batches = sms_batches(ids, tenth, dict.fromkeys(ids, KM), 100)
    assert [b.ids for b in batches] == [ids[:10], ids[10:20], ids[20:]]
    # Each waits for its last row's slot: no row goes before its own.
    assert [b.at for b in batches] == [tenth[10], tenth[20], tenth[30]]
    second = {i: start + timedelta(seconds=i) for i in ids}  # 60 a minute: one row a job
    assert [b.ids for b in sms_batches(ids, second, dict.fromkeys(ids, KM), 100)] == [[i] for i in ids]
    # Two texts never share a job; rows due now never wait for a slotted one.
    texts = {i: KM if i % 2 else PT for i in ids}
    mixed = sms_batches(ids, {i: tenth[i] for i in ids if i > 10}, texts, 4)
    assert all(len({texts[i] for i in b.ids}) == 1 and len(b.ids) <= 4 for b in mixed)
    assert all(b.at is None for b in mixed if b.ids[0] <= 10)
    assert sorted(i for b in mixed for i in b.ids) == ids


def test_an_announcement_at_a_rate_waits_for_each_batch_last_slot(app: Flask) -> None:
    janela = app.extensions["janela"]
    start = datetime.now(UTC) + timedelta(seconds=30)
    with janela.db.begin() as session:
        for index, phone in enumerate(phones(40)):
            (row,) = add_sms(
                session, phone, "km", KM, "announcement", janela.settings.sms_policy, essential=False
            )
            row.next_attempt_at = start + timedelta(seconds=index / 10)
    registry = ScheduledJobRegistry("sms", connection=janela.redis)
    handed: list[int] = []
    for job_id in registry.get_job_ids():
        job = janela.queues["sms"].fetch_job(job_id)
        assert job is not None
        (message_ids,) = job.args
        slots = [row.next_attempt_at for row in rows(app, message_ids).values()]
        assert max(slots) - min(slots) < timedelta(seconds=1)
        assert registry.get_scheduled_time(job_id) >= max(slots).replace(microsecond=0)
        handed += message_ids
    assert len(handed) == len(set(handed)) == 40 and registry.count == 4


def test_an_http_error_retries_the_whole_batch_and_each_phone_gets_it_once(
    at_app: Flask, fake_at: Any
) -> None:
    recipients = phones(3)
    ids = write(at_app, recipients, KM)
    fake_at.script(Answer(http_status=503))  # AT's edge has a bad minute: nothing was taken
    run_jobs(at_app)
    assert {(row.status, row.attempts) for row in rows(at_app, ids).values()} == {("sent", 2)}
    assert fake_at.requests == 2
    assert accepted(fake_at) == Counter(recipients)


def test_jobs_lost_with_redis_are_handed_on_by_the_sweep_in_batches(at_app: Flask, fake_at: Any) -> None:
    janela = at_app.extensions["janela"]
    recipients = phones(5)
    ids = write(at_app, recipients, KM)
    janela.queues["sms"].empty()  # Redis lost the jobs (restarted without its data)
    with janela.db.begin() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
            row.updated_at = row.updated_at - timedelta(hours=1)
    assert sweep(at_app).sms == 5
    assert janela.queues["sms"].count == 1  # one job for the five rows
    run_jobs(at_app)
    assert fake_at.requests == 1 and accepted(fake_at) == Counter(recipients)
    assert sweep(at_app).sms == 0  # nothing left behind, nothing handed on twice
