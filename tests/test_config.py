from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load


def test_defaults_suit_a_laptop(tmp_path: Path) -> None:
    settings = load(tmp_path, environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'janela.db'}"
    assert settings["REDIS_URL"] == ""
    assert settings["PORT"] == 8000
    assert settings["LANGUAGES"] == ("km", "en", "pt")
    assert settings["COUNTRY"] == "KH" and settings["DEFAULT_LANGUAGE"] == "km"
    assert (settings["USSD_MAX_GSM7"], settings["USSD_MAX_UCS2"]) == (182, 80)
    assert settings["SMS_BACKEND"] == "outbox" and settings["SIMULATOR"] is False
    assert settings["USSD_SERVICE_CODES"] == ()
    assert len(settings["SECRET_KEY"]) == 64


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "COUNTRY": "mz",
        "PORT": "9000",
        "USSD_SERVICE_CODES": "*384*123#, *855#",
        "LANGUAGES": "pt,en",
        "SESSION_TTL": "600",
    }
    settings = load(tmp_path, {"PORT": 7000}, environ=env)
    assert settings["COUNTRY"] == "MZ"
    assert settings["DEFAULT_LANGUAGE"] == "pt"  # the country's language
    assert settings["PORT"] == 7000
    assert settings["USSD_SERVICE_CODES"] == ("*384*123#", "*855#")
    assert settings["SESSION_TTL"] == 600


def test_a_real_at_key_switches_to_africastalking_and_needs_a_webhook_token(tmp_path: Path) -> None:
    settings = load(tmp_path, environ={"AT_API_KEY": "k", "AT_USERNAME": "janela", "WEBHOOK_TOKEN": "s3cret"})
    assert settings["SMS_BACKEND"] == "africastalking"
    assert settings["SIMULATOR"] is False
    with pytest.raises(ConfigError, match="needs WEBHOOK_TOKEN"):
        load(tmp_path, environ={"AT_API_KEY": "k", "AT_USERNAME": "janela"})


def test_the_simulator_runs_only_when_asked_for_and_never_beside_a_token(tmp_path: Path) -> None:
    assert load(tmp_path, environ={"SIMULATOR": "1"})["SIMULATOR"] is True
    for env in (
        {"SIMULATOR": "1", "WEBHOOK_TOKEN": "s3cret"},
        {"SIMULATOR": "1", "DEPLOYMENT": "production", "SECRET_KEY": "k"},
    ):
        with pytest.raises(ConfigError, match="SIMULATOR is a demo tool"):
            load(tmp_path, environ=env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"USSD_MAX_UCS2": "0"}, "USSD_MAX_UCS2 must be positive"),
        ({"COUNTRY": "Cambodia"}, "COUNTRY must be a two-letter"),
        ({"LANGUAGES": "km,fr"}, "'fr', which has no catalog"),
        ({"LANGUAGES": " , "}, "LANGUAGES must name at least one"),
        ({"DEFAULT_LANGUAGE": "en", "LANGUAGES": "km,pt"}, "DEFAULT_LANGUAGE 'en' is not one of"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND must be"),
        ({"SMS_BACKEND": "africastalking"}, "needs AT_API_KEY"),
        ({"SMS_BATCH_SIZE": "0"}, "SMS_BATCH_SIZE must be positive"),
        ({"SMS_BATCH_SIZE": "5000"}, "SMS_BATCH_SIZE must be from 1 to 1000"),
        ({"ANNOUNCE_RATE": "-1"}, "ANNOUNCE_RATE must be positive"),
        ({"SMS_RETRY_DELAYS": "30,soon"}, "SMS_RETRY_DELAYS must be seconds separated by commas"),
        ({"EXPORT_RETRY_DELAYS": "60,-5"}, "EXPORT_RETRY_DELAYS cannot be negative"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_a_reason(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, environ=env)


def test_an_announce_rate_of_zero_means_no_pacing(tmp_path: Path) -> None:
    assert load(tmp_path, environ={"ANNOUNCE_RATE": "0"})["ANNOUNCE_RATE"] == 0
