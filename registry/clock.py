"""Time as people live it: storage is UTC, days and dates follow the deployment's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from registry.db import utcnow

# Where a country's people live their days; TIMEZONE overrides it.
COUNTRY_TIMEZONE = {
    "KH": "Asia/Phnom_Penh",
    "MZ": "Africa/Maputo",
    "AO": "Africa/Luanda",
    "CV": "Atlantic/Cape_Verde",
    "GW": "Africa/Bissau",
    "ST": "Africa/Sao_Tome",
    "TL": "Asia/Dili",
    "BR": "America/Sao_Paulo",
    "PT": "Europe/Lisbon",
}


def zone_for(country: str, timezone: str = "") -> ZoneInfo:
    """Return TIMEZONE when set, else the country's zone, else UTC."""
    return ZoneInfo(timezone or COUNTRY_TIMEZONE.get(country.upper(), "UTC"))


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    """Return the date it is now where the people live."""
    return (now or utcnow()).astimezone(zone).date()


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """Return the local date of a stored UTC moment."""
    return moment.astimezone(zone).date()


def start_of_local_day(zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """Return the moment (UTC-aware) the current local day began."""
    today = local_today(zone, now)
    return datetime.combine(today, time(), tzinfo=zone)


def end_of_local_day(moment: datetime, zone: ZoneInfo, days: int = 0) -> datetime:
    """Return the end (next midnight) of the local day `days` after moment's, as an aware moment.

    A deadline of N days runs to the end of the N-th local day, so a case filed late in the evening
    is not due in the middle of a night.
    """
    day = local_date(moment, zone) + timedelta(days=days + 1)
    return datetime.combine(day, time(), tzinfo=zone)


def days_late(due: datetime | None, now: datetime) -> int:
    """Return how many started days a deadline is past (0 when not past)."""
    if due is None or due >= now:
        return 0
    late = now - due
    return late.days + (1 if late.seconds or late.microseconds else 0)
