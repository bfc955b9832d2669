"""Hand an announcement to 1,000 phones to a fake Africa's Talking, and RQ no-op jobs beside it.

    .venv/bin/python -m bench.outbox_load [--messages 1000] [--workers 4] [--batch-size 100]

Starts --workers RQ workers (`workers.run.run_worker`, as `janela-worker` runs them) and waits
until each is listening; then writes the messages to the outbox in one transaction (their jobs,
one per batch of SMS_BATCH_SIZE rows of one text, are enqueued after commit, as in production) and
times from the commit until the last message is handed to a local fake of AT's HTTP API through
the real AT SDK; then checks that no phone got its message twice. The yardstick: as many RQ no-op
jobs on the same Redis, enqueued at once, worked by as many workers of the same class
(JanelaWorker), timed from enqueueing until the last is done. Needs DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rq import Queue, Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from registry.models import OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
NOOP_QUEUE = "bench-noop"
TEXT = "The payment round opens on Monday."


def noop() -> None:
    """Do nothing: the cheapest job RQ can run."""


@dataclass(frozen=True)
class OutboxRun:
    """What one run measured."""

    messages: int
    workers: int
    written_seconds: float  # writing the rows, their jobs enqueued at the commit
    sms_seconds: float  # from the commit to the last message handed to the fake AT
    noop_seconds: float  # from enqueueing the no-op jobs to the last one done
    start_up_seconds: float  # until every SMS worker listened (not in the figures above)
    requests: int  # HTTP requests the fake AT answered
    delivered_once: bool
    duplicates: int

    @property
    def sms_rate(self) -> float:
        """SMS handed to the fake AT per second."""
        return self.messages / self.sms_seconds if self.sms_seconds else 0.0

    @property
    def noop_rate(self) -> float:
        """No-op jobs done per second."""
        return self.messages / self.noop_seconds if self.noop_seconds else 0.0

    @property
    def ratio(self) -> float:
        """SMS throughput over no-op throughput, with the workers up."""
        return self.sms_rate / self.noop_rate if self.noop_rate else 0.0

    def lines(self) -> list[str]:
        """Print the run."""
        total = self.written_seconds + self.sms_seconds
        return [
            f"  {self.messages} SMS to the fake AT, {self.workers} workers listening "
            f"(started in {self.start_up_seconds:.1f} s, not counted): "
            f"written in {self.written_seconds:.2f} s, "
            f"all handed {self.sms_seconds:.2f} s after the commit in {self.requests} requests; "
            f"each phone once: {self.delivered_once} ({self.duplicates} duplicates)",
            f"  {self.messages} RQ no-op jobs, {self.workers} workers of the same class, same Redis: "
            f"{self.noop_seconds:.2f} s from enqueueing to the last done",
            f"  SMS {self.sms_rate:.0f}/s beside no-op jobs {self.noop_rate:.0f}/s: {self.ratio:.2f}x "
            f"(target >= 0.5x); {self.messages} phones {total:.2f} s after the send "
            "(target < 10 s for 1,000)",
        ]


def _start(count: int, env: dict[str, str], code: str) -> list[subprocess.Popen[bytes]]:
    """Start count worker processes running code."""
    # The workers' per-job log lines go nowhere: a terminal drawing them would be what is measured.
    command = [sys.executable, "-c", code]
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask each worker to stop (JanelaWorker lets go within a second), then make sure."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(check: Callable[[], bool], processes: list[subprocess.Popen[bytes]], seconds: float = 300) -> None:
    """Poll until check() holds; fail if a worker died or time ran out."""
    deadline = time.monotonic() + seconds
    while not check():
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a benchmark worker exited early")
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark did not finish in time")
        time.sleep(0.05)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(messages: int, workers: int, batch_size: int | None = None) -> OutboxRun:
    """Send `messages` SMS with `workers` running workers, then the no-op jobs; print both."""
    from app import create_app
    from cli import prepare_database
    from registry.outbox import add_sms
    from tests.fake_at import FakeAfricasTalking

    # The fake's request log would cost the fake (and so the benchmark) more than the sends.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fake = FakeAfricasTalking()
    overrides = {
        "SMS_BACKEND": "africastalking",
        "AT_API_KEY": fake.api_key,
        "AT_API_URL": fake.url,
        "SIMULATOR": "",
        "WEBHOOK_TOKEN": "bench-token",
    }
    if batch_size is not None:
        overrides["SMS_BATCH_SIZE"] = str(batch_size)
    env = {**os.environ, **overrides, "PYTHONPATH": str(ROOT)}
    app = create_app(overrides)
    janela = app.extensions["janela"]
    with app.app_context():
        prepare_database(app)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for queue in janela.queues.values():
            queue.empty()
        sms_queue = janela.queues["sms"]
        phones = [f"+855169{n:06d}" for n in range(messages)]
        worker_code = (
            "from app import create_app; from workers.run import run_worker; run_worker(create_app())"
        )
        started = time.perf_counter()
        processes = _start(workers, env, worker_code)
        _wait(lambda: Worker.count(queue=sms_queue) >= workers, processes)
        start_up = time.perf_counter() - started

        begun = datetime.now(UTC)
        with janela.db.begin() as session:
            first_id = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0
            for phone in phones:
                add_sms(
                    session, phone, "en", TEXT, "announcement", janela.settings.sms_policy, essential=False
                )
        committed = datetime.now(UTC)  # the jobs were enqueued by the commit's hook
        ours = OutboxMessage.id > first_id

        def all_handed() -> bool:
            with janela.db() as session:
                waiting = select(func.count()).where(ours, OutboxMessage.status.in_(("queued", "sending")))
                return (session.scalar(waiting) or 0) == 0

        _wait(all_handed, processes)
        _stop(processes)
        with janela.db() as session:
            sent = session.scalar(select(func.count()).where(ours, OutboxMessage.status == "sent"))
            last = session.scalar(select(func.max(OutboxMessage.sent_at)).where(ours))
        sms_seconds = (_utc(last) - committed).total_seconds() if last else 0.0
        counts = Counter(r["to"] for r in fake.received if r["accepted"] and r["to"] in set(phones))
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        delivered_once = sent == messages and len(counts) == messages and duplicates == 0

        noop_queue = Queue(NOOP_QUEUE, connection=janela.redis)
        noop_queue.empty()
        # The same worker class as the SMS side, so both stop as soon as they are asked to.
        noop_code = (
            "import os, redis; from rq import Queue; from workers.run import JanelaWorker; "
            "c = redis.Redis.from_url(os.environ['REDIS_URL']); "
            f"JanelaWorker([Queue('{NOOP_QUEUE}', connection=c)], connection=c).work(logging_level='WARNING')"
        )
        processes = _start(workers, env, noop_code)
        _wait(lambda: Worker.count(queue=noop_queue) >= workers, processes)
        enqueued = datetime.now(UTC)
        jobs = noop_queue.enqueue_many(
            [Queue.prepare_data("bench.outbox_load.noop") for _ in range(messages)]
        )
        started_registry = StartedJobRegistry(queue=noop_queue)
        _wait(lambda: noop_queue.count == 0 and started_registry.count == 0, processes)
        _stop(processes)
        done = [job for job in Job.fetch_many([j.id for j in jobs], connection=janela.redis) if job]
        ended = [_utc(j.ended_at) for j in done if j.ended_at]
        noop_seconds = (max(ended) - enqueued).total_seconds() if ended else 0.0
    finally:
        _stop(processes)
        fake.stop()
        janela.engine.dispose()
    result = OutboxRun(
        messages,
        workers,
        (committed - begun).total_seconds(),
        sms_seconds,
        noop_seconds,
        start_up,
        fake.requests,
        delivered_once,
        duplicates,
    )
    for line in result.lines():
        print(line)
    return result


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch-size", type=int, help="SMS_BATCH_SIZE for the run (default: the setting's)")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("bench.outbox_load needs DATABASE_URL and REDIS_URL")
    run(args.messages, args.workers, args.batch_size)


if __name__ == "__main__":
    main()
