"""Measure the desk's queue over a big registry: page time, counts time and page weight.

Fills the registry with many cases (most of them in other communes, as a national database is),
signs in as a commune desk officer and loads the queue, its filters and its counts:

    .venv/bin/python -m bench.desk_queue [--cases 20000] [--loads 50]

Runs against DATABASE_URL when set (its data is replaced), else a temporary SQLite file. The
target: a queue page under 0.3 s at p95 on one core and under 100 KB, so a slow laptop on a poor
connection gets it in a few seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from app import create_app
from cli import DEMO_DESK_PASSWORD, prepare_database
from registry.db import utcnow
from registry.models import Area, Case
from registry.references import check_digit
from registry.staff_auth import set_demo_passwords

OFFICER = "+85512700001"  # commune desk of 170101


def fill(db, count: int) -> None:  # type: ignore[no-untyped-def]
    """Insert count open cases spread over every village, with deadlines around now."""
    now = utcnow()
    with db.begin() as session:
        villages = session.execute(select(Area.id, Area.parent_id).where(Area.level == "village")).all()
        rows = []
        for n in range(count):
            village, commune = random.choice(villages)
            body = f"9{n:07d}"
            created = now - timedelta(hours=random.randint(0, 24 * 40))
            rows.append(
                {
                    "reference": body + check_digit(body),
                    "kind": random.choice(("complaint", "preregistration", "appeal")),
                    "status": random.choice(("queued", "queued", "acknowledged", "picked_up")),
                    "village_id": village,
                    "desk_id": commune,
                    "language": "km",
                    "category": random.choice(("payment_missing", "wrong_amount", "other")),
                    "ack_due_at": created + timedelta(days=3),
                    "resolve_due_at": created + timedelta(days=30),
                    "possible_duplicate": n % 17 == 0,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(insert(Case), rows[start : start + 5000])


def timed(client, path: str, loads: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Return p50 and p95 in ms and the page's size in bytes."""
    timings = []
    size = 0
    for _ in range(loads):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.data)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], size


def main() -> None:
    """Fill, sign in, load the queue pages, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--loads", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        overrides = {}
        if not os.environ.get("DATABASE_URL"):
            overrides["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app(overrides)
        with app.app_context():
            prepare_database(app)
        janela = app.extensions["janela"]
        set_demo_passwords(janela.db, DEMO_DESK_PASSWORD)  # when prepare_database did not
        fill(janela.db, args.cases)
        client = app.test_client()
        page = client.get("/desk/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token
        signed = client.post(
            "/desk/sign-in",
            data={"phone": OFFICER, "password": DEMO_DESK_PASSWORD, "csrf_token": token.group(1)},
        )
        assert signed.status_code == 302, "sign-in failed"
        print(f"{args.cases} open cases; {args.loads} loads each")
        for label, path in (
            ("queue", "/desk/"),
            ("queue, overdue only", "/desk/?overdue=1"),
            ("queue, page 3", "/desk/?page=3"),
            ("counts", "/desk/counts"),
        ):
            p50, p95, size = timed(client, path, args.loads)
            print(f"{label:22} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {size / 1024:5.1f} KB")


if __name__ == "__main__":
    main()
