"""Measure a desk export as background work: the web request, the job, and the download.

    .venv/bin/python -m bench.export_jobs [--scale 0.012] [--reuse] [--url postgresql+psycopg://...]

Builds (unless --reuse) a registry with bench.registry_data into its own database
(BENCH_EXPORT_DATABASE_URL, default janela_export_bench; scale 0.012 is 204,000 persons), signs a
national officer in on the desk (a Flask test client, no network), and for each export times the
POST that asks for it, the RQ job that builds and stores it (a real worker, in burst), and the
download that streams its chunks back, with the memory Python allocated at most while streaming.
REDIS_URL names the Redis the queues live on (its database is emptied).
"""

from __future__ import annotations

import argparse
import os
import re
import time
import tracemalloc
from typing import Any

from sqlalchemy import func, select

from bench.registry_export import prepare_registry

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/janela_export_bench"
PHONE = "+85512999990"
PASSWORD = "bench export password"
EXPORTS = (
    ("the country, persons as CSV", {"area": "KH", "format": "csv", "sheet": "persons"}),
    ("the country, every table as XLSX", {"area": "KH", "format": "xlsx"}),
)
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(client: Any, path: str) -> str:
    found = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, path
    return found.group(1)


def run(url: str, redis_url: str, scale: float, reuse: bool) -> None:
    """Build (unless reuse), then ask for, build and download each export, printing the times."""
    from app import create_app
    from registry.models import ExportChunk, ExportRequest, Staff
    from registry.staff import add_staff
    from registry.staff_auth import set_demo_passwords
    from workers.run import run_worker

    prepare_registry(url, scale, reuse)
    app = create_app({"DATABASE_URL": url, "REDIS_URL": redis_url, "COUNTRY": "KH"})
    janela = app.extensions["janela"]
    janela.redis.flushdb()
    with janela.db() as session:
        known = session.scalar(select(Staff.id).where(Staff.phone == PHONE))
    if known is None:
        add_staff(janela.db, "national_admin", None, PHONE, "Bench Officer")
    set_demo_passwords(janela.db, PASSWORD)
    client = app.test_client()
    client.post(
        "/desk/sign-in",
        data={"phone": PHONE, "password": PASSWORD, "csrf_token": _token(client, "/desk/sign-in")},
    )
    print(
        "| export | rows | file | web request (ask) | job (build and store) | download (stream)"
        " | most memory while streaming |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for what, fields in EXPORTS:
        token = _token(client, "/desk/io")
        started = time.perf_counter()
        asked = client.post("/desk/io/export", data={"csrf_token": token, **fields})
        ask_seconds = time.perf_counter() - started
        assert asked.status_code == 302, asked.status_code
        started = time.perf_counter()
        run_worker(app, burst=True)
        job_seconds = time.perf_counter() - started
        with janela.db() as session:
            row = session.scalars(select(ExportRequest).order_by(ExportRequest.id.desc())).first()
            assert row is not None and row.status == "done", row and (row.status, row.error)
            chunks = session.scalar(select(func.count()).where(ExportChunk.export_id == row.id))
            export_id, rows, file_size = row.id, row.total_rows, row.size or 0
        tracemalloc.start()
        started = time.perf_counter()
        response = client.get(f"/desk/exports/{export_id}/file")
        received = sum(len(part) for part in response.response)
        download_seconds = time.perf_counter() - started
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert received == file_size, (received, file_size)
        print(
            f"| {what} | {rows:,} | {file_size / 1048576:.1f} MB in {chunks} chunks"
            f" | {ask_seconds * 1000:.0f} ms | {job_seconds:.1f} s | {download_seconds:.1f} s"
            f" | {peak / 1048576:.1f} MB |"
        )
    janela.engine.dispose()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BENCH_EXPORT_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--scale", type=float, default=0.012)
    parser.add_argument("--reuse", action="store_true", help="measure the registry already built")
    args = parser.parse_args()
    if not args.redis:
        parser.error("name a Redis to use (REDIS_URL or --redis); its database is emptied")
    run(args.url, args.redis, args.scale, args.reuse)


if __name__ == "__main__":
    main()
