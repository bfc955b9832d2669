"""What the engine needs to know about the deployment."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from phonetext.encoding import Budget
from registry.clock import zone_for
from registry.outbox import SmsPolicy
from registry.settings import Deadlines, ServiceSettings


@dataclass(frozen=True)
class Settings:
    """Deployment choices the conversations depend on.

    No field has a default: config.py declares every default once, and create_app builds this.
    """

    country: str
    languages: tuple[str, ...]
    default_language: str
    budget: Budget
    session_ttl: int
    sms_policy: SmsPolicy
    draft_ttl: int
    reference_length: int
    deadlines: Deadlines
    lookup_max_failures: int
    # Write Latin-script screens in the GSM-7 alphabet: off, on, or auto (only a screen that
    # would otherwise need another page). Khmer is never folded.
    ussd_fold_accents: str
    timezone: str  # a zone name; config.py derives it from COUNTRY when TIMEZONE is empty
    programme_sms_per_day: int  # programme descriptions one phone can ask for by SMS in a day
    alerts_per_unknown_phone: int  # complaints a day from an unknown phone that alert staff

    @property
    def zone(self) -> ZoneInfo:
        """The time zone people's days follow: TIMEZONE, else the country's."""
        return zone_for(self.country, self.timezone)

    @property
    def services(self) -> ServiceSettings:
        """What registry services need, as one object."""
        return ServiceSettings(
            self.sms_policy,
            self.deadlines,
            self.reference_length,
            self.default_language,
            self.zone,
            self.country,
            self.alerts_per_unknown_phone,
        )
