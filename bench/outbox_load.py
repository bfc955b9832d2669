"""Hand an announcement to 1,000 phones to a fake Africa's Talking, and RQ no-op jobs beside it.

    .venv/bin/python -m bench.outbox_load [--messages 1000] [--workers 4]

Writes the messages to the outbox in one transaction (their jobs are enqueued after commit, as in
production), starts --workers RQ workers in burst mode (`workers.run.run_worker`, whose
JanelaWorker stops within a second of its queues running dry), and times
until every message is sent through the real AT SDK to a local fake of AT's HTTP API; then checks
that no phone got its message twice. The same number of no-op jobs on the same Redis, with the
same worker class (JanelaWorker), is the yardstick. Needs DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from registry.models import OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
NOOP_QUEUE = "bench-noop"


def noop() -> None:
    """Do nothing: the cheapest job RQ can run."""


@dataclass(frozen=True)
class OutboxRun:
    """What one run measured."""

    messages: int
    workers: int
    sms_seconds: float  # from starting the workers to the last one finishing
    noop_seconds: float
    delivered_once: bool
    duplicates: int
    sms_busy: float = 0.0  # from the first job starting to the last finishing (no start-up)
    noop_busy: float = 0.0

    @property
    def ratio(self) -> float:
        """SMS throughput over no-op throughput, once the workers are up."""
        if self.sms_busy and self.noop_busy:
            return self.noop_busy / self.sms_busy
        return self.noop_seconds / self.sms_seconds if self.sms_seconds else 0.0

    def lines(self) -> list[str]:
        """Print the run."""
        return [
            f"  {self.messages} SMS to the fake AT with {self.workers} workers: {self.sms_seconds:.2f} s "
            f"with start-up, {self.sms_busy:.2f} s of sending ({self.messages / self.sms_busy:.0f}/s); "
            f"each phone once: {self.delivered_once} ({self.duplicates} duplicates)",
            f"  {self.messages} RQ no-op jobs, same workers and Redis: {self.noop_seconds:.2f} s with "
            f"start-up, {self.noop_busy:.2f} s of work ({self.messages / self.noop_busy:.0f}/s)",
            f"  => SMS throughput {self.ratio:.2f}x the no-op's (target >= 0.5x; 1,000 SMS in < 10 s)",
        ]


def _workers(count: int, env: dict[str, str], code: str) -> float:
    """Start count burst workers running code; return seconds until the last has finished."""
    started = time.perf_counter()
    # The workers' per-job log lines go nowhere: a terminal drawing them would be what is measured.
    command = [sys.executable, "-c", code]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    for process in processes:
        if process.wait(timeout=300) != 0:
            raise RuntimeError(f"a benchmark worker exited with {process.returncode}")
    return time.perf_counter() - started


def run(messages: int, workers: int) -> OutboxRun:
    """Queue `messages` SMS, send them with `workers` workers, then the no-op jobs; print both."""
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
    env = {**os.environ, **overrides, "PYTHONPATH": str(ROOT)}
    app = create_app(overrides)
    janela = app.extensions["janela"]
    with app.app_context():
        prepare_database(app)
    try:
        for queue in janela.queues.values():
            queue.empty()
        phones = [f"+855169{n:06d}" for n in range(messages)]
        with janela.db.begin() as session:
            first_id = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0
            for phone in phones:
                add_sms(
                    session,
                    phone,
                    "en",
                    "The payment round opens on Monday.",
                    "announcement",
                    janela.settings.sms_policy,
                )
        worker_code = (
            "from app import create_app; from workers.run import run_worker; "
            "run_worker(create_app(), burst=True)"
        )
        sms_seconds = _workers(workers, env, worker_code)
        ours = OutboxMessage.id > first_id
        with janela.db() as session:
            sent = session.scalar(select(func.count()).where(ours, OutboxMessage.status == "sent"))
            first, last = session.execute(
                select(func.min(OutboxMessage.claimed_at), func.max(OutboxMessage.sent_at)).where(ours)
            ).one()
        sms_busy = (last - first).total_seconds()
        counts = Counter(r["to"] for r in fake.received if r["accepted"] and r["to"] in set(phones))
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        delivered_once = sent == messages and len(counts) == messages and duplicates == 0

        noop_queue = Queue(NOOP_QUEUE, connection=janela.redis)
        noop_queue.empty()
        jobs = [noop_queue.enqueue("bench.outbox_load.noop") for _ in range(messages)]
        # The same worker class as the SMS side, so both stop as soon as their queues are empty.
        noop_code = (
            "import os, redis; from rq import Queue; from workers.run import JanelaWorker; "
            "c = redis.Redis.from_url(os.environ['REDIS_URL']); "
            f"JanelaWorker([Queue('{NOOP_QUEUE}', connection=c)], connection=c).work(burst=True, "
            "logging_level='WARNING')"
        )
        noop_seconds = _workers(workers, env, noop_code)
        done = [job for job in Job.fetch_many([j.id for j in jobs], connection=janela.redis) if job]
        ended = [j.ended_at for j in done if j.ended_at]
        started = [j.started_at for j in done if j.started_at]
        noop_busy = (max(ended) - min(started)).total_seconds()
    finally:
        fake.stop()
        janela.engine.dispose()
    result = OutboxRun(
        messages, workers, sms_seconds, noop_seconds, delivered_once, duplicates, sms_busy, noop_busy
    )
    for line in result.lines():
        print(line)
    return result


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("bench.outbox_load needs DATABASE_URL and REDIS_URL")
    run(args.messages, args.workers)


if __name__ == "__main__":
    main()
