"""Every flow fits one USSD session: at most 20 screens, in every language, read page by page."""

from __future__ import annotations

from typing import Any

import pytest

from registry.services import list_programmes
from tests.conversations.screen_counts import COUNTRIES, FLOWS, programme

MOST_SCREENS = 20  # AT ends a session after ~180 s; a screen takes 6-8 s to read and answer


@pytest.mark.parametrize("fold", ["auto", "off"])
@pytest.mark.parametrize(
    ("country", "language"),
    [("KH", "km"), ("KH", "pt"), ("KH", "en"), ("MZ", "pt"), ("MZ", "en")],
)
def test_every_flow_finishes_in_one_session(make_app: Any, country: str, language: str, fold: str) -> None:
    app = make_app(catalogue=country, COUNTRY=country, USSD_FOLD_ACCENTS=fold)
    counts = {name: flow(app, COUNTRIES[country], language) for name, flow in FLOWS.items()}
    print(country, language, fold, counts)
    assert all(n <= MOST_SCREENS for n in counts.values()), counts


@pytest.mark.parametrize(
    ("country", "language", "fold"),
    [
        ("KH", "km", "auto"),
        ("KH", "pt", "auto"),
        ("KH", "pt", "off"),
        ("KH", "en", "auto"),
        ("MZ", "pt", "auto"),
        ("MZ", "pt", "off"),
        ("MZ", "en", "auto"),
    ],
)
def test_reading_a_programme_is_counted(make_app: Any, country: str, language: str, fold: str) -> None:
    app = make_app(catalogue=country, COUNTRY=country, USSD_FOLD_ACCENTS=fold)
    labels = [p.label for p in list_programmes(app.extensions["janela"].db, country, language, "en")]
    counts = {label: programme(app, COUNTRIES[country], language, label) for label in labels}
    print(country, language, fold, counts)
    assert all(n >= 10 for n in counts.values()), counts  # four sections, each opened and left
