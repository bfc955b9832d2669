"""The desk shows moments on the deployment's one clock: TIMEZONE, else the country's zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import desk.i18n
from desk.i18n import desk_timezone


def test_the_desk_reads_the_zone_the_app_resolved(make_app: Any) -> None:
    cambodia = make_app()
    with cambodia.test_request_context():
        assert desk_timezone() == ZoneInfo("Asia/Phnom_Penh")
    cape_verde = make_app(TIMEZONE="Atlantic/Cape_Verde")
    with cape_verde.test_request_context():
        assert (
            desk_timezone()
            == ZoneInfo("Atlantic/Cape_Verde")
            == cape_verde.extensions["janela"].settings.zone
        )


def test_the_desk_keeps_no_table_of_zones_of_its_own() -> None:
    # registry.clock holds the one table; a second copy drifts (it knew only KH and MZ).
    assert not hasattr(desk.i18n, "COUNTRY_TIMEZONE")
