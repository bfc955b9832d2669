"""Build a registry of a country's size in PostgreSQL with INSERT ... SELECT generate_series.

At scale 1.0 it is Cambodia: 25 provinces, 200 districts, 1,650 communes, 14,500 villages,
3.7 M households, 17 M persons, enrolments for a third of households, 500,000 cases of which
200,000 open (one commune desk with 2,000), 1 M outbox rows. A smaller scale shrinks the people
and the requests, never the shape: the busy commune keeps its 2,000 open cases.

Every row is made by the database itself (no Python loop over rows), so a national registry
builds in minutes. The references and IDs of a sample are given valid check digits afterwards,
so the benchmark can ask for them through the real services.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

from registry.db import Base
from registry.migrate import upgrade
from registry.references import check_digit

NAMES = 800  # distinct full names: 20 family names x 40 given names
# Ids are laid out by level so that a parent is found by arithmetic, not by a join.
PROVINCE0, DISTRICT0, COMMUNE0, VILLAGE0 = 0, 1_000, 10_000, 100_000
BUSY_DESK = COMMUNE0 + 1  # the commune whose desk has 2,000 open cases
BUSY_OPEN = 2_000
# A birth year that does not follow the name (names repeat every 800 persons).
BIRTH_YEAR = f"1940 + (g / {NAMES}) % 80"
# Khmer family and given names, romanised: 20 x 40 names make "Sok Sophal" as common as in life.
FAMILY = [
    *("Sok", "Chan", "Keo", "Heng", "Ly", "Meas", "Nhem", "Ouk", "Pen", "Prak"),
    *("Sam", "San", "Seng", "Sim", "Sun", "Tep", "Touch", "Vong", "Yem", "Chea"),
]
GIVEN = [
    *("Sophal", "Dara", "Sokha", "Vanna", "Bopha", "Channa", "Kosal", "Lina", "Makara", "Nary"),
    *("Pisey", "Rathana", "Sreymom", "Thida", "Veasna", "Chenda", "Kimheng", "Leakhena", "Mony", "Narin"),
    *("Piseth", "Ratha", "Samnang", "Sokunthea", "Sothea", "Sreyneang", "Sovann", "Tola", "Vichea", "Vuthy"),
    *("Bunthoeun", "Chantha", "Davy", "Kanha", "Lida", "Malis", "Nita", "Phalla", "Rina", "Sopheap"),
]


@dataclass(frozen=True)
class Size:
    """How many of each thing the generator builds."""

    provinces: int
    districts: int
    communes: int
    villages: int
    households: int
    persons: int
    cases: int
    open_cases: int
    outbox: int
    preregistrations: int

    @classmethod
    def at(cls, scale: float) -> Size:
        """Return Cambodia's size times scale (areas stay national from scale 0.01 up)."""
        areas = scale >= 0.01
        return cls(
            provinces=25 if areas else 5,
            districts=200 if areas else 10,
            communes=1_650 if areas else 20,
            villages=14_500 if areas else 60,
            households=max(200, int(3_700_000 * scale)),
            persons=max(900, int(17_000_000 * scale)),
            cases=max(BUSY_OPEN + 600, int(500_000 * scale)),
            open_cases=max(BUSY_OPEN + 200, int(200_000 * scale)),
            outbox=max(500, int(1_000_000 * scale)),
            preregistrations=max(200, int(300_000 * scale)),
        )


def _sql_list(words: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]"


