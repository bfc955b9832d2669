"""Nothing submitted is lost: the sweep finds what Redis forgot or a dead worker left."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from registry.db import utcnow
from registry.inbound import store_inbound
from registry.models import InboundMessage, OutboxMessage
from registry.outbox import SmsPolicy, queue_sms
from registry.statistics import statistics_due
from tests.jobs import run_jobs
from workers.stats_refresh import LEASE_KEY
from workers.sweep import sweep

KH = "+85512345678"


def age(app: Flask, model: Any, seconds: int, **values: Any) -> None:
    """Make rows look older than they are, as if time had passed."""
    past = utcnow() - timedelta(seconds=seconds)
    columns = {"updated_at": past} if model is OutboxMessage else {"received_at": past}
    with app.extensions["janela"].db.begin() as session:
        session.execute(update(model).values(**columns, **values))


def test_redis_flushed_with_jobs_queued_loses_no_message(at_app: Flask, fake_at: Any) -> None:
    janela = at_app.extensions["janela"]
    ids = [queue_sms(janela.db, KH, "en", f"message {n}", "test", SmsPolicy())[0] for n in range(3)]
    store_inbound(janela.db, "ATXid_in_1", KH, "HELP", "12345", None, None)
    assert janela.queues["sms"].count == 3 and janela.queues["inbound"].count == 1
    janela.redis.flushdb()
    run_jobs(at_app)
    assert fake_at.received == []
    # Too young: the sweep leaves them to their jobs, which may only be late.
    assert sweep(at_app).sms == 0
    age(at_app, OutboxMessage, 600)
    age(at_app, InboundMessage, 600)
    report = sweep(at_app)
    assert (report.sms, report.inbound) == (3, 1)
    run_jobs(at_app)
    texts = fake_at.sent_to(KH)
    assert len(texts) == 4  # three queued messages and the reply to HELP, each once
    assert len([t for t in texts if t.startswith("message")]) == 3
    assert any(t.startswith("janela commands") for t in texts)
    assert sweep(at_app).sms == 0  # all settled: nothing more to hand on
    assert len(ids) == 3


def claimed_by_a_dead_worker(at_app: Flask, minutes_ago: int) -> None:
    """A worker claimed every message and died: whether it sent them nobody knows."""
    past = utcnow() - timedelta(minutes=minutes_ago)
    with at_app.extensions["janela"].db.begin() as session:
        session.execute(
            update(OutboxMessage).values(status="sending", claimed_at=past, updated_at=past, attempts=1)
        )


def test_a_claim_left_by_a_dead_worker_waits_for_a_report_then_is_sent_once(
    at_app: Flask, fake_at: Any
) -> None:
    janela = at_app.extensions["janela"]
    queue_sms(janela.db, KH, "en", "hello", "test", SmsPolicy())
    janela.redis.flushdb()
    claimed_by_a_dead_worker(at_app, minutes_ago=15)  # past STALE_AFTER, within the window
    report = sweep(at_app)
    assert (report.released, report.sms) == (1, 0)  # not sent again at once: it may have gone
    run_jobs(at_app)
    assert fake_at.sent_to(KH) == []
    with janela.db() as session:
        assert session.scalar(select(OutboxMessage.status)) == "unknown"


def test_a_claim_left_long_ago_with_no_report_is_sent_again_once(at_app: Flask, fake_at: Any) -> None:
    janela = at_app.extensions["janela"]
    queue_sms(janela.db, KH, "en", "hello", "test", SmsPolicy())
    janela.redis.flushdb()
    claimed_by_a_dead_worker(at_app, minutes_ago=120)  # the window has passed without a report
    report = sweep(at_app)
    assert (report.released, report.sms) == (1, 1)
    run_jobs(at_app)
    assert fake_at.sent_to(KH) == ["hello"]
    assert sweep(at_app).sms == 0


def test_a_message_waiting_for_its_backoff_is_left_alone(at_app: Flask, fake_at: Any) -> None:
    janela = at_app.extensions["janela"]
    queue_sms(janela.db, KH, "en", "later", "test", SmsPolicy())
    janela.redis.flushdb()
    age(at_app, OutboxMessage, 600, status="retry", next_attempt_at=utcnow() + timedelta(minutes=5))
    assert sweep(at_app).sms == 0


def test_the_sweep_leaves_the_statistics_to_their_own_refresher(app: Flask) -> None:
    sweep(app)
    # However stale the figures, a sweep never spends its interval counting them.
    assert statistics_due(app.extensions["janela"].db, timedelta(hours=1))
    assert app.extensions["janela"].redis.exists(LEASE_KEY) == 0
