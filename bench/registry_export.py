"""Measure exports of a large registry: time and peak memory, from a district to the whole country.

    .venv/bin/python -m bench.registry_export [--scale 0.07] [--reuse] [--url postgresql+psycopg://...]

Builds (unless --reuse) a registry with bench.registry_data into its own database
(BENCH_DATABASE_URL, default janela_bench, created if missing; scale 0.07 is 1.19 M persons, more
than one XLSX sheet holds), then runs each export in a process of its own, as the command line
does, writing to a temporary file, and reads that process's peak resident memory from the kernel
(wait4): a flat figure from a district to the country is what streaming promises.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from bench.registry_data import Size, build
from bench.registry_scale import DEFAULT_URL, ensure_database
from registry.exports import XLSX_ROWS

# (what, area, format, table of a CSV)
EXPORTS = (
    ("nothing (the process, the engine, one query)", "", "", ""),
    ("a district, persons as CSV", "D0001", "csv", "persons"),
    ("a province, every table as XLSX", "P01", "xlsx", ""),
    ("the country, persons as CSV", "KH", "csv", "persons"),
    ("the country, every table as XLSX", "KH", "xlsx", ""),
)


@dataclass(frozen=True)
class Measured:
    """One export: what it wrote, how long it took and the process's peak memory."""

    what: str
    seconds: float
    peak_mb: float
    bytes: int
    sheets: dict[str, list[int]]


def export_once(url: str, area: str, fmt: str, sheet: str, sheet_rows: int) -> dict[str, object]:
    """Run one export into a temporary file, in this process; return what it wrote."""
    from conversations.i18n import Translator
    from registry.db import make_engine, make_sessionmaker
    from registry.exports import COMMAND_LINE, export_area

    engine = make_engine(url)
    db = make_sessionmaker(engine)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        if not area:
            with db() as session:
                session.connection().exec_driver_sql("SELECT 1")
            sheets: dict[str, list[int]] = {}
        else:
            done = export_area(
                db,
                COMMAND_LINE,
                area,
                Translator("km"),
                "km",
                out,
                country="KH",
                fmt=fmt,
                sheet=sheet or "persons",
                sheet_rows=sheet_rows,
            )
            sheets = done.sheets
        size = out.seek(0, os.SEEK_END)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "bytes": size, "sheets": sheets}


def measure(url: str, what: str, area: str, fmt: str, sheet: str, sheet_rows: int) -> Measured:
    """Run one export in a child process and read its peak resident memory."""
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.registry_export", "--url", url),
            *("--sheet-rows", str(sheet_rows), "--one", json.dumps([area, fmt, sheet])),
        ],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the export of {what} failed ({child.returncode})")
    result = json.loads(output)
    # ru_maxrss is in kilobytes on Linux.
    return Measured(what, result["seconds"], usage.ru_maxrss / 1024, result["bytes"], result["sheets"])


def report(result: Measured) -> None:
    """Print one export's figures."""
    rows = ", ".join(f"{k} {'+'.join(f'{n:,}' for n in v)}" for k, v in result.sheets.items())
    print(
        f"  {result.what:<46} {result.seconds:7.1f} s  peak {result.peak_mb:6.0f} MB"
        f"  {result.bytes / 1e6:7.1f} MB written" + (f"  ({rows})" if rows else "")
    )


def prepare_registry(url: str, scale: float, reuse: bool) -> None:
    """Make the benchmark's database, and build the registry into it at scale unless reuse."""
    from registry.db import make_engine

    ensure_database(url)
    if reuse:
        return
    size = Size.at(scale)
    people = f"{size.households:,} households, {size.persons:,} persons"
    print(f"  building the registry at scale {scale}: {people}")
    engine = make_engine(url)
    build(engine, size, log=lambda _line: None)
    engine.dispose()


def run(url: str, scale: float, reuse: bool, sheet_rows: int) -> list[Measured]:
    """Build (unless reuse), then measure every export."""
    prepare_registry(url, scale, reuse)
    results = []
    for what, area, fmt, sheet in EXPORTS:
        results.append(measure(url, what, area, fmt, sheet, sheet_rows))
        report(results[-1])
    return results


def main() -> None:
    """Parse the arguments and run (or, with --one, run one export and print what it wrote)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=0.07)
    parser.add_argument("--reuse", action="store_true", help="measure the registry already built")
    parser.add_argument(
        "--sheet-rows", type=int, default=XLSX_ROWS, help="rows a sheet holds, with its header"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        area, fmt, sheet = json.loads(args.one)
        print(json.dumps(export_once(args.url, area, fmt, sheet, args.sheet_rows)))
        return
    run(args.url, args.scale, args.reuse, args.sheet_rows)


if __name__ == "__main__":
    main()
