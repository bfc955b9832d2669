"""Time the coverage statistics on a registry of a country's size: the refresh and the pages.

    .venv/bin/python -m bench.stats_scale [--scale 1.0] [--reuse] [--months 24] [--url postgresql+psycopg://...]

Builds (unless --reuse) a registry with bench.registry_data into its own database
(BENCH_DATABASE_URL, default janela_bench, created if missing), spreads its rows over the last
--months months (the generator files everything today, which would leave one month of figures),
then times the refresh (into an empty summary, again over it with nothing changed, after an
hour's worth of new households, and skipped as fresh), the summary reads for the nation, a
province and a district, and the real /desk/stats page and its XLSX download signed in as a
national admin (needs REDIS_URL for the app).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, select, text

from bench.registry_data import Size, build
from bench.registry_scale import DEFAULT_URL, ensure_database
from bench.stats import percentile
from registry.db import make_engine, make_sessionmaker
from registry.models import Area, Household
from registry.scoping import Actor
from registry.services import Db
from registry.statistics import Coverage, read_coverage, refresh_statistics
from registry.summaries import StatsFigure

ZONE = ZoneInfo("Asia/Phnom_Penh")
NATIONAL = Actor(0, "national_admin", "bench", "", None)
ADMIN_PHONE = "+85512999990"
PASSWORD = "bench statistics password"


@dataclass(frozen=True)
class Result:
    """What the benchmark measured, in seconds; the coverage read at national level to check."""

    refresh: float  # into an empty summary: every row written
    refresh_again: float  # over it, nothing changed: no row written
    refresh_hourly: float  # after an hour's households: this month's rows written
    hourly_changed: int
    refresh_skipped: float
    figures: int
    reads: dict[str, list[float]]
    national: Coverage


def spread_over_months(engine: Engine, months: int) -> None:
    """Move the generated rows' filing moments back over the last months, by id."""
    with engine.begin() as connection:
        for table in ("households", "persons", "enrolments"):
            connection.execute(
                text(f"UPDATE {table} SET created_at = now() - (id % :m) * interval '30 days'"), {"m": months}
            )
        # A case keeps its length of life: filed earlier, closed as many days later as before.
        connection.execute(
            text(
                "UPDATE cases SET created_at = created_at - (id % :m) * interval '30 days'"
                " - (id % 9) * interval '1 day',"
                " resolve_due_at = resolve_due_at - (id % :m) * interval '30 days',"
                " closed_at = closed_at - (id % :m) * interval '30 days'"
            ),
            {"m": months},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def file_an_hours_households(db: Db, count: int = 200) -> list[int]:
    """File count households now, in villages spread over the country; return their ids."""
    # A national registry's 3.7 M households over two years are about 200 an hour.
    with db.begin() as session:
        villages = list(session.scalars(select(Area.id).where(Area.level == "village").order_by(Area.id)))
        step = max(1, len(villages) // count)
        households = [Household(village_id=village, size=1) for village in villages[::step][:count]]
        session.add_all(households)
        session.flush()
        return [h.id for h in households]


def _time(call: Callable[[], object], rounds: int) -> list[float]:
    call()  # warm the pool and the plan cache
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _page_client(url: str) -> Any:
    """Return a test client of the real app on the bench database, signed in as a national admin."""
    from app import create_app
    from registry.staff import add_staff, list_staff
    from registry.staff_auth import set_password

    app = create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "COUNTRY": "KH",
            "LANGUAGES": "km,pt,en",
            "DEFAULT_LANGUAGE": "km",
            "WEBHOOK_TOKEN": "",
            "USSD_SERVICE_CODES": "",
            "SIMULATOR": "",
        }
    )
    db = app.extensions["janela"].db
    admin = next((s for s in list_staff(db, "national_admin") if s.phone == ADMIN_PHONE), None)
    staff_id = admin.id if admin else add_staff(db, "national_admin", None, ADMIN_PHONE, "Bench Admin").id
    set_password(db, staff_id, PASSWORD)
    client = app.test_client()
    form = client.get("/desk/sign-in").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert found, "no CSRF token on the sign-in page"
    data = {"phone": ADMIN_PHONE, "password": PASSWORD, "csrf_token": found.group(1)}
    signed = client.post("/desk/sign-in", data=data)
    assert signed.status_code == 302, signed.get_data(as_text=True)[:500]
    return client


