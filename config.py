"""Configuration: defaults, then environment variables, then explicit overrides."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from conversations.i18n import LOCALES_DIR
from registry.clock import zone_for
from registry.settings import DEFAULT_CASE_DEADLINES, parse_deadlines

# Languages a country's demo speaks first.
COUNTRY_LANGUAGE = {
    "KH": "km",
    "MZ": "pt",
    "AO": "pt",
    "CV": "pt",
    "GW": "pt",
    "ST": "pt",
    "TL": "pt",
    "BR": "pt",
    "PT": "pt",
}

# Whole-number settings where 0 is a choice, not a mistake: ANNOUNCE_RATE 0 sends without pacing.
ZERO_MEANS_NONE = frozenset({"ANNOUNCE_RATE"})

# The languages a country's menus offer, in the order its people expect them.
COUNTRY_LANGUAGES = {"KH": ("km", "en", "pt"), "MZ": ("pt", "en")}

INT_SETTINGS = (
    "PORT",
    "USSD_MAX_GSM7",
    "USSD_MAX_UCS2",
    "SESSION_TTL",
    "SMS_MAX_SEGMENTS",
    "SMS_MAX_ATTEMPTS",
    "SMS_TIMEOUT",
    "SMS_BATCH_SIZE",
    "SWEEP_INTERVAL",
    "SMS_UNKNOWN_WINDOW",
    "SWEEP_GRACE",
    "STALE_AFTER",
    "DRAFT_TTL",
    "REFERENCE_LENGTH",
    "LOOKUP_MAX_FAILURES",
    "PROGRAMME_SMS_PER_DAY",
    "ANNOUNCE_RATE",
    "ALERTS_PER_UNKNOWN_PHONE",
    "DESK_LOCK_FAILURES",
    "DESK_LOCK_MINUTES",
    "DESK_SETUP_CODE_MINUTES",
    "HOP_THREADS",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_POOL_TIMEOUT",
    "RETENTION_DAYS",
    "SMS_RETENTION_DAYS",
    "STATS_REFRESH_MINUTES",
    "EXPORT_KEEP_HOURS",
    "EXPORT_STALE_AFTER",
    "EXPORT_TIMEOUT",
    "EXPORT_MAX_ATTEMPTS",
)


class ConfigError(ValueError):
    """A setting that cannot work; the message says which and why."""


def defaults(instance: Path) -> dict[str, Any]:
    """Return the settings a newcomer's laptop runs with."""
    return {
        "DATABASE_URL": f"sqlite:///{instance / 'janela.db'}",
        "REDIS_URL": "",  # empty: an embedded Redis server under instance/
        "PORT": 8000,
        "DEFAULT_LANGUAGE": "",  # empty: the country's language
        "LANGUAGES": "",  # empty: the country's languages, in the country's order
        "COUNTRY": "KH",
        "USSD_SERVICE_CODES": "",
        "USSD_MAX_GSM7": 182,
        "USSD_MAX_UCS2": 80,
        "SESSION_TTL": 300,
        "SECRET_KEY": "",
        "WEBHOOK_TOKEN": "",
        "AT_USERNAME": "sandbox",
        "AT_API_KEY": "",
        "AT_SENDER_ID": "",
        "AT_API_URL": "",
        "SMS_BACKEND": "",  # empty: africastalking when AT_API_KEY is set, else outbox
        "SIMULATOR": "",  # on only when set (python app.py sets it for the demo)
        "SMS_MAX_SEGMENTS": 3,
        "SMS_FOLD_ACCENTS": "",
        "USSD_FOLD_ACCENTS": "auto",  # off, on, or auto: fold only a screen that would need a 2nd page
        "SMS_MAX_ATTEMPTS": 5,
        "SMS_RETRY_DELAYS": "30,120,600,1800",
        "SMS_TIMEOUT": 10,
        # Recipients of one text handed to the gateway in one request (1: one request a message).
        "SMS_BATCH_SIZE": 100,
        "SWEEP_INTERVAL": 60,
        # Seconds to wait for AT's delivery report after a send with no answer, before sending once more.
        "SMS_UNKNOWN_WINDOW": 1800,
        "SWEEP_GRACE": 120,
        "STALE_AFTER": 600,
        "DRAFT_TTL": 86400,
        "REFERENCE_LENGTH": 7,
        "LOOKUP_MAX_FAILURES": 3,
        "PROGRAMME_SMS_PER_DAY": 3,  # programme descriptions by SMS per phone per local day
        "ALERTS_PER_UNKNOWN_PHONE": 3,  # complaints a day from an unknown phone that alert the chief
        # Announcement SMS handed to the gateway per minute (0: as fast as the workers go).
        "ANNOUNCE_RATE": 600,
        # Days to acknowledge/resolve a case, by category, then the default.
        "CASE_DEADLINES": DEFAULT_CASE_DEADLINES,
        "TIMEZONE": "",  # empty: the country's (Asia/Phnom_Penh for KH, Africa/Maputo for MZ)
        # development or production: production refuses to start without SECRET_KEY.
        "DEPLOYMENT": "",
        "DESK_LOCK_FAILURES": 5,  # failed sign-ins that lock a desk account
        "DESK_LOCK_MINUTES": 15,  # how long the lock lasts
        "DESK_SETUP_CODE_MINUTES": 60,  # how long a set-up code sent by SMS works
        # A USSD hop answers within this many seconds whatever hangs (AT gives up after about 15).
        "HOP_DEADLINE": 5.0,
        "HOP_THREADS": 8,  # hops one web process runs at once; held by a hung call until it returns
        "DB_STATEMENT_TIMEOUT_MS": 4000,  # PostgreSQL cancels a statement running longer
        "DB_POOL_TIMEOUT": 3,  # seconds to wait for a free database connection
        # Days to keep session ends, ID lookups, handled inbound texts and contacts with nothing kept.
        # Addresses Africa's Talking posts from (CIDRs, comma-separated); empty: any address.
        "WEBHOOK_SOURCES": "",
        "PROXY_HOPS": 0,  # proxies in front that set X-Forwarded-For (a load balancer: 1)
        "RETENTION_DAYS": 180,
        "SMS_RETENTION_DAYS": 365,  # days to keep SMS sent or given up on
        "STATS_REFRESH_MINUTES": 60,  # a worker rebuilds the coverage statistics once this old
        "EXPORT_KEEP_HOURS": 24,  # hours a desk export's file is kept for its officer to download
        # Seconds without a heartbeat (one a minute or sooner) before a running export is taken back.
        "EXPORT_STALE_AFTER": 300,
        "EXPORT_TIMEOUT": 3600,  # seconds an export job may run (the country's XLSX took 450 s)
        "EXPORT_MAX_ATTEMPTS": 3,  # attempts at an export before it is marked failed
        "EXPORT_RETRY_DELAYS": "60,300",  # seconds before each new attempt of a failed export
    }


