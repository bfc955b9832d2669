"""Time as people live it: TIMEZONE from COUNTRY, local days for deadlines, birth dates and locks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

import config
import registry.clock
from conversations.lookup import LookupGuard
from conversations.prereg import read_date
from conversations.screens import Invalid
from registry.settings import Deadlines

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")  # UTC+7 all year
# 20:00 UTC on 23 November is 03:00 on 24 November in Phnom Penh.
LATE_EVENING_UTC = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("country", "timezone", "expected"),
    [("KH", "", "Asia/Phnom_Penh"), ("MZ", "", "Africa/Maputo"), ("MZ", "Europe/Lisbon", "Europe/Lisbon")],
)
def test_timezone_defaults_from_the_country(
    tmp_path: Path, country: str, timezone: str, expected: str
) -> None:
    settings = config.load(tmp_path, {"COUNTRY": country, "TIMEZONE": timezone}, environ={})
    assert settings["TIMEZONE"] == expected


def test_an_unknown_timezone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="TIMEZONE 'Asia/Angkor'"):
        config.load(tmp_path, {"TIMEZONE": "Asia/Angkor"}, environ={})


def test_deadlines_run_to_the_end_of_a_local_day() -> None:
    ack, resolve = Deadlines().due("payment_missing", LATE_EVENING_UTC, PHNOM_PENH)
    # Filed on the local 24th: 2 days to acknowledge ends at midnight closing the 26th, local time.
    assert ack == datetime(2026, 11, 27, 0, 0, tzinfo=PHNOM_PENH)
    assert ack.astimezone(UTC) == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert resolve.astimezone(PHNOM_PENH).date().isoformat() == "2026-12-10"


def test_a_baby_born_today_in_phnom_penh_is_not_born_in_the_future(
    monkeypatch: pytest.MonkeyPatch, app: Any
) -> None:
    monkeypatch.setattr(registry.clock, "utcnow", lambda: LATE_EVENING_UTC)
    ctx: Any = type("Ctx", (), {"settings": app.extensions["janela"].settings})()
    assert read_date(ctx, "24112026") == {"birth_date": "2026-11-24", "birth_year": 2026}
    assert isinstance(read_date(ctx, "25112026"), Invalid)


def test_the_lookup_lock_ends_when_the_local_day_is_over(redis_client: redis.Redis) -> None:
    guard = LookupGuard(redis_client, 3, PHNOM_PENH)
    # Days to come, since Redis expires keys by the real clock.
    before_midnight = datetime(2030, 1, 10, 16, 30, tzinfo=UTC)  # 23:30 in Phnom Penh
    after_midnight = datetime(2030, 1, 10, 17, 30, tzinfo=UTC)  # 00:30 the next day
    assert [guard.take("+85512000001", "1701000010", before_midnight) for _ in range(4)] == [1, 2, 3, None]
    assert guard.locked("+85512000001", "1701000010", before_midnight)
    assert not guard.locked("+85512000001", "1701000010", after_midnight)
    (key,) = redis_client.keys("janela:lookup:phone:*")
    left = redis_client.ttl(key)  # until 17:00 UTC on 10 January 2030, local midnight
    assert abs((datetime(2030, 1, 10, 17, 0, tzinfo=UTC) - datetime.now(UTC)).total_seconds() - left) < 5
