"""Measure the case work: filing complaints, chiefs' SMS applied as one unit, the deadline sweep.

Runs the real services against the configured database and Redis, or SQLite and an embedded
Redis when DATABASE_URL and REDIS_URL are unset:

    .venv/bin/python -m bench.case_work [--cases 300]

It loads the demo data into that database and leaves its cases there: give it a database of its
own (not the tests' one, which they empty, nor the registry benchmark's `*_bench`).

Targets: an inbound SMS applied (decision, case move, citizen SMS, reply) well under 100 ms, so
one worker keeps up with every chief of a province texting at once; a sweep of a thousand overdue
cases well inside SWEEP_INTERVAL (60 s).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from app import create_app
from cli import prepare_database
from conversations.case_texts import CaseTexts
from registry.case_filing import file_complaint
from registry.case_types import Complaint
from registry.db import utcnow
from registry.escalation import escalate_overdue
from registry.inbound import store_inbound
from registry.models import InboundMessage
from workers.jobs import process_inbound

CHIEF = "+85512600001"  # chief of Trapeang Thom (17010101) in the KH demo


def _percentiles(timings: list[float]) -> str:
    timings = sorted(timings)
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))] * 1000  # noqa: E731
    return f"p50 {p(0.5):.1f} ms  p95 {p(0.95):.1f} ms  max {timings[-1] * 1000:.1f} ms"


def main() -> None:
    """File cases, acknowledge each by SMS, escalate the rest, and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        overrides = {"COUNTRY": "KH"}
        if not os.environ.get("DATABASE_URL"):
            overrides["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app(overrides)
        janela = app.extensions["janela"]
        with app.app_context():
            prepare_database(app)
        settings, texts = janela.settings.services, CaseTexts(janela.settings.country)
        run = f"{time.time():.0f}"

        filing: list[float] = []
        references = []
        for n in range(args.cases):
            begin = time.perf_counter()
            references.append(
                file_complaint(
                    janela.db,
                    Complaint("payment_missing", "17010101", f"no payment since May ({n})"),
                    f"+8551288{n:05d}",
                    "km",
                    f"bench:{run}:{n}",
                    texts,
                    settings,
                )
            )
            filing.append(time.perf_counter() - begin)
        print(f"filed {len(filing)} complaints: {_percentiles(filing)}")

        inbound: list[float] = []
        half = references[: len(references) // 2]
        with app.app_context():
            for n, reference in enumerate(half):
                store_inbound(janela.db, f"bench-{run}-{n}", CHIEF, f"OK {reference}", "1234", None, None)
            with janela.db() as session:
                ids = list(
                    session.scalars(
                        select(InboundMessage.id).where(InboundMessage.provider_id.like(f"bench-{run}-%"))
                    )
                )
            for inbound_id in ids:
                begin = time.perf_counter()
                assert process_inbound(inbound_id) == "ok"
                inbound.append(time.perf_counter() - begin)
        print(f"applied {len(inbound)} chiefs' OK by SMS (move, SMS, reply): {_percentiles(inbound)}")

        later = utcnow() + timedelta(days=5)  # past the acknowledgement of the unacknowledged half
        begin = time.perf_counter()
        escalated = escalate_overdue(janela.db, settings, texts, now=later)
        elapsed = time.perf_counter() - begin
        print(f"sweep escalated {len(escalated)} overdue cases in {elapsed:.2f} s")
        begin = time.perf_counter()
        again = escalate_overdue(janela.db, settings, texts, now=later)
        took = time.perf_counter() - begin
        print(f"a second sweep at the same moment escalated {len(again)} in {took:.2f} s")
        with janela.db.begin() as session:
            session.execute(delete(InboundMessage).where(InboundMessage.provider_id.like(f"bench-{run}-%")))
        janela.engine.dispose()


if __name__ == "__main__":
    main()
