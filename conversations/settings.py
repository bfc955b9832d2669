"""What the engine needs to know about the deployment."""

from __future__ import annotations

from dataclasses import dataclass, field

from phonetext.encoding import Budget
from registry.cases import Deadlines
from registry.outbox import SmsPolicy


@dataclass(frozen=True)
class Settings:
    """Deployment choices the conversations depend on."""

    country: str = "KH"
    languages: tuple[str, ...] = ("km", "pt", "en")
    default_language: str = "km"
    budget: Budget = field(default_factory=Budget)
    session_ttl: int = 300
    sms_policy: SmsPolicy = field(default_factory=SmsPolicy)
    draft_ttl: int = 86400
    reference_length: int = 7
    deadlines: Deadlines = field(default_factory=Deadlines)
    lookup_max_failures: int = 3