def _split(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load(
    instance: Path, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every setting, check it, and derive the ones that depend on others."""
    env = os.environ if environ is None else environ
    settings = defaults(instance)
    # Every setting can come from the environment variable of the same name.
    settings.update({name: env[name] for name in list(settings) if env.get(name, "") != ""})
    settings.update(overrides or {})

    for name in INT_SETTINGS:
        try:
            settings[name] = int(settings[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be a whole number, not {settings[name]!r}") from exc
        if settings[name] < 0 or (settings[name] == 0 and name not in ZERO_MEANS_NONE):
            raise ConfigError(f"{name} must be positive")
    try:
        settings["HOP_DEADLINE"] = float(settings["HOP_DEADLINE"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"HOP_DEADLINE must be seconds, not {settings['HOP_DEADLINE']!r}") from exc
    if not 0 < settings["HOP_DEADLINE"] < 15:
        raise ConfigError("HOP_DEADLINE must be above 0 and below 15 s, Africa's Talking's own wait")
    if not 5 <= settings["REFERENCE_LENGTH"] <= 12:
        raise ConfigError("REFERENCE_LENGTH must be from 5 to 12 digits")
    if settings["SMS_MAX_SEGMENTS"] > 10:
        raise ConfigError("SMS_MAX_SEGMENTS above 10 is refused by most networks")

    settings["COUNTRY"] = str(settings["COUNTRY"]).strip().upper()
    if len(settings["COUNTRY"]) != 2 or not settings["COUNTRY"].isalpha():
        raise ConfigError("COUNTRY must be a two-letter ISO code such as KH or MZ")

    languages = _split(settings["LANGUAGES"])
    if not languages and not str(settings["LANGUAGES"]).strip():
        languages = COUNTRY_LANGUAGES.get(settings["COUNTRY"], ("pt", "en"))
    if not languages:
        raise ConfigError("LANGUAGES must name at least one language")
    for lang in languages:
        if not (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").exists():
            raise ConfigError(f"LANGUAGES names {lang!r}, which has no catalog under locales/")
    settings["LANGUAGES"] = languages

    default_language = settings["DEFAULT_LANGUAGE"] or COUNTRY_LANGUAGE.get(settings["COUNTRY"], languages[0])
    if default_language not in languages:
        default_language = languages[0] if not settings["DEFAULT_LANGUAGE"] else default_language
    if default_language not in languages:
        raise ConfigError(f"DEFAULT_LANGUAGE {default_language!r} is not one of LANGUAGES")
    settings["DEFAULT_LANGUAGE"] = default_language

    settings["USSD_SERVICE_CODES"] = _split(settings["USSD_SERVICE_CODES"])
    try:
        settings["WEBHOOK_SOURCES"] = tuple(
            ip_network(cidr, strict=False) for cidr in _split(settings["WEBHOOK_SOURCES"])
        )
    except ValueError as exc:
        raise ConfigError(
            f"WEBHOOK_SOURCES must be addresses or networks such as 52.48.80.0/24: {exc}"
        ) from exc
    try:
        settings["PROXY_HOPS"] = int(settings["PROXY_HOPS"])
    except (TypeError, ValueError) as exc:
        raise ConfigError("PROXY_HOPS must be a whole number") from exc
    if settings["PROXY_HOPS"] < 0:
        raise ConfigError("PROXY_HOPS cannot be negative")

    backend = settings["SMS_BACKEND"] or ("africastalking" if settings["AT_API_KEY"] else "outbox")
    if backend not in ("africastalking", "outbox"):
        raise ConfigError("SMS_BACKEND must be africastalking or outbox")
    if backend == "africastalking" and not settings["AT_API_KEY"]:
        raise ConfigError("SMS_BACKEND=africastalking needs AT_API_KEY")
    settings["SMS_BACKEND"] = backend

    # Real SMS means a real gateway posts to the webhooks: without a token anyone could post as
    # any phone number.
    settings["WEBHOOK_TOKEN"] = str(settings["WEBHOOK_TOKEN"] or "").strip()
    if backend == "africastalking" and not settings["WEBHOOK_TOKEN"]:
        raise ConfigError(
            "SMS_BACKEND=africastalking needs WEBHOOK_TOKEN: the webhooks would be open to anyone"
        )

    settings["SMS_FOLD_ACCENTS"] = _flag(settings["SMS_FOLD_ACCENTS"])
    fold = str(settings["USSD_FOLD_ACCENTS"]).strip().lower()
    fold = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(fold, fold)
    if fold not in ("off", "on", "auto"):
        raise ConfigError("USSD_FOLD_ACCENTS must be off, on or auto")
    settings["USSD_FOLD_ACCENTS"] = fold
    settings["SMS_RETRY_DELAYS"] = _delays(settings, "SMS_RETRY_DELAYS", "30,120,600")
    settings["EXPORT_RETRY_DELAYS"] = _delays(settings, "EXPORT_RETRY_DELAYS", "60,300")
    if settings["SMS_BATCH_SIZE"] > 1000:
        # One request's form and AT's answer grow with it, and a timeout makes all of it unknown.
        raise ConfigError("SMS_BATCH_SIZE must be from 1 to 1000 recipients a request")

    settings["CASE_DEADLINES"] = _deadlines(str(settings["CASE_DEADLINES"]))
    settings["TIMEZONE"] = _timezone(str(settings["TIMEZONE"]).strip(), settings["COUNTRY"])

    settings["DEPLOYMENT"] = str(settings["DEPLOYMENT"]).strip().lower() or "development"
    if settings["DEPLOYMENT"] not in ("development", "production"):
        raise ConfigError("DEPLOYMENT must be development or production")
    if settings["DEPLOYMENT"] == "production" and not settings["SECRET_KEY"]:
        raise ConfigError("DEPLOYMENT=production needs SECRET_KEY: desk sessions are signed with it")
    # The simulator texts and reads SMS as any number: a demo tool, only when asked for by name.
    settings["SIMULATOR"] = _flag(settings["SIMULATOR"])
    if settings["SIMULATOR"] and (settings["WEBHOOK_TOKEN"] or settings["DEPLOYMENT"] == "production"):
        raise ConfigError(
            "SIMULATOR is a demo tool: it cannot run with WEBHOOK_TOKEN or DEPLOYMENT=production"
        )
    # Sessions of the web pages need a key; a random one is fine for a single demo process.
    settings["SECRET_KEY"] = settings["SECRET_KEY"] or secrets.token_hex(32)
    return settings


def _deadlines(text: str) -> dict[str, tuple[int, int]]:
    """Read `category=ack/resolve,...` (days) into a table; `default` is required."""
    try:
        return parse_deadlines(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _timezone(name: str, country: str) -> str:
    """Return TIMEZONE, else the country's zone; refuse a name the zone database does not know."""
    try:
        return zone_for(country, name).key
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE {name!r} is not a known time zone, e.g. Asia/Phnom_Penh") from exc


def _delays(settings: dict[str, Any], name: str, example: str) -> tuple[int, ...]:
    """Read a setting of seconds separated by commas, none negative."""
    try:
        delays = tuple(int(d) for d in _split(str(settings[name])))
    except ValueError as exc:
        raise ConfigError(f"{name} must be seconds separated by commas, e.g. {example}") from exc
    if any(d < 0 for d in delays):
        raise ConfigError(f"{name} cannot be negative")
    return delays
