"""Run every benchmark in one go (`make bench`): hops, registry, outbox and Redis memory.

    .venv/bin/python -m bench [--quick]

Needs DATABASE_URL and REDIS_URL (PostgreSQL and Redis). The registry benchmark builds its own
database (BENCH_DATABASE_URL, default janela_bench on the same server) at national size unless
BENCH_SCALE says less; BENCH_REUSE=1 measures a registry already built.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import hop_load, outbox_load, redis_memory, registry_scale


def main() -> None:
    """Run the four benchmarks one after the other and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs and a small registry")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not (database_url.startswith("postgresql") and os.environ.get("REDIS_URL")):
        raise SystemExit("make bench needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"janela benchmarks, {started}, {os.cpu_count()} cores\n")
    print("1. USSD hops from outside the process")
    hop_load.run(
        workers=4,
        callers=200,
        seconds=3 if args.quick else 10,
        rounds=1 if args.quick else 2,
        think=2.0,
        port=19300,
    )
    print("\n2. The registry at national size")
    scale = float(os.environ.get("BENCH_SCALE", "0.01" if args.quick else "1.0"))
    url = os.environ.get("BENCH_DATABASE_URL", registry_scale.DEFAULT_URL)
    registry_scale.run(url, scale, bool(os.environ.get("BENCH_REUSE")), 50 if args.quick else 500)
    print("\n3. Outbox throughput")
    outbox_load.run(messages=1000, workers=4)
    print("\n4. Redis memory")
    redis_memory.run(database_url, sessions=100_000, sms=10_000, port=19310)


if __name__ == "__main__":
    main()