def statements(size: Size) -> list[tuple[str, str]]:
    """Return the (what, SQL) steps that fill an empty, migrated database."""
    s = size
    fam, giv = _sql_list(FAMILY), _sql_list(GIVEN)
    # Every family name with every given name: 800 names, each shared by 1 person in 800.
    name = f"({fam})[1 + g % {len(FAMILY)}] || ' ' || ({giv})[1 + (g / {len(FAMILY)}) % {len(GIVEN)}]"
    village_of_household = f"{VILLAGE0} + 1 + (g % {s.villages})"
    # The busy desk's 2,000 open cases are the first ones; the rest spread over every village.
    busy_villages = max(1, s.villages // s.communes)
    return [
        (
            "areas",
            f"""
            INSERT INTO areas (id, code, parent_id, level, name_km, name_pt, name_en)
            SELECT {PROVINCE0} + g, 'P' || lpad(g::text, 2, '0'), NULL, 'province',
                   'ខេត្ត ' || g, 'Província ' || g, 'Province ' || g
              FROM generate_series(1, {s.provinces}) g
            UNION ALL
            SELECT {DISTRICT0} + g, 'D' || lpad(g::text, 4, '0'), {PROVINCE0} + 1 + (g - 1) % {s.provinces},
                   'district', 'ស្រុក ' || g, 'Distrito ' || g, 'District ' || g
              FROM generate_series(1, {s.districts}) g
            UNION ALL
            SELECT {COMMUNE0} + g, 'C' || lpad(g::text, 6, '0'), {DISTRICT0} + 1 + (g - 1) % {s.districts},
                   'commune', 'ឃុំ ' || g, 'Posto ' || g, 'Commune ' || g
              FROM generate_series(1, {s.communes}) g
            UNION ALL
            SELECT {VILLAGE0} + g, 'V' || lpad(g::text, 8, '0'), {COMMUNE0} + 1 + (g - 1) % {s.communes},
                   'village', 'ភូមិ ' || g, 'Aldeia ' || g, 'Village ' || g
              FROM generate_series(1, {s.villages}) g
            """,
        ),
        (
            "staff",
            f"""
            INSERT INTO staff (role, area_id, phone, name, active, created_at)
            SELECT 'village_chief', {VILLAGE0} + g, '+8551' || lpad(g::text, 7, '0'), 'Chief ' || g,
                   true, now()
              FROM generate_series(1, {s.villages}) g
            UNION ALL
            SELECT 'commune_desk', {COMMUNE0} + g, '+8552' || lpad(g::text, 7, '0'), 'Desk ' || g, true, now()
              FROM generate_series(1, {s.communes}) g
            """,
        ),
        (
            "contacts",
            f"""
            INSERT INTO contacts (phone, language, opted_out, created_at, updated_at)
            SELECT '+8551' || lpad(g::text, 7, '0'), 'km', false, now(), now()
              FROM generate_series(1, {s.villages}) g
            """,
        ),
        (
            "households",
            f"""
            INSERT INTO households (id, village_id, size, created_at)
            SELECT g, {village_of_household}, 1 + g % 8, now() FROM generate_series(1, {s.households}) g
            """,
        ),
        (
            "household phones",
            f"""
            INSERT INTO household_phones (household_id, phone)
            SELECT g, '+8559' || lpad(g::text, 8, '0')
              FROM generate_series(1, {s.households}) g WHERE g % 5 <> 0
            """,
        ),
        (
            "persons",
            f"""
            INSERT INTO persons (id, household_id, full_name, name_key, sex, birth_date, birth_year,
                                 national_id, sp_id, phone, created_at)
            SELECT g, 1 + g % {s.households}, {name}, lower({name}),
                   CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE make_date({BIRTH_YEAR}, 1 + g % 12, 1 + g % 28) END,
                   {BIRTH_YEAR}, NULL, (10000000000 + g)::text,
                   CASE WHEN g % 4 = 0 THEN '+8558' || lpad(g::text, 8, '0') END, now()
              FROM generate_series(1, {s.persons}) g
            """,
        ),
        (
            "enrolments",
            f"""
            INSERT INTO enrolments (household_id, programme_id, status, started_on, created_at)
            SELECT g, (SELECT min(id) FROM programmes) + g % 2, 'active', DATE '2024-01-01', now()
              FROM generate_series(1, {s.households}) g WHERE g % 3 = 0
            """,
        ),
        (
            "pre-registrations",
            f"""
            INSERT INTO preregistrations (id, full_name, name_key, sex, birth_date, birth_year, village_id,
                   household_size, phone, language, consent_at, channel, idempotency_key, created_at)
            SELECT g, {name}, lower({name}), 'F', NULL, 1950 + g % 60, {village_of_household}, 4,
                   '+8557' || lpad(g::text, 8, '0'), 'km', now(), 'ussd', 'bench:' || g, now()
              FROM generate_series(1, {s.preregistrations}) g
            """,
        ),
        (
            "cases",
            f"""
            INSERT INTO cases (id, reference, kind, status, village_id, desk_id, person_id,
                   preregistration_id, citizen_phone, language, anonymous, callback, possible_duplicate,
                   ack_due_at,
                   resolve_due_at, acknowledged_at, created_at, updated_at, closed_at)
            SELECT g, (1000000 + g)::text || '0',
                   CASE WHEN g % 2 = 0 THEN 'complaint' ELSE 'preregistration' END,
                   CASE WHEN g > {s.open_cases} THEN 'resolved'
                        ELSE (ARRAY['queued', 'acknowledged', 'picked_up'])[1 + g % 3] END,
                   v, {COMMUNE0} + 1 + (v - {VILLAGE0} - 1) % {s.communes},
                   CASE WHEN g % 2 = 0 THEN 1 + (g * 37) % {s.persons} END,
                   CASE WHEN g % 2 = 1 THEN 1 + (g * 11) % {s.preregistrations} END,
                   '+8559' || lpad((1 + (g * 37) % {s.households})::text, 8, '0'), 'km', false, false, false,
                   now() + ((g % 5) - 1) * interval '1 day', now() + (g % 30) * interval '1 day',
                   CASE WHEN g % 3 <> 0 THEN now() END, now(), now(),
                   CASE WHEN g > {s.open_cases} THEN now() END
              FROM (SELECT g, CASE WHEN g <= {BUSY_OPEN}
                                   THEN {VILLAGE0} + 1 + ((g - 1) % {busy_villages}) * {s.communes}
                                   ELSE {VILLAGE0} + 1 + (g::bigint * 7919) % {s.villages} END AS v
                      FROM generate_series(1, {s.cases}) g) AS numbered
             WHERE g <= {BUSY_OPEN}
                OR {COMMUNE0} + 1 + (v - {VILLAGE0} - 1) % {s.communes} <> {BUSY_DESK}
                OR g > {s.open_cases}
            """,
        ),
        (
            "outbox",
            f"""
            INSERT INTO outbox_messages (recipient, language, body, purpose, essential, status, encoding,
                   segments, part, parts, attempts, provider_message_id, created_at, updated_at, sent_at)
            SELECT '+8559' || lpad((1 + g % {s.households})::text, 8, '0'), 'km',
                   'ការស្នើសុំរបស់អ្នក ' || g || ' បានទទួល។', 'confirmation', true,
                   CASE WHEN g % 2000 = 0 THEN 'queued' WHEN g % 3 = 0 THEN 'sent' ELSE 'delivered' END,
                   'UCS-2', 1, 1, 1, 1, 'ATPid_' || g, now() - interval '1 hour', now() - interval '1 hour',
                   now() - interval '1 hour'
              FROM generate_series(1, {s.outbox}) g
            """,
        ),
    ]


def _programmes(connection) -> None:  # type: ignore[no-untyped-def]
    for code in ("idpoor-cash", "pregnant-women"):
        connection.execute(
            text("INSERT INTO programmes (country, code, position, active) VALUES ('KH', :c, 0, true)"),
            {"c": code},
        )
        connection.execute(
            text(
                "INSERT INTO programme_texts (programme_id, language, name, summary, eligibility,"
                " benefits, how_to_apply) SELECT id, l, CAST(:c AS varchar), 's', 'e', 'b', 'h'"
                " FROM programmes, unnest(ARRAY['km', 'pt', 'en']) l WHERE code = CAST(:c AS varchar)"
            ),
            {"c": code},
        )


def valid_id(n: int) -> str:
    """Return a valid social-protection ID for a sample person (outside the generated range)."""
    body = str(20_000_000_000 + n)
    return body + check_digit(body)


def valid_reference(n: int) -> str:
    """Return a valid case reference for a sample case (outside the generated range)."""
    body = str(30_000_000 + n)
    return body + check_digit(body)


def build(engine: Engine, size: Size, log=print, resume: str | None = None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Empty the database, migrate it and fill it at size; return seconds per step.

    With resume, keep what is there and start again at that step (after a failed build).
    """
    steps = statements(size)
    if resume is None:
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
        with engine.begin() as connection:
            _programmes(connection)
    else:
        steps = steps[[what for what, _ in steps].index(resume) :]
    timings: dict[str, float] = {}
    for what, sql in steps:
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text(sql))
        timings[what] = time.perf_counter() - started
        log(f"  {what}: {timings[what]:.1f} s")
    started = time.perf_counter()
    with engine.begin() as connection:
        for table in ("areas", "households", "persons", "preregistrations", "cases"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    timings["vacuum analyze"] = time.perf_counter() - started
    log(f"  vacuum analyze: {timings['vacuum analyze']:.1f} s")
    return timings


def mark_samples(engine: Engine, size: Size, count: int = 200) -> list[tuple[int, str, int, str, str]]:
    """Give `count` persons valid IDs and their cases valid references; return what to look up.

    Each sample is (person id, sp_id, birth year, case reference, citizen phone).
    """
    samples = []
    step = max(1, size.persons // count)
    with engine.begin() as connection:
        for i in range(count):
            person_id = 1 + i * step
            sp_id = valid_id(person_id)
            connection.execute(
                text("UPDATE persons SET sp_id = :s WHERE id = :p"), {"s": sp_id, "p": person_id}
            )
            case = connection.execute(
                text("SELECT id, citizen_phone FROM cases WHERE id = :c"),
                {"c": 2 * (1 + (i * 997) % (size.open_cases // 2))},
            ).one()
            reference = valid_reference(case.id)
            connection.execute(
                text("UPDATE cases SET reference = :r WHERE id = :c"), {"r": reference, "c": case.id}
            )
            birth_year = 1940 + (person_id // NAMES) % 80
            samples.append((person_id, sp_id, birth_year, reference, case.citizen_phone))
    return samples
