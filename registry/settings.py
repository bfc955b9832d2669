"""The deployment's choices that registry services need, travelling as one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from registry.clock import end_of_local_day
from registry.outbox import SmsPolicy

# Days to acknowledge/resolve a case, by complaint category or by kind (a pre-registration has no
# category), then the default: CASE_DEADLINES's default.
DEFAULT_CASE_DEADLINES = (
    "misconduct=1/10,payment_missing=2/15,wrong_amount=2/15,preregistration=3/20,default=3/30"
)


def parse_deadlines(text: str) -> dict[str, tuple[int, int]]:
    """Read `category=ack/resolve,...` (days) into a table; `default` is required."""
    table: dict[str, tuple[int, int]] = {}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        try:
            category, days = item.split("=")
            ack, resolve = (int(d) for d in days.split("/"))
        except ValueError as exc:
            raise ValueError(f"CASE_DEADLINES: {item!r} is not category=ack_days/resolve_days") from exc
        if not 0 < ack <= resolve:
            raise ValueError(f"CASE_DEADLINES: {item!r} must acknowledge before resolving, in days > 0")
        table[category.strip()] = (ack, resolve)
    if "default" not in table:
        raise ValueError("CASE_DEADLINES needs a default=ack/resolve entry")
    return table


def _default_table() -> dict[str, tuple[int, int]]:
    return {k: v for k, v in parse_deadlines(DEFAULT_CASE_DEADLINES).items() if k != "default"}


@dataclass(frozen=True)
class Deadlines:
    """Days to acknowledge and to resolve, per category or kind, with a default (CASE_DEADLINES)."""

    by_category: dict[str, tuple[int, int]] = field(default_factory=_default_table)
    default: tuple[int, int] = field(
        default_factory=lambda: parse_deadlines(DEFAULT_CASE_DEADLINES)["default"]
    )

    @classmethod
    def from_table(cls, table: dict[str, tuple[int, int]]) -> Deadlines:
        """Build from a parsed CASE_DEADLINES table."""
        return cls({k: v for k, v in table.items() if k != "default"}, table["default"])

    def due(
        self, category: str | None, start: datetime, zone: ZoneInfo, kind: str | None = None
    ) -> tuple[datetime, datetime]:
        """Return when a case of category (else kind) must be acknowledged and resolved, at local day ends."""
        ack, resolve = self.by_category.get(category or "") or self.by_category.get(kind or "", self.default)
        return end_of_local_day(start, zone, ack), end_of_local_day(start, zone, resolve)


@dataclass(frozen=True)
class ServiceSettings:
    """What case, pre-registration and inbound services need to know; built from config once.

    No field has a default: config.py declares every default, so none is declared twice.
    """

    sms_policy: SmsPolicy
    deadlines: Deadlines
    reference_length: int
    default_language: str
    zone: ZoneInfo
    country: str  # COUNTRY: whose words (leaders, desks, areas) the texts use
    alerts_per_unknown_phone: int  # complaints a day from a phone the registry does not know that alert staff
