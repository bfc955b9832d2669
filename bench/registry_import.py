"""Measure the import of a commune's enrolment form: a generated 20,000-row file checked, then imported.

The form asks for programmes as communes fill it: IDPoor for every household, some more.

Runs the real services against the configured database, or SQLite when DATABASE_URL is unset:

    .venv/bin/python -m bench.registry_import [--rows 20000] [--seed 0]

It loads the Cambodian demo into that database when it is empty and leaves the people it imports
there: give it a database of its own. Each --seed makes other names (a file imported already is
imported once, in no time). Target: 20,000 rows imported in under a minute.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from conversations.i18n import Translator
from registry.consolidation import FORM, ImportOutcome, check_import, header_names, import_form
from registry.scoping import Actor
from registry.services import Db

PROVINCE = "+85512900001"  # the province officer of Siem Reap in the KH demo
FAMILY = (
    "Sok",
    "Chan",
    "Keo",
    "Meas",
    "Phal",
    "Ros",
    "Sam",
    "Heng",
    "Nhem",
    "Kim",
    "Ouk",
    "Chea",
    "Ly",
    "Mao",
)
GIVEN = ("Dara", "Sophea", "Vuthy", "Srey", "Mony", "Rith", "Sokha", "Pisey", "Bopha", "Visal", "Kunthea")
SECOND = ("Pov", "Neang", "Rath", "Mealea", "Chenda", "Nary", "Piseth", "Samnang", "Kanha", "Thida")


@dataclass(frozen=True)
class Timings:
    """How long the check and the import took, and what the import did."""

    rows: int
    bytes: int
    generate_s: float
    check_s: float
    import_s: float
    outcome: ImportOutcome


def generate(rows: int, villages: list[str], seed: int = 0, household: int = 4) -> bytes:
    """Return a filled standard form of rows people, households of about `household`, unique names."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("form")
    sheet.append([Translator("en")(text) for _key, text in FORM])
    combos = len(FAMILY) * len(GIVEN) * len(SECOND)
    for n in range(rows):
        i = (n + seed * rows) % combos
        name = f"{FAMILY[i % len(FAMILY)]} {GIVEN[(i // len(FAMILY)) % len(GIVEN)]}"
        name += f" {SECOND[(i // (len(FAMILY) * len(GIVEN))) % len(SECOND)]}"
        number = n // household
        village = villages[number % len(villages)]
        year = 1940 + (n * 7) % 80
        first = n % household == 0
        birth = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{year}" if n % 3 else ""
        phone = f"0127{n:06d}"[:10] if first else ""
        # Every household asks for IDPoor on its head's row, one in seven the family package too, and
        # one person in five a scholarship: 9,715 requests in 20,000 rows.
        asks = (["idpoor"] + (["family-package"] if number % 7 == 0 else [])) if first else []
        asks += ["scholarship"] if n % 5 == 2 else []
        sheet.append(
            [
                f"{seed}-{number}",
                village,
                name,
                "F" if n % 2 else "M",
                birth,
                "" if birth else str(year),
                str(household) if first else "",
                phone,
                "",
                ", ".join(asks),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure(db: Db, actor: Actor, content: bytes, country: str, rows: int, generate_s: float) -> Timings:
    """Check the file, then import it, timing each."""
    headers = header_names(Translator(language) for language in ("km", "pt", "en"))
    begin = time.perf_counter()
    report = check_import(db, actor, content, headers, country)
    checked = time.perf_counter()
    if not report.ok:
        raise SystemExit(f"the generated file has problems: {report.problems[:5]}")
    outcome = import_form(db, actor, content, "bench.xlsx", headers, country)
    done = time.perf_counter()
    return Timings(rows, len(content), generate_s, checked - begin, done - checked, outcome)


def main() -> None:
    """Generate a form, check it, import it, and print the times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from app import create_app
    from cli import prepare_database
    from registry.models import Area
    from registry.staff_auth import find_desk_staff

    with tempfile.TemporaryDirectory() as folder:
        overrides = {"COUNTRY": "KH"}
        if not os.environ.get("DATABASE_URL"):
            overrides["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app(overrides)
        janela = app.extensions["janela"]
        with app.app_context():
            prepare_database(app)
        from sqlalchemy import select

        with janela.db() as session:
            villages = list(
                session.scalars(select(Area.code).where(Area.level == "village").order_by(Area.code))
            )
        actor = find_desk_staff(janela.db, PROVINCE)
        assert actor is not None, "the KH demo's province officer is missing"
        begin = time.perf_counter()
        content = generate(args.rows, villages, args.seed)
        generated = time.perf_counter() - begin
        result = measure(janela.db, actor, content, janela.settings.country, args.rows, generated)
        done = result.outcome.imported
        size = f"{len(content) / 1e6:.1f} MB"
        print(f"{engine_name(janela)}: {args.rows} rows in {len(villages)} villages, {size}")
        print(f"generated in {result.generate_s:.1f} s")
        print(f"checked in {result.check_s:.1f} s (every row, villages, duplicates against the registry)")
        if result.outcome.created and done is not None:
            print(
                f"imported in {result.import_s:.1f} s: {done.households} households, {done.persons} persons, "
                f"{done.duplicates} possible duplicates, {done.requests} programme requests"
                f" ({args.rows / result.import_s:.0f} rows/s)"
            )
        else:
            print(f"already imported: nothing changed ({result.import_s:.1f} s)")
        again = time.perf_counter()
        repeat = measure(janela.db, actor, content, janela.settings.country, args.rows, 0.0)
        assert not repeat.outcome.created
        print(f"the same file again: nothing imported, in {time.perf_counter() - again:.1f} s")
        janela.engine.dispose()


def engine_name(janela: object) -> str:
    """Name the database the benchmark ran on."""
    return str(getattr(janela, "engine").dialect.name)  # noqa: B009


if __name__ == "__main__":
    main()