def measure(url: str, rounds: int, pages: bool = True) -> Result:
    """Refresh the summary and time every read; assert what each read returns."""
    engine = make_engine(url)
    db: Db = make_sessionmaker(engine)
    with db.begin() as session:
        session.execute(delete(StatsFigure))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # As a new deployment's first refresh finds it: empty, and known to be so by the planner.
        connection.execute(text("VACUUM ANALYZE stats_figures"))
    first = refresh_statistics(db, ZONE)
    again = refresh_statistics(db, ZONE)
    assert again.figures == first.figures, "a second refresh must write the same figures"
    assert first.changed == first.figures and again.changed == 0
    added = file_an_hours_households(db)
    hourly = refresh_statistics(db, ZONE)
    with db.begin() as session:  # the registry as built again, so the figures read below are its own
        session.execute(delete(Household).where(Household.id.in_(added)))
    refresh_statistics(db, ZONE)
    started = time.perf_counter()
    assert not refresh_statistics(db, ZONE, max_age=timedelta(hours=1)).refreshed
    skipped = time.perf_counter() - started
    with db() as session:
        province = session.scalars(
            select(Area.code).where(Area.level == "province").order_by(Area.code)
        ).first()
        district = session.scalars(
            select(Area.code).where(Area.level == "district").order_by(Area.code)
        ).first()
    national = read_coverage(db, NATIONAL, None, "all", "km", "km", "ប្រទេស")
    reads = {
        "national, all time": _time(
            lambda: read_coverage(db, NATIONAL, None, "all", "km", "km", "x"), rounds
        ),
        "national, one year": _time(
            lambda: read_coverage(db, NATIONAL, None, national.periods[0][:4], "km", "km", "x"), rounds
        ),
        "province, all time": _time(
            lambda: read_coverage(db, NATIONAL, province, "all", "km", "km", "x"), rounds
        ),
        "district, all time": _time(
            lambda: read_coverage(db, NATIONAL, district, "all", "km", "km", "x"), rounds
        ),
    }
    if pages:
        client = _page_client(url)

        def page(path: str) -> Callable[[], None]:
            def get() -> None:
                response = client.get(path)
                assert response.status_code == 200, response.status_code

            return get

        reads["page /desk/stats (nation)"] = _time(page("/desk/stats"), rounds)
        reads["page /desk/stats.xlsx (nation)"] = _time(page("/desk/stats.xlsx"), max(3, rounds // 5))
        reads[f"page /desk/stats?area={district}"] = _time(page(f"/desk/stats?area={district}"), rounds)
    engine.dispose()
    return Result(
        first.seconds, again.seconds, hourly.seconds, hourly.changed, skipped, first.figures, reads, national
    )


def report(result: Result) -> None:
    """Print the figures with their verdicts."""
    print(
        f"  refresh into an empty summary: {result.refresh:.1f} s ({result.figures:,} rows);"
        f" again, nothing changed: {result.refresh_again:.1f} s;"
        f" after an hour's households: {result.refresh_hourly:.1f} s ({result.hourly_changed:,} rows written)"
    )
    print(f"  a refresh finding fresh figures: {result.refresh_skipped * 1000:.1f} ms")
    for name, samples in result.reads.items():
        p50, p95, top = (percentile(samples, q) * 1000 for q in (0.5, 0.95, 1.0))
        verdict = "ok" if top < 2000 else "OVER TARGET"
        print(f"  {name:<36} p50 {p50:8.1f}  p95 {p95:8.1f}  max {top:8.1f} ms   target < 2000 ms: {verdict}")
    n = result.national
    print(
        f"  nation: {n.area.households:,} households, {n.area.persons:,} persons, {len(n.children)} provinces"
    )


def run(url: str, scale: float, reuse: bool, months: int, rounds: int) -> Result:
    """Build (unless reuse), spread over months, measure and print."""
    ensure_database(url)
    size = Size.at(scale)
    if not reuse:
        engine = make_engine(url)
        print(
            f"  building the registry at scale {scale}:"
            f" {size.households:,} households, {size.persons:,} persons"
        )
        build(engine, size)
        spread_over_months(engine, months)
        engine.dispose()
    result = measure(url, rounds)
    report(result)
    return result


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    parser.add_argument("--reuse", action="store_true", help="measure the registry already built")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    run(args.url, args.scale, args.reuse, args.months, args.rounds)


if __name__ == "__main__":
    main()
