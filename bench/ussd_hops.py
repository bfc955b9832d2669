"""Measure USSD hops end to end: how long one hop takes, and how many a web process answers.

Runs the real webhook (Flask test client) against the configured database and Redis, or against
SQLite and an embedded Redis when DATABASE_URL and REDIS_URL are unset:

    .venv/bin/python -m bench.ussd_hops [--sessions 200]

Africa's Talking waits about 15 s for an answer; the target is a p95 well under 0.5 s per hop
on one core, so that a single web process serves a commune's evening peak.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from app import create_app
from cli import prepare_database

# A caller browses programmes, reads a section page by page, and starts a complaint.
JOURNEY = (
    "",
    "3",
    "3*1",
    "3*1*2",
    "3*1*2*2",
    "3*1*2*2*98",
    "3*1*2*2*98*0",
    "3*1*2*2*98*0*00",
    "3*1*2*2*98*0*00*4",
)


def main() -> None:
    """Run the journey for many sessions and print latency percentiles and throughput."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        overrides = {}
        if not os.environ.get("DATABASE_URL"):
            overrides["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app(overrides)
        with app.app_context():
            prepare_database(app)
        client = app.test_client()
        timings: list[float] = []
        started = time.perf_counter()
        for n in range(args.sessions):
            phone = f"+8551299{n:05d}"
            for text in JOURNEY:
                form = {
                    "sessionId": f"bench-{n}",
                    "serviceCode": "*384*123#",
                    "phoneNumber": phone,
                    "text": text,
                }
                begin = time.perf_counter()
                response = client.post("/ussd", data=form)
                timings.append(time.perf_counter() - begin)
                assert response.status_code == 200 and response.get_data(as_text=True)[:4] in ("CON ", "END ")
        elapsed = time.perf_counter() - started
    timings.sort()
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))] * 1000  # noqa: E731
    print(f"{len(timings)} hops in {elapsed:.1f} s: {len(timings) / elapsed:.0f} hops/s on one thread")
    print(
        f"latency ms: p50 {p(0.50):.1f}  p95 {p(0.95):.1f}  p99 {p(0.99):.1f}  "
        f"max {timings[-1] * 1000:.1f}  mean {statistics.mean(timings) * 1000:.1f}"
    )


if __name__ == "__main__":
    main()
